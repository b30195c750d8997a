#include "index/index_client.hpp"

#include <utility>

#include <pkg/engine/errc.hpp>

#include "base/quote.hpp"
#include "cache/index_key.hpp"
#include "http/http_errc.hpp"
#include "http/url.hpp"
#include "index/find_links.hpp"
#include "index/http_cache.hpp"
#include "pep508/name.hpp"

namespace pkg::index {
namespace {

namespace stdfs = std::filesystem;

/// What asking one index (or one find-links page) for a project gave.
struct page_outcome {
    bool is_found = false;                     ///< false: 404/410, try the next index
    std::shared_ptr<const project_page> page;  ///< set when found
};

/// Cache file of a project page: `simple-v1/<index_key>/<name>.http` (`pkg cache clean NAME`
/// removes `simple-v1/*/<name>.*`).
constexpr std::string_view entry_extension = ".http";
/// Cache file of a find-links HTML page, under the key of its URL. Project names start with a
/// letter or digit, so this name cannot collide with a project's entry.
constexpr std::string_view find_links_entry_name = "_find-links.http";

/// `<index>/<name>/` with exactly one slash between (a query on the index URL, as some private
/// indexes use for tokens, stays at the end).
std::string page_url_for(std::string_view index_url, std::string_view name)
{
    const std::size_t query = index_url.find('?');
    std::string out(index_url.substr(0, query));
    while (!out.empty() && out.back() == '/') {
        out.pop_back();
    }
    out += '/';
    out += name;
    out += '/';
    if (query != std::string_view::npos) {
        out += index_url.substr(query);
    }
    return out;
}

/// The URL links on a page resolve against. The cache keeps URLs without credentials; when the
/// page came from the URL we asked for (no redirect), links resolve against that URL, so
/// relative file URLs keep the index's credentials as pip's do. After a redirect, the final URL
/// (which the HTTP client hands over without credentials) is the base.
std::string base_url(const std::string& request_url, const http_cache_entry& entry)
{
    if (entry.url == strip_url_credentials(request_url)) {
        return request_url;
    }
    return entry.url;
}

bool is_http_url(std::string_view location)
{
    auto starts = [location](std::string_view prefix) {
        if (location.size() < prefix.size()) {
            return false;
        }
        for (std::size_t i = 0; i < prefix.size(); ++i) {
            const char c = location[i];
            const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
            if (l != prefix[i]) {
                return false;
            }
        }
        return true;
    };
    return starts("http://") || starts("https://");
}

std::string join(const std::vector<std::string>& items, std::string_view separator)
{
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) {
            out += separator;
        }
        out += item;
    }
    return out;
}

}  // namespace

struct index_client::impl {
    impl(io::http_client& h, const cache::cache& c, index_config cfg, options o)
        : http(h), wheel_cache(c), config(std::move(cfg)), opts(o)
    {
    }

    io::http_client& http;
    const cache::cache& wheel_cache;
    index_config config;
    options opts;
    index_stats stats;
    io::once_map<std::string, page_outcome> pages{"index pages"};
    io::once_map<std::string, page_outcome> link_pages{"find-links pages"};
    io::once_map<std::string, std::shared_ptr<const local_wheel_directory>> directories{
        "find-links directories"};

    void count(const cached_response& r)
    {
        switch (r.outcome) {
        case cache_outcome::fresh:
        case cache_outcome::offline:
            ++stats.pages_from_cache;
            break;
        case cache_outcome::revalidated:
            ++stats.pages_revalidated;
            break;
        case cache_outcome::fetched:
            ++(r.entry.status == 200 ? stats.pages_fetched : stats.pages_not_found);
            break;
        }
    }

    cached_get_options get_options(std::string subject) const
    {
        cached_get_options o;
        o.offline = opts.offline;
        o.refresh = opts.refresh;
        o.max_body_bytes = opts.max_page_bytes;
        o.accept = std::string(project_page_accept_header());
        o.subject = std::move(subject);
        return o;
    }

    /// Fetches (through the HTTP cache) and parses `url`, stored at `entry_path`.
    io::task<result<page_outcome>> async_fetch(std::string url, stdfs::path entry_path,
                                               std::string subject)
    {
        auto r = co_await async_cached_get(http, entry_path, url, get_options(std::move(subject)));
        if (!r) {
            co_return fail(r.error());
        }
        count(*r);
        if (r->entry.status != 200) {
            co_return page_outcome{};
        }
        auto parsed =
            parse_project_page(r->entry.content_type, r->entry.body, base_url(url, r->entry));
        if (!parsed) {
            // Do not keep serving a page that does not parse: the next run asks again.
            std::error_code ignored;
            stdfs::remove(entry_path, ignored);
            co_return fail(parsed.error());
        }
        parsed->warnings.insert(parsed->warnings.end(), r->warnings.begin(), r->warnings.end());
        co_return page_outcome{true, std::make_shared<const project_page>(std::move(*parsed))};
    }

    io::task<result<page_outcome>> async_fetch_index_page(std::string index_url, std::string name)
    {
        const std::string url = page_url_for(index_url, name);
        stdfs::path entry = wheel_cache.bucket(cache::simple_bucket) /
                            cache::index_key(index_url) / (name + std::string(entry_extension));
        co_return co_await async_fetch(
            url, std::move(entry), "project '" + name + "' from index " + io::redact_url(index_url));
    }

    io::task<result<page_outcome>> async_fetch_links_page(std::string url)
    {
        stdfs::path entry = wheel_cache.bucket(cache::simple_bucket) / cache::index_key(url) /
                            std::string(find_links_entry_name);
        auto r = co_await async_fetch(url, std::move(entry),
                                      "find-links page " + io::redact_url(url));
        if (r && !r->is_found) {
            co_return fail(io::http_errc::not_found, "find-links page not found (HTTP 404/410)",
                           io::redact_url(url),
                           "check the --find-links URL (flag, lockfile, PKG_FIND_LINKS, "
                           "PIP_FIND_LINKS or pip.conf)");
        }
        co_return r;
    }

    static io::task<result<std::shared_ptr<const local_wheel_directory>>>
    async_list(std::string dir)
    {
        auto listing = list_wheel_directory(dir);
        if (!listing) {
            co_return fail(listing.error());
        }
        co_return std::make_shared<const local_wheel_directory>(std::move(*listing));
    }

    /// The files of `name` at one find-links location.
    io::task<result<project_page>> async_links_page(std::string location, std::string name)
    {
        if (is_http_url(location)) {
            auto producer = [this, location] { return async_fetch_links_page(location); };
            auto page = co_await link_pages.async_get_or_run(location, producer);
            if (!page) {
                co_return fail(page.error());
            }
            co_return filter_project_files(*page->page, name);
        }
        auto producer = [location] { return async_list(location); };
        auto listing = co_await directories.async_get_or_run(location, producer);
        if (!listing) {
            co_return fail(listing.error());
        }
        co_return local_project_page(**listing, name);
    }
};

index_client::index_client(io::http_client& http, const cache::cache& wheel_cache,
                           index_config config, options opts)
    : impl_(std::make_unique<impl>(http, wheel_cache, std::move(config), opts))
{
}

index_client::~index_client() = default;

const index_stats& index_client::stats() const noexcept { return impl_->stats; }

io::task<result<std::pair<std::string, std::shared_ptr<const project_page>>>>
index_client::async_project_page(std::string normalized_name)
{
    if (!pep508::is_valid_name(normalized_name)) {
        co_return fail(errc::invalid_name,
                       "not a valid project name: " + quote_for_message(normalized_name));
    }
    const std::string name = pep508::normalize_name(normalized_name);
    const auto& indexes = impl_->config.index_urls;
    std::vector<std::string> asked;
    for (std::size_t i = 0; i < indexes.size(); ++i) {
        const std::string& index_url = indexes[i];
        auto producer = [this, index_url, name] {
            return impl_->async_fetch_index_page(index_url, name);
        };
        auto r = co_await impl_->pages.async_get_or_run(index_url + '\n' + name, producer);
        if (!r) {
            error e = r.error();
            if (e.code.category() == io::http_category()) {
                // HTTP errors name the page URL in `where`; say which project and index it was.
                e.message = "project '" + name + "' from index " + io::redact_url(index_url) +
                            ": " + e.message;
            }
            if (e.hint.empty() && i + 1 < indexes.size()) {
                e.hint = "later indexes are not asked after an error other than 404/410: a "
                         "project must come from the first index that has it (no dependency "
                         "confusion); fix this index or remove it";
            }
            co_return fail(std::move(e));
        }
        if (r->is_found) {
            co_return std::pair{index_url, r->page};
        }
        asked.push_back(io::redact_url(index_url));
    }
    if (indexes.empty()) {
        co_return fail(errc::project_not_found,
                       "project '" + name + "': no package index to ask (--no-index)", name,
                       "pass --find-links DIR with its wheels, or drop --no-index");
    }
    co_return fail(errc::project_not_found,
                   "project '" + name + "' is not on any configured index (asked, in order: " +
                       join(asked, ", ") + (impl_->opts.offline ? "; from the cache, offline" : "") +
                       ")",
                   name,
                   "check the name in the lockfile; if another index has it, add that index with "
                   "--extra-index-url");
}

io::task<result<located_wheel>> index_client::async_find_wheel(std::string normalized_name,
                                                               pep440::version version,
                                                               const wheel::tag_list& tags,
                                                               select_options select)
{
    if (!pep508::is_valid_name(normalized_name)) {
        co_return fail(errc::invalid_name,
                       "not a valid project name: " + quote_for_message(normalized_name));
    }
    const std::string name = pep508::normalize_name(normalized_name);
    std::vector<std::string> notes;  // what each find-links location had, for messages
    std::optional<error> links_error;
    for (const auto& location : impl_->config.find_links) {
        auto page = co_await impl_->async_links_page(location, name);
        if (!page) {
            co_return fail(page.error());
        }
        const std::string shown = io::redact_url(location);
        if (page->files.empty()) {
            notes.push_back(shown + " (no files of '" + name + "')");
            continue;
        }
        auto chosen = select_wheel(*page, name, version, tags, select);
        if (chosen) {
            located_wheel out{std::move(*chosen), std::string(), std::nullopt};
            if (!is_http_url(location)) {
                out.local_path = stdfs::path(out.chosen.file.url);
            }
            co_return out;
        }
        if (!links_error) {
            links_error = chosen.error();
        }
        notes.push_back(shown + " (" + std::to_string(page->files.size()) +
                        " files of '" + name + "', none usable)");
    }
    if (impl_->config.index_urls.empty()) {
        if (links_error) {
            co_return fail(*links_error);
        }
        co_return fail(errc::project_not_found,
                       "project '" + name + "': no find-links location has a wheel of it (looked "
                       "in: " + join(notes, ", ") + ")",
                       name, "put the wheel into a --find-links directory, or configure an index");
    }
    auto page = co_await async_project_page(name);
    if (!page) {
        if (page.error().code == errc::project_not_found && links_error) {
            co_return fail(*links_error);  // the files that were seen say more than "not found"
        }
        error e = page.error();
        if (e.code == errc::project_not_found && !notes.empty()) {
            e.message += "; find-links: " + join(notes, ", ");
        }
        co_return fail(std::move(e));
    }
    auto chosen = select_wheel(*page->second, name, version, tags, select);
    if (!chosen) {
        error e = chosen.error();
        if (!notes.empty()) {
            e.message += " (find-links looked at first: " + join(notes, ", ") + ")";
        }
        co_return fail(std::move(e));
    }
    co_return located_wheel{std::move(*chosen), page->first, std::nullopt};
}

}  // namespace pkg::index
