#pragma once
/// \file
/// The global wheel cache as embedders and the `pkg cache` command see it: where it is, how big
/// it is, and removing what is no longer needed. Blocking calls, no Asio types; results are plain
/// structs and nothing is printed.
///
/// The on-disk layout is described in engine/src/cache/cache.hpp. Destructive calls (`clean`,
/// `prune`) take the cache's lock exclusively, so they wait for running installs (which hold it
/// shared) instead of deleting archives under them; `force` skips the lock and is only safe when
/// no other pkg process uses the cache.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

namespace pkg {

/// Where the cache is and how long to wait for its lock.
struct cache_options {
    /// `--cache-dir`: used as is when set and non-empty (made absolute).
    std::optional<std::string> cache_dir;
    /// Environment lookup (`PKG_CACHE_DIR`, `XDG_CACHE_HOME`, `HOME`, `PKG_LOCK_TIMEOUT`); empty
    /// means the process environment (`std::getenv`). Tests pass a map.
    std::function<std::optional<std::string>(std::string_view)> getenv;
    /// How long clean/prune wait for the lock; nullopt = `PKG_LOCK_TIMEOUT` (whole seconds) or,
    /// when unset, 300 s (long enough for a large install to finish, short enough that a stuck
    /// holder does not hang a script forever).
    std::optional<std::chrono::milliseconds> lock_timeout;
};

/// Who holds the cache lock, as far as its owner sidecar tells (exclusive holders only).
struct cache_lock_holder {
    long pid = 0;
    std::string description;  ///< e.g. "pkg cache prune"; may be empty
};

/// Called once when the lock is busy, before waiting: with the holder if known (an exclusive
/// holder that recorded itself), nullopt otherwise (shared holders: running installs).
using cache_wait_callback = std::function<void(const std::optional<cache_lock_holder>&)>;

/// What a removed entry was.
enum class cache_entry_kind {
    archive,         ///< an unpacked wheel tree in `archive-v1/`
    pointer,         ///< a `wheels-v1/` link (dangling, or its package was cleaned)
    staging,         ///< an abandoned staging tree in `tmp/`
    index_response,  ///< a cached index page in `simple-v1/`
    bucket,          ///< a whole bucket (clean without names)
    other,           ///< anything pkg does not know: old bucket versions, leftovers
};

/// Lower-case name of a kind ("archive", "pointer", "staging", "index response", "bucket",
/// "other").
[[nodiscard]] const char* to_string(cache_entry_kind kind) noexcept;

/// One removed entry.
struct cache_removed_entry {
    std::string path;  ///< relative to the cache root, '/'-separated
    cache_entry_kind kind = cache_entry_kind::other;
    std::uint64_t bytes = 0;  ///< allocated bytes of the entry (see `cache_size_report`)
};

/// What `cache_clean` or `cache_prune` removed.
struct cache_removal_report {
    std::string cache_dir;  ///< the root that was cleaned
    std::vector<cache_removed_entry> removed;
    /// Sum of `removed[i].bytes`. An upper bound of the space returned: files hardlinked into
    /// environments stay allocated there.
    std::uint64_t freed_bytes = 0;
};

/// Size of the cache.
struct cache_size_report {
    std::string cache_dir;
    /// Disk usage: allocated blocks (st_blocks × 512) of every file, directory and symlink, each
    /// inode counted once (archives hardlinked into environments are counted here once). This is
    /// what `du -s` reports and what the CLI prints.
    std::uint64_t allocated_bytes = 0;
    /// Sum of the regular files' sizes (st_size), each inode once.
    std::uint64_t apparent_bytes = 0;
    std::uint64_t files = 0;  ///< regular files, each inode once
};

/// The cache root: `options.cache_dir`, else `$PKG_CACHE_DIR`, else `$XDG_CACHE_HOME/pkg` (only
/// if absolute, as the XDG spec demands), else `$HOME/.cache/pkg`; relative choices are made
/// absolute against the current directory. Creates nothing.
/// Errors: `errc::no_cache_directory` when none applies (no HOME either).
/// Thread-safety: safe if `options.getenv` is.
[[nodiscard]] result<std::string> cache_dir(const cache_options& options);

/// The cache's size (zero when the directory does not exist yet). Takes no lock: the numbers are
/// a snapshot while installs may be adding entries.
/// Errors: as `cache_dir`; stat/readdir errors naming the path (entries vanishing meanwhile
/// are skipped, not errors).
/// Thread-safety: safe to call concurrently with anything (it only reads).
[[nodiscard]] result<cache_size_report> cache_size(const cache_options& options);

/// Removes everything in the cache except its lock file when `names` is empty; otherwise the
/// wheel pointers (`wheels-v1/*/<name>/`) and index responses (`simple-v1/*/<name>.*`) of those
/// projects (names are PEP 503-normalized first), then the archives only they referenced.
/// Waits for the exclusive lock (see the file comment); `on_wait` is told who holds it.
/// A missing cache directory is an empty report.
/// Errors: `errc::invalid_name` citing a bad name; `errc::not_a_cache` for an existing,
/// non-empty directory without pkg's CACHEDIR.TAG (a mistyped --cache-dir must not wipe a
/// home directory); `errc::cache_locked` naming the holder after the timeout;
/// `std::errc::invalid_argument` for a bad `PKG_LOCK_TIMEOUT`; filesystem errors naming paths.
/// Thread-safety: concurrent calls serialize on the lock (unless forced).
[[nodiscard]] result<cache_removal_report> cache_clean(const cache_options& options,
                                                       std::span<const std::string> names,
                                                       bool force,
                                                       const cache_wait_callback& on_wait = {});

/// Removes what nothing needs: archives no `wheels-v1` pointer references, dangling pointers,
/// staging trees in `tmp/` whose mtime is more than an hour old (a future mtime counts as
/// fresh: clocks move backwards too), and top-level entries pkg does not know (old bucket
/// versions such as `archive-v0`, leftovers of interrupted removals).
/// Errors, locking and thread-safety: as `cache_clean` (without the name errors).
[[nodiscard]] result<cache_removal_report> cache_prune(const cache_options& options, bool force,
                                                       const cache_wait_callback& on_wait = {});

/// Bytes for people, with binary units and one decimal: "512 B", "1.2 KiB", "3.0 GiB".
/// Pure; thread-safe.
[[nodiscard]] std::string format_bytes(std::uint64_t bytes);

}  // namespace pkg
