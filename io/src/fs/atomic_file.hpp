#pragma once
/// \file
/// Atomic whole-file writes: a reader sees the old file or the complete new one, never a prefix.
///
/// The bytes go to a temporary file beside the target (same directory, so the same filesystem),
/// which is then renamed over the target; `rename(2)` is the commit. Synchronous plain syscalls:
/// callers that must not block run these on a thread pool.

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include <pkg/io/error.hpp>

namespace pkg::io {

/// How `atomic_write_file` writes.
struct atomic_write_options {
    /// Permission bits of the new file, applied exactly (with fchmod, so the umask does not
    /// filter them): a cache entry must not depend on the umask of whoever wrote it first.
    ::mode_t mode = 0644;
    /// Flush the file's data before the rename and the directory entry after it (`fsync` on the
    /// file, then on the directory). Without it the write is atomic but not durable: after a power
    /// loss the target holds the old or the new content, or (on some filesystems) is empty.
    bool is_durable = false;
};

/// Writes `contents` to `target` atomically: temporary file `.<name>.tmp.<pid>.<random>` in the
/// target's directory, all bytes written, optional fsync, then renamed over `target` (replacing a
/// file that is there; a symlink at `target` is replaced itself, its target is left alone). On
/// any failure the temporary file is removed and `target` is untouched.
/// Errors: the failing syscall's errno as `pkg::system_error` naming the operation and the path
/// (the target, or the directory for fsync); e.g. ENOTDIR when the parent is a file, EISDIR
/// when the target is a directory, ENOSPC/EFBIG while writing.
/// Thread-safety: safe to call concurrently, also for the same target (the last rename wins and
/// every reader sees one complete version).
[[nodiscard]] result<void> atomic_write_file(const std::filesystem::path& target,
                                             std::span<const std::byte> contents,
                                             atomic_write_options options = {});

/// Same, for text or any bytes held in a string.
[[nodiscard]] result<void> atomic_write_file(const std::filesystem::path& target,
                                             std::string_view contents,
                                             atomic_write_options options = {});

/// A file name for a temporary sibling of `base_name`: `.<base_name>.<purpose>.<pid>.<16 hex>`,
/// unique across processes (pid) and calls (random bits), shortened so it stays under NAME_MAX.
/// `purpose` says what the name is for ("tmp", "removing") so leftovers explain themselves.
/// Thread-safety: safe to call from any thread.
[[nodiscard]] std::string unique_sibling_name(std::string_view base_name,
                                              std::string_view purpose);

/// `fsync` on the directory `dir`, so renames and new entries in it survive a power loss.
/// Errors: open or fsync errno as `pkg::system_error` naming `dir`.
/// Thread-safety: safe to call from any thread.
[[nodiscard]] result<void> sync_directory(const std::filesystem::path& dir);

}  // namespace pkg::io
