#pragma once
/// \file
/// The portable file backend: each operation is a blocking syscall run on a small, bounded
/// `asio::thread_pool`; the awaiting coroutine resumes on its own executor afterwards.

#include "fs/file_backend.hpp"

#include <cstddef>
#include <memory>

namespace pkg::io {

/// File operations as blocking syscalls on `thread_count` pool threads (the bound on syscalls in
/// flight; more operations queue in the pool). Thread-safe. The destructor joins the pool after
/// running every queued operation, so borrowed buffers are never touched afterwards.
class thread_backend final : public file_backend {
public:
    /// Starts a pool of `thread_count` threads (at least one).
    explicit thread_backend(std::size_t thread_count);
    ~thread_backend() override;

    [[nodiscard]] backend_kind kind() const noexcept override { return backend_kind::threads; }

    /// See `file_backend`.
    task<result<void>> async_create_directory(std::filesystem::path path,
                                              std::uint32_t mode) override;
    /// See `file_backend`; runs the whole walk as one pool job.
    task<result<void>> async_create_directories(std::filesystem::path path,
                                                std::uint32_t mode) override;
    /// See `file_backend`.
    task<result<void>> async_write_file(std::filesystem::path path,
                                        std::vector<std::span<const std::byte>> buffers,
                                        write_options options) override;
    /// See `file_backend`.
    task<result<void>> async_hardlink(std::filesystem::path target,
                                      std::filesystem::path link) override;
    /// See `file_backend`.
    task<result<void>> async_rename(std::filesystem::path from, std::filesystem::path to,
                                    rename_mode mode) override;
    /// See `file_backend`.
    task<result<void>> async_symlink(std::filesystem::path target,
                                     std::filesystem::path link) override;
    /// See `file_backend`.
    task<result<void>> async_unlink(std::filesystem::path path) override;
    /// See `file_backend`.
    task<result<void>> async_remove_directory(std::filesystem::path path) override;
    /// See `file_backend`.
    task<result<file_stat>> async_stat(std::filesystem::path path, follow_symlinks follow) override;
    /// See `file_backend`.
    task<result<std::string>> async_read_file(std::filesystem::path path,
                                              std::uint64_t max_bytes) override;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace pkg::io
