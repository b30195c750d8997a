// Finding, querying and locking the target environment (see target.hpp).

#include "session/target.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include <fmt/core.h>

#include <pkg/engine/errc.hpp>

#include "cache/cache.hpp"

namespace stdfs = std::filesystem;

namespace pkg::session {
namespace {

bool is_dir(const stdfs::path& p)
{
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool same_path(const stdfs::path& a, const stdfs::path& b)
{
    std::error_code ec;
    return a == b || stdfs::equivalent(a, b, ec);
}

}  // namespace

error cancelled(std::string_view what)
{
    return error{std::make_error_code(std::errc::operation_canceled),
                 fmt::format("{} was cancelled", what), {}, {}};
}

result<target> find_target(const std::optional<std::string>& python,
                           const python::getenv_function& getenv, const stdfs::path& cwd,
                           const stdfs::path& interpreter_bucket)
{
    std::optional<std::string> request = python;
    if (request && !request->empty()) {
        // A virtual environment's directory stands for its interpreter (`--python .venv`); a
        // bare word is a directory only if it holds bin/python, else a program on PATH.
        const stdfs::path dir = stdfs::path(*request).is_absolute() ? stdfs::path(*request)
                                                                     : cwd / *request;
        const bool has_slash = request->find('/') != std::string::npos;
        if (is_dir(dir) && (has_slash || ::access((dir / "bin" / "python").c_str(), X_OK) == 0)) {
            request = (dir / "bin" / "python").string();
        }
    }
    auto location = python::find_interpreter(request, python::discovery_environment{getenv, cwd});
    if (!location) {
        return fail(location.error());
    }
    python::query_options query;
    query.cache_bucket = interpreter_bucket;
    auto info = python::query_interpreter(location->executable, query);
    if (!info) {
        return fail(info.error());
    }
    const auto& facts = info->facts;
    if (!facts.is_virtual_environment()) {
        return fail(errc::not_an_environment,
                    fmt::format("{} (Python {}) is not in a virtual environment; pkg installs "
                                "only into virtual environments",
                                location->executable.string(), facts.version.to_string()),
                    location->executable.string(),
                    "create one with `pkg venv` and activate it, or pass --python <venv>");
    }
    target out;
    // Scripts must run inside the environment: its own bin/python, not the base interpreter.
    out.scheme = installer::make_target_scheme(facts, location->executable);
    out.site_dirs.push_back(facts.scheme.purelib);
    if (!same_path(facts.scheme.platlib, facts.scheme.purelib)) {
        out.site_dirs.push_back(facts.scheme.platlib);
    }
    out.lock_path = facts.prefix / environment_lock_name;
    out.interpreter = std::move(*info);
    return out;
}

result<std::chrono::milliseconds>
lock_timeout(const std::optional<std::chrono::milliseconds>& explicit_timeout,
             const python::getenv_function& getenv)
{
    if (explicit_timeout) {
        return *explicit_timeout;
    }
    return cache::lock_timeout_from_env(getenv);
}

result<io::file_lock>
lock_environment(const target& env, std::chrono::milliseconds timeout,
                 const io::cancel_handle& cancel,
                 const std::function<void(const std::optional<io::lock_owner>&)>& on_wait)
{
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + timeout;
    auto sleep = std::chrono::milliseconds(1);
    bool has_announced = false;
    for (;;) {
        auto attempt = io::file_lock::try_lock(env.lock_path, io::lock_kind::exclusive,
                                               "pkg: changing the environment");
        if (!attempt) {
            return fail(attempt.error());
        }
        if (*attempt) {
            return std::move(**attempt);
        }
        if (cancel.is_cancel_requested()) {
            return fail(cancelled("waiting for the environment lock"));
        }
        const auto now = clock::now();
        if (now >= deadline) {
            const auto owner = io::read_lock_owner(env.lock_path);
            return fail(errc::environment_locked,
                        fmt::format("another process has held the environment lock for over {} "
                                    "s{}",
                                    std::chrono::duration_cast<std::chrono::seconds>(timeout)
                                        .count(),
                                    owner ? fmt::format(" (pid {}: {})", owner->pid,
                                                        owner->description)
                                          : std::string()),
                        env.lock_path.string(),
                        "wait for the other pkg to finish, or raise PKG_LOCK_TIMEOUT");
        }
        if (!has_announced) {
            has_announced = true;
            if (on_wait) {
                on_wait(io::read_lock_owner(env.lock_path));
            }
        }
        std::this_thread::sleep_for(std::min<clock::duration>(sleep, deadline - now));
        sleep = std::min(sleep * 2, std::chrono::milliseconds(50));
    }
}

}  // namespace pkg::session
