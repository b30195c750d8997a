#pragma once
/// \file
/// One interface for the file work an installer does (mkdir, write a whole file, hardlink, rename,
/// symlink, unlink, rmdir, stat, read a small file), with two implementations: io_uring
/// (`uring_backend.hpp`) and blocking syscalls on a small thread pool (`thread_backend.hpp`).
///
/// The interface has no Linux types in it (paths are `std::filesystem::path`, modes plain POSIX
/// permission integers, stat a portable struct) so that an IOCP backend could implement it too.
///
/// Errors are `pkg::error` values built by `pkg::system_error(errno, "<op>", path)`: the code keeps
/// the errno in `std::generic_category()`, so callers compare with `std::errc::file_exists`,
/// `std::errc::cross_device_link`, `std::errc::no_such_file_or_directory`, ...
///
/// Lifetimes: every operation copies the paths it is given. Buffers passed to `async_write_file` are
/// borrowed: they must stay valid until the returned task completes. That holds automatically when
/// the caller `co_await`s the task, because a suspended coroutine frame is never destroyed while one
/// of these operations is still running in the kernel (cancellation waits for the kernel, and a
/// backend's destructor waits for every operation it started).

#include <pkg/io/error.hpp>

#include "runtime/task.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

namespace pkg::io {

/// What a directory entry is.
enum class file_type : std::uint8_t { regular, directory, symlink, other };

/// The few stat fields an installer needs, in portable units.
struct file_stat {
    /// Size in bytes (for a symlink: the length of its target).
    std::uint64_t size_bytes = 0;
    /// Permission bits and set-id/sticky bits (`mode & 07777`); the type is in `type`.
    std::uint32_t mode = 0;
    /// Last modification, nanoseconds since the Unix epoch.
    std::int64_t mtime_ns = 0;
    /// Inode (file id) and device: equal pairs mean the same file (hardlinks).
    std::uint64_t inode = 0;
    std::uint64_t device = 0;
    /// Number of hard links.
    std::uint64_t nlink = 0;
    file_type type = file_type::other;
};

/// Whether `async_stat` looks through a final symlink.
enum class follow_symlinks : bool { no, yes };

/// Whether `async_rename` may replace an existing destination.
enum class rename_mode : std::uint8_t {
    replace,     ///< like rename(2): an existing destination is atomically replaced
    no_replace,  ///< fail with EEXIST if the destination exists (RENAME_NOREPLACE)
};

/// How `async_write_file` creates a file.
struct write_options {
    /// Permission bits for the new file, filtered by the process umask like open(2).
    std::uint32_t mode = 0644;
    /// fsync the file's data and metadata before returning (the directory entry is not synced).
    bool is_durable = false;
};

/// Which implementation a backend is.
enum class backend_kind : std::uint8_t { uring, threads };

/// "uring" or "threads".
[[nodiscard]] std::string_view to_string(backend_kind kind) noexcept;

/// Abstract file backend. Implementations are thread-safe: operations may be started from any
/// thread, and each resumes the awaiting coroutine on that coroutine's own executor.
/// A backend must be destroyed before the io_context it was made with, and before the execution
/// contexts of the coroutines that await it.
class file_backend {
public:
    virtual ~file_backend() = default;
    file_backend() = default;
    file_backend(const file_backend&) = delete;
    file_backend& operator=(const file_backend&) = delete;

    /// Which implementation this is.
    [[nodiscard]] virtual backend_kind kind() const noexcept = 0;

    /// mkdir(path, mode). Errors: EEXIST if anything exists at `path` (also a directory),
    /// ENOENT if the parent is missing, ENOTDIR, EACCES, ...
    virtual task<result<void>> async_create_directory(std::filesystem::path path,
                                                      std::uint32_t mode = 0755) = 0;

    /// Creates `path` and every missing parent (like `mkdir -p`); an existing directory is success.
    /// Errors: ENOTDIR (naming the component) if a component exists and is not a directory, or
    /// any error of mkdir. Concurrent callers creating the same tree both succeed.
    virtual task<result<void>> async_create_directories(std::filesystem::path path,
                                                        std::uint32_t mode = 0755);

    /// Creates `path` exclusively (O_EXCL: EEXIST if anything is there, symlinks included) and
    /// writes the concatenation of `buffers` into it; fsyncs the file when `options.is_durable`.
    /// Either the whole content was written, or the file this call created is removed again
    /// (best effort) and the error returned: ENOSPC, EFBIG, EDQUOT, EIO, ECANCELED, ...
    /// The buffers are borrowed until the task completes (see the file comment).
    virtual task<result<void>> async_write_file(std::filesystem::path path,
                                                std::vector<std::span<const std::byte>> buffers,
                                                write_options options = {}) = 0;

    /// Hardlink: a new name `link` for the existing file `target` (linkat, no symlink following).
    /// Errors: EEXIST if `link` exists, ENOENT, EXDEV across filesystems, EMLINK, EPERM, ...
    virtual task<result<void>> async_hardlink(std::filesystem::path target,
                                              std::filesystem::path link) = 0;

    /// Renames `from` to `to` (renameat2). With `rename_mode::no_replace` an existing `to` gives
    /// EEXIST. Errors: EXDEV across filesystems, ENOENT, ENOTEMPTY, EISDIR, ...
    virtual task<result<void>> async_rename(std::filesystem::path from, std::filesystem::path to,
                                            rename_mode mode = rename_mode::replace) = 0;

    /// Creates a symlink at `link` whose content is `target` (not checked to exist).
    /// Errors: EEXIST, ENOENT (missing parent of `link`), ...
    virtual task<result<void>> async_symlink(std::filesystem::path target,
                                             std::filesystem::path link) = 0;

    /// Removes a non-directory entry (a symlink itself, not its target).
    /// Errors: ENOENT, EISDIR (Linux) for a directory, ...
    virtual task<result<void>> async_unlink(std::filesystem::path path) = 0;

    /// Removes an empty directory. Errors: ENOTEMPTY (or EEXIST), ENOTDIR, ENOENT, ...
    virtual task<result<void>> async_remove_directory(std::filesystem::path path) = 0;

    /// Metadata of `path`; of the symlink itself unless `follow` is `follow_symlinks::yes`.
    /// Errors: ENOENT, ENOTDIR, EACCES, ...
    virtual task<result<file_stat>> async_stat(std::filesystem::path path,
                                               follow_symlinks follow = follow_symlinks::no) = 0;

    /// Reads a whole (small) file. Errors: EFBIG if it holds more than `max_bytes`, ENOENT,
    /// EISDIR, ...
    virtual task<result<std::string>> async_read_file(std::filesystem::path path,
                                                      std::uint64_t max_bytes = 64u << 20) = 0;
};

/// Which backend `make_file_backend` builds.
enum class backend_choice : std::uint8_t {
    /// The measured default for the workload (see `file_backend.cpp`), else the other one.
    /// The environment variable PKG_IO_BACKEND=uring|threads, when set, forces one instead.
    automatic,
    uring,         ///< io_uring; an error if it cannot be set up here
    threads,       ///< the thread pool
    prefer_uring,  ///< io_uring if it can be set up here, else the thread pool (logged)
};

/// What most of the backend's work will be; the measured best backend differs per workload.
enum class workload : std::uint8_t {
    small_files,  ///< creating many small files, hardlinks, renames (unpacking, linking)
    large_files,  ///< few large writes (caches of big wheels, downloads)
};

/// Options of `make_file_backend`.
struct file_backend_options {
    backend_choice backend = backend_choice::automatic;
    workload expected_workload = workload::small_files;
    /// Thread backend: number of pool threads (blocking syscalls in flight at once); 4 measured
    /// faster than 2 on 2 vCPUs (perf/results/fs-backends.md).
    std::size_t thread_count = 4;
    /// io_uring backend: operations in the kernel at once; later ones wait in a queue. 32 measured
    /// faster than 128: each blocking op in flight can cost an io-wq worker thread.
    std::size_t max_in_flight = 32;
    /// Debug log sink (e.g. why io_uring was not used). Called from the constructing thread only.
    std::function<void(std::string_view)> log;
    /// Tests: when non-zero, io_uring setup behaves as if the kernel refused it with this errno
    /// (EPERM under a seccomp profile, ENOSYS on old kernels), so the fallback path can run here.
    int simulated_uring_errno = 0;
};

/// Parses a PKG_IO_BACKEND value: "uring", "threads" (or "thread", "pool"); empty gives automatic.
/// Errors: `std::errc::invalid_argument` naming the bad value.
[[nodiscard]] result<backend_choice> parse_backend_choice(std::string_view text);

/// Builds a backend bound to `executor` (whose io_context must outlive it).
/// `automatic` reads PKG_IO_BACKEND; otherwise picks the measured default for
/// `options.expected_workload`, and if that is io_uring and io_uring is unavailable (seccomp, old
/// kernel, a missing opcode) falls back to the thread pool, logging why through `options.log`.
/// Errors: an explicit `uring` choice (option or environment) that cannot be honoured, with the
/// reason; an unparsable PKG_IO_BACKEND.
[[nodiscard]] result<std::unique_ptr<file_backend>> make_file_backend(asio::any_io_executor executor,
                                                                      file_backend_options options = {});

}  // namespace pkg::io
