#include "fs/file_lock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>
#include <thread>

#include "fs/atomic_file.hpp"

namespace pkg::io {
namespace {

const char* kind_name(lock_kind kind)
{
    return kind == lock_kind::shared ? "shared" : "exclusive";
}

result<int> open_lock_file(const std::filesystem::path& path)
{
    // 0666 filtered by the umask: a cache shared by a group must stay lockable by its members.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0666);
    if (fd < 0) {
        int err = errno;
        error e = system_error(err, "open lock file", path.native());
        if (err == EACCES || err == EROFS || err == EPERM) {
            e.hint = "locking needs a writable lock file (NFS locks need a writable descriptor)";
        }
        return fail(std::move(e));
    }
    return fd;
}

enum class attempt { acquired, contended };

// One lock attempt on `fd`; `is_waiting` blocks in the kernel until the lock is free.
result<attempt> set_lock(int fd, lock_kind kind, bool is_waiting, const std::filesystem::path& path)
{
    struct flock fl {};
    fl.l_type = kind == lock_kind::shared ? F_RDLCK : F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;  // The whole file, however long it grows.
    fl.l_pid = 0;  // Required to be 0 for OFD locks.
    for (;;) {
        if (::fcntl(fd, is_waiting ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0) {
            return attempt::acquired;
        }
        int err = errno;
        if (err == EINTR) {
            continue;
        }
        if (err == EAGAIN || err == EACCES) {
            return attempt::contended;
        }
        return fail(detail::lock_error(err, path));
    }
}

std::string one_line(std::string_view text)
{
    std::string out(text);
    std::replace(out.begin(), out.end(), '\n', ' ');
    return out;
}

std::string owner_words(const std::optional<lock_owner>& owner)
{
    if (!owner) {
        return {};
    }
    std::string words = "held by pid " + std::to_string(owner->pid);
    if (!owner->description.empty()) {
        words += " (" + owner->description + ")";
    }
    return words;
}

}  // namespace

namespace detail {

error lock_error(int errno_value, const std::filesystem::path& path)
{
    // 524 is the kernel's internal ENOTSUPP leaking to user space (Lustre, some NFS clients).
    constexpr int kernel_enotsupp = 524;
    error e = system_error(errno_value, "lock", path.native());
    if (errno_value == ENOLCK || errno_value == ENOSYS || errno_value == EOPNOTSUPP ||
        errno_value == EINVAL || errno_value == kernel_enotsupp) {
        e.message = "lock failed: the filesystem holding this file cannot lock files (" +
                    (errno_value == kernel_enotsupp
                         ? std::string("error 524, operation not supported")
                         : std::generic_category().message(errno_value)) +
                    ")";
        e.hint = "use a directory on a local filesystem (NFS needs a running lock manager; some "
                 "clusters disable file locking)";
    }
    return e;
}

}  // namespace detail

std::filesystem::path lock_owner_path(const std::filesystem::path& lock_path)
{
    std::filesystem::path owner = lock_path;
    owner += ".owner";
    return owner;
}

std::optional<lock_owner> read_lock_owner(const std::filesystem::path& lock_path)
{
    std::ifstream in(lock_owner_path(lock_path));
    if (!in) {
        return std::nullopt;
    }
    std::string word;
    lock_owner owner;
    if (!(in >> word >> owner.pid) || word != "pid" || owner.pid <= 0) {
        return std::nullopt;
    }
    in.ignore(1);  // The newline after the pid.
    std::getline(in, owner.description);
    // A crashed holder leaves its sidecar behind: only a live pid is worth naming.
    if (::kill(static_cast<pid_t>(owner.pid), 0) != 0 && errno == ESRCH) {
        return std::nullopt;
    }
    return owner;
}

file_lock::file_lock(int fd, std::filesystem::path path, lock_kind kind,
                     bool has_owner_file) noexcept
    : fd_(fd), path_(std::move(path)), kind_(kind), has_owner_file_(has_owner_file)
{
}

file_lock::file_lock(file_lock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      kind_(other.kind_),
      has_owner_file_(std::exchange(other.has_owner_file_, false))
{
}

file_lock& file_lock::operator=(file_lock&& other) noexcept
{
    if (this != &other) {
        (void)release();
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::move(other.path_);
        kind_ = other.kind_;
        has_owner_file_ = std::exchange(other.has_owner_file_, false);
    }
    return *this;
}

file_lock::~file_lock() { (void)release(); }

result<void> file_lock::release()
{
    if (fd_ < 0) {
        return {};
    }
    if (has_owner_file_) {
        // Still exclusive here, so no new holder can have written the sidecar yet: removing it
        // after unlocking could delete the next holder's.
        ::unlink(lock_owner_path(path_).c_str());
        has_owner_file_ = false;
    }
    int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0 && errno != EINTR) {
        return fail(system_error(errno, "close lock file", path_.native()));
    }
    return {};
}

file_lock file_lock::adopt(int fd, const std::filesystem::path& path, lock_kind kind,
                           std::string_view description)
{
    bool has_owner_file = false;
    if (kind == lock_kind::exclusive) {
        // Best effort: a waiter's message is the only reader, so a failed write is no error.
        std::string text = "pid " + std::to_string(::getpid()) + "\n" + one_line(description) + "\n";
        has_owner_file = atomic_write_file(lock_owner_path(path), text).has_value();
    }
    return file_lock(fd, path, kind, has_owner_file);
}

result<std::optional<file_lock>> file_lock::try_lock(const std::filesystem::path& path,
                                                     lock_kind kind, std::string_view description)
{
    auto fd = open_lock_file(path);
    if (!fd) {
        return fail(std::move(fd.error()));
    }
    auto got = set_lock(*fd, kind, false, path);
    if (!got) {
        ::close(*fd);
        return fail(std::move(got.error()));
    }
    if (*got == attempt::contended) {
        ::close(*fd);
        return std::optional<file_lock>{};
    }
    return std::optional<file_lock>{adopt(*fd, path, kind, description)};
}

result<file_lock> file_lock::lock(const std::filesystem::path& path, lock_kind kind,
                                  std::string_view description)
{
    auto fd = open_lock_file(path);
    if (!fd) {
        return fail(std::move(fd.error()));
    }
    auto got = set_lock(*fd, kind, true, path);
    if (!got) {
        ::close(*fd);
        return fail(std::move(got.error()));
    }
    return adopt(*fd, path, kind, description);
}

result<file_lock> file_lock::lock_for(
    const std::filesystem::path& path, lock_kind kind, std::chrono::milliseconds timeout,
    std::string_view description,
    const std::function<void(const std::optional<lock_owner>&)>& on_wait)
{
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + timeout;
    auto fd = open_lock_file(path);
    if (!fd) {
        return fail(std::move(fd.error()));
    }
    auto pause = std::chrono::milliseconds(1);
    bool has_told_waiter = false;
    for (;;) {
        auto got = set_lock(*fd, kind, false, path);
        if (!got) {
            ::close(*fd);
            return fail(std::move(got.error()));
        }
        if (*got == attempt::acquired) {
            return adopt(*fd, path, kind, description);
        }
        const auto now = clock::now();
        if (now >= deadline) {
            ::close(*fd);
            std::string message = "timed out after " + std::to_string(timeout.count()) +
                                  " ms waiting for a " + kind_name(kind) + " lock";
            if (auto words = owner_words(read_lock_owner(path)); !words.empty()) {
                message += " (" + words + ")";
            }
            return fail(std::make_error_code(std::errc::timed_out), std::move(message),
                        path.native(),
                        "another process holds the lock; wait for it to finish or stop it");
        }
        if (!has_told_waiter) {
            has_told_waiter = true;
            if (on_wait) {
                on_wait(read_lock_owner(path));
            }
        }
        std::this_thread::sleep_for(std::min<clock::duration>(pause, deadline - now));
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
}

}  // namespace pkg::io
