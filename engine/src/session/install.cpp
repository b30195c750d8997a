// `pkg::install`: lockfiles → plan → the pipelined fetch-and-install of every package.
//
// Shape of a run (see install.hpp for the contract, plan.hpp for the planning rules):
//   preparing   parse the lockfiles, find + query the interpreter (cached facts), select the
//               pins that apply, take the environment lock, scan site-packages
//   planning    unchanged / install / replace / remove
//   (nothing to change: done here, without a runtime, a network or the cache lock)
//   removing    sync removals, in parallel on the CPU pool
//   fetching    per package, concurrently: the warm path first (a pinned sha256 whose archive is
//               in the cache and fits the interpreter's tags: no network at all), else the index
//               client locates the wheel and the pipeline fetches/unpacks it into the cache
//   installing  as soon as a package's archive is ready: uninstall the old version (if any) and
//               install the wheel, on the CPU pool (bounded by `link_slots`), while other
//               downloads continue
//   compiling   compileall over the installed .py files
// The first failure stops the rest: waiting fetches are cancelled, installs that started finish
// (an install is atomic: its .dist-info appears last, and on failure it removes what it wrote),
// and that failure is the result.

#include <pkg/engine/build_info.hpp>
#include <pkg/engine/errc.hpp>
#include <pkg/engine/install.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <mutex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>
#include <fmt/core.h>

#include "cache/cache.hpp"
#include "fs/file_backend.hpp"
#include "http/http_client.hpp"
#include "http/http_errc.hpp"
#include "http/http_options.hpp"
#include "http/url.hpp"
#include "index/index_client.hpp"
#include "install/install_wheel.hpp"
#include "lockfile/requirements_txt.hpp"
#include "pipeline/fetch_wheel.hpp"
#include "runtime/errors.hpp"
#include "runtime/fan_out.hpp"
#include "runtime/runtime.hpp"
#include "runtime/slots.hpp"
#include "session/compile_bytecode.hpp"
#include "session/plan.hpp"
#include "session/session.hpp"
#include "session/target.hpp"
#include "wheel/tags.hpp"
#include "wheel/wheel_filename.hpp"

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

namespace pkg {

const char* to_string(phase p) noexcept
{
    switch (p) {
    case phase::preparing: return "preparing";
    case phase::planning: return "planning";
    case phase::removing: return "removing";
    case phase::fetching: return "fetching";
    case phase::installing: return "installing";
    case phase::compiling: return "compiling";
    case phase::done: return "done";
    }
    return "unknown";
}

}  // namespace pkg

namespace pkg::session {
namespace {

using clock = std::chrono::steady_clock;

std::chrono::milliseconds since(clock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
}

// Progress events, in order, on the operation's thread (the io_context runs there too).
class progress_reporter {
public:
    explicit progress_reporter(progress_callback callback) : callback_(std::move(callback)) {}

    void phase_started(phase p)
    {
        if (announced_.size() <= static_cast<std::size_t>(p)) {
            announced_.resize(static_cast<std::size_t>(p) + 1, false);
        }
        if (announced_[static_cast<std::size_t>(p)]) {
            return;
        }
        announced_[static_cast<std::size_t>(p)] = true;
        emit(p, {}, {});
    }
    void package(phase p, const std::string& name, const char* action)
    {
        emit(p, name, action);
    }
    void package_done(phase p, const std::string& name, const char* action)
    {
        ++event_.packages_done;
        emit(p, name, action);
    }
    void set_total(std::size_t packages) { event_.packages_total = packages; }
    void add_bytes_total(std::uint64_t bytes) { event_.bytes_total += bytes; }
    void remove_bytes_total(std::uint64_t bytes)
    {
        event_.bytes_total -= std::min(bytes, event_.bytes_total);
    }
    /// A download of `bytes` finished; `declared` is the size added to the total beforehand
    /// (0 when unknown): the total is corrected to the real size, so done <= total holds.
    void add_bytes_done(std::uint64_t bytes, std::uint64_t declared)
    {
        remove_bytes_total(declared);
        event_.bytes_total += bytes;
        event_.bytes_done += bytes;
    }

private:
    void emit(phase p, const std::string& name, const char* action)
    {
        if (!callback_) {
            return;
        }
        event_.phase = p;
        event_.package = name;
        event_.action = action == nullptr ? "" : action;
        try {
            callback_(event_);
        } catch (...) {
            // The callback must not throw (documented); an exception must not unwind the run.
        }
    }

    progress_callback callback_;
    progress_event event_;
    std::vector<bool> announced_;
};

// Adapts a std::function getenv to io's `const char*(const char*)` shape (values kept alive).
io::getenv_function c_getenv(const python::getenv_function& getenv)
{
    auto storage = std::make_shared<std::map<std::string, std::optional<std::string>>>();
    return [getenv, storage](const char* name) -> const char* {
        auto [it, is_new] = storage->try_emplace(name);
        if (is_new) {
            it->second = getenv(name);
        }
        return it->second ? it->second->c_str() : nullptr;
    };
}

bool is_cancellation(const error& e)
{
    return io::is_cancelled(e) || e.code == io::http_errc::cancelled;
}

// One planned install as it progresses.
struct install_job {
    const planned_install* item = nullptr;
    package_report report;
    stdfs::path dist_info;  // set once installed
};

// Everything the pipeline shares; lives in the root coroutine's frame, destroyed before the
// runtime. Touched from the io_context thread, except `owners` and the linker (thread-safe),
// which CPU-pool jobs use.
struct run_state {
    run_state(io::runtime& rt, const install_options& opts, const target& env_,
              const cache::cache& c, progress_reporter& progress_, link_mode mode)
        : options(opts), env(env_), wheel_cache(c), progress(progress_),
          cpu(rt.cpu_executor()), stop_timer(rt.executor()),
          link_slots(rt.executor(), std::max<std::size_t>(2, rt.cpu_thread_count()), "link_slots"),
          unzip_slots(rt.executor(), std::max<std::size_t>(4, 2 * rt.cpu_thread_count()),
                      "unzip_slots"),
          links(mode)
    {
        stop_timer.expires_at(asio::steady_timer::time_point::max());
    }

    const install_options& options;
    const target& env;
    const cache::cache& wheel_cache;
    progress_reporter& progress;
    asio::thread_pool::executor_type cpu;
    wheel::tag_list tags;
    std::optional<pep440::version> python_version;

    // The first failure: set once, stops everything else.
    asio::steady_timer stop_timer;
    bool is_stopping = false;
    std::optional<error> first_error;

    io::slots link_slots;
    io::slots unzip_slots;
    std::unique_ptr<io::file_backend> files;
    std::unique_ptr<io::http_client> http;
    std::shared_ptr<pipeline::pipeline_context> ctx;
    std::optional<index::index_config> index_config;
    std::optional<error> index_config_error;
    std::unique_ptr<index::index_client> index;

    installer::linker links;
    installer::file_owners owners;  // thread-safe

    std::vector<install_job> jobs;
    std::vector<package_report> removed;
    std::vector<std::string> warnings;
    std::uint64_t downloaded_bytes = 0;
    clock::time_point fetch_start{};
    std::optional<clock::time_point> first_link_start;
    clock::time_point last_link_end{};

    void stop(error e)
    {
        if (!first_error && !is_cancellation(e)) {
            first_error = std::move(e);
        }
        if (!is_stopping) {
            is_stopping = true;
            stop_timer.cancel();
        }
    }

    ~run_state()
    {
        // The pipeline context and clients hold executors and waiters of the runtime: they go
        // first, in dependency order.
        index.reset();
        ctx.reset();
        http.reset();
        files.reset();
    }
};

io::task<void> async_wait_stop(run_state* st)
{
    if (!st->is_stopping) {
        co_await st->stop_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

// `work` with exceptions as error values: `||` below waits for one side to *succeed*, so a
// throwing `work` would otherwise leave it waiting for the stop signal.
template <class T>
io::task<result<T>> async_catching(io::task<result<T>> work, std::string what)
{
    try {
        co_return co_await std::move(work);
    } catch (...) {
        co_return fail(io::error_from_exception(std::current_exception(), what));
    }
}

// `work`, unless the run stops first (then `work` is cancelled and awaited).
template <class T>
io::task<result<T>> async_unless_stopped(run_state* st, io::task<result<T>> work,
                                         std::string what)
{
    using namespace asio::experimental::awaitable_operators;
    if (st->is_stopping) {
        co_return fail(cancelled(what));
    }
    auto outcome = co_await (async_catching(std::move(work), what) || async_wait_stop(st));
    if (outcome.index() == 0) {
        co_return std::move(std::get<0>(outcome));
    }
    co_return fail(cancelled(what));
}

std::string index_sha256(const index::index_file& file)
{
    auto it = file.hashes.find("sha256");
    return it == file.hashes.end() ? std::string() : it->second;
}

bool contains(const std::vector<std::string>& v, std::string_view s)
{
    return std::find(v.begin(), v.end(), s) != v.end();
}

// The warm path: an archive of one of the pin's hashes, compatible with the interpreter.
std::optional<cache::archive_entry> find_warm(const cache::cache& c, const pin& p,
                                              const wheel::tag_list& tags)
{
    std::optional<cache::archive_entry> best;
    std::size_t best_priority = std::numeric_limits<std::size_t>::max();
    for (const auto& sha : p.sha256) {
        auto entry = c.lookup_by_hash(sha);
        if (!entry) {
            continue;
        }
        auto name = wheel::wheel_filename::parse(entry->manifest.wheel_filename);
        // The hash must be the pin's own wheel: a lockfile pairing a pin with another version's
        // hash goes to the index (whose selection then reports the mismatch).
        const bool is_pinned_version =
            p.version.has_local()
                ? name && name->version == p.version
                : name && compare_public(name->version, p.version) == std::strong_ordering::equal;
        if (!name || name->normalized_name != p.name || !is_pinned_version) {
            continue;
        }
        auto priority = name->priority(tags);
        if (priority && *priority < best_priority) {
            best_priority = *priority;
            best = std::move(entry);
        }
    }
    return best;
}

// What a fetch produced for one package.
struct fetched {
    pipeline::archive_ref archive;
    package_source source = package_source::cache;
    std::string url;  // redacted, for messages; empty for the warm path
};

/// An archive found in the cache, as a fetch outcome.
fetched from_cache(cache::archive_entry entry)
{
    fetched out;
    out.archive.sha256 = entry.manifest.sha256;
    out.archive.dir = std::move(entry.dir);
    out.archive.manifest =
        std::make_shared<const cache::archive_manifest>(std::move(entry.manifest));
    out.archive.is_from_cache = true;
    out.source = package_source::cache;
    return out;
}

io::task<result<fetched>> async_fetch_one(run_state* st, install_job* job)
{
    const pin& p = job->item->wanted;
    if (!p.sha256.empty()) {
        const cache::cache& c = st->wheel_cache;
        const wheel::tag_list& tags = st->tags;
        auto lookup = [&c, &p, &tags] { return find_warm(c, p, tags); };
        auto warm = co_await io::async_on_cpu(st->cpu, std::move(lookup));
        if (warm) {
            st->progress.package(phase::fetching, p.name, "cached");
            co_return from_cache(std::move(*warm));
        }
    }
    if (!st->index) {
        co_return fail(*st->index_config_error);
    }
    index::select_options select;
    select.python_version = st->python_version;
    for (const auto& h : p.sha256) {
        select.hashes.push_back(index::pinned_hash{"sha256", h});
    }
    auto located = co_await st->index->async_find_wheel(p.name, p.version, st->tags, select);
    if (!located) {
        co_return fail(located.error().with_context(p.to_string()));
    }
    for (const auto& w : located->chosen.warnings) {
        st->warnings.push_back(fmt::format("{}: {}", p.to_string(), w));
    }
    const auto& file = located->chosen.file;
    pipeline::wheel_request request;
    request.url = file.url;
    request.filename = file.filename;
    request.index_url = located->index_url;
    request.index_sha256 = index_sha256(file);
    if (p.sha256.size() == 1) {
        request.pinned_sha256 = p.sha256.front();
    } else if (!request.index_sha256.empty() && contains(p.sha256, request.index_sha256)) {
        request.pinned_sha256 = request.index_sha256;
    }
    fetched out;
    out.url = located->local_path ? located->local_path->string() : io::redact_url(file.url);
    const bool is_size_known = file.size_bytes.has_value();
    result<pipeline::archive_ref> archive = fail(cancelled("fetching"));
    if (located->local_path) {
        out.source = package_source::local;
        archive = co_await pipeline::async_unpack_local_wheel(st->ctx, *located->local_path,
                                                              std::move(request));
        if (archive) {
            st->progress.package(phase::fetching, p.name, "local");
        }
    } else {
        // The cache first, found the way the pipeline would (by hash, else by the index's
        // pointer), so that "downloading" is announced only for real downloads and offline
        // runs can tell a miss.
        const cache::cache& c = st->wheel_cache;
        auto lookup = [&c, &request, &p]() -> std::optional<cache::archive_entry> {
            for (const auto* sha : {&request.pinned_sha256, &request.index_sha256}) {
                if (!sha->empty()) {
                    if (auto hit = c.lookup_by_hash(*sha)) {
                        return hit;
                    }
                }
            }
            if (request.pinned_sha256.empty() && request.index_sha256.empty() &&
                !request.index_url.empty()) {
                return c.lookup_wheel(request.index_url, p.name, request.filename);
            }
            return std::nullopt;
        };
        auto hit = co_await io::async_on_cpu(st->cpu, std::move(lookup));
        if (hit) {
            auto cached = from_cache(std::move(*hit));  // keeps `out.url` for messages below
            out.source = cached.source;
            archive = std::move(cached.archive);
            st->progress.package(phase::fetching, p.name, "cached");
        } else if (st->options.offline) {
            co_return fail(errc::offline_miss,
                           fmt::format("{}: {} is not in the cache, and --offline forbids "
                                       "downloading it",
                                       p.to_string(), request.filename),
                           out.url, "run once without --offline to fill the cache");
        } else {
            if (is_size_known) {
                st->progress.add_bytes_total(*file.size_bytes);
            }
            st->progress.package(phase::fetching, p.name, "downloading");
            archive = co_await pipeline::async_fetch_wheel(st->ctx, std::move(request));
            if (archive) {
                const auto bytes = archive->manifest->wheel_size_bytes;
                if (archive->is_from_cache) {
                    // Another process published it meanwhile: nothing was downloaded.
                    out.source = package_source::cache;
                    if (is_size_known) {
                        st->progress.remove_bytes_total(*file.size_bytes);
                    }
                    st->progress.package(phase::fetching, p.name, "cached");
                } else {
                    out.source = package_source::network;
                    st->downloaded_bytes += bytes;
                    st->progress.add_bytes_done(bytes, file.size_bytes.value_or(0));
                    st->progress.package(phase::fetching, p.name, "downloaded");
                }
            }
        }
    }
    if (!archive) {
        co_return fail(archive.error());
    }
    if (!p.sha256.empty() && !contains(p.sha256, archive->sha256)) {
        co_return fail(errc::hash_mismatch,
                       fmt::format("{}: {} has sha256 {}, which is none of the {} hashes the "
                                   "lockfile pins",
                                   p.to_string(), out.url, archive->sha256, p.sha256.size()),
                       fmt::format("{}:{}", p.location.file, p.location.line),
                       "the index serves another file than the one the lockfile was made "
                       "from; regenerate the lockfile's hashes if the change is expected");
    }
    out.archive = std::move(*archive);
    co_return out;
}

// Uninstalls `previous` (a replacement) and installs `archive`: one CPU-pool job, so a
// cancellation cannot fall between the two.
struct linked {
    installer::install_outcome outcome;
    std::vector<std::string> warnings;
};

result<linked> link_package(run_state* st, const planned_install& item,
                            const pipeline::archive_ref& archive)
{
    linked out;
    for (const auto& old : item.previous) {
        auto removed = installer::uninstall_dist(old, st->env.scheme);
        if (!removed) {
            return fail(removed.error().with_context(
                fmt::format("{}: removing {} {}", item.wanted.to_string(), old.name, old.version)));
        }
        out.warnings.insert(out.warnings.end(), removed->warnings.begin(),
                            removed->warnings.end());
        st->owners.forget(old.normalized_name);
    }
    installer::install_request request;
    request.archive_dir = archive.dir;
    request.manifest = archive.manifest;
    request.requested = true;
    auto installed = installer::install_wheel(request, st->env.scheme, st->links, st->owners);
    if (!installed) {
        return fail(installed.error().with_context(item.wanted.to_string()));
    }
    out.outcome = std::move(*installed);
    return out;
}

io::task<result<void>> async_install_one(run_state* st, install_job* job)
{
    const pin& p = job->item->wanted;
    auto got = co_await async_unless_stopped(st, async_fetch_one(st, job), "fetching " + p.name);
    if (!got) {
        st->stop(got.error());
        co_return fail(got.error());
    }
    auto permit = co_await st->link_slots.async_acquire();
    if (!permit) {
        st->stop(permit.error());
        co_return fail(permit.error());
    }
    if (st->is_stopping) {
        co_return fail(cancelled("installing " + p.name));
    }
    st->progress.phase_started(phase::installing);
    if (!st->first_link_start) {
        st->first_link_start = clock::now();
    }
    auto link = [st, job, &got] { return link_package(st, *job->item, got->archive); };
    auto outcome = co_await io::async_on_cpu(st->cpu, std::move(link));
    st->last_link_end = clock::now();
    if (!outcome) {
        st->stop(outcome.error());
        co_return fail(outcome.error());
    }
    for (auto& w : outcome->warnings) {
        st->warnings.push_back(std::move(w));
    }
    for (auto& w : outcome->outcome.warnings) {
        st->warnings.push_back(fmt::format("{}: {}", p.to_string(), w));
    }
    auto& r = job->report;
    r.name = p.name;
    r.version = outcome->outcome.dist.version;
    r.source = got->source;
    r.wheel = got->archive.manifest->wheel_filename;
    r.files = outcome->outcome.files;
    job->dist_info = outcome->outcome.dist.dist_info;
    st->progress.package_done(phase::installing, p.name, "installed");
    co_return result<void>{};
}

io::task<result<void>> async_remove_one(run_state* st, const installer::installed_dist* dist)
{
    auto permit = co_await st->link_slots.async_acquire();
    if (!permit) {
        co_return fail(permit.error());
    }
    const target& env = st->env;
    auto remove = [dist, &env] { return installer::uninstall_dist(*dist, env.scheme); };
    auto outcome = co_await io::async_on_cpu(st->cpu, std::move(remove));
    if (!outcome) {
        co_return fail(outcome.error().with_context(fmt::format("removing {} {}", dist->name,
                                                                dist->version)));
    }
    for (auto& w : outcome->warnings) {
        st->warnings.push_back(fmt::format("{} {}: {}", dist->name, dist->version, w));
    }
    st->removed.push_back(package_report{dist->normalized_name, dist->version, {},
                                         package_source::cache, {}, outcome->files});
    st->owners.forget(dist->normalized_name);
    st->progress.package_done(phase::removing, dist->normalized_name, "removed");
    co_return result<void>{};
}

// The first error among `outcomes` that is not a cancellation, else the first one.
std::optional<error> first_failure(const std::vector<result<void>>& outcomes)
{
    std::optional<error> any;
    for (const auto& o : outcomes) {
        if (!o) {
            if (!is_cancellation(o.error())) {
                return o.error();
            }
            if (!any) {
                any = o.error();
            }
        }
    }
    return any;
}

struct pipeline_inputs {
    const install_options* options = nullptr;
    const target* env = nullptr;
    const cache::cache* wheel_cache = nullptr;
    const plan* the_plan = nullptr;
    const std::vector<lockfile::requirements_file>* files = nullptr;
    python::getenv_function getenv;
    stdfs::path cwd;
    progress_reporter* progress = nullptr;
    io::runtime* rt = nullptr;
    link_mode mode = link_mode::hardlink;
};

struct pipeline_outcome {
    std::vector<package_report> installed;
    std::vector<package_report> replaced;
    std::vector<package_report> removed;
    std::vector<stdfs::path> dist_infos;
    std::vector<std::string> warnings;
    std::uint64_t downloaded_bytes = 0;
    std::uint64_t network_requests = 0;
    std::chrono::milliseconds fetch_time{0};
    std::chrono::milliseconds install_time{0};
};

io::task<result<pipeline_outcome>> async_apply_plan(pipeline_inputs in)
{
    const auto& opts = *in.options;
    const plan& pl = *in.the_plan;
    run_state st(*in.rt, opts, *in.env, *in.wheel_cache, *in.progress, in.mode);
    const auto& facts = in.env->interpreter.facts;
    st.tags = wheel::tag_list::for_interpreter(facts.tag_description());
    if (auto v = pep440::version::parse(facts.version.to_string())) {
        st.python_version = std::move(*v);
    }

    // Who owns which installed file (collision checks): read every RECORD once, off-thread.
    {
        std::vector<installer::installed_dist> dists;
        for (const auto& u : pl.unchanged) {
            dists.push_back(u.dist);
        }
        for (const auto& i : pl.installs) {
            dists.insert(dists.end(), i.previous.begin(), i.previous.end());
        }
        dists.insert(dists.end(), pl.removals.begin(), pl.removals.end());
        auto build = [&dists] { return installer::file_owners::build(dists); };
        auto owners = co_await io::async_on_cpu(st.cpu, std::move(build));
        if (!owners) {
            co_return fail(owners.error());
        }
        st.owners = std::move(*owners);
    }

    // Sync removals first: a package installed next may take over a removed one's files.
    if (!pl.removals.empty()) {
        st.progress.phase_started(phase::removing);
        std::vector<io::task<result<void>>> removals;
        for (const auto& d : pl.removals) {
            removals.push_back(async_remove_one(&st, &d));
        }
        auto outcomes = co_await io::async_collect(std::move(removals));
        if (auto e = first_failure(outcomes)) {
            co_return fail(std::move(*e));
        }
    }

    pipeline_outcome out;
    if (!pl.installs.empty()) {
        st.progress.phase_started(phase::fetching);
        auto files = io::make_file_backend(in.rt->executor());
        if (!files) {
            co_return fail(files.error());
        }
        st.files = std::move(*files);
        auto http_options = io::http_options::from_environment(
            c_getenv(in.getenv), fmt::format("pkg/{}", engine_version()));
        if (!http_options) {
            co_return fail(http_options.error());
        }
        if (opts.concurrent_downloads && *opts.concurrent_downloads > 0) {
            http_options->max_concurrent = *opts.concurrent_downloads;
        }
        st.http = std::make_unique<io::http_client>(in.rt->executor(), std::move(*http_options));
        st.ctx = std::make_shared<pipeline::pipeline_context>(st.cpu, *st.http, *st.files,
                                                              *in.wheel_cache, st.unzip_slots);
        std::vector<const lockfile::requirements_file*> file_ptrs;
        for (const auto& f : *in.files) {
            file_ptrs.push_back(&f);
        }
        // Resolved without insisting on an index: a warm install needs none. A package that
        // misses the cache reports the configuration error.
        auto config = index::resolve_index_config(opts.index, file_ptrs, in.getenv, in.cwd,
                                                  /*need_index=*/false);
        if (!config) {
            co_return fail(config.error());
        }
        if (config->index_urls.empty() && config->find_links.empty()) {
            auto why = index::resolve_index_config(opts.index, file_ptrs, in.getenv, in.cwd, true);
            st.index_config_error =
                why ? error{errc::no_index_configured, "no package index is configured", {},
                            "pass --index-url or set PKG_INDEX_URL / PIP_INDEX_URL"}
                    : why.error();
        } else {
            st.index = std::make_unique<index::index_client>(
                *st.http, *in.wheel_cache, *config,
                index::index_client::options{.offline = opts.offline, .refresh = opts.refresh});
        }

        st.jobs.resize(pl.installs.size());
        std::vector<io::task<result<void>>> installs;
        for (std::size_t i = 0; i < pl.installs.size(); ++i) {
            st.jobs[i].item = &pl.installs[i];
            installs.push_back(async_install_one(&st, &st.jobs[i]));
        }
        st.fetch_start = clock::now();
        auto outcomes = co_await io::async_collect(std::move(installs));
        out.fetch_time = since(st.fetch_start);
        out.network_requests = st.ctx->http_fetches.load();
        if (st.index) {
            const auto& stats = st.index->stats();
            out.network_requests += stats.pages_fetched.load() + stats.pages_revalidated.load() +
                                    stats.pages_not_found.load();
        }
        if (st.first_error) {
            co_return fail(std::move(*st.first_error));
        }
        if (auto e = first_failure(outcomes)) {
            co_return fail(std::move(*e));
        }
        for (auto& job : st.jobs) {
            if (job.item->previous.empty()) {
                out.installed.push_back(std::move(job.report));
            } else {
                std::string previous;
                for (const auto& d : job.item->previous) {
                    previous += (previous.empty() ? "" : ", ") + d.version;
                }
                job.report.previous_version = std::move(previous);
                out.replaced.push_back(std::move(job.report));
            }
            out.dist_infos.push_back(job.dist_info);
        }
    }
    out.removed = std::move(st.removed);
    std::sort(out.removed.begin(), out.removed.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    out.warnings = std::move(st.warnings);
    for (auto& w : st.links.warnings()) {
        out.warnings.push_back(std::move(w));
    }
    out.downloaded_bytes = st.downloaded_bytes;
    if (st.first_link_start) {
        out.install_time = std::chrono::duration_cast<std::chrono::milliseconds>(
            st.last_link_end - *st.first_link_start);
    }
    co_return out;
}

// Runs the pipeline on a runtime of its own; a cancelled root becomes operation_canceled.
result<pipeline_outcome> run_pipeline(pipeline_inputs in, const io::cancel_handle& cancel)
{
    io::runtime rt;
    in.rt = &rt;
    try {
        auto outcome = rt.run(async_apply_plan(std::move(in)), cancel);
        if (!outcome && cancel.is_cancel_requested()) {
            return fail(cancelled("the install"));
        }
        return outcome;
    } catch (...) {
        auto e = io::error_from_exception(std::current_exception(), "the install");
        if (cancel.is_cancel_requested() || is_cancellation(e)) {
            return fail(cancelled("the install"));
        }
        return fail(std::move(e));
    }
}

package_report report_of(const pin& p, const installer::installed_dist& d)
{
    return package_report{p.name, d.version, {}, package_source::cache, {}, 0};
}

}  // namespace

result<install_report> run_install(const install_options& options, const io::cancel_handle& cancel)
{
    const auto start = clock::now();
    progress_reporter progress(options.on_progress);
    progress.phase_started(phase::preparing);
    const python::getenv_function getenv =
        options.getenv ? python::getenv_function(options.getenv) : cache::process_environment();
    std::error_code ec;
    const stdfs::path cwd = options.cwd.empty() ? stdfs::current_path(ec) : options.cwd;

    // Lockfiles first: their errors need no interpreter.
    std::vector<lockfile::requirements_file> files;
    for (const auto& path : options.requirements) {
        lockfile::parse_options parse_options;
        parse_options.getenv = getenv;
        auto parsed =
            lockfile::parse_requirements_file(path.is_absolute() ? path : cwd / path, parse_options);
        if (!parsed) {
            return fail(parsed.error());
        }
        files.push_back(std::move(*parsed));
    }
    if (cancel.is_cancel_requested()) {
        return fail(cancelled("the install"));
    }

    // The cache (for the interpreter facts; archives later). --no-cache: none until needed.
    std::optional<cache::cache> wheel_cache;
    if (!options.no_cache) {
        const auto cache_getenv = options.cache.getenv
                                      ? cache::getenv_function(options.cache.getenv)
                                      : getenv;
        auto root = cache::resolve_root(options.cache.cache_dir, cache_getenv);
        if (!root) {
            return fail(root.error());
        }
        auto opened = cache::cache::open(root->is_absolute() ? *root : cwd / *root);
        if (!opened) {
            return fail(opened.error());
        }
        wheel_cache.emplace(std::move(*opened));
    }
    auto env = find_target(options.python, getenv, cwd,
                           wheel_cache ? wheel_cache->bucket(cache::interpreter_bucket)
                                       : stdfs::path());
    if (!env) {
        return fail(env.error());
    }
    auto pins = select_pins(files, options.require_hashes, env->interpreter.facts.markers);
    if (!pins) {
        return fail(pins.error());
    }
    link_mode mode = link_mode::hardlink;
    if (options.link_mode) {
        mode = *options.link_mode;
    } else if (auto text = getenv("PKG_LINK_MODE"); text && !text->empty()) {
        auto parsed = parse_link_mode(*text);
        if (!parsed) {
            return fail(parsed.error().with_context("PKG_LINK_MODE"));
        }
        mode = *parsed;
    }
    if (options.no_cache && mode == link_mode::symlink) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "link mode symlink cannot be used with --no-cache: the links would point "
                    "into a temporary cache that is removed when the install ends",
                    {}, "use another link mode (hardlink, copy, clone) or a cache");
    }
    auto timeout = lock_timeout(options.lock_timeout, getenv);
    if (!timeout) {
        return fail(timeout.error());
    }
    std::optional<io::file_lock> env_lock;
    if (!options.dry_run) {
        auto locked = lock_environment(*env, *timeout, cancel,
                                       [&](const std::optional<io::lock_owner>&) {
                                           progress.package(phase::preparing, {}, "waiting");
                                       });
        if (!locked) {
            return fail(locked.error());
        }
        env_lock.emplace(std::move(*locked));
        // Staging and removal trees of killed runs: only a holder of this lock makes them, so
        // with it held, those whose process is gone are garbage. Best effort: a directory that
        // cannot be read fails the scan below with a better message.
        (void)installer::remove_interrupted_leftovers(env->site_dirs);
    }
    auto installed = installer::scan_site_packages(env->site_dirs);
    if (!installed) {
        return fail(installed.error());
    }
    if (cancel.is_cancel_requested()) {
        return fail(cancelled("the install"));
    }

    progress.phase_started(phase::planning);
    auto the_plan = make_plan(pins->pins, *installed,
                              plan_options{.sync = options.sync,
                                           .remove_seed_packages = options.sync_remove_seed_packages,
                                           .reinstall = options.reinstall});
    if (!the_plan) {
        return fail(the_plan.error());
    }
    progress.set_total(the_plan->change_count());

    install_report report;
    report.environment = env->scheme.prefix;
    report.python = env->interpreter.executable;
    report.python_version = env->interpreter.facts.version.to_string();
    report.skipped = pins->skipped;
    report.is_dry_run = options.dry_run;
    for (const auto& f : files) {
        report.warnings.insert(report.warnings.end(), f.warnings.begin(), f.warnings.end());
    }
    report.warnings.insert(report.warnings.end(), the_plan->warnings.begin(),
                           the_plan->warnings.end());
    for (const auto& u : the_plan->unchanged) {
        report.unchanged.push_back(report_of(u.wanted, u.dist));
    }

    if (options.dry_run) {
        for (const auto& i : the_plan->installs) {
            package_report r{i.wanted.name, i.wanted.version_text, {}, package_source::network,
                             {}, 0};
            const bool is_cached =
                wheel_cache && std::any_of(i.wanted.sha256.begin(), i.wanted.sha256.end(),
                                           [&](const std::string& h) {
                                               return wheel_cache->has_archive(h);
                                           });
            if (is_cached) {
                r.source = package_source::cache;
            }
            if (i.previous.empty()) {
                report.installed.push_back(std::move(r));
            } else {
                for (const auto& d : i.previous) {
                    r.previous_version += (r.previous_version.empty() ? "" : ", ") + d.version;
                }
                report.replaced.push_back(std::move(r));
            }
        }
        for (const auto& d : the_plan->removals) {
            report.removed.push_back(
                package_report{d.normalized_name, d.version, {}, package_source::cache, {}, 0});
        }
        progress.phase_started(phase::done);
        report.elapsed = since(start);
        return report;
    }

    if (the_plan->change_count() > 0) {
        if (!wheel_cache) {
            // --no-cache: a temporary cache beside the environment (same filesystem: hardlinks).
            auto temporary = cache::cache::open_temporary(env->scheme.prefix.parent_path());
            if (!temporary) {
                return fail(temporary.error());
            }
            wheel_cache.emplace(std::move(*temporary));
        }
        auto cache_lock = wheel_cache->lock_shared(*timeout);
        if (!cache_lock) {
            return fail(cache_lock.error());
        }
        pipeline_inputs in;
        in.options = &options;
        in.env = &*env;
        in.wheel_cache = &*wheel_cache;
        in.the_plan = &*the_plan;
        in.files = &files;
        in.getenv = getenv;
        in.cwd = cwd;
        in.progress = &progress;
        in.mode = mode;
        auto outcome = run_pipeline(std::move(in), cancel);
        if (!outcome) {
            return fail(outcome.error());
        }
        report.installed = std::move(outcome->installed);
        report.replaced = std::move(outcome->replaced);
        report.removed = std::move(outcome->removed);
        report.warnings.insert(report.warnings.end(), outcome->warnings.begin(),
                               outcome->warnings.end());
        report.downloaded_bytes = outcome->downloaded_bytes;
        report.network_requests = outcome->network_requests;
        report.fetch_time = outcome->fetch_time;
        report.install_time = outcome->install_time;

        if (options.compile_bytecode && !outcome->dist_infos.empty()) {
            if (cancel.is_cancel_requested()) {
                return fail(cancelled("the install"));
            }
            progress.phase_started(phase::compiling);
            auto py_files = python_files_of(outcome->dist_infos);
            if (!py_files) {
                return fail(py_files.error());
            }
            auto compiled = compile_bytecode(env->scheme.python, *py_files);
            if (!compiled) {
                return fail(compiled.error());
            }
            report.warnings.insert(report.warnings.end(), compiled->warnings.begin(),
                                   compiled->warnings.end());
        }
    }
    progress.phase_started(phase::done);
    report.elapsed = since(start);
    return report;
}

}  // namespace pkg::session

namespace pkg {

result<install_report> install(const install_options& options)
{
    try {
        return session::run_install(options, io::cancel_handle{});
    } catch (...) {
        return fail(io::error_from_exception(std::current_exception(), "install"));
    }
}

}  // namespace pkg
