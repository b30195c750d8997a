#include "fs/symlink_swap.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "fs/atomic_file.hpp"

namespace pkg::io {

result<void> replace_symlink(const std::filesystem::path& link,
                             const std::filesystem::path& target, symlink_options options)
{
    const std::filesystem::path dir =
        link.has_parent_path() ? link.parent_path() : std::filesystem::path(".");
    const std::string name = link.filename().native();
    if (name.empty() || name == "." || name == "..") {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "replace_symlink needs a link path ending in a name", link.native());
    }
    std::filesystem::path temp;
    int err = 0;
    for (int attempt = 0; attempt < 4; ++attempt) {
        temp = dir / unique_sibling_name(name, "tmp");
        if (::symlink(target.c_str(), temp.c_str()) == 0) {
            err = 0;
            break;
        }
        err = errno;
        if (err != EEXIST) {
            break;
        }
    }
    if (err != 0) {
        return fail(system_error(err, "create temporary symlink " + temp.filename().native(),
                                 link.native()));
    }
    if (::rename(temp.c_str(), link.c_str()) != 0) {
        err = errno;
        ::unlink(temp.c_str());
        return fail(system_error(err, "rename temporary symlink " + temp.filename().native(), link.native()));
    }
    if (options.is_durable) {
        return sync_directory(dir);
    }
    return {};
}

result<std::optional<std::filesystem::path>> read_pointer(const std::filesystem::path& link)
{
    // Pointer texts are short relative paths; grow the buffer for the rare long one.
    std::string buffer(256, '\0');
    for (;;) {
        ssize_t n = ::readlink(link.c_str(), buffer.data(), buffer.size());
        if (n < 0) {
            int err = errno;
            if (err == ENOENT) {
                return std::optional<std::filesystem::path>{};
            }
            error e = system_error(err, "readlink", link.native());
            if (err == EINVAL) {
                e.hint = "expected a symlink here, found another kind of file";
            }
            return fail(std::move(e));
        }
        if (static_cast<std::size_t>(n) < buffer.size()) {
            buffer.resize(static_cast<std::size_t>(n));
            return std::optional<std::filesystem::path>{std::move(buffer)};
        }
        // The text may have been truncated: retry with a larger buffer.
        buffer.resize(buffer.size() * 4);
    }
}

result<std::optional<std::filesystem::path>> resolve_pointer(const std::filesystem::path& link)
{
    auto text = read_pointer(link);
    if (!text) {
        return fail(std::move(text.error()));
    }
    if (!*text) {
        return std::optional<std::filesystem::path>{};
    }
    std::filesystem::path resolved =
        (*text)->is_absolute() || !link.has_parent_path() ? std::move(**text)
                                                          : link.parent_path() / **text;
    struct stat st {};
    if (::stat(resolved.c_str(), &st) != 0) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR) {
            return std::optional<std::filesystem::path>{};  // Dangling: a miss.
        }
        return fail(system_error(err, "stat target of pointer " + link.native(),
                                 resolved.native()));
    }
    return std::optional<std::filesystem::path>{std::move(resolved)};
}

}  // namespace pkg::io
