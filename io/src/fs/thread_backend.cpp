#include "fs/thread_backend.hpp"
#include "fs/blocking_ops.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace pkg::io {

namespace {

// ---- the blocking operations (each returns the errno-carrying error of its first failure) --------

result<void> fail_errno(int errno_value, std::string_view op, const std::filesystem::path& path)
{
    return fail(system_error(errno_value, op, path.native()));
}

file_type type_of(mode_t mode)
{
    if (S_ISREG(mode)) {
        return file_type::regular;
    }
    if (S_ISDIR(mode)) {
        return file_type::directory;
    }
    if (S_ISLNK(mode)) {
        return file_type::symlink;
    }
    return file_type::other;
}

result<file_stat> stat_blocking(const std::filesystem::path& path, follow_symlinks follow)
{
    struct stat st {};
    const int flags = follow == follow_symlinks::yes ? 0 : AT_SYMLINK_NOFOLLOW;
    if (::fstatat(AT_FDCWD, path.c_str(), &st, flags) != 0) {
        return fail(system_error(errno, "stat", path.native()));
    }
    file_stat out;
    out.size_bytes = static_cast<std::uint64_t>(st.st_size);
    out.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
    out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    out.inode = static_cast<std::uint64_t>(st.st_ino);
    out.device = static_cast<std::uint64_t>(st.st_dev);
    out.nlink = static_cast<std::uint64_t>(st.st_nlink);
    out.type = type_of(st.st_mode);
    return out;
}

result<void> mkdir_blocking(const std::filesystem::path& path, std::uint32_t mode)
{
    if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) != 0) {
        return fail_errno(errno, "mkdir", path);
    }
    return {};
}

// Writes every byte of `data` at the current offset, retrying short writes and EINTR.
int write_all(int fd, std::span<const std::byte> data)
{
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        if (n == 0) {
            return EIO;  // write(2) never returns 0 for a non-empty buffer on a regular file
        }
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return 0;
}

result<std::string> read_file_blocking(const std::filesystem::path& path, std::uint64_t max_bytes)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(system_error(errno, "open for reading", path.native()));
    }
    std::string out;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0 &&
        static_cast<std::uint64_t>(st.st_size) <= max_bytes) {
        out.reserve(static_cast<std::size_t>(st.st_size));
    }
    int err = 0;
    const char* failed_op = "read";
    std::size_t size = 0;
    for (;;) {
        // Read one byte past the limit so "exactly max_bytes" and "more" are told apart.
        if (size > max_bytes) {
            err = EFBIG;
            failed_op = "read (file larger than the limit)";
            break;
        }
        const std::size_t chunk = 64 * 1024;
        out.resize(size + chunk);
        const ssize_t n = ::read(fd, out.data() + size, chunk);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            err = errno;
            break;
        }
        if (n == 0) {
            break;
        }
        size += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (err != 0) {
        return fail(system_error(err, failed_op, path.native()));
    }
    out.resize(size);
    return out;
}

}  // namespace

// mkdir -p. Recurses only on ENOENT, so the depth is bounded by the number of missing parents.
result<void> mkdirs_blocking(const std::filesystem::path& path, std::uint32_t mode)
{
    auto made = mkdir_blocking(path, mode);
    if (made) {
        return {};
    }
    if (made.error().code == std::errc::no_such_file_or_directory) {
        const auto parent = path.parent_path();
        if (parent.empty() || parent == path) {
            return made;
        }
        if (auto up = mkdirs_blocking(parent, mode); !up) {
            return up;
        }
        made = mkdir_blocking(path, mode);
        if (made) {
            return {};
        }
    }
    if (made.error().code == std::errc::file_exists) {
        // Someone (maybe a concurrent caller) made it: fine if it is a directory.
        auto st = stat_blocking(path, follow_symlinks::yes);
        if (st && st->type == file_type::directory) {
            return {};
        }
        return fail(system_error(ENOTDIR, "mkdir -p (exists and is not a directory)", path.native()));
    }
    return made;
}

result<void> write_file_blocking(const std::filesystem::path& path,
                                 const std::vector<std::span<const std::byte>>& buffers,
                                 write_options options)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                          static_cast<mode_t>(options.mode));
    if (fd < 0) {
        return fail_errno(errno, "create", path);
    }
    int err = 0;
    const char* failed_op = "write";
    for (const auto& buffer : buffers) {
        err = write_all(fd, buffer);
        if (err != 0) {
            break;
        }
    }
    if (err == 0 && options.is_durable && ::fsync(fd) != 0) {
        err = errno;
        failed_op = "fsync";
    }
    // close(2) can report a delayed write error (NFS); it is part of "the whole file was written".
    if (::close(fd) != 0 && err == 0 && errno != EINTR) {
        err = errno;
        failed_op = "close";
    }
    if (err != 0) {
        ::unlink(path.c_str());  // we created it with O_EXCL: never leave a partial file behind
        return fail_errno(err, failed_op, path);
    }
    return {};
}


struct thread_backend::impl {
    explicit impl(std::size_t threads) : pool(threads == 0 ? 1 : threads) {}
    asio::thread_pool pool;

    // Runs `fn` (a blocking job) on the pool and resumes the awaiting coroutine on its own
    // executor with the job's result. No extra work guard: the awaiting coroutine's co_spawn
    // already keeps its context busy until the handler runs, and holding no executor copy here
    // means this thread never touches the caller's context after handing the result back.
    template <class Fn>
    auto async_run(Fn fn) -> task<std::invoke_result_t<Fn&>>
    {
        using value = std::invoke_result_t<Fn&>;
        return asio::async_initiate<const asio::use_awaitable_t<>, void(value)>(
            [this](auto handler, Fn job) {
                asio::post(pool, [handler = std::move(handler), job = std::move(job)]() mutable {
                    value outcome = job();
                    asio::post(asio::append(std::move(handler), std::move(outcome)));
                });
            },
            asio::use_awaitable, std::move(fn));
    }
};

thread_backend::thread_backend(std::size_t thread_count)
    : impl_(std::make_unique<impl>(thread_count))
{
}

thread_backend::~thread_backend()
{
    // Run what is queued (a job may be using a borrowed buffer) and let the threads exit.
    impl_->pool.join();
}

task<result<void>> thread_backend::async_create_directory(std::filesystem::path path,
                                                          std::uint32_t mode)
{
    return impl_->async_run(
        [path = std::move(path), mode] { return mkdir_blocking(path, mode); });
}

task<result<void>> thread_backend::async_create_directories(std::filesystem::path path,
                                                            std::uint32_t mode)
{
    return impl_->async_run([path = std::move(path), mode] {
        auto normal = path.lexically_normal();
        if (!normal.has_filename() && normal.has_parent_path()) {
            normal = normal.parent_path();  // "a/b/" → "a/b"
        }
        return mkdirs_blocking(normal, mode);
    });
}

task<result<void>> thread_backend::async_write_file(std::filesystem::path path,
                                                    std::vector<std::span<const std::byte>> buffers,
                                                    write_options options)
{
    return impl_->async_run(
        [path = std::move(path), buffers = std::move(buffers), options] {
            return write_file_blocking(path, buffers, options);
        });
}

task<result<void>> thread_backend::async_hardlink(std::filesystem::path target,
                                                  std::filesystem::path link)
{
    return impl_->async_run(
        [target = std::move(target), link = std::move(link)]() -> result<void> {
            if (::linkat(AT_FDCWD, target.c_str(), AT_FDCWD, link.c_str(), 0) != 0) {
                return fail_errno(errno, "hardlink of '" + target.native() + "' as this", link);
            }
            return {};
        });
}

task<result<void>> thread_backend::async_rename(std::filesystem::path from, std::filesystem::path to,
                                                rename_mode mode)
{
    return impl_->async_run(
        [from = std::move(from), to = std::move(to), mode]() -> result<void> {
            const unsigned flags = mode == rename_mode::no_replace ? RENAME_NOREPLACE : 0;
            if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) != 0) {
                return fail_errno(errno, "rename to '" + to.native() + "'", from);
            }
            return {};
        });
}

task<result<void>> thread_backend::async_symlink(std::filesystem::path target,
                                                 std::filesystem::path link)
{
    return impl_->async_run(
        [target = std::move(target), link = std::move(link)]() -> result<void> {
            if (::symlinkat(target.c_str(), AT_FDCWD, link.c_str()) != 0) {
                return fail_errno(errno, "symlink to '" + target.native() + "'", link);
            }
            return {};
        });
}

task<result<void>> thread_backend::async_unlink(std::filesystem::path path)
{
    return impl_->async_run([path = std::move(path)]() -> result<void> {
        if (::unlinkat(AT_FDCWD, path.c_str(), 0) != 0) {
            return fail_errno(errno, "unlink", path);
        }
        return {};
    });
}

task<result<void>> thread_backend::async_remove_directory(std::filesystem::path path)
{
    return impl_->async_run([path = std::move(path)]() -> result<void> {
        if (::unlinkat(AT_FDCWD, path.c_str(), AT_REMOVEDIR) != 0) {
            return fail_errno(errno, "rmdir", path);
        }
        return {};
    });
}

task<result<file_stat>> thread_backend::async_stat(std::filesystem::path path, follow_symlinks follow)
{
    return impl_->async_run(
        [path = std::move(path), follow] { return stat_blocking(path, follow); });
}

task<result<std::string>> thread_backend::async_read_file(std::filesystem::path path,
                                                          std::uint64_t max_bytes)
{
    return impl_->async_run(
        [path = std::move(path), max_bytes] { return read_file_blocking(path, max_bytes); });
}

}  // namespace pkg::io
