#pragma once
/// \file
/// Symlinks as atomic pointers (`wheels-v1/.../<file>.whl -> ../../../archive-v1/<id>`).
///
/// Replacing: a new symlink under a unique temporary name in the same directory, renamed over the
/// pointer; `rename(2)` replaces the old link in one step, so a reader resolves the old target or
/// the new one, never nothing. Reading: a missing or dangling pointer is a cache miss, not an
/// error (the target may have been pruned).

#include <filesystem>
#include <optional>

#include <pkg/io/error.hpp>

namespace pkg::io {

/// How `replace_symlink` replaces.
struct symlink_options {
    /// fsync the link's directory after the rename (survives a power loss).
    bool is_durable = false;
};

/// Points the symlink `link` at `target` (the link's text, stored verbatim; relative texts are
/// resolved by the kernel from the link's directory), creating it or atomically replacing an
/// existing symlink or file there. The temporary link is removed on failure; `link` is then
/// untouched.
/// Errors: `pkg::system_error` naming `link` (ENOENT: its directory is missing; EISDIR: a
/// directory is in the way).
/// Thread-safety: safe to call concurrently for the same `link` from threads and processes; the
/// last rename wins and readers always see one of the targets.
[[nodiscard]] result<void> replace_symlink(const std::filesystem::path& link,
                                           const std::filesystem::path& target,
                                           symlink_options options = {});

/// The text of the symlink `link` (readlink), or nullopt when there is no entry at `link`.
/// Errors: `pkg::system_error` naming `link`; EINVAL when `link` is not a symlink.
/// Thread-safety: safe from any thread.
[[nodiscard]] result<std::optional<std::filesystem::path>> read_pointer(
    const std::filesystem::path& link);

/// The path the symlink `link` points to, usable by the caller: its text when absolute,
/// otherwise `link.parent_path() / text` (not normalized lexically, so the kernel resolves `..`
/// exactly like it resolves the link). nullopt when `link` is missing or dangling (its target,
/// or a directory on the way, does not exist): a miss, never an error.
/// Errors: `pkg::system_error` naming `link` for anything else (EINVAL: not a symlink; EACCES).
/// Thread-safety: safe from any thread. The target can vanish right after the check (cache
/// prune); callers opening it must still treat ENOENT as a miss.
[[nodiscard]] result<std::optional<std::filesystem::path>> resolve_pointer(
    const std::filesystem::path& link);

}  // namespace pkg::io
