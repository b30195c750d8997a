// Tests of the crash-safe filesystem primitives in io/src/fs: atomic writes, directory publish,
// symlink swaps, link_file with its fallbacks, remove_tree; cross-process races through the
// helper program tests/helpers/fs_stress_worker.cpp.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "fs/atomic_file.hpp"
#include "fs/link_file.hpp"
#include "fs/publish.hpp"
#include "fs/remove_tree.hpp"
#include "fs/symlink_swap.hpp"
#include "support/files.hpp"
#include "support/process.hpp"

namespace stdfs = std::filesystem;
using pkg::io::link_mode;
using pkg::test::child;
using pkg::test::output_of;
using pkg::test::path_exists;
using pkg::test::read_text;
using pkg::test::scratch_dir;
using pkg::test::spawn;
using pkg::test::wait_exit;
using pkg::test::write_text;

namespace {

std::vector<std::string> list(const stdfs::path& dir)
{
    std::vector<std::string> names;
    for (const auto& entry : stdfs::directory_iterator(dir)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

struct stat lstat_of(const stdfs::path& p)
{
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st;
}

const std::string worker = PKG_TEST_HELPER_fs_stress_worker;

// prefix + number, by appending: GCC 12 at -O3 warns falsely (-Wrestrict, GCC PR105329) about
// `"literal" + std::to_string(n)`.
std::string numbered(std::string prefix, long n)
{
    prefix += std::to_string(n);
    return prefix;
}

int errno_of(const pkg::error& e) { return e.code.category() == std::generic_category() ? e.code.value() : -1; }

}  // namespace

// ---- atomic_write_file ------------------------------------------------------------------------

TEST_CASE("atomic_write_file writes all bytes with the exact mode and leaves no temporary", "[fs]")
{
    scratch_dir dir("fs", "atomic-ok");
    const stdfs::path target = dir.path / "out.bin";
    const std::string first("binary\0bytes\nwith a NUL", 23);

    const ::mode_t old_umask = ::umask(077);  // The mode must not depend on the umask.
    auto written = pkg::io::atomic_write_file(target, first, {.mode = 0754});
    ::umask(old_umask);
    REQUIRE(written);
    CHECK(read_text(target) == first);
    CHECK((lstat_of(target).st_mode & 07777) == 0754);
    CHECK(list(dir.path) == std::vector<std::string>{"out.bin"});

    SECTION("replacing an existing file, durably")
    {
        const ino_t old_inode = lstat_of(target).st_ino;
        REQUIRE(pkg::io::atomic_write_file(target, std::string(70000, 'z'),
                                           {.mode = 0600, .is_durable = true}));
        CHECK(read_text(target) == std::string(70000, 'z'));
        CHECK((lstat_of(target).st_mode & 07777) == 0600);
        CHECK(lstat_of(target).st_ino != old_inode);  // A new file was renamed in, not rewritten.
        CHECK(list(dir.path) == std::vector<std::string>{"out.bin"});
    }
    SECTION("a symlink at the target is replaced, not written through")
    {
        write_text(dir.path / "real", "pointee");
        const stdfs::path link = dir.path / "link";
        stdfs::create_symlink("real", link);
        REQUIRE(pkg::io::atomic_write_file(link, "replaced"));
        CHECK(S_ISREG(lstat_of(link).st_mode));
        CHECK(read_text(link) == "replaced");
        CHECK(read_text(dir.path / "real") == "pointee");
    }
    SECTION("empty contents")
    {
        REQUIRE(pkg::io::atomic_write_file(target, std::string_view{}));
        CHECK(read_text(target).empty());
        CHECK((lstat_of(target).st_mode & 07777) == 0644);
    }
}

TEST_CASE("atomic_write_file fails without touching the target or leaving a temporary", "[fs]")
{
    scratch_dir dir("fs", "atomic-fail");

    SECTION("parent is a regular file")
    {
        write_text(dir.path / "plain", "i am a file");
        auto written = pkg::io::atomic_write_file(dir.path / "plain" / "x.json", "{}");
        REQUIRE_FALSE(written);
        CHECK(errno_of(written.error()) == ENOTDIR);
        CHECK_THAT(written.error().to_string(), Catch::Contains((dir.path / "plain").string()));
        CHECK_THAT(written.error().to_string(), Catch::Contains("create temporary file"));
        CHECK(read_text(dir.path / "plain") == "i am a file");
        CHECK(list(dir.path) == std::vector<std::string>{"plain"});
    }
    SECTION("target is a directory: the rename fails after the bytes were written")
    {
        stdfs::create_directory(dir.path / "taken");
        write_text(dir.path / "taken" / "keep", "kept");
        auto written = pkg::io::atomic_write_file(dir.path / "taken", "new bytes");
        REQUIRE_FALSE(written);
        CHECK(errno_of(written.error()) == EISDIR);
        CHECK(written.error().where == (dir.path / "taken").string());
        CHECK_THAT(written.error().message, Catch::Contains("rename"));
        CHECK(list(dir.path) == std::vector<std::string>{"taken"});
        CHECK(read_text(dir.path / "taken" / "keep") == "kept");
    }
    SECTION("the write itself fails (file size limit in a helper process)")
    {
        const stdfs::path target = dir.path / "big.dat";
        write_text(target, "old content");
        child c = spawn({worker, "atomic-write-efbig", target.string(), "100000"}, dir.path / "log");
        const int code = wait_exit(c);
        const std::string output = output_of(c);
        INFO(output);
        CHECK(code == 0);
        CHECK_THAT(output, Catch::Contains(target.string()));
        CHECK_THAT(output, Catch::Contains("write failed"));
        CHECK(read_text(target) == "old content");
        CHECK(list(dir.path) == std::vector<std::string>{"big.dat", "log.err", "log.out"});
    }
    SECTION("a path without a file name")
    {
        auto written = pkg::io::atomic_write_file(dir.path / "", "x");
        REQUIRE_FALSE(written);
        CHECK(written.error().code == std::errc::invalid_argument);
        CHECK(list(dir.path).empty());
    }
}

TEST_CASE("unique_sibling_name is hidden, names pid and purpose, differs per call and fits NAME_MAX",
          "[fs]")
{
    const std::string prefix = ".wheel.whl.tmp." + std::to_string(::getpid()) + ".";
    const std::string a = pkg::io::unique_sibling_name("wheel.whl", "tmp");
    const std::string b = pkg::io::unique_sibling_name("wheel.whl", "tmp");
    CHECK(a.rfind(prefix, 0) == 0);
    CHECK(b.rfind(prefix, 0) == 0);
    CHECK(a != b);
    CHECK(a.size() == prefix.size() + 16);
    const std::string long_name = pkg::io::unique_sibling_name(std::string(255, 'n'), "removing");
    CHECK(long_name.size() <= 255);
    CHECK_THAT(long_name, Catch::Contains(".removing."));
}

// ---- publish_directory ------------------------------------------------------------------------

namespace {

stdfs::path make_staging(const stdfs::path& root, const std::string& name, const std::string& marker)
{
    const stdfs::path staging = root / name;
    stdfs::create_directories(staging / "pkg");
    write_text(staging / "pkg" / "__init__.py", "# " + marker + "\n");
    write_text(staging / "RECORD", "pkg/__init__.py,,\n");
    return staging;
}

}  // namespace

TEST_CASE("publish_directory renames the tree in, a second publisher finds it published by other",
          "[fs]")
{
    scratch_dir dir("fs", "publish");
    stdfs::create_directories(dir.path / "tmp");
    stdfs::create_directories(dir.path / "archive");
    const stdfs::path target = dir.path / "archive" / "abc123";

    using publish_fn = pkg::result<pkg::io::publish_result> (*)(
        const stdfs::path&, const stdfs::path&, pkg::io::publish_options);
    publish_fn publish = nullptr;
    SECTION("renameat2(RENAME_NOREPLACE)") { publish = &pkg::io::publish_directory; }
    SECTION("fallback: lstat then plain rename") { publish = &pkg::io::detail::publish_with_plain_rename; }

    const stdfs::path first = make_staging(dir.path / "tmp", "first", "first");
    auto won = publish(first, target, {.is_durable = true});
    REQUIRE(won);
    CHECK_FALSE(won->is_published_by_other);
    CHECK_FALSE(path_exists(first));
    CHECK(read_text(target / "pkg" / "__init__.py") == "# first\n");

    const stdfs::path second = make_staging(dir.path / "tmp", "second", "second");
    auto lost = publish(second, target, {});
    REQUIRE(lost);
    CHECK(lost->is_published_by_other);
    CHECK_FALSE(path_exists(second));  // Our staging copy was removed ...
    CHECK(read_text(target / "pkg" / "__init__.py") == "# first\n");  // ... theirs untouched.
    CHECK(list(dir.path / "tmp").empty());
    CHECK(list(dir.path / "archive") == std::vector<std::string>{"abc123"});
}

TEST_CASE("publish_directory reports a missing staging tree or target parent by path", "[fs]")
{
    scratch_dir dir("fs", "publish-fail");
    SECTION("missing staging tree")
    {
        auto result = pkg::io::publish_directory(dir.path / "nothing", dir.path / "target");
        REQUIRE_FALSE(result);
        CHECK(errno_of(result.error()) == ENOENT);
        CHECK_THAT(result.error().to_string(), Catch::Contains((dir.path / "nothing").string()));
        CHECK(list(dir.path).empty());
    }
    SECTION("missing target parent")
    {
        const stdfs::path staging = make_staging(dir.path, "staging", "x");
        auto result = pkg::io::publish_directory(staging, dir.path / "no-such-dir" / "target");
        REQUIRE_FALSE(result);
        CHECK(errno_of(result.error()) == ENOENT);
        CHECK_THAT(result.error().to_string(),
                   Catch::Contains((dir.path / "no-such-dir" / "target").string()));
        CHECK(read_text(staging / "pkg" / "__init__.py") == "# x\n");  // Nothing lost.
    }
}

// ---- symlink swap -----------------------------------------------------------------------------

TEST_CASE("replace_symlink swaps the pointer and read/resolve_pointer follow it", "[fs]")
{
    scratch_dir dir("fs", "symlink");
    stdfs::create_directories(dir.path / "archive" / "one");
    stdfs::create_directories(dir.path / "archive" / "two");
    stdfs::create_directories(dir.path / "wheels");
    const stdfs::path link = dir.path / "wheels" / "x-1.0-py3-none-any.whl";

    REQUIRE(pkg::io::replace_symlink(link, "../archive/one"));
    auto text = pkg::io::read_pointer(link);
    REQUIRE(text);
    REQUIRE(text->has_value());
    CHECK(**text == "../archive/one");
    auto resolved = pkg::io::resolve_pointer(link);
    REQUIRE(resolved);
    REQUIRE(resolved->has_value());
    CHECK(**resolved == dir.path / "wheels" / "../archive/one");
    CHECK(stdfs::equivalent(**resolved, dir.path / "archive" / "one"));

    REQUIRE(pkg::io::replace_symlink(link, "../archive/two", {.is_durable = true}));
    CHECK(**pkg::io::read_pointer(link) == "../archive/two");
    CHECK(stdfs::equivalent(**pkg::io::resolve_pointer(link), dir.path / "archive" / "two"));
    CHECK(list(dir.path / "wheels") == std::vector<std::string>{"x-1.0-py3-none-any.whl"});

    SECTION("absolute texts are returned as they are")
    {
        REQUIRE(pkg::io::replace_symlink(link, dir.path / "archive" / "one"));
        CHECK(**pkg::io::resolve_pointer(link) == dir.path / "archive" / "one");
    }
    SECTION("a regular file at the link name is replaced too")
    {
        const stdfs::path file = dir.path / "wheels" / "pointer-file";
        write_text(file, "old style pointer");
        REQUIRE(pkg::io::replace_symlink(file, "../archive/one"));
        CHECK(**pkg::io::read_pointer(file) == "../archive/one");
    }
}

TEST_CASE("missing and dangling pointers are misses, other kinds of files are errors", "[fs]")
{
    scratch_dir dir("fs", "symlink-miss");
    write_text(dir.path / "regular", "not a link");

    SECTION("missing link")
    {
        auto text = pkg::io::read_pointer(dir.path / "absent");
        REQUIRE(text);
        CHECK_FALSE(text->has_value());
        auto resolved = pkg::io::resolve_pointer(dir.path / "absent");
        REQUIRE(resolved);
        CHECK_FALSE(resolved->has_value());
    }
    SECTION("dangling link (target pruned)")
    {
        REQUIRE(pkg::io::replace_symlink(dir.path / "dangling", "archive/gone"));
        CHECK(**pkg::io::read_pointer(dir.path / "dangling") == "archive/gone");
        auto resolved = pkg::io::resolve_pointer(dir.path / "dangling");
        REQUIRE(resolved);
        CHECK_FALSE(resolved->has_value());
    }
    SECTION("link through a regular file (ENOTDIR) is dangling too")
    {
        REQUIRE(pkg::io::replace_symlink(dir.path / "through", "regular/inside"));
        auto resolved = pkg::io::resolve_pointer(dir.path / "through");
        REQUIRE(resolved);
        CHECK_FALSE(resolved->has_value());
    }
    SECTION("a regular file is not a pointer")
    {
        auto text = pkg::io::read_pointer(dir.path / "regular");
        REQUIRE_FALSE(text);
        CHECK(errno_of(text.error()) == EINVAL);
        CHECK(text.error().where == (dir.path / "regular").string());
        CHECK_FALSE(text.error().hint.empty());
        CHECK_FALSE(pkg::io::resolve_pointer(dir.path / "regular"));
    }
    SECTION("a non-empty directory in the way is an error and leaves no temporary link")
    {
        stdfs::create_directories(dir.path / "occupied" / "inside");
        auto swapped = pkg::io::replace_symlink(dir.path / "occupied", "regular");
        REQUIRE_FALSE(swapped);
        CHECK(errno_of(swapped.error()) == EISDIR);
        CHECK(swapped.error().where == (dir.path / "occupied").string());
        CHECK(list(dir.path) == std::vector<std::string>{"occupied", "regular"});
    }
    SECTION("a missing directory is an error naming the link")
    {
        auto swapped = pkg::io::replace_symlink(dir.path / "nowhere" / "link", "regular");
        REQUIRE_FALSE(swapped);
        CHECK(errno_of(swapped.error()) == ENOENT);
        CHECK_THAT(swapped.error().to_string(), Catch::Contains((dir.path / "nowhere" / "link").string()));
    }
}

// ---- cross-process publish + swap stress ------------------------------------------------------

namespace {

// Runs 16 publishers (each round: build a staging tree, all publish the same name at once, swap
// the pointer twice) and 2 readers that verify every tree they reach through the pointer.
void run_publish_swap_stress(const stdfs::path& base, long rounds)
{
    constexpr int workers = 16;
    constexpr int readers = 2;
    scratch_dir dir("fs", "stress", base);
    stdfs::create_directories(dir.path / "archive");
    stdfs::create_directories(dir.path / "tmp");
    child seeder = spawn({worker, "seed", dir.path.string()}, dir.path / "seed");
    REQUIRE(wait_exit(seeder) == 0);

    std::vector<child> reader_children;
    for (int r = 0; r < readers; ++r) {
        reader_children.push_back(
            spawn({worker, "read", dir.path.string()}, dir.path / numbered("reader", r)));
    }
    std::vector<child> workers_children;
    for (int w = 0; w < workers; ++w) {
        workers_children.push_back(spawn(
            {worker, "publish-swap", dir.path.string(), std::to_string(rounds), std::to_string(workers)},
            dir.path / numbered("worker", w)));
    }
    write_text(dir.path / "go", "");

    long published = 0;
    long by_other = 0;
    long swaps = 0;
    for (child& c : workers_children) {
        const int code = wait_exit(c);
        const std::string output = output_of(c);
        INFO(output);
        CHECK(code == 0);
        long p = 0;
        long o = 0;
        long s = 0;
        REQUIRE(std::sscanf(read_text(c.out).c_str(), "published=%ld by_other=%ld swaps=%ld", &p, &o, &s) == 3);
        published += p;
        by_other += o;
        swaps += s;
    }
    write_text(dir.path / "stop", "");
    for (child& c : reader_children) {
        const int code = wait_exit(c);
        const std::string output = output_of(c);
        INFO(output);
        CHECK(code == 0);
        long reads = 0;
        REQUIRE(std::sscanf(read_text(c.out).c_str(), "reads=%ld", &reads) == 1);
        CHECK(reads > 0);
    }
    // Every name was published by exactly one process; all others found it published by other.
    CHECK(published == rounds);
    CHECK(by_other == rounds * (workers - 1));
    CHECK(swaps == rounds * workers * 2);
    CHECK(list(dir.path / "tmp").empty());  // Losers removed their staging trees.
    CHECK(list(dir.path / "archive").size() == static_cast<std::size_t>(rounds + 1));
    // No temporary symlink left beside the pointer.
    for (const auto& name : list(dir.path)) {
        CHECK(name.find(".tmp.") == std::string::npos);
    }
    // The pointer's last swap was to some worker's final round.
    CHECK(**pkg::io::read_pointer(dir.path / "current") == numbered("archive/v", rounds - 1));
}

}  // namespace

// (No semicolons in test names: ctest splits names on them and then runs nothing.)
TEST_CASE("16 processes publish the same trees and swap one pointer, readers never see a partial "
          "tree or a dangling pointer",
          "[fs]")
{
    // tmpfs: the same VFS rename semantics at full speed (1,024 swaps, 32 publish races). The
    // smaller ext4 run below covers the filesystem the cache normally lives on; ext4 here is
    // mounted with discard and creating inodes right after deletes is slow (research/toolchain.md §6).
    SECTION("on tmpfs (/dev/shm)")
    {
        if (!stdfs::is_directory("/dev/shm")) {
            WARN("/dev/shm is missing; running the tmpfs stress in the build dir");
            run_publish_swap_stress(PKG_TEST_BINARY_DIR, 16);
        } else {
            run_publish_swap_stress("/dev/shm", 32);
        }
    }
    SECTION("on the build dir's filesystem")
    {
        run_publish_swap_stress(PKG_TEST_BINARY_DIR, 6);
    }
}

// ---- link_file --------------------------------------------------------------------------------

namespace {

std::string pattern_bytes(std::size_t n)
{
    std::string out(n, '\0');
    std::uint32_t x = 2463534242U;
    for (auto& c : out) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x);
    }
    return out;
}

// A source file with unusual permission bits, so copies must carry them over.
stdfs::path make_source(const stdfs::path& dir, const std::string& name, const std::string& bytes)
{
    const stdfs::path p = dir / name;
    write_text(p, bytes);
    REQUIRE(::chmod(p.c_str(), 0751) == 0);
    return p;
}

}  // namespace

TEST_CASE("link_file on one filesystem: hardlink shares the inode, copy duplicates bytes and mode",
          "[fs]")
{
    scratch_dir dir("fs", "link-same");
    const std::string bytes = pattern_bytes((1U << 20) + 123);  // Over one copy chunk of read/write.
    const stdfs::path source = make_source(dir.path, "source.so", bytes);

    SECTION("hardlink")
    {
        auto linked = pkg::io::link_file(source, dir.path / "dest.so", link_mode::hardlink);
        REQUIRE(linked);
        CHECK(linked->used == link_mode::hardlink);
        CHECK_FALSE(linked->is_fallback);
        CHECK_FALSE(linked->fallback_reason.code);
        CHECK(lstat_of(dir.path / "dest.so").st_ino == lstat_of(source).st_ino);
        CHECK(lstat_of(source).st_nlink == 2);
    }
    SECTION("copy")
    {
        auto linked = pkg::io::link_file(source, dir.path / "dest.so", link_mode::copy);
        REQUIRE(linked);
        CHECK(linked->used == link_mode::copy);
        CHECK_FALSE(linked->is_fallback);
        CHECK(lstat_of(dir.path / "dest.so").st_ino != lstat_of(source).st_ino);
        CHECK(read_text(dir.path / "dest.so") == bytes);
        CHECK((lstat_of(dir.path / "dest.so").st_mode & 07777) == 0751);
    }
    SECTION("reflink: a clone where supported, otherwise a hardlink")
    {
        auto linked = pkg::io::link_file(source, dir.path / "dest.so", link_mode::reflink);
        REQUIRE(linked);
        CHECK(read_text(dir.path / "dest.so") == bytes);
        CHECK((lstat_of(dir.path / "dest.so").st_mode & 07777) == 0751);
        if (linked->used == link_mode::reflink) {
            WARN("this filesystem supports reflinks: the fallback path is not exercised here");
            CHECK_FALSE(linked->is_fallback);
            CHECK(lstat_of(dir.path / "dest.so").st_ino != lstat_of(source).st_ino);
        } else {
            CHECK(linked->used == link_mode::hardlink);
            CHECK(linked->is_fallback);
            CHECK(linked->is_first_fallback);
            const int reason = errno_of(linked->fallback_reason);
            CHECK((reason == EOPNOTSUPP || reason == EINVAL || reason == ENOTTY || reason == EXDEV));
            CHECK_THAT(linked->fallback_reason.to_string(), Catch::Contains("FICLONE"));
            CHECK(lstat_of(dir.path / "dest.so").st_ino == lstat_of(source).st_ino);
        }
        // The failed clone's partial destination was removed before the fallback.
        CHECK(list(dir.path) == std::vector<std::string>{"dest.so", "source.so"});
    }
}

TEST_CASE("link_file errors name the path and leave an existing destination alone", "[fs]")
{
    scratch_dir dir("fs", "link-errors");
    const stdfs::path source = make_source(dir.path, "source.py", "print('hi')\n");
    write_text(dir.path / "existing.py", "keep me");
    REQUIRE(::symlink("source.py", (dir.path / "symlink.py").c_str()) == 0);

    for (link_mode mode : {link_mode::hardlink, link_mode::reflink, link_mode::copy}) {
        INFO("mode " << pkg::io::to_string(mode));
        auto missing = pkg::io::link_file(dir.path / "absent.py", dir.path / "out.py", mode);
        REQUIRE_FALSE(missing);
        CHECK(errno_of(missing.error()) == ENOENT);
        CHECK_THAT(missing.error().to_string(), Catch::Contains((dir.path / "absent.py").string()));
        CHECK_FALSE(path_exists(dir.path / "out.py"));

        auto exists = pkg::io::link_file(source, dir.path / "existing.py", mode);
        REQUIRE_FALSE(exists);
        CHECK(errno_of(exists.error()) == EEXIST);
        CHECK_THAT(exists.error().to_string(), Catch::Contains((dir.path / "existing.py").string()));
        CHECK(read_text(dir.path / "existing.py") == "keep me");
    }
    SECTION("clones and copies refuse a symlink source instead of following it")
    {
        auto copied = pkg::io::link_file(dir.path / "symlink.py", dir.path / "out.py", link_mode::copy);
        REQUIRE_FALSE(copied);
        CHECK(errno_of(copied.error()) == ELOOP);
        CHECK_FALSE(path_exists(dir.path / "out.py"));
    }
    SECTION("a directory source is not a regular file")
    {
        stdfs::create_directory(dir.path / "adir");
        auto copied = pkg::io::link_file(dir.path / "adir", dir.path / "out.py", link_mode::copy);
        REQUIRE_FALSE(copied);
        CHECK_THAT(copied.error().to_string(), Catch::Contains("not a regular file"));
        CHECK_FALSE(path_exists(dir.path / "out.py"));
    }
}

TEST_CASE("link_file falls back to a copy across filesystems and link_prober remembers it", "[fs]")
{
    if (!stdfs::is_directory("/dev/shm")) {
        WARN("no /dev/shm: cross-filesystem fallback not tested");
        return;
    }
    scratch_dir shm("fs", "link-xdev", "/dev/shm");
    scratch_dir build("fs", "link-xdev");
    const dev_t shm_dev = lstat_of(shm.path).st_dev;
    const dev_t build_dev = lstat_of(build.path).st_dev;
    if (shm_dev == build_dev) {
        WARN("/dev/shm and the build dir are on the same device: EXDEV fallback not tested");
        return;
    }
    const std::string bytes = pattern_bytes(300000);
    const stdfs::path source = make_source(shm.path, "module.so", bytes);

    SECTION("hardlink → copy, and reflink → hardlink → copy")
    {
        for (link_mode mode : {link_mode::hardlink, link_mode::reflink}) {
            INFO("mode " << pkg::io::to_string(mode));
            const stdfs::path dest = build.path / (std::string(pkg::io::to_string(mode)) + ".so");
            auto linked = pkg::io::link_file(source, dest, mode);
            REQUIRE(linked);
            CHECK(linked->used == link_mode::copy);
            CHECK(linked->is_fallback);
            CHECK(linked->is_first_fallback);
            CHECK(errno_of(linked->fallback_reason) == EXDEV);
            CHECK_THAT(linked->fallback_reason.to_string(), Catch::Contains(dest.string()));
            CHECK(read_text(dest) == bytes);
            CHECK((lstat_of(dest).st_mode & 07777) == 0751);
        }
    }
    SECTION("the prober pays for the failing mode once per device pair")
    {
        pkg::io::link_prober prober(link_mode::hardlink);
        CHECK(prober.requested() == link_mode::hardlink);
        CHECK_FALSE(prober.effective(shm_dev, build_dev).has_value());

        auto first = prober.link(source, build.path / "first.so");
        REQUIRE(first);
        CHECK(first->used == link_mode::copy);
        CHECK(first->is_fallback);
        CHECK(first->is_first_fallback);
        CHECK(errno_of(first->fallback_reason) == EXDEV);
        CHECK(prober.effective(shm_dev, build_dev) == link_mode::copy);

        auto second = prober.link(source, build.path / "second.so", shm_dev, build_dev);
        REQUIRE(second);
        CHECK(second->used == link_mode::copy);
        CHECK(second->is_fallback);
        CHECK_FALSE(second->is_first_fallback);  // Warned once already.
        CHECK_FALSE(second->fallback_reason.code);  // Went straight to copy.
        CHECK(read_text(build.path / "second.so") == bytes);

        // Another pair (same filesystem) still hardlinks.
        const stdfs::path local = make_source(build.path, "local.so", "local");
        auto same = prober.link(local, build.path / "local-link.so");
        REQUIRE(same);
        CHECK(same->used == link_mode::hardlink);
        CHECK_FALSE(same->is_fallback);
        CHECK_FALSE(same->is_first_fallback);
        CHECK(prober.effective(build_dev, build_dev) == link_mode::hardlink);
    }
    SECTION("threads probing one new pair: exactly one reports the first fallback")
    {
        pkg::io::link_prober prober(link_mode::hardlink);
        std::atomic<int> first_fallbacks{0};
        std::atomic<int> failures{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < 8; ++i) {
                    auto linked = prober.link(
                        source, build.path / (numbered("t", t) + numbered("-", i)),
                        shm_dev, build_dev);
                    if (!linked || linked->used != link_mode::copy) {
                        ++failures;
                    } else if (linked->is_first_fallback) {
                        ++first_fallbacks;
                    }
                }
            });
        }
        for (auto& t : threads) {
            t.join();
        }
        CHECK(failures == 0);
        CHECK(first_fallbacks == 1);
        CHECK(list(build.path).size() == 32);
    }
}

// ---- remove_tree ------------------------------------------------------------------------------

namespace {

// A small tree: 3 levels, files, an empty dir, and a symlink to a directory outside the tree.
void make_tree(const stdfs::path& root, const stdfs::path& outside)
{
    for (const char* sub : {"a/b/c", "a/empty", "d"}) {
        stdfs::create_directories(root / sub);
    }
    for (const char* file : {"top.txt", "a/one.py", "a/b/two.py", "a/b/c/three.py", "d/four"}) {
        write_text(root / file, file);
    }
    stdfs::create_directory_symlink(outside, root / "a" / "escape");
    stdfs::create_symlink("../top.txt", root / "d" / "relative-link");
}

}  // namespace

TEST_CASE("remove_tree removes a tree without following symlinks out of it", "[fs]")
{
    scratch_dir dir("fs", "remove");
    stdfs::create_directories(dir.path / "outside");
    write_text(dir.path / "outside" / "precious", "do not delete");
    make_tree(dir.path / "tree", dir.path / "outside");

    SECTION("plain path")
    {
        REQUIRE(pkg::io::remove_tree(dir.path / "tree"));
    }
    SECTION("path with a trailing slash")
    {
        REQUIRE(pkg::io::remove_tree(dir.path.string() + "/tree/"));
    }
    SECTION("read-only directories inside the tree")
    {
        REQUIRE(::chmod((dir.path / "tree" / "a" / "b").c_str(), 0500) == 0);
        REQUIRE(::chmod((dir.path / "tree" / "d").c_str(), 0000) == 0);
        REQUIRE(pkg::io::remove_tree(dir.path / "tree"));
    }
    SECTION("rename aside first")
    {
        REQUIRE(pkg::io::rename_aside_then_remove(dir.path / "tree"));
    }
    CHECK(list(dir.path) == std::vector<std::string>{"outside"});
    CHECK(read_text(dir.path / "outside" / "precious") == "do not delete");
}

TEST_CASE("remove_tree: missing trees are success, symlink roots are unlinked, bad names refused",
          "[fs]")
{
    scratch_dir dir("fs", "remove-edge");
    CHECK(pkg::io::remove_tree(dir.path / "absent"));
    CHECK(pkg::io::remove_tree(dir.path / "absent-parent" / "absent"));
    CHECK(pkg::io::rename_aside_then_remove(dir.path / "absent"));

    stdfs::create_directories(dir.path / "real");
    write_text(dir.path / "real" / "file", "stays");
    stdfs::create_directory_symlink("real", dir.path / "link");
    REQUIRE(pkg::io::remove_tree(dir.path / "link"));
    CHECK(list(dir.path) == std::vector<std::string>{"real"});
    CHECK(read_text(dir.path / "real" / "file") == "stays");

    write_text(dir.path / "single-file", "x");
    REQUIRE(pkg::io::remove_tree(dir.path / "single-file"));
    CHECK(list(dir.path) == std::vector<std::string>{"real"});

    auto dot = pkg::io::remove_tree(dir.path / ".");
    REQUIRE_FALSE(dot);
    CHECK(dot.error().code == std::errc::invalid_argument);
    auto dotdot = pkg::io::rename_aside_then_remove(dir.path / "..");
    REQUIRE_FALSE(dotdot);
    CHECK(dotdot.error().code == std::errc::invalid_argument);
    CHECK(list(dir.path) == std::vector<std::string>{"real"});
}

TEST_CASE("remove_tree on the same tree from racing threads and processes", "[fs]")
{
    scratch_dir dir("fs", "remove-race");
    stdfs::create_directories(dir.path / "outside");
    write_text(dir.path / "outside" / "precious", "do not delete");

    SECTION("4 threads, 3 rounds")
    {
        for (int round = 0; round < 3; ++round) {
            const stdfs::path tree = dir.path / numbered("tree", round);
            make_tree(tree, dir.path / "outside");
            std::atomic<bool> go{false};
            std::vector<std::string> errors(4);
            std::vector<std::thread> threads;
            for (int t = 0; t < 4; ++t) {
                threads.emplace_back([&, t] {
                    while (!go) {
                        std::this_thread::yield();
                    }
                    auto removed = pkg::io::remove_tree(tree);
                    if (!removed) {
                        errors[static_cast<std::size_t>(t)] = removed.error().to_string();
                    }
                });
            }
            go = true;
            for (auto& t : threads) {
                t.join();
            }
            for (const auto& e : errors) {
                CHECK(e.empty());
            }
            CHECK_FALSE(path_exists(tree));
        }
    }
    SECTION("4 processes")
    {
        const stdfs::path tree = dir.path / "tree";
        make_tree(tree, dir.path / "outside");
        for (int i = 0; i < 20; ++i) {
            stdfs::create_directories(tree / "many" / std::to_string(i));
            write_text(tree / "many" / std::to_string(i) / "f", "x");
        }
        std::vector<child> removers;
        for (int p = 0; p < 4; ++p) {
            removers.push_back(spawn({worker, "remove-tree", tree.string(), (dir.path / "go").string()},
                                     dir.path / numbered("remover", p)));
        }
        write_text(dir.path / "go", "");
        for (child& c : removers) {
            const int code = wait_exit(c);
            const std::string output = output_of(c);
            INFO(output);
            CHECK(code == 0);
        }
        CHECK_FALSE(path_exists(tree));
    }
    CHECK(read_text(dir.path / "outside" / "precious") == "do not delete");
}
