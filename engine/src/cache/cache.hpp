#pragma once
/// \file
/// The global cache: root resolution, base files, staging and publishing archives, wheel
/// pointers, lookups and the cache lock. Garbage collection is in gc.hpp.
///
/// On-disk format (every bucket carries a version; a new layout gets a new name, and prune
/// removes names it does not know):
///
///     <root>/CACHEDIR.TAG      "Signature: 8a477f597d28d172789f06886806bc55" (cachedir spec), so
///                              backup tools skip the cache
///     <root>/.gitignore        "*": a cache inside a work tree is never committed
///     <root>/.lock             the cache lock (OFD, see io/src/fs/file_lock.hpp): installs hold
///                              it shared while they use the cache, clean/prune exclusive;
///                              `.lock.owner` names an exclusive holder. Never deleted.
///     <root>/archive-v1/<id>/  an unpacked, validated wheel tree; <id> = lower-case hex
///                              SHA-256 of the .whl (content-addressed: every writer of one
///                              wheel produces the same tree). Holds `.pkg-archive`, the
///                              manifest (manifest.hpp). Published by one rename from tmp/ and
///                              never written in place; removed by rename-aside-then-delete, so
///                              a reader sees a complete tree or none.
///     <root>/wheels-v1/<index-key>/<name>/<wheel filename>
///                              relative symlink `../../../archive-v1/<id>`, replaced
///                              atomically; <index-key> = index_key(index URL), <name> PEP 503
///                              normalized. Created only after its archive exists; a dangling or
///                              missing pointer, or a target whose manifest does not read, is a
///                              cache miss.
///     <root>/simple-v1/<index-key>/<name>.*   index responses (written by the index client)
///     <root>/interpreter-v1/<digest>.json     interpreter facts (written by the interpreter)
///     <root>/tmp/<staging>/    staging trees (`staging.XXXXXX`), same filesystem as
///                              archive-v1 so publishing is a rename; prune removes those whose
///                              mtime is over an hour old
///
/// Concurrency: any number of processes may stage, publish, link and look up at once (holding
/// the lock shared); only clean/prune need it exclusive.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <pkg/engine/cache.hpp>
#include <pkg/io/error.hpp>

#include "cache/manifest.hpp"
#include "fs/file_lock.hpp"

namespace pkg::cache {

inline constexpr std::string_view archive_bucket = "archive-v1";
inline constexpr std::string_view wheels_bucket = "wheels-v1";
inline constexpr std::string_view simple_bucket = "simple-v1";
inline constexpr std::string_view interpreter_bucket = "interpreter-v1";
inline constexpr std::string_view tmp_bucket = "tmp";
inline constexpr std::string_view lock_file_name = ".lock";
inline constexpr std::string_view cachedir_tag_name = "CACHEDIR.TAG";
/// The first line of CACHEDIR.TAG as the cachedir spec requires (bford.info/cachedir).
inline constexpr std::string_view cachedir_signature =
    "Signature: 8a477f597d28d172789f06886806bc55";

/// Environment lookup; returns nullopt for unset variables.
using getenv_function = std::function<std::optional<std::string>(std::string_view)>;

/// The process environment as a `getenv_function`.
[[nodiscard]] getenv_function process_environment();

/// The cache root (see `pkg::cache_dir` for the order); made absolute, not created.
/// Errors: `errc::no_cache_directory`.
[[nodiscard]] result<std::filesystem::path>
resolve_root(const std::optional<std::string>& explicit_dir, const getenv_function& getenv);

/// `PKG_LOCK_TIMEOUT` (whole seconds, 0 = do not wait) or 300 s when unset or empty.
/// Errors: `std::errc::invalid_argument` citing the text when it is not a non-negative integer
/// of at most 10 digits.
[[nodiscard]] result<std::chrono::milliseconds>
lock_timeout_from_env(const getenv_function& getenv);

/// True if `root/CACHEDIR.TAG` starts with the cachedir signature.
[[nodiscard]] bool has_cachedir_tag(const std::filesystem::path& root);

/// An archive found by a lookup: its tree and its (validated) manifest.
struct archive_entry {
    std::filesystem::path dir;
    archive_manifest manifest;
};

/// Called when a lock is busy, with the recorded exclusive holder if any.
using lock_wait_callback = std::function<void(const std::optional<io::lock_owner>&)>;

/// One cache root, opened. Cheap to move. Every member is safe to call from several threads and
/// processes at once (the filesystem is the only shared state); the object itself is not
/// modified after opening.
class cache {
public:
    /// Opens (creating if needed) the cache at `root`: the root, base files and buckets are
    /// created idempotently (mkdir tolerating EEXIST; files written atomically only when
    /// missing, so concurrent openers cannot leave a partial CACHEDIR.TAG).
    /// Errors: `pkg::system_error` naming the path (EACCES, EROFS, ENOTDIR, ...).
    [[nodiscard]] static result<cache> open(const std::filesystem::path& root);

    /// `--no-cache`: a fresh cache in a new directory `.pkg-cache-XXXXXX` inside `near` (pass a
    /// directory on the target's filesystem, e.g. the environment's parent, so archives can be
    /// hardlinked instead of copied). Removed with everything in it when this object (the last
    /// moved-to one) is destroyed.
    /// Errors: `pkg::system_error` naming `near` (ENOENT, EACCES, ...).
    [[nodiscard]] static result<cache> open_temporary(const std::filesystem::path& near);

    cache(cache&& other) noexcept;
    cache& operator=(cache&& other) noexcept;
    cache(const cache&) = delete;
    cache& operator=(const cache&) = delete;
    /// Removes the root of a temporary cache (errors ignored: nothing to report them to).
    ~cache();

    /// The absolute cache root.
    [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }
    /// True for a `--no-cache` cache that this object removes when destroyed.
    [[nodiscard]] bool is_temporary() const noexcept { return is_temporary_; }
    /// `<root>/<name>`, e.g. `bucket(archive_bucket)`.
    [[nodiscard]] std::filesystem::path bucket(std::string_view name) const { return root_ / name; }
    /// `<root>/.lock`, the cache lock file.
    [[nodiscard]] std::filesystem::path lock_path() const { return root_ / lock_file_name; }

    /// A new, empty, uniquely named directory in `tmp/` for building an archive tree.
    /// Errors: `pkg::system_error` naming tmp/ (ENOSPC, EACCES; ENOENT if tmp/ was removed
    /// by a forced clean: the caller fails this install, the cache stays consistent).
    [[nodiscard]] result<std::filesystem::path> create_staging() const;

    /// Publishes the finished `staging` tree (which must contain a valid manifest for `sha256`)
    /// as `archive-v1/<sha256>`. When a competitor published the same id first that is success:
    /// our tree is removed and theirs is returned.
    /// Errors: `std::errc::invalid_argument` if `sha256` is not 64 lower-case hex digits;
    /// `errc::corrupt_cache_entry` if the staging manifest is missing, malformed or names
    /// another sha256 (publishing it would break lookups); `publish_directory` errors.
    [[nodiscard]] result<std::filesystem::path>
    publish_archive(const std::filesystem::path& staging, std::string_view sha256) const;

    /// `archive-v1/<sha256>` (whether or not it exists). `sha256` is used as given.
    [[nodiscard]] std::filesystem::path archive_path(std::string_view sha256) const;

    /// True if `archive-v1/<sha256>` is a directory (its manifest is not read: use
    /// `lookup_by_hash` before relying on it). False for a malformed `sha256`.
    [[nodiscard]] bool has_archive(std::string_view sha256) const;

    /// Points `wheels-v1/<index_key(index_url)>/<name>/<filename>` at `archive-v1/<sha256>`
    /// (relative symlink, atomic replace; directories created as needed).
    /// Errors: `errc::invalid_name` for a bad project name; `errc::invalid_wheel_filename`;
    /// `std::errc::invalid_argument` for a malformed sha256; `std::errc::no_such_file_or_directory`
    /// when the archive does not exist (a link is created only after its archive); filesystem
    /// errors naming the link.
    [[nodiscard]] result<void> link_wheel(std::string_view index_url, std::string_view name,
                                          std::string_view filename, std::string_view sha256) const;

    /// The archive the pointer of (`index_url`, `name`, `filename`) leads to, with its manifest;
    /// nullopt for every kind of miss: no pointer, dangling pointer, a target outside
    /// archive-v1, an unreadable or corrupt manifest, or a manifest for another wheel. Never an
    /// error: the caller fetches the wheel again.
    [[nodiscard]] std::optional<archive_entry> lookup_wheel(std::string_view index_url,
                                                            std::string_view name,
                                                            std::string_view filename) const;

    /// `archive-v1/<sha256>` with its manifest when it exists and its manifest reads and names
    /// the same sha256 (the warm path when a lockfile pins a hash); nullopt otherwise.
    [[nodiscard]] std::optional<archive_entry> lookup_by_hash(std::string_view sha256) const;

    /// Takes the cache lock shared (installs, for the install only). Waits up to `timeout` if a
    /// clean/prune holds it; `on_wait` is called once before waiting. Once held, the buckets are
    /// (re)created, so a `cache clean` that ran since `open()` cannot leave an install without them.
    /// Errors: `errc::cache_locked` naming the holder after the timeout; lock errors naming
    /// `.lock` (a filesystem without locks says so and hints at a local cache directory).
    [[nodiscard]] result<io::file_lock> lock_shared(std::chrono::milliseconds timeout,
                                                    const lock_wait_callback& on_wait = {}) const;

    /// Takes the cache lock exclusively for clean/prune: tries first, calls `on_wait` if busy,
    /// waits up to `timeout`. `description` goes into the owner sidecar for other waiters.
    /// `force` skips locking and returns nullopt (the caller accepts racing installs).
    /// Errors: as `lock_shared`.
    [[nodiscard]] result<std::optional<io::file_lock>>
    lock_exclusive(std::chrono::milliseconds timeout, bool force, std::string_view description,
                   const lock_wait_callback& on_wait = {}) const;

private:
    cache(std::filesystem::path root, bool is_temporary) noexcept
        : root_(std::move(root)), is_temporary_(is_temporary)
    {
    }
    [[nodiscard]] result<io::file_lock> lock(io::lock_kind kind, std::chrono::milliseconds timeout,
                                             std::string_view description,
                                             const lock_wait_callback& on_wait) const;
    [[nodiscard]] std::optional<archive_entry> load_archive(const std::filesystem::path& dir,
                                                            std::string_view sha256) const;

    std::filesystem::path root_;
    bool is_temporary_ = false;
};

}  // namespace pkg::cache
