#include "index/http_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <system_error>
#include <utility>

#include <pkg/engine/errc.hpp>

#include "base/quote.hpp"
#include "fs/atomic_file.hpp"
#include "http/http_errc.hpp"
#include "http/url.hpp"

namespace pkg::index {
namespace {

namespace stdfs = std::filesystem;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// Plain decimal digits, at most 19 of them (fits any int64 / uint64 we write).
std::optional<std::uint64_t> parse_digits(std::string_view text)
{
    if (text.empty() || text.size() > 19) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

bool is_single_line(std::string_view value)
{
    return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string single_line(std::string_view value)
{
    return is_single_line(value) ? std::string(value) : std::string();
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// The whole file, or nullopt when it does not exist; other read errors are returned.
result<std::optional<std::string>> read_whole_file(const stdfs::path& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return std::optional<std::string>();
        }
        return fail(system_error(errno, "open cache entry", path.string()));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        return fail(system_error(e, "stat cache entry", path.string()));
    }
    std::string out;
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    for (;;) {
        if (done == out.size()) {
            out.resize(out.size() + 4096);  // the file may have grown: read until EOF
        }
        const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int e = errno;
            ::close(fd);
            return fail(system_error(e, "read cache entry", path.string()));
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    out.resize(done);
    return std::optional<std::string>(std::move(out));
}

std::string header_or_empty(const io::response_head& head, std::string_view name)
{
    if (auto v = head.header(name)) {
        return single_line(trim(*v));
    }
    return {};
}

std::uint64_t age_header(const io::response_head& head)
{
    if (auto v = head.header("Age")) {
        return parse_digits(trim(*v)).value_or(0);
    }
    return 0;
}

// Writes `entry` to `path` (creating its directory); a failure becomes a warning.
void store(const stdfs::path& path, const http_cache_entry& entry,
           std::vector<std::string>& warnings)
{
    std::error_code ec;
    stdfs::create_directories(path.parent_path(), ec);
    if (ec) {
        warnings.push_back("could not create the cache directory " + path.parent_path().string() +
                           ": " + ec.message() + "; the response was not cached");
        return;
    }
    if (auto ok = io::atomic_write_file(path, serialize_http_cache_entry(entry)); !ok) {
        warnings.push_back("could not write the cache entry: " + ok.error().to_string() +
                           "; the response was not cached");
    }
}

void remove_entry(const stdfs::path& path, std::vector<std::string>& warnings)
{
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        warnings.push_back("could not remove the cache entry: " +
                           system_error(errno, "unlink", path.string()).to_string());
    }
}

}  // namespace

cache_control parse_cache_control(std::string_view value)
{
    cache_control out;
    bool has_seen_max_age = false;
    while (!value.empty()) {
        // Directives are separated by commas; a quoted value may itself hold commas.
        std::size_t end = 0;
        bool is_quoted = false;
        while (end < value.size() && (is_quoted || value[end] != ',')) {
            if (value[end] == '"') {
                is_quoted = !is_quoted;
            } else if (value[end] == '\\' && is_quoted && end + 1 < value.size()) {
                ++end;
            }
            ++end;
        }
        const std::string_view directive = trim(value.substr(0, end));
        value.remove_prefix(end < value.size() ? end + 1 : end);
        const auto eq = directive.find('=');
        const std::string_view name = trim(directive.substr(0, eq));
        std::string_view argument =
            eq == std::string_view::npos ? std::string_view() : trim(directive.substr(eq + 1));
        if (argument.size() >= 2 && argument.front() == '"' && argument.back() == '"') {
            argument = argument.substr(1, argument.size() - 2);
        }
        if (iequals(name, "no-cache")) {
            out.is_no_cache = true;
        } else if (iequals(name, "no-store")) {
            out.is_no_store = true;
        } else if (iequals(name, "max-age")) {
            const auto seconds = parse_digits(argument);
            // Invalid or conflicting freshness information means stale (RFC 9111 §4.2.1).
            out.max_age_seconds = (seconds && !has_seen_max_age) ? *seconds : 0;
            has_seen_max_age = true;
        }
    }
    return out;
}

std::string serialize_http_cache_entry(const http_cache_entry& entry)
{
    std::string out;
    out.reserve(entry.body.size() + 256 + entry.url.size());
    out += http_cache_magic;
    out += '\n';
    auto line = [&out](std::string_view key, std::string_view value) {
        out += key;
        out += ": ";
        out += is_single_line(value) ? value : std::string_view();
        out += '\n';
    };
    line("status", std::to_string(entry.status));
    line("url", entry.url);
    line("content-type", entry.content_type);
    line("etag", entry.etag);
    line("last-modified", entry.last_modified);
    line("cache-control", entry.cache_control);
    line("age", std::to_string(entry.age_seconds));
    // A clock before 1970 is not worth a sign in the format: such an entry is simply old.
    line("received", std::to_string(entry.received_unix_seconds < 0 ? 0 : entry.received_unix_seconds));
    line("body-bytes", std::to_string(entry.body.size()));
    out += '\n';
    out += entry.body;
    return out;
}

result<http_cache_entry> parse_http_cache_entry(std::string bytes, std::string_view where)
{
    auto corrupt = [where](std::string why) {
        return fail(errc::corrupt_cache_entry, "corrupt HTTP cache entry: " + why,
                    std::string(where),
                    "pkg discards it and fetches the page again; `pkg cache clean` removes all");
    };
    std::size_t pos = 0;
    auto next_line = [&bytes, &pos]() -> std::optional<std::string_view> {
        const auto nl = bytes.find('\n', pos);
        if (nl == std::string::npos) {
            return std::nullopt;
        }
        std::string_view line(bytes.data() + pos, nl - pos);
        pos = nl + 1;
        return line;
    };
    const auto first = next_line();
    if (!first) {
        return corrupt("no complete first line (truncated file?)");
    }
    if (*first != http_cache_magic) {
        return corrupt("first line is " + quote_for_message(*first, 60) + ", expected \"" +
                       std::string(http_cache_magic) + "\" (another format version?)");
    }
    constexpr std::string_view keys[] = {"status",        "url",           "content-type",
                                         "etag",          "last-modified", "cache-control",
                                         "age",           "received",      "body-bytes"};
    std::string_view values[std::size(keys)];
    for (std::size_t i = 0; i < std::size(keys); ++i) {
        const auto line = next_line();
        if (!line) {
            return corrupt("the head ends before the \"" + std::string(keys[i]) +
                           "\" line (truncated file?)");
        }
        const std::string prefix = std::string(keys[i]) + ": ";
        if (!line->starts_with(prefix)) {
            return corrupt("expected the \"" + std::string(keys[i]) + "\" line, found " +
                           quote_for_message(*line, 80));
        }
        values[i] = line->substr(prefix.size());
        if (values[i].find('\r') != std::string_view::npos ||
            values[i].find('\0') != std::string_view::npos) {
            return corrupt("the \"" + std::string(keys[i]) + "\" value holds a control character");
        }
    }
    const auto blank = next_line();
    if (!blank || !blank->empty()) {
        return corrupt("no blank line after the head");
    }
    http_cache_entry entry;
    const auto status = parse_digits(values[0]);
    if (!status || (*status != 200 && *status != 404 && *status != 410)) {
        return corrupt("status " + quote_for_message(values[0], 40) + " is not 200, 404 or 410");
    }
    entry.status = static_cast<int>(*status);
    if (entry.status == 200 && values[1].empty()) {
        return corrupt("a 200 entry without a url");
    }
    const auto age = parse_digits(values[6]);
    const auto received = parse_digits(values[7]);
    const auto body_bytes = parse_digits(values[8]);
    if (!age) {
        return corrupt("age " + quote_for_message(values[6], 40) + " is not a number");
    }
    if (!received || *received > static_cast<std::uint64_t>(INT64_MAX)) {
        return corrupt("received " + quote_for_message(values[7], 40) + " is not a number");
    }
    if (!body_bytes) {
        return corrupt("body-bytes " + quote_for_message(values[8], 40) + " is not a number");
    }
    if (*body_bytes != bytes.size() - pos) {
        return corrupt("body-bytes says " + std::to_string(*body_bytes) + " but " +
                       std::to_string(bytes.size() - pos) + " bytes follow the head" +
                       (*body_bytes > bytes.size() - pos ? " (truncated file?)" : ""));
    }
    if (entry.status != 200 && *body_bytes != 0) {
        return corrupt("a " + std::to_string(entry.status) + " entry with a body");
    }
    entry.url = std::string(values[1]);
    entry.content_type = std::string(values[2]);
    entry.etag = std::string(values[3]);
    entry.last_modified = std::string(values[4]);
    entry.cache_control = std::string(values[5]);
    entry.age_seconds = *age;
    entry.received_unix_seconds = static_cast<std::int64_t>(*received);
    bytes.erase(0, pos);
    entry.body = std::move(bytes);
    return entry;
}

bool is_fresh(const http_cache_entry& entry, std::chrono::system_clock::time_point now)
{
    const cache_control cc = parse_cache_control(entry.cache_control);
    if (cc.is_no_cache || cc.is_no_store || !cc.max_age_seconds) {
        return false;
    }
    const std::int64_t elapsed = unix_seconds(now) - entry.received_unix_seconds;
    // A receive time in the future (the clock went back) counts as just received.
    const std::uint64_t resident = elapsed > 0 ? static_cast<std::uint64_t>(elapsed) : 0;
    const std::uint64_t current_age = entry.age_seconds + resident;
    return current_age >= entry.age_seconds && current_age < *cc.max_age_seconds;
}

std::string strip_url_credentials(std::string_view text)
{
    auto parsed = io::url::parse_reference(text);
    if (!parsed) {
        return io::redact_url(text);
    }
    if (parsed->has_userinfo) {
        parsed->has_userinfo = false;
        parsed->userinfo.clear();
    }
    return parsed->to_string();
}

io::task<result<cached_response>> async_cached_get(io::http_client& http, stdfs::path entry_path,
                                                   std::string url, cached_get_options options)
{
    cached_response out;
    std::optional<http_cache_entry> stored;
    if (auto bytes = read_whole_file(entry_path); !bytes) {
        out.warnings.push_back("could not read the cache entry: " + bytes.error().to_string());
    } else if (*bytes) {
        auto parsed = parse_http_cache_entry(std::move(**bytes), entry_path.string());
        if (parsed) {
            stored = std::move(*parsed);
        } else {
            out.warnings.push_back("discarded a corrupt cache entry: " + parsed.error().to_string());
            remove_entry(entry_path, out.warnings);
        }
    }

    if (options.offline) {
        if (!stored) {
            co_return fail(errc::offline_miss,
                           options.subject + ": not in the cache, and the network is off limits "
                                             "(offline)",
                           entry_path.string(),
                           "run once without --offline to fill the cache, or add --find-links "
                           "with a directory holding the wheels");
        }
        out.entry = std::move(*stored);
        out.outcome = cache_outcome::offline;
        co_return out;
    }
    const auto now = std::chrono::system_clock::now();
    if (stored && !options.refresh && is_fresh(*stored, now)) {
        out.entry = std::move(*stored);
        out.outcome = cache_outcome::fresh;
        co_return out;
    }

    io::http_request request;
    request.url = url;
    request.accept_gzip = true;
    if (!options.accept.empty()) {
        request.headers.emplace_back("Accept", options.accept);
    }
    const bool is_conditional =
        stored && stored->status == 200 && (!stored->etag.empty() || !stored->last_modified.empty());
    if (is_conditional) {
        if (!stored->etag.empty()) {
            request.headers.emplace_back("If-None-Match", stored->etag);
        }
        if (!stored->last_modified.empty()) {
            request.headers.emplace_back("If-Modified-Since", stored->last_modified);
        }
    }
    auto response = co_await http.async_get_string(std::move(request), options.max_body_bytes);
    const std::int64_t received = unix_seconds(std::chrono::system_clock::now());
    if (!response) {
        if (response.error().code == io::http_errc::not_found) {
            // Recorded so that an offline run knows the project is not on this index. No
            // caching headers are kept: online, "not here" is always asked again.
            http_cache_entry missing;
            missing.status = 404;
            missing.url = strip_url_credentials(url);
            missing.received_unix_seconds = received;
            store(entry_path, missing, out.warnings);
            out.entry = std::move(missing);
            out.outcome = cache_outcome::fetched;
            co_return out;
        }
        co_return fail(response.error());
    }
    const io::response_head& head = response->head;
    if (head.status == 304) {
        if (!is_conditional) {
            co_return fail(io::http_errc::bad_response,
                           "HTTP 304 Not Modified to a request that was not conditional",
                           head.final_url, "the server or a proxy on the way is misbehaving");
        }
        http_cache_entry entry = std::move(*stored);
        entry.received_unix_seconds = received;
        entry.age_seconds = age_header(head);
        // A 304 carries the current caching headers (RFC 9111 §4.3.4): they replace ours.
        if (auto cc = head.header("Cache-Control")) {
            entry.cache_control = single_line(trim(*cc));
        }
        if (auto etag = head.header("ETag")) {
            entry.etag = single_line(trim(*etag));
        }
        if (auto lm = head.header("Last-Modified")) {
            entry.last_modified = single_line(trim(*lm));
        }
        if (parse_cache_control(entry.cache_control).is_no_store) {
            remove_entry(entry_path, out.warnings);
        } else {
            store(entry_path, entry, out.warnings);
        }
        out.entry = std::move(entry);
        out.outcome = cache_outcome::revalidated;
        co_return out;
    }
    http_cache_entry entry;
    entry.status = 200;
    entry.url = strip_url_credentials(head.final_url.empty() ? url : head.final_url);
    entry.content_type = header_or_empty(head, "Content-Type");
    entry.etag = header_or_empty(head, "ETag");
    entry.last_modified = header_or_empty(head, "Last-Modified");
    entry.cache_control = header_or_empty(head, "Cache-Control");
    entry.age_seconds = age_header(head);
    entry.received_unix_seconds = received;
    entry.body = std::move(response->body);
    if (parse_cache_control(entry.cache_control).is_no_store) {
        if (stored) {
            remove_entry(entry_path, out.warnings);
        }
    } else {
        store(entry_path, entry, out.warnings);
    }
    out.entry = std::move(entry);
    out.outcome = cache_outcome::fetched;
    co_return out;
}

}  // namespace pkg::index
