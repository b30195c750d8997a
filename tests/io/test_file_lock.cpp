// Tests of io/src/fs/file_lock: OFD lock semantics inside one process, the owner sidecar, timeouts,
// and real cross-process behaviour through tests/helpers/fs_stress_worker.cpp.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "fs/file_lock.hpp"
#include "support/files.hpp"
#include "support/process.hpp"

namespace stdfs = std::filesystem;
using pkg::io::file_lock;
using pkg::io::lock_kind;
using pkg::test::child;
using pkg::test::output_of;
using pkg::test::path_exists;
using pkg::test::read_text;
using pkg::test::scratch_dir;
using pkg::test::spawn;
using pkg::test::wait_exit;
using pkg::test::wait_for_file;
using pkg::test::wait_for_output;
using pkg::test::write_text;

namespace {

const std::string worker = PKG_TEST_HELPER_fs_stress_worker;

// prefix + number, by appending: GCC 12 at -O3 warns falsely (-Wrestrict, GCC PR105329) about
// `"literal" + std::to_string(n)`.
std::string numbered(std::string prefix, long n)
{
    prefix += std::to_string(n);
    return prefix;
}

}  // namespace

TEST_CASE("OFD locks: two locks in one process conflict like two processes", "[lock]")
{
    scratch_dir dir("fs", "lock-ofd");
    const stdfs::path path = dir.path / ".lock";

    SECTION("exclusive excludes everything until released")
    {
        auto held = file_lock::try_lock(path, lock_kind::exclusive);
        REQUIRE(held);
        REQUIRE(held->has_value());
        CHECK((*held)->is_held());
        CHECK((*held)->kind() == lock_kind::exclusive);
        CHECK((*held)->path() == path);

        auto second = file_lock::try_lock(path, lock_kind::exclusive);
        REQUIRE(second);
        CHECK_FALSE(second->has_value());
        auto shared = file_lock::try_lock(path, lock_kind::shared);
        REQUIRE(shared);
        CHECK_FALSE(shared->has_value());

        REQUIRE((*held)->release());
        CHECK_FALSE((*held)->is_held());
        REQUIRE((*held)->release());  // Idempotent.
        auto after = file_lock::try_lock(path, lock_kind::exclusive);
        REQUIRE(after);
        CHECK(after->has_value());
        CHECK(path_exists(path));  // Lock files stay.
    }
    SECTION("shared locks coexist and keep exclusive out")
    {
        auto a = file_lock::try_lock(path, lock_kind::shared);
        auto b = file_lock::try_lock(path, lock_kind::shared);
        REQUIRE(a);
        REQUIRE(b);
        CHECK(a->has_value());
        CHECK(b->has_value());
        auto ex = file_lock::try_lock(path, lock_kind::exclusive);
        REQUIRE(ex);
        CHECK_FALSE(ex->has_value());
        a->reset();  // Destruction releases (RAII); one shared holder still blocks.
        ex = file_lock::try_lock(path, lock_kind::exclusive);
        REQUIRE(ex);
        CHECK_FALSE(ex->has_value());
        b->reset();
        ex = file_lock::try_lock(path, lock_kind::exclusive);
        REQUIRE(ex);
        CHECK(ex->has_value());
    }
    SECTION("moving a lock moves ownership; assigning over a lock releases it")
    {
        auto first = file_lock::lock(path, lock_kind::exclusive);
        REQUIRE(first);
        file_lock moved = std::move(*first);
        CHECK_FALSE(first->is_held());
        CHECK(moved.is_held());
        auto blocked = file_lock::try_lock(path, lock_kind::shared);
        REQUIRE(blocked);
        CHECK_FALSE(blocked->has_value());

        const stdfs::path other_path = dir.path / "other.lock";
        auto other = file_lock::lock(other_path, lock_kind::shared);
        REQUIRE(other);
        moved = std::move(*other);  // Releases the exclusive lock on `path`.
        CHECK(moved.path() == other_path);
        auto free_now = file_lock::try_lock(path, lock_kind::exclusive);
        REQUIRE(free_now);
        CHECK(free_now->has_value());
    }
}

TEST_CASE("an exclusive holder leaves an owner sidecar that waiters can name", "[lock]")
{
    scratch_dir dir("fs", "lock-owner");
    const stdfs::path path = dir.path / ".lock";
    const stdfs::path sidecar = pkg::io::lock_owner_path(path);
    CHECK(sidecar == dir.path / ".lock.owner");

    {
        auto shared = file_lock::lock(path, lock_kind::shared, "ignored for shared");
        REQUIRE(shared);
        CHECK_FALSE(path_exists(sidecar));
        CHECK_FALSE(pkg::io::read_lock_owner(path).has_value());
    }
    {
        auto held = file_lock::lock(path, lock_kind::exclusive, "pkg cache prune\nsecond line");
        REQUIRE(held);
        auto owner = pkg::io::read_lock_owner(path);
        REQUIRE(owner.has_value());
        CHECK(owner->pid == ::getpid());
        CHECK(owner->description == "pkg cache prune second line");
    }
    CHECK_FALSE(path_exists(sidecar));  // Removed before unlocking.
    CHECK(path_exists(path));

    SECTION("a stale sidecar of a dead process is ignored")
    {
        child c = spawn({"/bin/true"}, dir.path / "true");
        REQUIRE(wait_exit(c) == 0);
        write_text(sidecar, numbered("pid ", c.pid) + "\nold\n");
        CHECK_FALSE(pkg::io::read_lock_owner(path).has_value());
    }
    SECTION("garbage in the sidecar is ignored")
    {
        write_text(sidecar, "not a pid\n");
        CHECK_FALSE(pkg::io::read_lock_owner(path).has_value());
    }
}

TEST_CASE("lock_for times out with an error naming the path and the holder", "[lock]")
{
    scratch_dir dir("fs", "lock-timeout");
    const stdfs::path path = dir.path / ".lock";
    auto held = file_lock::lock(path, lock_kind::exclusive, "pkg cache prune");
    REQUIRE(held);

    int calls = 0;
    std::optional<pkg::io::lock_owner> told;
    auto waited = file_lock::lock_for(path, lock_kind::shared, std::chrono::milliseconds(30), "installer",
                                      [&](const std::optional<pkg::io::lock_owner>& owner) {
                                          ++calls;
                                          told = owner;
                                      });
    REQUIRE_FALSE(waited);
    CHECK(waited.error().code == std::errc::timed_out);
    CHECK(waited.error().where == path.string());
    const std::string text = waited.error().to_string();
    CHECK_THAT(text, Catch::Contains("timed out after 30 ms waiting for a shared lock"));
    CHECK_THAT(text, Catch::Contains(numbered("held by pid ", ::getpid()) + " (pkg cache prune)"));
    CHECK_FALSE(waited.error().hint.empty());
    CHECK(calls == 1);
    REQUIRE(told.has_value());
    CHECK(told->pid == ::getpid());
    CHECK(told->description == "pkg cache prune");

    SECTION("a zero timeout tries once")
    {
        auto once = file_lock::lock_for(path, lock_kind::exclusive, std::chrono::milliseconds(0));
        REQUIRE_FALSE(once);
        CHECK(once.error().code == std::errc::timed_out);
    }
    SECTION("lock_for succeeds once the holder lets go while it waits")
    {
        // The waiter's on_wait callback releases the holder: deterministic, no sleeps.
        auto got = file_lock::lock_for(path, lock_kind::exclusive, std::chrono::seconds(30), "next",
                                       [&](const std::optional<pkg::io::lock_owner>&) {
                                           REQUIRE(held->release());
                                       });
        REQUIRE(got);
        CHECK(got->is_held());
        CHECK(pkg::io::read_lock_owner(path)->description == "next");
    }
}

TEST_CASE("lock files that cannot be opened or locked give errors naming the path", "[lock]")
{
    scratch_dir dir("fs", "lock-errors");
    SECTION("missing directory")
    {
        auto got = file_lock::try_lock(dir.path / "absent" / ".lock", lock_kind::shared);
        REQUIRE_FALSE(got);
        CHECK(got.error().code == std::errc::no_such_file_or_directory);
        CHECK(got.error().where == (dir.path / "absent" / ".lock").string());
        CHECK_THAT(got.error().message, Catch::Contains("open lock file"));
    }
    SECTION("parent is a file")
    {
        write_text(dir.path / "file", "");
        auto got = file_lock::lock_for(dir.path / "file" / ".lock", lock_kind::exclusive,
                                       std::chrono::milliseconds(10));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == std::errc::not_a_directory);
    }
    SECTION("filesystems that cannot lock get a hint")
    {
        for (int err : {ENOLCK, ENOSYS, EOPNOTSUPP, 524}) {
            INFO("errno " << err);
            const pkg::error e = pkg::io::detail::lock_error(err, dir.path / ".lock");
            CHECK(e.code.value() == err);
            CHECK(e.where == (dir.path / ".lock").string());
            CHECK_THAT(e.message, Catch::Contains("cannot lock files"));
            CHECK_THAT(e.hint, Catch::Contains("local filesystem"));
        }
        const pkg::error io = pkg::io::detail::lock_error(EIO, dir.path / ".lock");
        CHECK_THAT(io.message, Catch::Contains("lock failed"));
        CHECK(io.hint.empty());
    }
}

TEST_CASE("locks across processes: shared+shared, exclusive waits for shared, timeouts", "[lock]")
{
    scratch_dir dir("fs", "lock-procs");
    const stdfs::path path = dir.path / ".lock";
    const stdfs::path ready = dir.path / "holder.ready";
    const stdfs::path release = dir.path / "holder.release";

    SECTION("shared + shared both succeed; exclusive is refused")
    {
        child holder = spawn({worker, "lock-hold", path.string(), "shared", ready.string(), release.string()},
                             dir.path / "holder");
        REQUIRE(wait_for_file(ready));

        child shared = spawn({worker, "lock-try", path.string(), "shared"}, dir.path / "shared");
        CHECK(wait_exit(shared) == 0);
        CHECK_THAT(read_text(shared.out), Catch::Contains("acquired"));
        child excl = spawn({worker, "lock-try", path.string(), "exclusive"}, dir.path / "excl");
        CHECK(wait_exit(excl) == 3);
        CHECK_THAT(read_text(excl.out), Catch::Contains("contended"));
        // This process too: shared yes, exclusive no.
        auto mine = file_lock::try_lock(path, lock_kind::shared);
        REQUIRE(mine);
        CHECK(mine->has_value());
        auto mine_ex = file_lock::try_lock(path, lock_kind::exclusive);
        REQUIRE(mine_ex);
        CHECK_FALSE(mine_ex->has_value());

        write_text(release, "");
        const int code = wait_exit(holder);
        INFO(output_of(holder));
        CHECK(code == 0);
    }
    SECTION("exclusive waiter: try_lock fails while shared is held, lock_for succeeds after release")
    {
        child holder = spawn({worker, "lock-hold", path.string(), "shared", ready.string(), release.string()},
                             dir.path / "holder");
        REQUIRE(wait_for_file(ready));
        const stdfs::path waiter_ready = dir.path / "waiter.ready";
        child waiter = spawn({worker, "lock-wait", path.string(), "exclusive", "30000", waiter_ready.string()},
                             dir.path / "waiter");
        REQUIRE(wait_for_file(waiter_ready));  // It tried and found the lock taken ...
        // ... and lock_for found it taken too (its on_wait printed), so it is polling now.
        REQUIRE(wait_for_output(waiter, "waiting for unknown holder"));  // Shared: no sidecar.
        write_text(release, "");
        const int holder_code = wait_exit(holder);
        const int waiter_code = wait_exit(waiter);
        const std::string output = output_of(waiter);
        INFO(output);
        CHECK(holder_code == 0);
        CHECK(waiter_code == 0);
        CHECK_THAT(output, Catch::Contains("try: contended"));
        CHECK_THAT(output, Catch::Contains("acquired"));
    }
    SECTION("a waiter times out naming the path and the exclusive holder")
    {
        child holder = spawn({worker, "lock-hold", path.string(), "exclusive", ready.string(), release.string(),
                              "pkg cache prune"},
                             dir.path / "holder");
        REQUIRE(wait_for_file(ready));
        const stdfs::path waiter_ready = dir.path / "waiter.ready";
        child waiter = spawn({worker, "lock-wait", path.string(), "shared", "200", waiter_ready.string()},
                             dir.path / "waiter");
        const int waiter_code = wait_exit(waiter);
        const std::string output = output_of(waiter);
        INFO(output);
        CHECK(waiter_code == 4);
        const std::string holder_words = numbered("pid ", holder.pid) + " (pkg cache prune)";
        CHECK_THAT(output, Catch::Contains("waiting for " + holder_words));
        CHECK_THAT(output, Catch::Contains(path.string()));
        CHECK_THAT(output, Catch::Contains("timed out after 200 ms waiting for a shared lock"));
        CHECK_THAT(output, Catch::Contains("held by " + holder_words));

        write_text(release, "");
        CHECK(wait_exit(holder) == 0);
        CHECK_FALSE(path_exists(pkg::io::lock_owner_path(path)));
    }
    SECTION("a killed holder's lock is released by the kernel")
    {
        child holder = spawn({worker, "lock-hold", path.string(), "exclusive", ready.string(), release.string(),
                              "doomed"},
                             dir.path / "holder");
        REQUIRE(wait_for_file(ready));
        auto blocked = file_lock::try_lock(path, lock_kind::shared);
        REQUIRE(blocked);
        CHECK_FALSE(blocked->has_value());
        REQUIRE(::kill(holder.pid, SIGKILL) == 0);
        CHECK(wait_exit(holder) == 128 + SIGKILL);
        CHECK_FALSE(pkg::io::read_lock_owner(path).has_value());  // Stale sidecar: dead pid.
        auto got = file_lock::try_lock(path, lock_kind::exclusive, "after crash");
        REQUIRE(got);
        CHECK(got->has_value());
        CHECK(pkg::io::read_lock_owner(path)->description == "after crash");
    }
}
