#include "fs/remove_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>

#include "fs/atomic_file.hpp"

namespace pkg::io {
namespace {

// Wheel trees are a handful of levels deep; a deeper tree is hostile or a loop we cannot see.
constexpr int max_depth = 256;
// Listings to retry when rmdir says ENOTEMPTY: a concurrent remover's listing and ours can leave
// an entry unseen for one round, a writer that keeps adding entries for ever.
constexpr int max_listings = 8;

// Adds u+rwx to a directory so its entries can be listed and removed (read-only cache trees).
bool grant_owner_rwx(int dir_fd)
{
    struct stat st {};
    if (::fstat(dir_fd, &st) != 0) {
        return false;
    }
    if ((st.st_mode & 0700) == 0700) {
        return false;  // Permissions were not the problem; retrying would not help.
    }
    return ::fchmod(dir_fd, (st.st_mode & 07777) | 0700) == 0;
}

struct remover {
    std::optional<error> first_error;

    void note(error e)
    {
        if (!first_error) {
            first_error = std::move(e);
        }
    }

    // Removes entry `name` of the directory `parent_fd`. `path` is its full path for messages;
    // `may_fix_parent` allows adding u+rwx to the parent (only for directories inside the tree).
    void remove_entry(int parent_fd, const char* name, const std::string& path,
                      unsigned char type_hint, int depth, bool may_fix_parent)
    {
        if (type_hint != DT_DIR) {
            for (int attempt = 0;; ++attempt) {
                if (::unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT) {
                    return;
                }
                int err = errno;
                if (err == EISDIR) {
                    break;  // Linux's answer for a directory: remove it as one below.
                }
                if (err == EPERM) {
                    // POSIX allows EPERM for directories too; anything else is a real refusal.
                    struct stat st {};
                    if (::fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                        S_ISDIR(st.st_mode)) {
                        break;
                    }
                }
                if (err == EACCES && attempt == 0 && may_fix_parent && grant_owner_rwx(parent_fd)) {
                    continue;
                }
                note(system_error(err, "unlink", path));
                return;
            }
        }
        remove_directory(parent_fd, name, path, depth, may_fix_parent);
    }

    void remove_directory(int parent_fd, const char* name, const std::string& path, int depth,
                          bool may_fix_parent)
    {
        if (depth > max_depth) {
            note(error{std::make_error_code(std::errc::too_many_symbolic_link_levels),
                       "directory tree is nested deeper than 256 levels; refusing to descend",
                       path,
                       {}});
            return;
        }
        bool fixed_self = false;
        bool fixed_parent = false;
        for (int listing = 0; listing < max_listings; ++listing) {
            int fd = ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) {
                int err = errno;
                if (err == ENOENT) {
                    return;  // Another remover finished this directory.
                }
                if (err == ENOTDIR || err == ELOOP) {
                    // Replaced by a file or symlink since we looked: remove that, never follow.
                    if (::unlinkat(parent_fd, name, 0) != 0 && errno != ENOENT) {
                        note(system_error(errno, "unlink", path));
                    }
                    return;
                }
                if (err == EACCES && !fixed_self) {
                    fixed_self = true;
                    // The entry is a directory (we got here because of that); chmod it to u+rwx.
                    if (::fchmodat(parent_fd, name, 0700, 0) == 0) {
                        --listing;
                        continue;
                    }
                }
                note(system_error(err, "open directory", path));
                return;
            }
            DIR* dir = ::fdopendir(fd);
            if (dir == nullptr) {
                int err = errno;
                ::close(fd);
                note(system_error(err, "fdopendir", path));
                return;
            }
            if (!fixed_self) {
                // A directory without u+wx cannot lose entries; fix it before the first unlink.
                fixed_self = true;
                grant_owner_rwx(::dirfd(dir));
            }
            errno = 0;
            while (dirent* entry = ::readdir(dir)) {
                const char* child = entry->d_name;
                if (child[0] == '.' && (child[1] == '\0' || (child[1] == '.' && child[2] == '\0'))) {
                    continue;
                }
                std::string child_path = path;
                child_path += '/';
                child_path += child;
                remove_entry(::dirfd(dir), child, child_path, entry->d_type, depth + 1, true);
                errno = 0;
            }
            // ENOENT from readdir means the directory itself was removed under us: done.
            if (errno != 0 && errno != ENOENT) {
                note(system_error(errno, "readdir", path));
            }
            ::closedir(dir);
            if (first_error) {
                return;
            }

            if (::unlinkat(parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) {
                return;
            }
            int err = errno;
            if (err == ENOTEMPTY || err == EEXIST) {
                continue;  // Entries we did not see (a racing listing or a writer): list again.
            }
            if (err == EACCES && may_fix_parent && !fixed_parent) {
                fixed_parent = true;
                if (grant_owner_rwx(parent_fd)) {
                    --listing;
                    continue;
                }
            }
            note(system_error(err, "rmdir", path));
            return;
        }
        note(error{std::make_error_code(std::errc::directory_not_empty),
                   "rmdir failed: directory still not empty after " +
                       std::to_string(max_listings) + " listings",
                   path, "another process keeps creating entries in it"});
    }
};

}  // namespace

result<void> remove_tree(const std::filesystem::path& root_in)
{
    std::filesystem::path root = root_in;
    if (!root.empty() && !root.has_filename()) {
        root = root.parent_path();  // "a/b/" names the directory "a/b".
    }
    const std::string name = root.filename().native();
    if (name.empty() || name == "." || name == "..") {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "remove_tree needs a path ending in a name, not \"" + name + "\"",
                    root_in.native());
    }
    const std::filesystem::path parent =
        root.has_parent_path() ? root.parent_path() : std::filesystem::path(".");
    int parent_fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent_fd < 0) {
        if (errno == ENOENT) {
            return {};  // The whole parent is gone, so is the tree.
        }
        return fail(system_error(errno, "open parent directory", parent.native()));
    }
    remover r;
    r.remove_entry(parent_fd, name.c_str(), root.native(), DT_UNKNOWN, 0, false);
    ::close(parent_fd);
    if (r.first_error) {
        return fail(std::move(*r.first_error));
    }
    return {};
}

result<void> rename_aside_then_remove(const std::filesystem::path& root_in)
{
    std::filesystem::path root = root_in;
    if (!root.empty() && !root.has_filename()) {
        root = root.parent_path();
    }
    const std::string name = root.filename().native();
    if (name.empty() || name == "." || name == "..") {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "rename_aside_then_remove needs a path ending in a name, not \"" + name + "\"",
                    root_in.native());
    }
    const std::filesystem::path aside = root.parent_path() / unique_sibling_name(name, "removing");
    if (::rename(root.c_str(), aside.c_str()) != 0) {
        int err = errno;
        if (err == ENOENT) {
            return {};
        }
        return fail(system_error(err, "rename aside to " + aside.filename().native(),
                                 root.native()));
    }
    return remove_tree(aside);
}

}  // namespace pkg::io
