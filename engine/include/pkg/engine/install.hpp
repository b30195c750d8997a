#pragma once
/// \file
/// Installing lockfiles into Python environments — the embedding API behind `pkg install`,
/// `pkg sync`, `pkg uninstall`, `pkg list` and `pkg freeze`.
///
/// Every operation has a blocking form and an asynchronous form. The asynchronous form runs the
/// operation on a thread of its own, calls `on_done` exactly once from that thread with the
/// outcome, and returns an `operation` handle that can cancel it. Progress arrives through
/// `progress_callback` on the same thread, in order. No Asio, OpenSSL or liburing type appears
/// here; nothing is printed, nothing exits, and there is no global state: several operations
/// (with the same or different caches and environments) may run in one process at once — the
/// cache and the environment are shared safely through file locks, also across processes.
///
/// Errors are `pkg::error` values: `code` (category "pkg" for `pkg::errc`, "pkg.http" for HTTP
/// errors, "generic"/"system" for the OS), `message` (what, where, why), `where` and `hint`.
/// A cancelled operation fails with `std::errc::operation_canceled`; it leaves the environment
/// consistent (every package either fully installed at its old or new version, or absent) and the
/// cache without partial entries.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/engine/cache.hpp>
#include <pkg/engine/operation.hpp>
#include <pkg/io/error.hpp>

namespace pkg {

/// How files get from the cache's unpacked archives into site-packages.
enum class link_mode {
    clone,     ///< reflink (FICLONE): a copy-on-write copy; falls back to hardlink, then copy
    hardlink,  ///< hard links into the cache (the default); falls back to copy
    copy,      ///< plain copies (copy_file_range)
    symlink,   ///< symbolic links into the cache (the environment breaks if the cache is cleaned)
};

/// "clone", "hardlink", "copy", "symlink". Pure.
[[nodiscard]] const char* to_string(link_mode mode) noexcept;
/// Parses the names above (also "reflink" for clone). Errors: `std::errc::invalid_argument`
/// citing the text and listing the valid names.
[[nodiscard]] result<link_mode> parse_link_mode(std::string_view text);

/// Where packages come from (pip's flags, same meaning).
struct index_options {
    /// `--index-url`. nullopt → the requirements files' `-i`, else `PKG_INDEX_URL`, else
    /// `PIP_INDEX_URL`, else pip.conf's `index-url` (`PIP_CONFIG_FILE`, `$XDG_CONFIG_HOME/pip/pip.conf`,
    /// `~/.config/pip/pip.conf`, `~/.pip/pip.conf`, `/etc/pip.conf`, `/etc/xdg/pip/pip.conf`).
    /// There is no built-in default: with none of these and no `find_links`, operations that
    /// need an index fail with `errc::no_index_configured` saying how to set one.
    std::optional<std::string> index_url;
    /// `--extra-index-url` (plus `PKG_EXTRA_INDEX_URL` / `PIP_EXTRA_INDEX_URL`, space-separated,
    /// and the files' `--extra-index-url`). The first index, in order, that has a project wins —
    /// later indexes are not consulted for it (no dependency confusion).
    std::vector<std::string> extra_index_urls;
    /// `--find-links`: local directories of wheels or URLs of HTML pages listing them; searched
    /// before the indexes.
    std::vector<std::string> find_links;
    /// `--no-index`: only `find_links`.
    bool no_index = false;
};

/// Phases an operation goes through. Each phase is announced once (an event with an empty
/// `action`), in this order; phases with nothing to do are skipped.
enum class phase {
    preparing,    ///< finding the interpreter, reading lockfiles, locking, scanning the environment
    planning,     ///< deciding what to install, replace, remove
    removing,     ///< `sync` (and `uninstall`): removing extraneous packages, in parallel, before
                  ///< anything is installed (so a new package may take over a removed one's files)
    fetching,     ///< finding wheels and downloading/unpacking them into the cache
    installing,   ///< linking archives into the environment (replacing the old version first);
                  ///< overlaps `fetching`: a wheel is installed as soon as its archive is ready
    compiling,    ///< byte-compiling installed files (`compile_bytecode`)
    done,         ///< the last event of an operation that succeeded
};

/// "preparing", "planning", "removing", "fetching", "installing", "compiling", "done". Pure.
[[nodiscard]] const char* to_string(phase p) noexcept;

/// One progress report. `packages_total` is known from the end of `planning` on (0 before).
/// Per-package events carry the phase their action belongs to (`fetching` for "downloading",
/// "downloaded", "cached", "local"; `installing` for "installed"; `removing` for "removed"),
/// so they may interleave after both phases were announced.
struct progress_event {
    pkg::phase phase = phase::preparing;
    /// The package this event is about ("" for phase-wide events), PEP 503-normalized.
    std::string package;
    /// What happened to `package`: "downloading" (a download starts), "downloaded" (its archive
    /// is in the cache), "cached" (the archive was already in the cache: no download), "local"
    /// (unpacked from a local wheel file), "installed", "removed"; "waiting" (package "") when
    /// another process holds the environment lock and the operation waits for it; "" for phase
    /// changes.
    std::string action;
    /// Wheel bytes downloaded so far (counted when a download completes; the pipeline does not
    /// report partial bodies yet).
    std::uint64_t bytes_done = 0;
    /// Sum of the sizes of the wheels being downloaded, as far as known: grows as wheels are
    /// located (an index states sizes only in its JSON form) and completed downloads add their
    /// size if it was unknown, so `bytes_done <= bytes_total` always holds.
    std::uint64_t bytes_total = 0;
    std::size_t packages_done = 0;  ///< packages installed, replaced or removed so far
    std::size_t packages_total = 0; ///< packages to install, replace or remove
};

/// Called on the operation's thread, in order. Must not throw or block for long (it delays the
/// operation); it may call `operation::cancel`.
using progress_callback = std::function<void(const progress_event&)>;

/// Settings shared by every environment operation.
struct environment_options {
    /// The target: a path to a Python executable or a virtual environment directory, a program on
    /// PATH, or a version ("3.11"). nullopt → `VIRTUAL_ENV`, else `./.venv` (from `cwd` upwards),
    /// else `python3` on PATH.
    std::optional<std::string> python;
    /// The cache (see cache.hpp); `cache.getenv` and `getenv` below should agree.
    cache_options cache;
    /// `--no-cache`: a temporary cache on the target's filesystem, removed when the operation ends.
    bool no_cache = false;
    /// Reads environment variables (PKG_*, PIP_*, VIRTUAL_ENV, PATH, HOME, …); empty → the
    /// process environment.
    std::function<std::optional<std::string>(std::string_view)> getenv;
    /// Relative paths (lockfiles, `python`, `.venv`) are taken against this; empty → the current
    /// directory.
    std::filesystem::path cwd;
    /// How long to wait for another process's lock on the environment; nullopt →
    /// `PKG_LOCK_TIMEOUT` or 300 s.
    std::optional<std::chrono::milliseconds> lock_timeout;
    progress_callback on_progress;
};

/// What `install` / `sync` do.
struct install_options : environment_options {
    /// requirements.txt-style lockfiles (pip-compile output): every requirement pinned with `==`
    /// (markers evaluated for the target; those that do not apply are skipped).
    std::vector<std::filesystem::path> requirements;
    index_options index;
    /// `sync`: also remove installed packages the lockfiles do not name (never pip, setuptools,
    /// wheel unless `sync_remove_seed_packages`).
    bool sync = false;
    bool sync_remove_seed_packages = false;
    /// Every requirement must carry `--hash` (pip's --require-hashes; also implied when any does).
    bool require_hashes = false;
    /// Replace packages even when the installed version matches.
    bool reinstall = false;
    /// Never touch the network: index pages and wheels only from the cache.
    bool offline = false;
    /// Revalidate every cached index page.
    bool refresh = false;
    /// Plan and report, change nothing.
    bool dry_run = false;
    /// Run the interpreter's compileall over the installed files (parallel workers).
    bool compile_bytecode = false;
    /// nullopt → `PKG_LINK_MODE`, else hardlink (falling back as `link_mode` says, with one
    /// warning in the report).
    std::optional<pkg::link_mode> link_mode;
    /// Concurrent downloads; nullopt → `PKG_CONCURRENT_DOWNLOADS`, else a measured default.
    std::optional<unsigned> concurrent_downloads;
};

/// Where a package's files came from.
enum class package_source {
    cache,    ///< an archive already in the cache
    network,  ///< downloaded during this operation
    local,    ///< a local wheel file (find-links directory, path in the lockfile)
};

/// One package in a report.
struct package_report {
    std::string name;     ///< PEP 503-normalized
    std::string version;  ///< the version installed (or removed)
    /// For replacements, the version that was there before; empty otherwise.
    std::string previous_version;
    package_source source = package_source::cache;
    std::string wheel;  ///< the wheel's filename; empty for removals
    std::uint64_t files = 0;
};

/// The outcome of `install` / `sync`.
struct install_report {
    std::filesystem::path environment;  ///< the environment's prefix (sys.prefix)
    std::filesystem::path python;       ///< its interpreter
    std::string python_version;         ///< e.g. "3.11.7"
    std::vector<package_report> installed;    ///< newly installed
    std::vector<package_report> replaced;     ///< reinstalled, upgraded or downgraded
    std::vector<package_report> removed;      ///< removed by `sync`
    std::vector<package_report> unchanged;    ///< already satisfied
    std::vector<std::string> skipped;         ///< requirements whose markers do not apply
    std::vector<std::string> warnings;        ///< e.g. a link-mode fallback
    std::uint64_t downloaded_bytes = 0;
    /// HTTP requests this operation started (index pages fetched or revalidated, wheels
    /// downloaded). 0 for a no-op and for a warm install whose lockfile pins hashes.
    std::uint64_t network_requests = 0;
    /// True for `dry_run`: the lists say what would happen (`installed`/`replaced` carry source
    /// `cache` when the pinned hash's archive is already in the cache, else `network`, and an
    /// empty `wheel`); nothing was changed or downloaded.
    bool is_dry_run = false;
    std::chrono::milliseconds elapsed{0};
    std::chrono::milliseconds fetch_time{0};    ///< wall time with downloads in flight
    std::chrono::milliseconds install_time{0};  ///< wall time spent linking and removing
};

/// What `uninstall` removes.
struct uninstall_options : environment_options {
    std::vector<std::string> names;  ///< project names (any spelling)
    bool dry_run = false;
};

/// The outcome of `uninstall`.
struct uninstall_report {
    std::filesystem::path environment;
    std::vector<package_report> removed;
    std::vector<std::string> warnings;
};

/// One installed distribution, as `list` finds it.
struct installed_package {
    std::string name;          ///< as in the .dist-info directory name / METADATA (display form)
    std::string normalized_name;
    std::string version;
    std::string installer;     ///< the INSTALLER file's content ("pkg", "pip"), "" if none
    std::filesystem::path dist_info;
};

/// The outcome of `list`.
struct environment_listing {
    std::filesystem::path environment;
    std::filesystem::path python;
    std::string python_version;
    std::vector<installed_package> packages;  ///< sorted by normalized name
};

/// Installs the lockfiles' pins into the environment (`pkg install -r`, or with `sync` set,
/// `pkg sync`). The target must be a virtual environment. Order: lockfiles are parsed and
/// checked (every requirement an exact pin; hashes on all or none), the interpreter is found
/// and queried (its facts cached in the cache's interpreter bucket), markers are evaluated, the
/// environment lock `<prefix>/.pkg.lock` is taken exclusively (not for `dry_run`; waits up to
/// `lock_timeout`, announcing "waiting"), site-packages is scanned and the plan made. With
/// nothing to change it returns there: no network, no cache lock. Otherwise it holds the cache
/// lock shared while it removes (`sync`), fetches and installs; a package whose lockfile hash
/// names an archive already in the cache needs no network at all (not even the index page).
/// Errors: lockfile errors (`errc::invalid_requirements_file`, `requirement_not_pinned`,
/// `missing_hash`), discovery (`interpreter_not_found`, `not_an_environment` for an interpreter
/// outside a virtual environment), index (`no_index_configured`, `project_not_found`,
/// `no_compatible_wheel`, `offline_miss`, HTTP errors), wheel validation (`hash_mismatch`,
/// `invalid_zip`, …), installation (`file_collision`, `environment_locked`, `unsupported` for an
/// `.egg-info` that would have to be replaced), `std::errc::invalid_argument` (a bad
/// `PKG_LINK_MODE` or `PKG_LOCK_TIMEOUT`; symlink mode with `no_cache`), `operation_canceled`.
/// The first failure stops the rest: fetches in flight are cancelled, installs in flight
/// finish. Packages finished before an error stay installed (each is complete); none is
/// half-installed. A file two packages ship (e.g. `mlflow/__init__.py` of mlflow-skinny and
/// mlflow-tracing) is not an error: the first owner keeps it, the other package is installed
/// without it (and its RECORD does not list it), and a warning names both.
/// Thread-safety: safe to call concurrently from several threads (for one environment the calls
/// serialize on its lock).
[[nodiscard]] result<install_report> install(const install_options& options);

/// Removes installed packages by their RECORD (`pkg uninstall`), in parallel, holding the
/// environment lock (not for `dry_run`). Errors: `errc::invalid_name`; `errc::not_installed`
/// naming every name that is not installed (nothing is removed then); `errc::unsupported` for an
/// `.egg-info`; `invalid_record`; discovery and lock errors.
/// Thread-safety: as `install`.
[[nodiscard]] result<uninstall_report> uninstall(const uninstall_options& options);

/// Lists the environment's installed distributions (`pkg list`, `pkg freeze`). Takes no lock.
/// Errors: discovery errors; unreadable site-packages naming the path.
/// Thread-safety: safe to call concurrently with anything.
[[nodiscard]] result<environment_listing> list(const environment_options& options);

/// Asynchronous `install`: `on_done` is called once, on the operation's own thread.
[[nodiscard]] operation async_install(install_options options,
                                      std::function<void(result<install_report>)> on_done);
/// Asynchronous `uninstall`.
[[nodiscard]] operation async_uninstall(uninstall_options options,
                                        std::function<void(result<uninstall_report>)> on_done);
/// Asynchronous `list`.
[[nodiscard]] operation async_list(environment_options options,
                                   std::function<void(result<environment_listing>)> on_done);

}  // namespace pkg
