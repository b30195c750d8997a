// installer::linker: pkg's link modes on top of io::link_prober (clone/hardlink/copy with
// per-device-pair probing), plus symlink mode and the one-warning-per-fallback report.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "fs/link_file.hpp"
#include "install/install_wheel.hpp"

namespace pkg::installer {

struct linker::impl {
    explicit impl(link_mode requested)
        : requested_mode(requested),
          prober(requested == link_mode::clone      ? io::link_mode::reflink
                 : requested == link_mode::hardlink ? io::link_mode::hardlink
                                                    : io::link_mode::copy)
    {
    }

    link_mode requested_mode;
    io::link_prober prober;
    mutable std::mutex mutex;
    std::set<std::string> fallback_kinds;  // "hardlink->copy", to warn once per kind
    std::vector<std::string> warnings;
    bool is_symlink_broken = false;  // symlink mode failed once for a reason of the filesystem

    void warn(const std::string& kind, const std::string& text)
    {
        std::lock_guard lock(mutex);
        if (fallback_kinds.insert(kind).second) {
            warnings.push_back(text);
        }
    }
};

linker::linker(link_mode requested) : impl_(std::make_unique<impl>(requested)) {}

linker::~linker() = default;

link_mode linker::requested() const noexcept { return impl_->requested_mode; }

result<void> linker::place(const std::filesystem::path& from, const std::filesystem::path& to)
{
    struct stat source_st {};
    if (::lstat(from.c_str(), &source_st) != 0) {
        return fail(system_error(errno, "lstat", from.native()));
    }
    const std::filesystem::path dir = to.parent_path();
    struct stat dir_st {};
    if (::stat(dir.c_str(), &dir_st) != 0) {
        return fail(system_error(errno, "stat destination directory", dir.native()));
    }
    return place(from, to, source_st.st_dev, dir_st.st_dev);
}

result<void> linker::place(const std::filesystem::path& from, const std::filesystem::path& to,
                           ::dev_t from_device, ::dev_t to_device)
{
    if (impl_->requested_mode == link_mode::symlink) {
        bool is_broken = false;
        {
            std::lock_guard lock(impl_->mutex);
            is_broken = impl_->is_symlink_broken;
        }
        if (!is_broken) {
            if (::symlink(from.c_str(), to.c_str()) == 0) {
                return {};
            }
            const int err = errno;
            // EPERM: filesystems without symlinks (FAT, some FUSE mounts).
            if (err != EPERM && err != EOPNOTSUPP) {
                return fail(system_error(err, "symlink to " + from.native(), to.native()));
            }
            {
                std::lock_guard lock(impl_->mutex);
                impl_->is_symlink_broken = true;
            }
            impl_->warn("symlink->copy",
                        fmt::format("symlinks cannot be created in {} ({}); copying instead. "
                                    "Set PKG_LINK_MODE=copy to silence this warning",
                                    to.parent_path().native(), system_error(err, "symlink", to.native()).message));
        }
        auto copied = io::link_file(from, to, io::link_mode::copy);
        if (!copied) {
            return fail(std::move(copied.error()));
        }
        return {};
    }
    auto linked = impl_->prober.link(from, to, from_device, to_device);
    if (!linked) {
        return fail(std::move(linked.error()));
    }
    if (linked->is_fallback) {
        const std::string kind = fmt::format("{}->{}", io::to_string(impl_->prober.requested()),
                                             io::to_string(linked->used));
        const char* requested_name = to_string(impl_->requested_mode);
        const std::string reason = linked->fallback_reason.code
                                       ? linked->fallback_reason.to_string()
                                       : std::string("not supported for this pair of filesystems");
        impl_->warn(kind,
                    fmt::format("failed to {} files from the cache into the environment ({}); "
                                "falling back to {}. The cache and the environment are probably "
                                "on different filesystems; set PKG_LINK_MODE={} to choose the "
                                "mode and silence this warning",
                                requested_name, reason,
                                linked->used == io::link_mode::copy ? "copying" : "hardlinks",
                                linked->used == io::link_mode::copy ? "copy" : "hardlink"));
    }
    return {};
}

std::vector<std::string> linker::warnings() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->warnings;
}

}  // namespace pkg::installer
