#pragma once
/// \file
/// Creating a Python virtual environment natively (no `python -m venv` run), laid out as
/// CPython's venv lays it out on POSIX:
/// ```
/// <path>/pyvenv.cfg                home, include-system-site-packages, version, executable, command
/// <path>/bin/python, python3, python3.X   symlinks to the base interpreter (absolute, resolved)
/// <path>/bin/activate, activate.fish      pkg's own activation scripts
/// <path>/lib/python3.X/site-packages/     (from the interpreter's `venv` sysconfig scheme)
/// <path>/lib64 -> lib                      on 64-bit Linux, as venv does
/// <path>/include/[python3.X/]
/// ```
/// The tree is built under a hidden sibling name and renamed into place, so a half-made
/// environment never sits at the target name. Embedding API: Asio-free.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

namespace pkg {

/// What `create_venv` creates.
struct venv_options {
    /// Where the environment goes (relative paths are taken against `cwd`).
    std::filesystem::path path;
    /// The base interpreter: a path (contains `/`), a program name on PATH (`python3.11`), or a
    /// version (`3.11` → `python3.11`). nullopt → `python3` on PATH; a venv's python found there
    /// (an active environment) is traced back to its base interpreter.
    std::optional<std::string> python;
    /// Replace an existing virtual environment at `path` (never a directory that is not one).
    bool clear = false;
    /// Install pip (and setuptools before Python 3.12, as `python -m venv` does) with pkg's
    /// installer, from the wheels the interpreter bundles for ensurepip (or Debian's
    /// /usr/share/python-wheels): offline, no index needed. A failed seed removes the new
    /// environment. Uses the cache next to `interpreter_cache` (a temporary one when that is empty).
    bool seed = false;
    /// The prompt prefix the activate scripts show; nullopt → the directory's name. When given
    /// it is also recorded in pyvenv.cfg (`prompt = …`), as venv does.
    std::optional<std::string> prompt;
    /// The command line recorded in pyvenv.cfg (`command = …`); empty → `pkg venv <path>`.
    std::vector<std::string> command;
    /// The interpreter cache bucket (`<cache>/interpreter-v1`); empty → query without caching.
    std::filesystem::path interpreter_cache;
    /// Reads an environment variable (PATH); empty → the process environment.
    std::function<std::optional<std::string>(std::string_view)> getenv;
    /// The directory relative paths are taken against; empty → the current directory.
    std::filesystem::path cwd;
};

/// What `create_venv` made.
struct venv_report {
    std::filesystem::path path;             ///< absolute path of the environment
    std::string python_version;             ///< e.g. "3.11.7"
    std::filesystem::path base_executable;  ///< the resolved base interpreter the links point to
    std::filesystem::path python;           ///< `<path>/bin/python`
    bool is_replaced = false;               ///< an existing environment was replaced (clear)
    std::vector<std::string> seeded;        ///< `name==version` installed by `seed`
};

/// Creates a virtual environment at `options.path`.
/// Contract: finds and queries the base interpreter (once; cached in `interpreter_cache`),
/// builds the tree under `.<name>.tmp.<pid>.<random>` beside the target, then renames it into
/// place: onto a missing or empty target directly; with `clear` onto an existing venv by an
/// atomic exchange (renameat2 RENAME_EXCHANGE) after which the old tree is deleted. On failure
/// the staging tree is removed and the target is untouched.
/// Errors: `errc::unsupported` (`seed` without a pip wheel to use), seed install errors,
/// `errc::interpreter_not_found`,
/// `errc::interpreter_query_failed`, `errc::venv_exists` (a venv is there and `clear` is
/// false), `errc::venv_target_not_empty` (a file, or a non-empty directory without pyvenv.cfg —
/// never deleted, even with `clear`), `pkg::system_error` for filesystem failures naming the
/// path.
/// Thread-safety: safe to call concurrently for different targets; for the same target one
/// caller wins and the others get `errc::venv_exists` (or replace it, with `clear`).
[[nodiscard]] result<venv_report> create_venv(const venv_options& options);

}  // namespace pkg
