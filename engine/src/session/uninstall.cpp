// `pkg::uninstall` and `pkg::list` (see install.hpp).

#include <pkg/engine/errc.hpp>
#include <pkg/engine/install.hpp>

#include <algorithm>
#include <map>

#include <fmt/core.h>

#include "cache/cache.hpp"
#include "install/install_wheel.hpp"
#include "pep508/name.hpp"
#include "runtime/errors.hpp"
#include "runtime/fan_out.hpp"
#include "runtime/runtime.hpp"
#include "session/plan.hpp"
#include "session/session.hpp"
#include "session/target.hpp"

namespace stdfs = std::filesystem;

namespace pkg::session {
namespace {

struct prepared {
    python::getenv_function getenv;
    target env;
};

// Discovery shared by uninstall and list: the interpreter facts come from the cache's
// interpreter bucket when a cache can be opened (a missing cache is not an error here).
result<prepared> prepare(const environment_options& options)
{
    prepared out;
    out.getenv =
        options.getenv ? python::getenv_function(options.getenv) : cache::process_environment();
    std::error_code ec;
    const stdfs::path cwd = options.cwd.empty() ? stdfs::current_path(ec) : options.cwd;
    stdfs::path bucket;
    if (!options.no_cache) {
        const auto cache_getenv = options.cache.getenv
                                      ? cache::getenv_function(options.cache.getenv)
                                      : out.getenv;
        if (auto root = cache::resolve_root(options.cache.cache_dir, cache_getenv)) {
            if (auto opened = cache::cache::open(root->is_absolute() ? *root : cwd / *root)) {
                bucket = opened->bucket(cache::interpreter_bucket);
            }
        }
    }
    auto env = find_target(options.python, out.getenv, cwd, bucket);
    if (!env) {
        return fail(env.error());
    }
    out.env = std::move(*env);
    return out;
}

void emit(const progress_callback& callback, progress_event& event, phase p,
          const std::string& package, const char* action)
{
    if (!callback) {
        return;
    }
    event.phase = p;
    event.package = package;
    event.action = action;
    try {
        callback(event);
    } catch (...) {
        // Must not throw (documented); never unwinds the operation.
    }
}

io::task<result<installer::uninstall_outcome>>
async_uninstall_one(io::runtime* rt, const installer::installed_dist* dist,
                    const installer::target_scheme* scheme)
{
    auto remove = [dist, scheme] { return installer::uninstall_dist(*dist, *scheme); };
    co_return co_await rt->async_on_cpu(std::move(remove));
}

}  // namespace

result<uninstall_report> run_uninstall(const uninstall_options& options,
                                       const io::cancel_handle& cancel)
{
    progress_event event;
    emit(options.on_progress, event, phase::preparing, {}, "");
    // Names first: a typo needs no interpreter.
    std::vector<std::string> names;
    for (const auto& n : options.names) {
        auto normalized = pep508::parse_name(n);
        if (!normalized) {
            return fail(normalized.error());
        }
        if (std::find(names.begin(), names.end(), *normalized) == names.end()) {
            names.push_back(std::move(*normalized));
        }
    }
    auto prep = prepare(options);
    if (!prep) {
        return fail(prep.error());
    }
    auto timeout = lock_timeout(options.lock_timeout, prep->getenv);
    if (!timeout) {
        return fail(timeout.error());
    }
    std::optional<io::file_lock> env_lock;
    if (!options.dry_run) {
        auto locked = lock_environment(prep->env, *timeout, cancel,
                                       [&](const std::optional<io::lock_owner>&) {
                                           emit(options.on_progress, event, phase::preparing, {},
                                                "waiting");
                                       });
        if (!locked) {
            return fail(locked.error());
        }
        env_lock.emplace(std::move(*locked));
        // Staging and removal trees of killed runs: only a holder of this lock makes them, so
        // with it held, those whose process is gone are garbage. Best effort: a directory that
        // cannot be read fails the scan below with a better message.
        (void)installer::remove_interrupted_leftovers(prep->env.site_dirs);
    }
    auto installed = installer::scan_site_packages(prep->env.site_dirs);
    if (!installed) {
        return fail(installed.error());
    }
    emit(options.on_progress, event, phase::planning, {}, "");
    std::vector<installer::installed_dist> targets;
    std::vector<std::string> missing;
    uninstall_report report;
    report.environment = prep->env.scheme.prefix;
    for (const auto& name : names) {
        bool found = false;
        for (const auto& d : *installed) {
            if (d.normalized_name != name) {
                continue;
            }
            found = true;
            if (is_egg_info(d)) {
                return fail(errc::unsupported,
                            fmt::format("{} {} is installed as .egg-info, which has no RECORD; "
                                        "pkg cannot uninstall it",
                                        d.name, d.version),
                            d.dist_info.string(), "use the tool that installed it (pip)");
            }
            targets.push_back(d);
        }
        if (!found) {
            missing.push_back(name);
        }
    }
    if (!missing.empty()) {
        std::string list;
        for (const auto& m : missing) {
            list += (list.empty() ? "" : ", ") + m;
        }
        return fail(errc::not_installed,
                    fmt::format("not installed: {} (nothing was removed)", list),
                    prep->env.scheme.prefix.string(), "`pkg list` shows what is installed");
    }
    event.packages_total = targets.size();
    if (options.dry_run) {
        for (const auto& d : targets) {
            report.removed.push_back(
                package_report{d.normalized_name, d.version, {}, package_source::cache, {}, 0});
        }
        emit(options.on_progress, event, phase::done, {}, "");
        return report;
    }
    if (cancel.is_cancel_requested()) {
        return fail(cancelled("the uninstall"));
    }
    emit(options.on_progress, event, phase::removing, {}, "");
    std::vector<result<installer::uninstall_outcome>> outcomes;
    try {
        io::runtime rt;
        std::vector<io::task<result<installer::uninstall_outcome>>> jobs;
        for (const auto& d : targets) {
            jobs.push_back(async_uninstall_one(&rt, &d, &prep->env.scheme));
        }
        outcomes = rt.run(io::async_collect(std::move(jobs), rt.cpu_thread_count()), cancel);
    } catch (...) {
        auto e = io::error_from_exception(std::current_exception(), "the uninstall");
        return fail(cancel.is_cancel_requested() ? cancelled("the uninstall") : e);
    }
    std::optional<error> first;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const auto& d = targets[i];
        if (!outcomes[i]) {
            if (!first || io::is_cancelled(*first)) {
                first = outcomes[i].error().with_context(
                    fmt::format("removing {} {}", d.name, d.version));
            }
            continue;
        }
        for (const auto& w : outcomes[i]->warnings) {
            report.warnings.push_back(fmt::format("{} {}: {}", d.name, d.version, w));
        }
        report.removed.push_back(package_report{d.normalized_name, d.version, {},
                                                package_source::cache, {}, outcomes[i]->files});
        ++event.packages_done;
        emit(options.on_progress, event, phase::removing, d.normalized_name, "removed");
    }
    if (first) {
        return fail(io::is_cancelled(*first) || cancel.is_cancel_requested()
                        ? cancelled("the uninstall")
                        : *first);
    }
    emit(options.on_progress, event, phase::done, {}, "");
    return report;
}

result<environment_listing> run_list(const environment_options& options,
                                     const io::cancel_handle& cancel)
{
    if (cancel.is_cancel_requested()) {
        return fail(cancelled("listing the environment"));
    }
    auto prep = prepare(options);
    if (!prep) {
        return fail(prep.error());
    }
    auto installed = installer::scan_site_packages(prep->env.site_dirs);
    if (!installed) {
        return fail(installed.error());
    }
    environment_listing out;
    out.environment = prep->env.scheme.prefix;
    out.python = prep->env.interpreter.executable;
    out.python_version = prep->env.interpreter.facts.version.to_string();
    for (auto& d : *installed) {
        out.packages.push_back(installed_package{std::move(d.name), std::move(d.normalized_name),
                                                 std::move(d.version), std::move(d.installer),
                                                 std::move(d.dist_info)});
    }
    std::stable_sort(out.packages.begin(), out.packages.end(),
                     [](const auto& a, const auto& b) {
                         return a.normalized_name < b.normalized_name;
                     });
    return out;
}

}  // namespace pkg::session

namespace pkg {

result<uninstall_report> uninstall(const uninstall_options& options)
{
    try {
        return session::run_uninstall(options, io::cancel_handle{});
    } catch (...) {
        return fail(io::error_from_exception(std::current_exception(), "uninstall"));
    }
}

result<environment_listing> list(const environment_options& options)
{
    try {
        return session::run_list(options, io::cancel_handle{});
    } catch (...) {
        return fail(io::error_from_exception(std::current_exception(), "list"));
    }
}

}  // namespace pkg
