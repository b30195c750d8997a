#pragma once
/// \file
/// Deleting directory trees that other processes may be deleting at the same time.
///
/// Everything is relative to directory descriptors (openat/unlinkat/fdopendir) and never follows a
/// symlink, so a tree that changes underneath cannot redirect the removal outside itself.

#include <filesystem>

#include <pkg/io/error.hpp>

namespace pkg::io {

/// Removes `root` and everything below it. A symlink (at `root` or inside) is removed itself,
/// never followed. A missing `root` is success.
/// Concurrent removal is tolerated: ENOENT anywhere means another remover got there first;
/// ENOTEMPTY on rmdir re-lists the directory (up to a few times) for entries the listing missed.
/// Directories without write or search permission for us (read-only cache trees) get u+rwx
/// added before their entries are removed.
/// Errors: `pkg::system_error` naming the operation and the full path of the entry that could not
/// be removed (e.g. EBUSY for a mount point, ENOTEMPTY if another process keeps adding entries,
/// ELOOP if the tree is nested deeper than 256 levels).
/// Thread-safety: safe to call concurrently, also on the same tree from several threads or
/// processes. Synchronous; can take long on big trees (about 100 µs per data file on a `discard`
/// mount), so async callers run it on a thread pool.
[[nodiscard]] result<void> remove_tree(const std::filesystem::path& root);

/// Renames `root` to a unique hidden sibling (`.<name>.removing.<pid>.<random>`) so the original
/// name disappears atomically, then removes that sibling tree. Readers see the whole tree or
/// nothing under the original name, never a half-deleted one. A missing `root` is success.
/// If the removal after the rename fails, the error names the sibling path, which a later cleanup
/// can find by its `.removing.` infix.
/// Errors: as `remove_tree`, plus the rename's errno naming `root`.
/// Thread-safety: as `remove_tree`.
[[nodiscard]] result<void> rename_aside_then_remove(const std::filesystem::path& root);

}  // namespace pkg::io
