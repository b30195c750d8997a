// One suite, run against both file backends (io_uring and the thread pool): every operation, its
// success and its error paths (ENOENT, EEXIST, EXDEV, ENOSPC, EFBIG, ENOTDIR, ENOTEMPTY, ...),
// mode bits, many concurrent operations, cancellation, shutdown with work in flight, and the
// factory's choice and fallback.

#include "fs/file_backend.hpp"
#include "fs/thread_backend.hpp"
#include "fs/uring_backend.hpp"
#include "support/files.hpp"

#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

namespace fs = std::filesystem;
using pkg::io::backend_choice;
using pkg::io::backend_kind;
using pkg::io::file_backend;
using pkg::io::file_type;
using pkg::io::follow_symlinks;
using pkg::io::rename_mode;
using pkg::io::write_options;
using pkg::test::scratch_dir;

namespace {

// Runs one coroutine on `ctx` to completion and returns its value (rethrows its exception).
template <class T>
T run_task(asio::io_context& ctx, pkg::io::task<T> work)
{
    std::optional<T> out;
    std::exception_ptr failure;
    asio::co_spawn(ctx, std::move(work), [&](std::exception_ptr e, T value) {
        failure = e;
        if (!e) {
            out.emplace(std::move(value));
        }
    });
    ctx.restart();
    ctx.run();
    if (failure) {
        std::rethrow_exception(failure);
    }
    REQUIRE(out.has_value());
    return std::move(*out);
}

// The backend under test; null (with a warning) only where io_uring is refused by the kernel.
std::unique_ptr<file_backend> make_backend(asio::io_context& ctx, backend_kind kind,
                                           std::size_t max_in_flight = 32)
{
    pkg::io::file_backend_options options;
    options.backend = kind == backend_kind::uring ? backend_choice::uring : backend_choice::threads;
    options.max_in_flight = max_in_flight;
    auto made = pkg::io::make_file_backend(ctx.get_executor(), std::move(options));
    if (!made && kind == backend_kind::uring) {
        WARN("io_uring unavailable here, uring half of the suite not run: "
             << made.error().to_string());
        return nullptr;
    }
    REQUIRE(made);
    REQUIRE((*made)->kind() == kind);
    return std::move(*made);
}

std::span<const std::byte> bytes_of(const std::string& text)
{
    return std::as_bytes(std::span(text.data(), text.size()));
}

std::string slurp(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void spit(const fs::path& path, const std::string& content)
{
    std::ofstream out(path, std::ios::binary);
    out << content;
}

std::uint32_t process_umask()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Umask:", 0) == 0) {
            return static_cast<std::uint32_t>(std::stoul(line.substr(6), nullptr, 8));
        }
    }
    return 022;
}

#define REQUIRE_ERRNO(res, errc_value)                                                            \
    do {                                                                                          \
        REQUIRE_FALSE(res);                                                                       \
        INFO("error: " << (res).error().to_string());                                            \
        CHECK((res).error().code == std::make_error_code(errc_value));                            \
    } while (false)

}  // namespace

TEST_CASE("file backend: directories", "[io-backend]")
{
    const auto kind = GENERATE(backend_kind::uring, backend_kind::threads);
    CAPTURE(pkg::io::to_string(kind));
    asio::io_context ctx;
    auto backend = make_backend(ctx, kind);
    if (!backend) {
        return;
    }
    scratch_dir dir("io-backend", "dirs");

    SECTION("mkdir creates one directory with its mode; again gives EEXIST; no parent gives ENOENT")
    {
        const auto made = run_task(ctx, backend->async_create_directory(dir.path / "a", 0700));
        REQUIRE(made);
        CHECK(fs::is_directory(dir.path / "a"));
        CHECK((fs::status(dir.path / "a").permissions() & fs::perms::all) ==
              (fs::perms::owner_all & ~fs::perms(process_umask())));

        const auto again = run_task(ctx, backend->async_create_directory(dir.path / "a", 0755));
        REQUIRE_ERRNO(again, std::errc::file_exists);
        CHECK(again.error().where == (dir.path / "a").native());
        CHECK(again.error().message.find("mkdir") != std::string::npos);

        const auto orphan = run_task(ctx, backend->async_create_directory(dir.path / "x" / "y", 0755));
        REQUIRE_ERRNO(orphan, std::errc::no_such_file_or_directory);
        CHECK_FALSE(fs::exists(dir.path / "x"));
    }

    SECTION("mkdir -p creates every parent, accepts existing ones and a trailing slash")
    {
        const auto deep = dir.path / "p" / "q" / "r" / "s";
        REQUIRE(run_task(ctx, backend->async_create_directories(deep, 0755)));
        CHECK(fs::is_directory(deep));
        REQUIRE(run_task(ctx, backend->async_create_directories(deep, 0755)));
        REQUIRE(run_task(ctx, backend->async_create_directories(dir.path / "p" / "q2/", 0755)));
        CHECK(fs::is_directory(dir.path / "p" / "q2"));
    }

    SECTION("mkdir -p through or onto a regular file gives ENOTDIR naming the file")
    {
        spit(dir.path / "file", "x");
        const auto onto = run_task(ctx, backend->async_create_directories(dir.path / "file", 0755));
        REQUIRE_ERRNO(onto, std::errc::not_a_directory);
        CHECK(onto.error().where == (dir.path / "file").native());
        const auto through =
            run_task(ctx, backend->async_create_directories(dir.path / "file" / "sub", 0755));
        REQUIRE_ERRNO(through, std::errc::not_a_directory);
    }

    SECTION("rmdir removes an empty directory; ENOTEMPTY, ENOTDIR and ENOENT otherwise")
    {
        fs::create_directories(dir.path / "full" / "child");
        fs::create_directory(dir.path / "empty");
        spit(dir.path / "file", "x");
        REQUIRE(run_task(ctx, backend->async_remove_directory(dir.path / "empty")));
        CHECK_FALSE(fs::exists(dir.path / "empty"));

        const auto full = run_task(ctx, backend->async_remove_directory(dir.path / "full"));
        REQUIRE_FALSE(full);
        CHECK((full.error().code == std::errc::directory_not_empty ||
               full.error().code == std::errc::file_exists));
        CHECK(fs::exists(dir.path / "full" / "child"));

        REQUIRE_ERRNO(run_task(ctx, backend->async_remove_directory(dir.path / "file")),
                      std::errc::not_a_directory);
        REQUIRE_ERRNO(run_task(ctx, backend->async_remove_directory(dir.path / "gone")),
                      std::errc::no_such_file_or_directory);
    }
}

TEST_CASE("file backend: whole-file writes", "[io-backend]")
{
    const auto kind = GENERATE(backend_kind::uring, backend_kind::threads);
    CAPTURE(pkg::io::to_string(kind));
    asio::io_context ctx;
    auto backend = make_backend(ctx, kind);
    if (!backend) {
        return;
    }
    scratch_dir dir("io-backend", "write");

    SECTION("the concatenation of the buffers lands in the file, with the mode bits")
    {
        const std::string a = "hello, ";
        const std::string b(100'000, 'b');
        const std::string c = "tail";
        const auto target = dir.path / "multi.txt";
        const auto wrote = run_task(
            ctx, backend->async_write_file(target, {bytes_of(a), bytes_of(b), {}, bytes_of(c)},
                                           write_options{0640, false}));
        REQUIRE(wrote);
        CHECK(slurp(target) == a + b + c);
        CHECK(static_cast<std::uint32_t>(fs::status(target).permissions() & fs::perms::mask) ==
              (0640u & ~process_umask()));

        const auto exe = dir.path / "tool";
        REQUIRE(run_task(ctx, backend->async_write_file(exe, {bytes_of(a)}, write_options{0755, false})));
        CHECK(static_cast<std::uint32_t>(fs::status(exe).permissions() & fs::perms::mask) ==
              (0755u & ~process_umask()));
    }

    SECTION("empty files, with and without fsync")
    {
        REQUIRE(run_task(ctx, backend->async_write_file(dir.path / "empty", {}, {})));
        CHECK(fs::file_size(dir.path / "empty") == 0);
        REQUIRE(run_task(ctx, backend->async_write_file(dir.path / "empty-durable", {},
                                                        write_options{0644, true})));
        CHECK(fs::file_size(dir.path / "empty-durable") == 0);
    }

    SECTION("the durable flag writes the same content (fsync before returning)")
    {
        const std::string content(3 * 4096 + 17, 'd');
        REQUIRE(run_task(ctx, backend->async_write_file(dir.path / "durable", {bytes_of(content)},
                                                        write_options{0600, true})));
        CHECK(slurp(dir.path / "durable") == content);
    }

    SECTION("creation is exclusive: an existing file gives EEXIST and keeps its content")
    {
        spit(dir.path / "taken", "original");
        const std::string other = "replacement";
        const auto res = run_task(ctx, backend->async_write_file(dir.path / "taken", {bytes_of(other)}, {}));
        REQUIRE_ERRNO(res, std::errc::file_exists);
        CHECK(res.error().where == (dir.path / "taken").native());
        CHECK(slurp(dir.path / "taken") == "original");

        // A dangling symlink counts as existing too (O_EXCL never follows it).
        fs::create_symlink(dir.path / "nowhere", dir.path / "dangling");
        REQUIRE_ERRNO(run_task(ctx, backend->async_write_file(dir.path / "dangling", {bytes_of(other)}, {})),
                      std::errc::file_exists);
        CHECK_FALSE(fs::exists(dir.path / "nowhere"));
    }

    SECTION("a missing parent directory gives ENOENT naming the path")
    {
        const std::string content = "x";
        const auto res = run_task(
            ctx, backend->async_write_file(dir.path / "no" / "such" / "f", {bytes_of(content)}, {}));
        REQUIRE_ERRNO(res, std::errc::no_such_file_or_directory);
        CHECK(res.error().where == (dir.path / "no" / "such" / "f").native());
        CHECK(res.error().message.find("create") != std::string::npos);
    }

    SECTION("many buffers (more than one writev can take) are all written in order")
    {
        std::vector<std::string> pieces;
        for (int i = 0; i < 9000; ++i) {
            pieces.push_back(std::to_string(i) + ",");
        }
        std::vector<std::span<const std::byte>> buffers;
        std::string expected;
        for (const auto& p : pieces) {
            buffers.push_back(bytes_of(p));
            expected += p;
        }
        REQUIRE(run_task(ctx, backend->async_write_file(dir.path / "pieces", std::move(buffers), {})));
        CHECK(slurp(dir.path / "pieces") == expected);
    }
}

TEST_CASE("file backend: links, renames, symlinks, unlink", "[io-backend]")
{
    const auto kind = GENERATE(backend_kind::uring, backend_kind::threads);
    CAPTURE(pkg::io::to_string(kind));
    asio::io_context ctx;
    auto backend = make_backend(ctx, kind);
    if (!backend) {
        return;
    }
    scratch_dir dir("io-backend", "links");
    spit(dir.path / "file", "content");

    SECTION("hardlink shares the inode; EEXIST and ENOENT")
    {
        REQUIRE(run_task(ctx, backend->async_hardlink(dir.path / "file", dir.path / "link")));
        const auto a = run_task(ctx, backend->async_stat(dir.path / "file", follow_symlinks::no));
        const auto b = run_task(ctx, backend->async_stat(dir.path / "link", follow_symlinks::no));
        REQUIRE(a);
        REQUIRE(b);
        CHECK(a->inode == b->inode);
        CHECK(a->device == b->device);
        CHECK(b->nlink == 2);

        const auto twice = run_task(ctx, backend->async_hardlink(dir.path / "file", dir.path / "link"));
        REQUIRE_ERRNO(twice, std::errc::file_exists);
        CHECK(twice.error().where == (dir.path / "link").native());
        CHECK(twice.error().message.find((dir.path / "file").native()) != std::string::npos);

        REQUIRE_ERRNO(run_task(ctx, backend->async_hardlink(dir.path / "missing", dir.path / "l2")),
                      std::errc::no_such_file_or_directory);
        REQUIRE_ERRNO(run_task(ctx, backend->async_hardlink(dir.path / "file", dir.path / "nodir" / "l")),
                      std::errc::no_such_file_or_directory);
    }

    SECTION("rename replaces by default; no_replace refuses with EEXIST and keeps both files")
    {
        spit(dir.path / "other", "other");
        REQUIRE(run_task(ctx, backend->async_rename(dir.path / "file", dir.path / "moved",
                                                    rename_mode::replace)));
        CHECK_FALSE(fs::exists(dir.path / "file"));
        CHECK(slurp(dir.path / "moved") == "content");

        const auto refused = run_task(ctx, backend->async_rename(dir.path / "other", dir.path / "moved",
                                                                 rename_mode::no_replace));
        REQUIRE_ERRNO(refused, std::errc::file_exists);
        CHECK(refused.error().where == (dir.path / "other").native());
        CHECK(slurp(dir.path / "moved") == "content");
        CHECK(slurp(dir.path / "other") == "other");

        REQUIRE(run_task(ctx, backend->async_rename(dir.path / "other", dir.path / "moved",
                                                    rename_mode::replace)));
        CHECK(slurp(dir.path / "moved") == "other");

        REQUIRE(run_task(ctx, backend->async_rename(dir.path / "moved", dir.path / "fresh",
                                                    rename_mode::no_replace)));
        CHECK(slurp(dir.path / "fresh") == "other");

        REQUIRE_ERRNO(run_task(ctx, backend->async_rename(dir.path / "gone", dir.path / "x",
                                                          rename_mode::replace)),
                      std::errc::no_such_file_or_directory);
    }

    SECTION("rename across filesystems gives EXDEV (/dev/shm is tmpfs)")
    {
        struct stat shm {};
        struct stat here {};
        if (::stat("/dev/shm", &shm) != 0 || ::stat(dir.path.c_str(), &here) != 0 ||
            shm.st_dev == here.st_dev) {
            WARN("/dev/shm missing or on the same device as " << dir.path << ": EXDEV not tested");
            return;
        }
        const fs::path foreign = fs::path("/dev/shm") / ("pkg-io-backend-" + std::to_string(::getpid()) +
                                                         "-" + std::string(pkg::io::to_string(kind)));
        spit(foreign, "elsewhere");
        const auto res = run_task(ctx, backend->async_rename(foreign, dir.path / "imported",
                                                             rename_mode::replace));
        REQUIRE_ERRNO(res, std::errc::cross_device_link);
        CHECK(res.error().where == foreign.native());
        CHECK(fs::exists(foreign));
        REQUIRE_ERRNO(run_task(ctx, backend->async_hardlink(foreign, dir.path / "linked")),
                      std::errc::cross_device_link);
        fs::remove(foreign);
    }

    SECTION("symlink: stat sees the link or, following, its target; reading goes through it")
    {
        REQUIRE(run_task(ctx, backend->async_symlink("file", dir.path / "sym")));
        CHECK(fs::read_symlink(dir.path / "sym") == "file");
        const auto lst = run_task(ctx, backend->async_stat(dir.path / "sym", follow_symlinks::no));
        REQUIRE(lst);
        CHECK(lst->type == file_type::symlink);
        CHECK(lst->size_bytes == 4);
        const auto st = run_task(ctx, backend->async_stat(dir.path / "sym", follow_symlinks::yes));
        REQUIRE(st);
        CHECK(st->type == file_type::regular);
        CHECK(st->size_bytes == 7);
        const auto text = run_task(ctx, backend->async_read_file(dir.path / "sym", 1024));
        REQUIRE(text);
        CHECK(*text == "content");

        const auto again = run_task(ctx, backend->async_symlink("other", dir.path / "sym"));
        REQUIRE_ERRNO(again, std::errc::file_exists);
        CHECK(again.error().where == (dir.path / "sym").native());
        REQUIRE_ERRNO(run_task(ctx, backend->async_symlink("t", dir.path / "none" / "sym")),
                      std::errc::no_such_file_or_directory);

        // A dangling symlink: lstat works, stat through it does not.
        REQUIRE(run_task(ctx, backend->async_symlink("missing-target", dir.path / "dangling")));
        REQUIRE(run_task(ctx, backend->async_stat(dir.path / "dangling", follow_symlinks::no)));
        REQUIRE_ERRNO(run_task(ctx, backend->async_stat(dir.path / "dangling", follow_symlinks::yes)),
                      std::errc::no_such_file_or_directory);
    }

    SECTION("unlink removes files and symlinks (not their targets); ENOENT, EISDIR")
    {
        fs::create_symlink("file", dir.path / "sym");
        REQUIRE(run_task(ctx, backend->async_unlink(dir.path / "sym")));
        CHECK_FALSE(fs::is_symlink(dir.path / "sym"));
        CHECK(fs::exists(dir.path / "file"));
        REQUIRE(run_task(ctx, backend->async_unlink(dir.path / "file")));
        CHECK_FALSE(fs::exists(dir.path / "file"));

        const auto gone = run_task(ctx, backend->async_unlink(dir.path / "file"));
        REQUIRE_ERRNO(gone, std::errc::no_such_file_or_directory);
        CHECK(gone.error().where == (dir.path / "file").native());
        fs::create_directory(dir.path / "d");
        REQUIRE_ERRNO(run_task(ctx, backend->async_unlink(dir.path / "d")), std::errc::is_a_directory);
    }
}

TEST_CASE("file backend: stat and read", "[io-backend]")
{
    const auto kind = GENERATE(backend_kind::uring, backend_kind::threads);
    CAPTURE(pkg::io::to_string(kind));
    asio::io_context ctx;
    auto backend = make_backend(ctx, kind);
    if (!backend) {
        return;
    }
    scratch_dir dir("io-backend", "stat");

    SECTION("stat matches the kernel's view (size, mode, inode, device, nlink, mtime, type)")
    {
        spit(dir.path / "f", std::string(5000, 'z'));
        ::chmod((dir.path / "f").c_str(), 0604);
        struct stat expected {};
        REQUIRE(::lstat((dir.path / "f").c_str(), &expected) == 0);
        const auto st = run_task(ctx, backend->async_stat(dir.path / "f", follow_symlinks::no));
        REQUIRE(st);
        CHECK(st->size_bytes == 5000);
        CHECK(st->mode == 0604);
        CHECK(st->inode == expected.st_ino);
        CHECK(st->device == expected.st_dev);
        CHECK(st->nlink == 1);
        CHECK(st->type == file_type::regular);
        CHECK(st->mtime_ns ==
              static_cast<std::int64_t>(expected.st_mtim.tv_sec) * 1'000'000'000 + expected.st_mtim.tv_nsec);

        const auto d = run_task(ctx, backend->async_stat(dir.path, follow_symlinks::no));
        REQUIRE(d);
        CHECK(d->type == file_type::directory);

        const auto missing = run_task(ctx, backend->async_stat(dir.path / "nope", follow_symlinks::no));
        REQUIRE_ERRNO(missing, std::errc::no_such_file_or_directory);
        CHECK(missing.error().where == (dir.path / "nope").native());
        REQUIRE_ERRNO(run_task(ctx, backend->async_stat(dir.path / "f" / "below", follow_symlinks::no)),
                      std::errc::not_a_directory);
    }

    SECTION("read returns the whole file, honours the size limit exactly, and fails clearly")
    {
        std::string big;
        for (int i = 0; big.size() < 200'000; ++i) {
            big += std::to_string(i) + "\n";
        }
        spit(dir.path / "big", big);
        const auto all = run_task(ctx, backend->async_read_file(dir.path / "big", big.size()));
        REQUIRE(all);
        CHECK(*all == big);

        const auto over = run_task(ctx, backend->async_read_file(dir.path / "big", big.size() - 1));
        REQUIRE_ERRNO(over, std::errc::file_too_large);
        CHECK(over.error().where == (dir.path / "big").native());

        spit(dir.path / "empty", "");
        const auto empty = run_task(ctx, backend->async_read_file(dir.path / "empty", 0));
        REQUIRE(empty);
        CHECK(empty->empty());

        REQUIRE_ERRNO(run_task(ctx, backend->async_read_file(dir.path / "missing", 100)),
                      std::errc::no_such_file_or_directory);
        REQUIRE_ERRNO(run_task(ctx, backend->async_read_file(dir.path, 100)), std::errc::is_a_directory);
    }
}

TEST_CASE("file backend: a full disk (ENOSPC on a 64 KiB tmpfs) leaves no partial file", "[io-backend]")
{
    const auto kind = GENERATE(backend_kind::uring, backend_kind::threads);
    CAPTURE(pkg::io::to_string(kind));
    asio::io_context ctx;
    auto backend = make_backend(ctx, kind);
    if (!backend) {
        return;
    }
    scratch_dir dir("io-backend", "enospc");
    const auto mnt = dir.path / "mnt";
    fs::create_directory(mnt);
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k") != 0) {
        WARN("cannot mount a small tmpfs (" << std::strerror(errno)
                                            << "): ENOSPC is covered by the EFBIG test only");
        return;
    }
    struct unmount_guard {
        fs::path where;
        ~unmount_guard() { ::umount2(where.c_str(), MNT_DETACH); }
    } guard{mnt};

    const std::string huge(256 * 1024, 'h');
    const auto res = run_task(ctx, backend->async_write_file(mnt / "huge", {bytes_of(huge)}, {}));
    REQUIRE_ERRNO(res, std::errc::no_space_on_device);
    CHECK(res.error().where == (mnt / "huge").native());
    CHECK(res.error().message.find("write") != std::string::npos);
    CHECK_FALSE(fs::exists(mnt / "huge"));

    // The space came back: a small file fits.
    const std::string small(8 * 1024, 's');
    REQUIRE(run_task(ctx, backend->async_write_file(mnt / "small", {bytes_of(small)}, {})));
    CHECK(slurp(mnt / "small") == small);
}

TEST_CASE("file backend: the file size limit (EFBIG) fails the write and removes the file",
          "[io-backend]")
{
    const auto kind = GENERATE(backend_kind::uring, backend_kind::threads);
    CAPTURE(pkg::io::to_string(kind));
    asio::io_context ctx;
    auto backend = make_backend(ctx, kind);
    if (!backend) {
        return;
    }
    scratch_dir dir("io-backend", "efbig");

    // RLIMIT_FSIZE is per process: lower it for this test only, and ignore SIGXFSZ (whose default
    // action would kill the test binary) so write(2) reports EFBIG instead.
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    struct sigaction ignore {};
    struct sigaction old_action {};
    ignore.sa_handler = SIG_IGN;
    REQUIRE(::sigaction(SIGXFSZ, &ignore, &old_action) == 0);
    rlimit limited = saved;
    limited.rlim_cur = 64 * 1024;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);

    const std::string first(40 * 1024, 'a');
    const std::string second(60 * 1024, 'b');
    const auto res = run_task(
        ctx, backend->async_write_file(dir.path / "big", {bytes_of(first), bytes_of(second)}, {}));
    const auto fits = run_task(ctx, backend->async_write_file(dir.path / "fits", {bytes_of(first)}, {}));

    ::setrlimit(RLIMIT_FSIZE, &saved);
    ::sigaction(SIGXFSZ, &old_action, nullptr);

    REQUIRE_ERRNO(res, std::errc::file_too_large);
    CHECK(res.error().where == (dir.path / "big").native());
    CHECK_FALSE(fs::exists(dir.path / "big"));
    REQUIRE(fits);
    CHECK(slurp(dir.path / "fits") == first);
}

TEST_CASE("file backend: 2,000 concurrent small files, all contents verified", "[io-backend]")
{
    const auto kind = GENERATE(backend_kind::uring, backend_kind::threads);
    CAPTURE(pkg::io::to_string(kind));
    asio::io_context ctx;
    // A small in-flight bound so the uring queue (ops waiting for a slot) is exercised too.
    auto backend = make_backend(ctx, kind, 16);
    if (!backend) {
        return;
    }
    scratch_dir dir("io-backend", "many");
    constexpr int dirs = 20;
    constexpr int files = 2000;
    for (int d = 0; d < dirs; ++d) {
        REQUIRE(run_task(ctx, backend->async_create_directory(dir.path / std::to_string(d), 0755)));
    }
    std::vector<std::string> contents(files);
    std::vector<fs::path> paths(files);
    for (int i = 0; i < files; ++i) {
        contents[i] = "file " + std::to_string(i) + ":" + std::string(static_cast<std::size_t>(i % 4096), 'x');
        paths[i] = dir.path / std::to_string(i % dirs) / ("f" + std::to_string(i));
    }

    std::vector<std::optional<pkg::result<void>>> written(files);
    for (int i = 0; i < files; ++i) {
        asio::co_spawn(ctx, backend->async_write_file(paths[i], {bytes_of(contents[i])}, {}),
                       [&written, i](std::exception_ptr e, pkg::result<void> r) {
                           if (!e) {
                               written[i] = std::move(r);
                           }
                       });
    }
    ctx.restart();
    ctx.run();
    int ok = 0;
    for (int i = 0; i < files; ++i) {
        if (written[i] && *written[i]) {
            ++ok;
        } else if (written[i]) {
            FAIL_CHECK("write " << i << ": " << written[i]->error().to_string());
        }
    }
    REQUIRE(ok == files);

    // Read them back concurrently through the backend, and independently.
    std::vector<std::optional<pkg::result<std::string>>> read(files);
    for (int i = 0; i < files; ++i) {
        asio::co_spawn(ctx, backend->async_read_file(paths[i], 1 << 20),
                       [&read, i](std::exception_ptr e, pkg::result<std::string> r) {
                           if (!e) {
                               read[i] = std::move(r);
                           }
                       });
    }
    ctx.restart();
    ctx.run();
    int same = 0;
    for (int i = 0; i < files; ++i) {
        if (read[i] && *read[i] && **read[i] == contents[i] && slurp(paths[i]) == contents[i]) {
            ++same;
        }
    }
    CHECK(same == files);

    // Concurrent mkdir -p of one shared tree from many callers all succeed.
    std::atomic<int> mkdir_ok{0};
    for (int i = 0; i < 50; ++i) {
        asio::co_spawn(ctx, backend->async_create_directories(dir.path / "shared" / "a" / "b" / "c", 0755),
                       [&mkdir_ok](std::exception_ptr e, pkg::result<void> r) {
                           if (!e && r) {
                               ++mkdir_ok;
                           }
                       });
    }
    ctx.restart();
    ctx.run();
    CHECK(mkdir_ok == 50);
}

TEST_CASE("file backend: an io_context run by two threads", "[io-backend]")
{
    const auto kind = GENERATE(backend_kind::uring, backend_kind::threads);
    CAPTURE(pkg::io::to_string(kind));
    asio::io_context ctx(2);
    auto backend = make_backend(ctx, kind, 8);
    if (!backend) {
        return;
    }
    scratch_dir dir("io-backend", "two-threads");
    constexpr int files = 400;
    std::vector<std::string> contents(files);
    std::atomic<int> ok{0};
    for (int i = 0; i < files; ++i) {
        contents[i] = "two threads " + std::to_string(i);
        asio::co_spawn(ctx,
                       backend->async_write_file(dir.path / ("f" + std::to_string(i)),
                                                 {bytes_of(contents[i])}, {}),
                       [&ok](std::exception_ptr e, pkg::result<void> r) {
                           if (!e && r) {
                               ++ok;
                           }
                       });
    }
    std::thread second([&ctx] { ctx.run(); });
    ctx.run();
    second.join();
    CHECK(ok == files);
    int same = 0;
    for (int i = 0; i < files; ++i) {
        same += slurp(dir.path / ("f" + std::to_string(i))) == contents[i] ? 1 : 0;
    }
    CHECK(same == files);
}

TEST_CASE("file backend: cancellation completes each op cleanly (done or ECANCELED, no partial file)",
          "[io-backend]")
{
    const auto kind = GENERATE(backend_kind::uring, backend_kind::threads);
    CAPTURE(pkg::io::to_string(kind));
    asio::io_context ctx;
    auto backend = make_backend(ctx, kind, 2);
    if (!backend) {
        return;
    }
    scratch_dir dir("io-backend", "cancel");
    constexpr int count = 64;
    const std::string content(256 * 1024, 'c');
    std::vector<asio::cancellation_signal> signals(count);
    std::vector<std::optional<pkg::result<void>>> outcomes(count);
    for (int i = 0; i < count; ++i) {
        asio::co_spawn(ctx,
                       backend->async_write_file(dir.path / ("f" + std::to_string(i)),
                                                 {bytes_of(content)}, {}),
                       asio::bind_cancellation_slot(
                           signals[i].slot(), [&outcomes, i](std::exception_ptr e, pkg::result<void> r) {
                               if (!e) {
                                   outcomes[i] = std::move(r);
                               }
                           }));
    }
    // Let the ops start (the first two reach the kernel, the rest queue), then cancel them all.
    ctx.restart();
    ctx.poll();
    for (auto& signal : signals) {
        signal.emit(asio::cancellation_type::terminal);
    }
    ctx.run();

    int completed = 0;
    int cancelled = 0;
    for (int i = 0; i < count; ++i) {
        REQUIRE(outcomes[i].has_value());
        const auto path = dir.path / ("f" + std::to_string(i));
        if (*outcomes[i]) {
            ++completed;
            CHECK(slurp(path) == content);
        } else {
            INFO(outcomes[i]->error().to_string());
            CHECK(outcomes[i]->error().code == std::errc::operation_canceled);
            CHECK_FALSE(fs::exists(path));
            ++cancelled;
        }
    }
    CHECK(completed + cancelled == count);
    if (kind == backend_kind::uring) {
        CHECK(cancelled > 0);  // queued ops are cancelled before they reach the kernel
    }
}

TEST_CASE("file backend: destroying a backend with operations in flight is safe", "[io-backend]")
{
    const auto kind = GENERATE(backend_kind::uring, backend_kind::threads);
    CAPTURE(pkg::io::to_string(kind));
    scratch_dir dir("io-backend", "shutdown");
    const std::string content(64 * 1024, 's');
    std::vector<std::optional<pkg::result<void>>> outcomes(100);
    {
        asio::io_context ctx;
        auto backend = make_backend(ctx, kind, 8);
        if (!backend) {
            return;
        }
        for (int i = 0; i < 100; ++i) {
            asio::co_spawn(ctx,
                           backend->async_write_file(dir.path / ("f" + std::to_string(i)),
                                                     {bytes_of(content)}, {}),
                           [&outcomes, i](std::exception_ptr e, pkg::result<void> r) {
                               if (!e) {
                                   outcomes[i] = std::move(r);
                               }
                           });
        }
        ctx.poll();  // submitted, not reaped
        backend.reset();
        ctx.restart();
        ctx.run();  // whatever completed is delivered; the rest were dropped
    }
    for (int i = 0; i < 100; ++i) {
        if (outcomes[i] && *outcomes[i]) {
            CHECK(slurp(dir.path / ("f" + std::to_string(i))) == content);
        }
    }
}

namespace {

// Runs on `pool`'s strand: writes and stats through the backend, and reports whether every
// resumption came back on that strand.
using pool_strand = asio::strand<asio::thread_pool::executor_type>;

bool is_on(const asio::any_io_executor& home)
{
    return home.target<pool_strand>()->running_in_this_thread();
}

pkg::io::task<bool> async_resumes_on_caller(file_backend& backend, fs::path dir, std::string text)
{
    const asio::any_io_executor home = co_await asio::this_coro::executor;
    bool ok = is_on(home);
    std::vector<std::span<const std::byte>> buffers;
    buffers.push_back(bytes_of(text));
    const auto wrote = co_await backend.async_write_file(dir / "f", std::move(buffers), write_options{});
    ok = ok && wrote.has_value() && is_on(home);
    const auto st = co_await backend.async_stat(dir / "f", follow_symlinks::no);
    ok = ok && st.has_value() && st->size_bytes == text.size() && is_on(home);
    const auto read = co_await backend.async_read_file(dir / "f", 100);
    ok = ok && read.has_value() && *read == text && is_on(home);
    co_return ok;
}

}  // namespace

TEST_CASE("file backend: a coroutine on another executor resumes there", "[io-backend]")
{
    const auto kind = GENERATE(backend_kind::uring, backend_kind::threads);
    CAPTURE(pkg::io::to_string(kind));
    // The awaiting coroutines' context (pool) outlives the backend, as the contract asks.
    asio::thread_pool pool(2);
    asio::io_context ctx;
    auto backend = make_backend(ctx, kind);
    if (!backend) {
        return;
    }
    scratch_dir dir("io-backend", "executor");
    std::promise<bool> done;
    auto outcome = done.get_future();
    asio::co_spawn(asio::make_strand(pool.get_executor()), async_resumes_on_caller(*backend, dir.path, "from another executor"),
                   [&done](std::exception_ptr e, bool ok) { done.set_value(!e && ok); });
    // The ring's completions are reaped on ctx (its eventfd lives there); run it until the
    // coroutine on the pool has finished.
    auto guard = asio::make_work_guard(ctx);
    std::thread runner([&ctx] { ctx.run(); });
    const bool ok = outcome.get();
    guard.reset();
    ctx.stop();
    runner.join();
    pool.join();
    CHECK(ok);
}

TEST_CASE("file backend factory: choice, environment, and fallback when io_uring is refused",
          "[io-backend]")
{
    asio::io_context ctx;
    std::vector<std::string> log;
    pkg::io::file_backend_options options;
    options.log = [&log](std::string_view line) { log.emplace_back(line); };

    SECTION("parse_backend_choice")
    {
        CHECK(pkg::io::parse_backend_choice("uring").value() == backend_choice::uring);
        CHECK(pkg::io::parse_backend_choice("threads").value() == backend_choice::threads);
        CHECK(pkg::io::parse_backend_choice("").value() == backend_choice::automatic);
        const auto bad = pkg::io::parse_backend_choice("epoll");
        REQUIRE_FALSE(bad);
        CHECK(bad.error().code == std::errc::invalid_argument);
        CHECK(bad.error().message.find("'epoll'") != std::string::npos);
        CHECK(bad.error().where == "PKG_IO_BACKEND");
    }

    SECTION("an explicit choice is honoured")
    {
        options.backend = backend_choice::threads;
        auto made = pkg::io::make_file_backend(ctx.get_executor(), options);
        REQUIRE(made);
        CHECK((*made)->kind() == backend_kind::threads);
        REQUIRE(log.size() == 1);
        CHECK(log[0].find("threads") != std::string::npos);
    }

    SECTION("prefer_uring falls back to threads silently (with a log line) when io_uring is refused")
    {
        options.backend = backend_choice::prefer_uring;
        options.simulated_uring_errno = EPERM;
        auto made = pkg::io::make_file_backend(ctx.get_executor(), options);
        REQUIRE(made);
        CHECK((*made)->kind() == backend_kind::threads);
        REQUIRE(log.size() == 1);
        CHECK(log[0].find("io_uring unavailable") != std::string::npos);
        CHECK(log[0].find("Operation not permitted") != std::string::npos);
        // The fallback works.
        scratch_dir dir("io-backend", "fallback");
        const std::string text = "works";
        REQUIRE(run_task(ctx, (*made)->async_write_file(dir.path / "f", {bytes_of(text)}, {})));
        CHECK(slurp(dir.path / "f") == text);
    }

    SECTION("an explicit uring choice that cannot be honoured is an error naming the reason")
    {
        options.backend = backend_choice::uring;
        options.simulated_uring_errno = ENOSYS;
        auto made = pkg::io::make_file_backend(ctx.get_executor(), options);
        REQUIRE_FALSE(made);
        CHECK(made.error().code == std::errc::function_not_supported);
        CHECK(made.error().message.find("io_uring") != std::string::npos);
    }

    SECTION("PKG_IO_BACKEND forces a backend for the automatic choice; a bad value is an error")
    {
        // Single-threaded here: no other thread reads the environment during this section.
        const char* saved = std::getenv("PKG_IO_BACKEND");
        const std::optional<std::string> saved_value =
            saved ? std::optional<std::string>(saved) : std::nullopt;
        ::setenv("PKG_IO_BACKEND", "threads", 1);
        auto threads = pkg::io::make_file_backend(ctx.get_executor(), options);
        ::setenv("PKG_IO_BACKEND", "uring", 1);
        options.simulated_uring_errno = EPERM;
        auto refused = pkg::io::make_file_backend(ctx.get_executor(), options);
        ::setenv("PKG_IO_BACKEND", "bogus", 1);
        auto bogus = pkg::io::make_file_backend(ctx.get_executor(), options);
        if (saved_value) {
            ::setenv("PKG_IO_BACKEND", saved_value->c_str(), 1);
        } else {
            ::unsetenv("PKG_IO_BACKEND");
        }
        REQUIRE(threads);
        CHECK((*threads)->kind() == backend_kind::threads);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == std::errc::operation_not_permitted);
        CHECK(refused.error().hint.find("PKG_IO_BACKEND") != std::string::npos);
        REQUIRE_FALSE(bogus);
        CHECK(bogus.error().code == std::errc::invalid_argument);
    }

    SECTION("automatic picks the measured default per workload, falling back when io_uring is refused")
    {
        if (std::getenv("PKG_IO_BACKEND") != nullptr) {
            WARN("PKG_IO_BACKEND is set: the automatic choice is not tested");
            return;
        }
        // Measured default (perf/results/fs-backends.md, quiet machine): the thread pool for
        // both workloads, whether or not io_uring could be set up.
        for (int refused : {0, EPERM}) {
            options.simulated_uring_errno = refused;
            for (auto load : {pkg::io::workload::small_files, pkg::io::workload::large_files}) {
                options.expected_workload = load;
                auto made = pkg::io::make_file_backend(ctx.get_executor(), options);
                REQUIRE(made);
                CHECK((*made)->kind() == backend_kind::threads);
            }
        }
        REQUIRE(log.size() == 4);
        CHECK(log[0].find("measured default") != std::string::npos);
    }
}
