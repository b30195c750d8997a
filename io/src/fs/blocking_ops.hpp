#pragma once
/// \file
/// The blocking file operations behind `thread_backend`, for code that already runs on a worker
/// thread and would only pay two thread hand-offs to go through a backend (the unpacker writes
/// each inflated entry from the CPU-pool job that inflated it).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include <pkg/io/error.hpp>

#include "fs/file_backend.hpp"

namespace pkg::io {

/// mkdir -p with `mode`; an existing directory (also one made concurrently) is success.
/// Errors: the errno of the first failing mkdir; ENOTDIR when a non-directory is in the way.
/// Thread-safety: safe (the filesystem arbitrates).
result<void> mkdirs_blocking(const std::filesystem::path& path, std::uint32_t mode);

/// Creates `path` (O_EXCL) and writes the buffers in order, as `file_backend::async_write_file`
/// does; a failed write removes the partial file. Thread-safety: safe.
result<void> write_file_blocking(const std::filesystem::path& path,
                                 const std::vector<std::span<const std::byte>>& buffers,
                                 write_options options);

}  // namespace pkg::io
