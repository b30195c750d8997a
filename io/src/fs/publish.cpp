#include "fs/publish.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "fs/atomic_file.hpp"
#include "fs/remove_tree.hpp"

namespace pkg::io {
namespace {

std::filesystem::path parent_of(const std::filesystem::path& p)
{
    return p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
}

// The target exists: someone else's identical tree is in place. Drop ours.
result<publish_result> lost_race(const std::filesystem::path& staging)
{
    if (auto removed = remove_tree(staging); !removed) {
        return fail(removed.error().with_context("removing staging tree after losing the publish race"));
    }
    return publish_result{.is_published_by_other = true};
}

result<publish_result> won(const std::filesystem::path& target, publish_options options)
{
    if (options.is_durable) {
        if (auto synced = sync_directory(parent_of(target)); !synced) {
            return fail(synced.error());
        }
    }
    return publish_result{.is_published_by_other = false};
}

result<publish_result> rename_failed(int err, const std::filesystem::path& staging,
                                     const std::filesystem::path& target)
{
    // ENOENT means a missing staging tree or a missing target parent: the text names both.
    error e = system_error(err, "rename staging tree " + staging.native(), target.native());
    if (err == EXDEV) {
        e.hint = "staging and target must be on the same filesystem";
    }
    return fail(std::move(e));
}

}  // namespace

namespace detail {

result<publish_result> publish_with_plain_rename(const std::filesystem::path& staging,
                                                 const std::filesystem::path& target,
                                                 publish_options options)
{
    struct stat st {};
    if (::lstat(target.c_str(), &st) == 0) {
        return lost_race(staging);
    }
    if (errno != ENOENT) {
        return fail(system_error(errno, "lstat", target.native()));
    }
    if (::rename(staging.c_str(), target.c_str()) == 0) {
        return won(target, options);
    }
    int err = errno;
    if (err == EEXIST || err == ENOTEMPTY) {
        return lost_race(staging);
    }
    return rename_failed(err, staging, target);
}

}  // namespace detail

result<publish_result> publish_directory(const std::filesystem::path& staging,
                                         const std::filesystem::path& target,
                                         publish_options options)
{
    if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0) {
        return won(target, options);
    }
    int err = errno;
    if (err == EEXIST || err == ENOTEMPTY) {
        return lost_race(staging);
    }
    if (err == EINVAL || err == ENOSYS) {
        // EINVAL also means "staging is an ancestor of target"; the plain rename reports that.
        return detail::publish_with_plain_rename(staging, target, options);
    }
    return rename_failed(err, staging, target);
}

}  // namespace pkg::io
