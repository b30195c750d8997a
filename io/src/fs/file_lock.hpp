#pragma once
/// \file
/// Advisory interprocess locks on a lock file (`<cache>/.lock`, `<venv>/.lock`).
///
/// Open-file-description locks (`F_OFD_SETLK`): owned by the open file, not the process, so two
/// `file_lock`s in one process conflict exactly like two processes do, and closing one descriptor
/// never drops another's lock (the trap of classic POSIX locks). The lock file is opened
/// `O_RDWR | O_CREAT`: NFS implements locks with byte-range locks that need a writable
/// descriptor. Lock files are never deleted (deleting races with a process that just opened it).
///
/// An exclusive holder writes the sidecar `<lock>.owner` ("pid N" and a description, atomically,
/// best effort) and removes it before unlocking, so a waiter can say "waiting for pid 4711 (pkg
/// cache prune)". Shared holders write nothing (they could not write one file concurrently).

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <pkg/io/error.hpp>

namespace pkg::io {

/// Readers share, writers exclude.
enum class lock_kind {
    shared,     ///< Any number of shared holders at once (installers using the cache).
    exclusive,  ///< One holder, no shared ones (prune, clean, changing an environment).
};

/// Who holds an exclusive lock, from its `<lock>.owner` sidecar.
struct lock_owner {
    long pid = 0;
    /// What the holder is doing ("pkg cache prune"); may be empty.
    std::string description;
};

/// A held lock; releasing happens on destruction (RAII) or with `release()`.
/// Not thread-safe itself (one owner); distinct objects are independent, also on the same file.
/// The descriptor is close-on-exec: child programs never inherit the lock. After `fork` the
/// child shares it (same open file description) until it closes the descriptor.
class file_lock {
public:
    /// Takes the lock if it is free right now; nullopt when another holder conflicts.
    /// `description` (exclusive only) goes into the owner sidecar.
    /// Errors: `pkg::system_error` naming `path`: opening the lock file (EACCES, EROFS: the
    /// directory or file is read-only), or a filesystem that cannot lock (ENOLCK, ENOSYS,
    /// EOPNOTSUPP, 524) with a hint to use a local filesystem.
    [[nodiscard]] static result<std::optional<file_lock>> try_lock(const std::filesystem::path& path,
                                                                   lock_kind kind,
                                                                   std::string_view description = {});

    /// Waits as long as it takes. Prefer `lock_for`: a stuck holder would hang the caller.
    /// Errors: as `try_lock`.
    [[nodiscard]] static result<file_lock> lock(const std::filesystem::path& path, lock_kind kind,
                                                std::string_view description = {});

    /// Waits at most `timeout` by polling with non-blocking attempts and sleeps growing from 1 ms
    /// to 50 ms (no waiter thread to cancel, nothing left queued in the kernel after a timeout;
    /// the cost is up to 50 ms of latency and no fairness: a steady stream of shared holders can
    /// keep an exclusive waiter out). `on_wait` is called once, before the first sleep, with the
    /// exclusive holder if its sidecar names a live process (else nullopt), so the caller can
    /// print "waiting for pid N (…)".
    /// Errors: as `try_lock`; after the deadline `std::errc::timed_out` naming `path`, the
    /// timeout and, if known, the holder's pid and description.
    [[nodiscard]] static result<file_lock> lock_for(
        const std::filesystem::path& path, lock_kind kind, std::chrono::milliseconds timeout,
        std::string_view description = {},
        const std::function<void(const std::optional<lock_owner>&)>& on_wait = {});

    file_lock(file_lock&& other) noexcept;
    file_lock& operator=(file_lock&& other) noexcept;
    file_lock(const file_lock&) = delete;
    file_lock& operator=(const file_lock&) = delete;
    /// Releases the lock (see `release`), ignoring errors.
    ~file_lock();

    /// Removes the owner sidecar (exclusive) and closes the descriptor, which drops the lock.
    /// Idempotent. Errors: close errors naming the lock path (the lock is released regardless).
    result<void> release();

    /// True until released or moved from.
    [[nodiscard]] bool is_held() const noexcept { return fd_ >= 0; }
    /// The kind this lock was taken as.
    [[nodiscard]] lock_kind kind() const noexcept { return kind_; }
    /// The lock file's path as given when locking.
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    file_lock(int fd, std::filesystem::path path, lock_kind kind, bool has_owner_file) noexcept;
    // Wraps a descriptor that just got the lock; exclusive holders write the owner sidecar.
    static file_lock adopt(int fd, const std::filesystem::path& path, lock_kind kind,
                           std::string_view description);

    int fd_ = -1;
    std::filesystem::path path_;
    lock_kind kind_ = lock_kind::shared;
    bool has_owner_file_ = false;
};

/// The sidecar path of a lock file: `<lock_path>.owner`.
[[nodiscard]] std::filesystem::path lock_owner_path(const std::filesystem::path& lock_path);

/// The exclusive holder recorded in `<lock_path>.owner`, if the sidecar exists, parses and names
/// a process that is still alive (a crashed holder leaves a stale sidecar; pid reuse can still
/// fool this, it is a hint for messages only). Never fails: unreadable means unknown.
/// Thread-safety: safe from any thread.
[[nodiscard]] std::optional<lock_owner> read_lock_owner(const std::filesystem::path& lock_path);

namespace detail {

/// The error for a failed lock syscall: names `path`; for ENOLCK, ENOSYS, EOPNOTSUPP, EINVAL and
/// 524 (ENOTSUPP inside the kernel, seen on Lustre and some NFS setups) says the filesystem
/// cannot lock and hints at a local directory. Exposed for tests (those filesystems are not
/// available to them).
[[nodiscard]] error lock_error(int errno_value, const std::filesystem::path& path);

}  // namespace detail
}  // namespace pkg::io
