#include "fs/link_file.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace pkg::io {
namespace {

// One failed attempt: the error for the caller, and whether the mode (not the file) is at fault,
// so that the next mode in the chain may succeed.
struct failure {
    error err;
    int errno_value = 0;
    bool may_fall_back = false;
};

bool hardlink_unsupported(int e)
{
    // EPERM: filesystems without hardlinks (FAT, some FUSE) and protected_hardlinks; EMLINK: this
    // inode's link count is full; ENOTSUP == EOPNOTSUPP on Linux.
    return e == EXDEV || e == EPERM || e == EMLINK || e == ENOTSUP;
}

bool reflink_unsupported(int e)
{
    // EOPNOTSUPP: ext4/tmpfs; EXDEV: another filesystem; EINVAL: unaligned or unsupported
    // combination; ENOTTY: the ioctl is unknown to this filesystem (also FUSE).
    return e == EOPNOTSUPP || e == EINVAL || e == EXDEV || e == ENOTTY;
}

bool copy_range_unsupported(int e)
{
    // copy_file_range refuses cross-filesystem copies (EXDEV), is missing in old kernels or
    // seccomp filters (ENOSYS, EPERM), or not implemented for special files (EINVAL, EOPNOTSUPP).
    return e == EXDEV || e == ENOSYS || e == EINVAL || e == EOPNOTSUPP || e == EPERM;
}

struct fd_closer {
    int fd = -1;
    ~fd_closer()
    {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

// Opens the source for cloning or copying; refuses symlinks and non-regular files.
tl::expected<int, failure> open_source(const std::filesystem::path& source, struct stat& st)
{
    int fd = ::open(source.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        return tl::unexpected(failure{system_error(err, "open source", source.native()), err});
    }
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        return tl::unexpected(failure{system_error(err, "fstat", source.native()), err});
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return tl::unexpected(failure{
            error{std::make_error_code(std::errc::invalid_argument),
                  "cannot link: not a regular file", source.native(), {}},
            EINVAL});
    }
    return fd;
}

tl::expected<int, failure> create_destination(const std::filesystem::path& destination)
{
    // 0600 until the content is in place; the source's bits follow with fchmod.
    int fd = ::open(destination.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int err = errno;
        return tl::unexpected(failure{system_error(err, "create", destination.native()), err});
    }
    return fd;
}

// Finishes a clone or copy: permission bits, close (may report deferred write errors).
std::optional<failure> finish_destination(int fd, const struct stat& source_st,
                                          const std::filesystem::path& destination)
{
    if (::fchmod(fd, source_st.st_mode & 07777) != 0) {
        int err = errno;
        ::close(fd);
        return failure{system_error(err, "fchmod", destination.native()), err};
    }
    if (::close(fd) != 0 && errno != EINTR) {
        int err = errno;
        return failure{system_error(err, "close", destination.native()), err};
    }
    return std::nullopt;
}

std::optional<failure> try_hardlink(const std::filesystem::path& source,
                                    const std::filesystem::path& destination)
{
    // flags 0: a symlink source is linked itself, never followed.
    if (::linkat(AT_FDCWD, source.c_str(), AT_FDCWD, destination.c_str(), 0) == 0) {
        return std::nullopt;
    }
    int err = errno;
    return failure{system_error(err, "hardlink from " + source.native(), destination.native()),
                   err, hardlink_unsupported(err)};
}

std::optional<failure> try_reflink(const std::filesystem::path& source,
                                   const std::filesystem::path& destination)
{
    struct stat st {};
    auto src = open_source(source, st);
    if (!src) {
        return std::move(src.error());
    }
    fd_closer src_fd{*src};
    auto dst = create_destination(destination);
    if (!dst) {
        return std::move(dst.error());
    }
    if (::ioctl(*dst, FICLONE, src_fd.fd) != 0) {
        int err = errno;
        ::close(*dst);
        ::unlink(destination.c_str());
        return failure{
            system_error(err, "reflink (FICLONE) from " + source.native(), destination.native()),
            err, reflink_unsupported(err)};
    }
    if (auto failed = finish_destination(*dst, st, destination)) {
        ::unlink(destination.c_str());
        return failed;
    }
    return std::nullopt;
}

std::optional<failure> copy_with_read_write(int src, int dst, const std::filesystem::path& source,
                                            const std::filesystem::path& destination)
{
    std::vector<char> buffer(128 * 1024);
    for (;;) {
        ssize_t n = ::read(src, buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int err = errno;
            return failure{system_error(err, "read", source.native()), err};
        }
        if (n == 0) {
            return std::nullopt;
        }
        const char* data = buffer.data();
        auto left = static_cast<std::size_t>(n);
        while (left > 0) {
            ssize_t w = ::write(dst, data, left);
            if (w < 0) {
                if (errno == EINTR) {
                    continue;
                }
                int err = errno;
                return failure{system_error(err, "write", destination.native()), err};
            }
            data += w;
            left -= static_cast<std::size_t>(w);
        }
    }
}

std::optional<failure> try_copy(const std::filesystem::path& source,
                                const std::filesystem::path& destination)
{
    struct stat st {};
    auto src = open_source(source, st);
    if (!src) {
        return std::move(src.error());
    }
    fd_closer src_fd{*src};
    auto dst = create_destination(destination);
    if (!dst) {
        return std::move(dst.error());
    }
    fd_closer dst_fd{*dst};
    auto abandon = [&](failure f) -> std::optional<failure> {
        ::close(dst_fd.fd);
        dst_fd.fd = -1;
        ::unlink(destination.c_str());
        return f;
    };

    // copy_file_range with null offsets advances both file offsets, so a read/write fallback
    // after a partial copy continues where it stopped.
    bool use_read_write = false;
    for (;;) {
        ssize_t n = ::copy_file_range(src_fd.fd, nullptr, dst_fd.fd, nullptr, 1U << 30, 0);
        if (n > 0) {
            continue;
        }
        if (n == 0) {
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        if (copy_range_unsupported(errno)) {
            use_read_write = true;
            break;
        }
        int err = errno;
        return abandon(failure{system_error(err, "copy_file_range from " + source.native(),
                                            destination.native()),
                               err});
    }
    if (use_read_write) {
        if (auto failed = copy_with_read_write(src_fd.fd, dst_fd.fd, source, destination)) {
            return abandon(std::move(*failed));
        }
    }
    int fd = dst_fd.fd;
    dst_fd.fd = -1;
    if (auto failed = finish_destination(fd, st, destination)) {
        ::unlink(destination.c_str());
        return failed;
    }
    return std::nullopt;
}

std::optional<failure> try_mode(link_mode mode, const std::filesystem::path& source,
                                const std::filesystem::path& destination)
{
    switch (mode) {
    case link_mode::hardlink:
        return try_hardlink(source, destination);
    case link_mode::reflink:
        return try_reflink(source, destination);
    case link_mode::copy:
        return try_copy(source, destination);
    }
    return try_copy(source, destination);
}

// The mode after `mode` in the fallback chain.
link_mode next_mode(link_mode mode)
{
    return mode == link_mode::reflink ? link_mode::hardlink : link_mode::copy;
}

// Runs the chain from `mode`. `pair_mode` is what the device pair supports as far as this call
// learned: per-file failures (EMLINK) do not move it.
struct chain_outcome {
    link_mode used;
    link_mode pair_mode;
    error first_reason;
};

result<chain_outcome> run_chain(link_mode mode, const std::filesystem::path& source,
                                const std::filesystem::path& destination)
{
    chain_outcome out{mode, mode, {}};
    for (;;) {
        auto failed = try_mode(out.used, source, destination);
        if (!failed) {
            return out;
        }
        if (!failed->may_fall_back || out.used == link_mode::copy) {
            return fail(std::move(failed->err));
        }
        if (!out.first_reason.code) {
            out.first_reason = failed->err;
        }
        bool is_per_file = out.used == link_mode::hardlink && failed->errno_value == EMLINK;
        out.used = next_mode(out.used);
        if (!is_per_file && out.pair_mode != link_mode::copy) {
            out.pair_mode = out.used;
        }
    }
}

}  // namespace

const char* to_string(link_mode mode) noexcept
{
    switch (mode) {
    case link_mode::hardlink:
        return "hardlink";
    case link_mode::reflink:
        return "reflink";
    case link_mode::copy:
        return "copy";
    }
    return "copy";
}

result<link_result> link_file(const std::filesystem::path& source,
                              const std::filesystem::path& destination, link_mode mode)
{
    auto chain = run_chain(mode, source, destination);
    if (!chain) {
        return fail(std::move(chain.error()));
    }
    bool is_fallback = chain->used != mode;
    return link_result{chain->used, is_fallback, is_fallback, std::move(chain->first_reason)};
}

std::optional<link_mode> link_prober::effective(::dev_t source_device,
                                                ::dev_t destination_device) const
{
    std::lock_guard lock(mutex_);
    auto it = modes_.find({source_device, destination_device});
    if (it == modes_.end()) {
        return std::nullopt;
    }
    return it->second;
}

result<link_result> link_prober::link(const std::filesystem::path& source,
                                      const std::filesystem::path& destination,
                                      ::dev_t source_device, ::dev_t destination_device)
{
    const std::pair key{source_device, destination_device};
    std::optional<link_mode> known = effective(source_device, destination_device);
    auto chain = run_chain(known.value_or(requested_), source, destination);
    if (!chain) {
        return fail(std::move(chain.error()));
    }
    link_result out{chain->used, chain->used != requested_, false, std::move(chain->first_reason)};
    if (!known) {
        std::lock_guard lock(mutex_);
        auto [it, is_inserted] = modes_.emplace(key, chain->pair_mode);
        out.is_first_fallback = is_inserted && chain->pair_mode != requested_;
    }
    return out;
}

result<link_result> link_prober::link(const std::filesystem::path& source,
                                      const std::filesystem::path& destination)
{
    struct stat source_st {};
    if (::lstat(source.c_str(), &source_st) != 0) {
        return fail(system_error(errno, "lstat", source.native()));
    }
    const std::filesystem::path dir =
        destination.has_parent_path() ? destination.parent_path() : std::filesystem::path(".");
    struct stat dir_st {};
    if (::stat(dir.c_str(), &dir_st) != 0) {
        return fail(system_error(errno, "stat destination directory", dir.native()));
    }
    return link(source, destination, source_st.st_dev, dir_st.st_dev);
}

}  // namespace pkg::io
