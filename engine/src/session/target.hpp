#pragma once
/// \file
/// The environment an operation works on: its interpreter (found and queried), its install
/// scheme, and its lock.
///
/// The environment lock is the file `<prefix>/.pkg.lock` (prefix = sys.prefix of the venv),
/// an OFD lock (io/src/fs/file_lock.hpp) taken exclusively while an operation changes the
/// environment (install, sync, uninstall; not dry runs, not list). It lives in the environment
/// itself so that every process that targets the environment, by whatever path or symlink,
/// meets the same lock, and it goes away with the environment. `pkg` never deletes it.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

#include "fs/file_lock.hpp"
#include "install/install_wheel.hpp"
#include "python/interpreter.hpp"
#include "runtime/runtime.hpp"

namespace pkg::session {

/// Name of the environment lock file inside the prefix.
inline constexpr std::string_view environment_lock_name = ".pkg.lock";

/// A found and queried target environment.
struct target {
    python::interpreter_info interpreter;
    installer::target_scheme scheme;
    /// purelib and platlib, deduplicated (by equivalence), purelib first.
    std::vector<std::filesystem::path> site_dirs;
    std::filesystem::path lock_path;  ///< `<prefix>/.pkg.lock`
};

/// Finds the interpreter for `python` (a venv directory is taken as its `bin/python`; else as
/// `python::find_interpreter`), queries it (cached in `interpreter_bucket` unless empty) and
/// checks that it is a virtual environment.
/// Errors: discovery and query errors; `errc::not_an_environment` for an interpreter outside a
/// virtual environment, naming it, with a hint to create one (`pkg venv`) or pass `--python`.
/// Thread-safety: safe if `getenv` is.
[[nodiscard]] result<target> find_target(const std::optional<std::string>& python,
                                         const python::getenv_function& getenv,
                                         const std::filesystem::path& cwd,
                                         const std::filesystem::path& interpreter_bucket);

/// Takes the environment lock exclusively: tries at once, else calls `on_wait` once (with the
/// holder if it recorded itself) and retries with growing sleeps (1 ms up to 50 ms) until
/// `timeout`, checking `cancel` between attempts.
/// Errors: `errc::environment_locked` naming the lock file, the timeout and the holder;
/// `std::errc::operation_canceled` when `cancel` is requested while waiting; lock errors naming
/// the file (read-only environment, a filesystem without locks).
/// Thread-safety: safe; several callers in one process exclude each other like processes do.
[[nodiscard]] result<io::file_lock> lock_environment(
    const target& env, std::chrono::milliseconds timeout, const io::cancel_handle& cancel,
    const std::function<void(const std::optional<io::lock_owner>&)>& on_wait = {});

/// The lock timeout: `explicit_timeout`, else `PKG_LOCK_TIMEOUT` (whole seconds), else 300 s.
/// Errors: `std::errc::invalid_argument` citing a malformed `PKG_LOCK_TIMEOUT`.
[[nodiscard]] result<std::chrono::milliseconds>
lock_timeout(const std::optional<std::chrono::milliseconds>& explicit_timeout,
             const python::getenv_function& getenv);

/// The error an operation returns when it was cancelled: `std::errc::operation_canceled`,
/// message "<what> was cancelled".
[[nodiscard]] error cancelled(std::string_view what);

}  // namespace pkg::session
