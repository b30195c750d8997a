#pragma once
/// \file
/// Publishing a finished staging tree under its final name in one step.
///
/// Content-addressed entries (`archive-v1/<id>`) are the same bytes whoever builds them, so when a
/// competitor published the name first we lost nothing: our staging copy is removed and the
/// caller uses the published one. The rename is the commit; nothing is ever written in place.

#include <filesystem>

#include <pkg/io/error.hpp>

namespace pkg::io {

/// What `publish_directory` did.
struct publish_result {
    /// True when `target` already existed (another writer published it first); our staging tree
    /// was removed and `target` is theirs. False when our rename created `target`.
    bool is_published_by_other = false;
};

/// How `publish_directory` publishes.
struct publish_options {
    /// fsync the target's parent directory after the rename, so the new entry survives a power
    /// loss (the staging tree's files must have been synced by whoever wrote them).
    bool is_durable = false;
};

/// Moves the finished tree `staging` to `target` with `renameat2(RENAME_NOREPLACE)`; where the
/// kernel or filesystem lacks it (EINVAL, ENOSYS) falls back to a plain `rename` after checking
/// that `target` does not exist. `staging` and `target` must be on the same filesystem (same
/// cache root). If `target` exists (EEXIST/ENOTEMPTY) that is success with
/// `is_published_by_other`: our `staging` is removed (`remove_tree`).
/// Errors: `pkg::system_error` naming `staging` (ENOENT: nothing to publish; EXDEV: another
/// filesystem) or `target`; removal errors of the losing staging tree.
/// Thread-safety: safe to call concurrently from threads and processes for the same target, each
/// with its own staging tree; exactly one caller publishes.
[[nodiscard]] result<publish_result> publish_directory(const std::filesystem::path& staging,
                                                       const std::filesystem::path& target,
                                                       publish_options options = {});

namespace detail {

/// The fallback of `publish_directory` for filesystems without RENAME_NOREPLACE (lstat the
/// target, then plain `rename`), exposed so tests can exercise it on filesystems that have it.
/// A competitor's complete tree appearing between the lstat and the rename still makes rename
/// fail with ENOTEMPTY/EEXIST (a non-empty directory is never replaced), so the race only matters
/// for empty trees, which nothing publishes.
/// Errors and thread-safety: as `publish_directory`.
[[nodiscard]] result<publish_result> publish_with_plain_rename(
    const std::filesystem::path& staging, const std::filesystem::path& target,
    publish_options options = {});

}  // namespace detail
}  // namespace pkg::io
