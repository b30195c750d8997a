#pragma once
/// \file
/// The io_uring file backend (liburing, no SQPOLL).
///
/// How it works: operations are queued as SQEs and submitted once per turn of the io_context (one
/// io_uring_enter for every operation started in that turn); at most `max_in_flight` operations are
/// in the kernel, the rest wait in a queue. Completions arrive without a dedicated thread: the ring
/// signals an eventfd that an `asio::posix::stream_descriptor` reads asynchronously; the handler
/// reaps the CQEs and resumes each waiting coroutine on its own executor. A whole-file write is one
/// linked chain
/// `openat_direct → writev… → [fsync] → close_direct` in a registered (sparse) file table.
///
/// Lifetimes: an operation's state (its copies of the paths, the iovecs, the statx buffer) lives
/// until its last CQE, even when the awaiting coroutine is cancelled: cancellation submits
/// IORING_OP_ASYNC_CANCEL and the coroutine resumes (with ECANCELED) only after the kernel is done.

#include "fs/file_backend.hpp"

#include <cstddef>
#include <memory>

namespace pkg::io {

/// File operations through one io_uring. Thread-safe: operations may start on any thread; all
/// ring work runs on a strand of the executor given to `create`. Destroy it while no operation is
/// being started (e.g. after `io_context::run` returned): the destructor cancels and then waits
/// (blocking) for every operation still in the kernel, so borrowed buffers are never used later.
class uring_backend final : public file_backend {
public:
    /// Sets up the ring on `executor`'s context: io_uring_queue_init, an opcode probe, a sparse
    /// registered file table of `max_in_flight` slots, and an eventfd.
    /// `simulated_errno` != 0 makes setup fail as if io_uring_queue_init returned it (tests).
    /// Errors: the failing step and its errno (EPERM/ENOSYS under seccomp, EINVAL on old kernels,
    /// EOPNOTSUPP naming an opcode the kernel lacks).
    [[nodiscard]] static result<std::unique_ptr<uring_backend>> create(asio::any_io_executor executor,
                                                                       std::size_t max_in_flight,
                                                                       int simulated_errno = 0);
    ~uring_backend() override;

    [[nodiscard]] backend_kind kind() const noexcept override { return backend_kind::uring; }

    /// See `file_backend` (IORING_OP_MKDIRAT).
    task<result<void>> async_create_directory(std::filesystem::path path,
                                              std::uint32_t mode) override;
    /// See `file_backend` (one linked chain per stage; a short write continues in a new chain).
    task<result<void>> async_write_file(std::filesystem::path path,
                                        std::vector<std::span<const std::byte>> buffers,
                                        write_options options) override;
    /// See `file_backend` (IORING_OP_LINKAT).
    task<result<void>> async_hardlink(std::filesystem::path target,
                                      std::filesystem::path link) override;
    /// See `file_backend` (IORING_OP_RENAMEAT with RENAME_NOREPLACE for `no_replace`).
    task<result<void>> async_rename(std::filesystem::path from, std::filesystem::path to,
                                    rename_mode mode) override;
    /// See `file_backend` (IORING_OP_SYMLINKAT).
    task<result<void>> async_symlink(std::filesystem::path target,
                                     std::filesystem::path link) override;
    /// See `file_backend` (IORING_OP_UNLINKAT).
    task<result<void>> async_unlink(std::filesystem::path path) override;
    /// See `file_backend` (IORING_OP_UNLINKAT with AT_REMOVEDIR).
    task<result<void>> async_remove_directory(std::filesystem::path path) override;
    /// See `file_backend` (IORING_OP_STATX).
    task<result<file_stat>> async_stat(std::filesystem::path path, follow_symlinks follow) override;
    /// See `file_backend` (openat, read… until EOF, close).
    task<result<std::string>> async_read_file(std::filesystem::path path,
                                              std::uint64_t max_bytes) override;

    /// The ring and its queues; public only so helpers in uring_backend.cpp can name it.
    struct impl;

private:
    explicit uring_backend(std::shared_ptr<impl> state);
    std::shared_ptr<impl> impl_;
};

}  // namespace pkg::io
