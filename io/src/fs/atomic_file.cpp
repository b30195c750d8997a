#include "fs/atomic_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>

namespace pkg::io {
namespace {

// Closes a descriptor on every exit path; close errors after a successful fsync carry no news.
struct fd_closer {
    int fd = -1;
    ~fd_closer()
    {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

std::uint64_t random_bits()
{
    std::uint64_t bits = 0;
    if (::getrandom(&bits, sizeof bits, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof bits)) {
        return bits;
    }
    // Without getrandom (seccomp, early boot) the pid in the name still separates processes; a
    // counter mixed with the clock separates calls within this one.
    static std::atomic<std::uint64_t> counter{0};
    auto now = static_cast<std::uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    return (now * 0x9E3779B97F4A7C15ULL) ^ counter.fetch_add(1, std::memory_order_relaxed);
}

result<void> write_all(int fd, std::span<const std::byte> contents, const std::string& where)
{
    const std::byte* data = contents.data();
    std::size_t left = contents.size();
    while (left > 0) {
        ssize_t n = ::write(fd, data, left);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(system_error(errno, "write", where));
        }
        data += n;
        left -= static_cast<std::size_t>(n);
    }
    return {};
}

}  // namespace

std::string unique_sibling_name(std::string_view base_name, std::string_view purpose)
{
    // NAME_MAX is 255; keep room for ".", purpose, pid and the random part.
    constexpr std::size_t max_base = 180;
    if (base_name.size() > max_base) {
        base_name = base_name.substr(0, max_base);
    }
    char tail[64];
    std::snprintf(tail, sizeof tail, ".%ld.%016llx", static_cast<long>(::getpid()),
                  static_cast<unsigned long long>(random_bits()));
    std::string name;
    name.reserve(1 + base_name.size() + 1 + purpose.size() + sizeof tail);
    name += '.';
    name += base_name;
    name += '.';
    name += purpose;
    name += tail;
    return name;
}

result<void> sync_directory(const std::filesystem::path& dir)
{
    fd_closer d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd < 0) {
        return fail(system_error(errno, "open directory for fsync", dir.native()));
    }
    if (::fsync(d.fd) != 0) {
        return fail(system_error(errno, "fsync directory", dir.native()));
    }
    return {};
}

result<void> atomic_write_file(const std::filesystem::path& target,
                               std::span<const std::byte> contents, atomic_write_options options)
{
    const std::filesystem::path dir = target.has_parent_path() ? target.parent_path()
                                                               : std::filesystem::path(".");
    const std::string name = target.filename().native();
    if (name.empty() || name == "." || name == "..") {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "atomic write needs a file name, not a directory path", target.native());
    }

    // A random name can collide only by astronomic chance or with a stale leftover from a pid
    // reused after a crash; O_EXCL turns that into EEXIST and a second name.
    std::filesystem::path temp;
    fd_closer f;
    for (int attempt = 0; attempt < 4; ++attempt) {
        temp = dir / unique_sibling_name(name, "tmp");
        f.fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (f.fd >= 0 || errno != EEXIST) {
            break;
        }
    }
    if (f.fd < 0) {
        return fail(system_error(errno, "create temporary file", temp.native()));
    }

    auto remove_temp = [&](error e) -> result<void> {
        ::close(f.fd);
        f.fd = -1;
        ::unlink(temp.c_str());
        return fail(std::move(e));
    };

    if (auto written = write_all(f.fd, contents, target.native()); !written) {
        return remove_temp(std::move(written.error()));
    }
    if (::fchmod(f.fd, options.mode & 07777) != 0) {
        return remove_temp(system_error(errno, "fchmod", target.native()));
    }
    if (options.is_durable && ::fsync(f.fd) != 0) {
        return remove_temp(system_error(errno, "fsync", target.native()));
    }
    // close can report a deferred write error (NFS): treat it like a failed write.
    int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0 && errno != EINTR) {
        int err = errno;
        ::unlink(temp.c_str());
        return fail(system_error(err, "close", target.native()));
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        return fail(system_error(err, "rename temporary " + temp.filename().native(), target.native()));
    }
    if (options.is_durable) {
        return sync_directory(dir);
    }
    return {};
}

result<void> atomic_write_file(const std::filesystem::path& target, std::string_view contents,
                               atomic_write_options options)
{
    return atomic_write_file(
        target, std::as_bytes(std::span<const char>(contents.data(), contents.size())), options);
}

}  // namespace pkg::io
