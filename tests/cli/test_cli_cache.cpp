// `pkg cache dir|size|clean|prune` as a user runs them: the real pkg binary on a scratch cache.
// Fixtures are built with the engine's internal cache code; lock holders are real processes
// (tests/helpers/fs_stress_worker.cpp).

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "cache/cache.hpp"
#include "cache/digest.hpp"
#include "cache/gc.hpp"
#include "cache/index_key.hpp"
#include "cache/manifest.hpp"
#include "support/process.hpp"

namespace stdfs = std::filesystem;
using pkg::test::run_process;

extern char** environ;

namespace {

struct scratch_dir {
    stdfs::path path;

    explicit scratch_dir(const std::string& tag)
    {
        static std::atomic<int> counter{0};
        std::random_device random;
        path = stdfs::path(PKG_TEST_BINARY_DIR) / "cli-cache-scratch" /
               (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                std::to_string(random()));
        stdfs::create_directories(path);
    }
    ~scratch_dir()
    {
        std::error_code ec;
        stdfs::remove_all(path, ec);
        ::rmdir(path.parent_path().c_str());
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
};

bool path_exists(const stdfs::path& p)
{
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
}

void write_text(const stdfs::path& p, const std::string& text)
{
    std::ofstream out(p, std::ios::binary);
    out << text;
    out.close();
    REQUIRE(out);
}

std::string id_of(const std::string& seed)
{
    return pkg::cache::sha256_hex("wheel " + seed);
}

// Publishes a one-file archive of project `name` 1.0 and returns its id.
std::string publish(const pkg::cache::cache& c, const std::string& name)
{
    pkg::cache::archive_manifest m;
    m.wheel_filename = name + "-1.0-py3-none-any.whl";
    m.name = name;
    m.version = "1.0";
    m.tags = "py3-none-any";
    m.sha256 = id_of(name);
    m.wheel_size_bytes = 10;
    m.files = {{name + ".py", 5, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", false}};
    m.unpacked_size_bytes = 5;
    auto staging = c.create_staging();
    REQUIRE(staging);
    write_text(*staging / (name + ".py"), "hello");
    REQUIRE(pkg::cache::write_manifest(*staging, m));
    REQUIRE(c.publish_archive(*staging, m.sha256));
    return m.sha256;
}

// A cache with `six` linked, `orphan` unreferenced, and an old bucket version.
pkg::cache::cache populated_cache(const stdfs::path& root)
{
    auto c = pkg::cache::cache::open(root);
    REQUIRE(c);
    const auto six = publish(*c, "six");
    publish(*c, "orphan");
    REQUIRE(c->link_wheel("https://pypi.org/simple", "six", "six-1.0-py3-none-any.whl", six));
    stdfs::create_directories(root / "archive-v0" / "x");
    write_text(root / "archive-v0" / "x" / "f", "old");
    return std::move(*c);
}

const std::string pkg_exe = PKG_TEST_CLI;
const std::string worker = PKG_TEST_HELPER_fs_stress_worker;

// A lock holder process; killed and reaped if the test fails early.
struct holder_process {
    pid_t pid = -1;
    bool is_reaped = false;
    holder_process() = default;
    holder_process(const holder_process&) = delete;
    holder_process& operator=(const holder_process&) = delete;
    ~holder_process()
    {
        if (pid > 0 && !is_reaped) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
    int wait()
    {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0) {
            REQUIRE(errno == EINTR);
        }
        is_reaped = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
};

void start_holder(holder_process& h, const std::vector<std::string>& args, const stdfs::path& log)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> argv;
    for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&h.pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
}

// Bounded only so a broken helper cannot hang the run; no timing is asserted.
bool wait_for_file(const stdfs::path& p)
{
    for (int i = 0; i < 30000 && !path_exists(p); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return path_exists(p);
}

}  // namespace

TEST_CASE("cli cache dir: --cache-dir, PKG_CACHE_DIR, HOME", "[cli]")
{
    scratch_dir dir("dir");
    const auto root = (dir.path / "c").string();
    auto r = run_process({pkg_exe, "--cache-dir", root, "cache", "dir"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == root + "\n");
    CHECK(r.err.empty());
    CHECK_FALSE(path_exists(root));  // Printing the path creates nothing.

    r = run_process({pkg_exe, "cache", "dir", "--cache-dir", root});  // After the subcommand too.
    CHECK(r.exit_code == 0);
    CHECK(r.out == root + "\n");

    r = run_process({"/usr/bin/env", "PKG_CACHE_DIR=" + root, pkg_exe, "cache", "dir"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == root + "\n");

    r = run_process({"/usr/bin/env", "-u", "PKG_CACHE_DIR", "-u", "XDG_CACHE_HOME",
                     "HOME=/home/someone", pkg_exe, "cache", "dir"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "/home/someone/.cache/pkg\n");

    r = run_process({"/usr/bin/env", "-u", "PKG_CACHE_DIR", "-u", "XDG_CACHE_HOME", "-u", "HOME",
                     pkg_exe, "cache", "dir"});
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find("pkg cache dir: ") == 0);
    CHECK(r.err.find("PKG_CACHE_DIR") != std::string::npos);
}

TEST_CASE("cli cache size: bytes, or human-readable with -H", "[cli]")
{
    scratch_dir dir("size");
    const auto root = dir.path / "c";
    auto c = populated_cache(root);
    const auto expected = pkg::cache::measure_size(root);
    REQUIRE(expected);

    auto r = run_process({pkg_exe, "--cache-dir", root.string(), "cache", "size"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == std::to_string(expected->allocated_bytes) + "\n");

    r = run_process({pkg_exe, "--cache-dir", root.string(), "cache", "size", "--human"});
    CHECK(r.exit_code == 0);
    CHECK(std::regex_match(r.out, std::regex(R"(\d+(\.\d)? (B|KiB|MiB)\n)")));
    CHECK(r.out == pkg::format_bytes(expected->allocated_bytes) + "\n");
    CHECK(run_process({pkg_exe, "--cache-dir", root.string(), "cache", "size", "-H"}).out == r.out);

    r = run_process({pkg_exe, "--cache-dir", (dir.path / "absent").string(), "cache", "size"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "0\n");
}

TEST_CASE("cli cache prune: prints what it removed and what it freed", "[cli]")
{
    scratch_dir dir("prune");
    const auto root = dir.path / "c";
    auto c = populated_cache(root);

    auto r = run_process({pkg_exe, "--cache-dir", root.string(), "cache", "prune"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.find("removed archive archive-v1/" + id_of("orphan") + " (") != std::string::npos);
    CHECK(r.out.find("removed bucket archive-v0 (") != std::string::npos);
    CHECK(r.out.find("removed 2 entries from " + root.string() + ", freed ") != std::string::npos);
    CHECK(r.out.find(id_of("six")) == std::string::npos);
    CHECK(c.lookup_by_hash(id_of("six")));
    CHECK_FALSE(c.has_archive(id_of("orphan")));

    r = run_process({pkg_exe, "--cache-dir", root.string(), "cache", "prune"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "nothing to remove in " + root.string() + "\n");
}

TEST_CASE("cli cache clean: by name, then everything", "[cli]")
{
    scratch_dir dir("clean");
    const auto root = dir.path / "c";
    auto c = populated_cache(root);
    const auto key = pkg::cache::index_key("https://pypi.org/simple");

    auto r = run_process({pkg_exe, "--cache-dir", root.string(), "cache", "clean", "Six"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("removed pointer wheels-v1/" + key + "/six (") != std::string::npos);
    CHECK(r.out.find("removed archive archive-v1/" + id_of("six") + " (") != std::string::npos);
    CHECK(r.out.find("removed 2 entries") != std::string::npos);
    CHECK_FALSE(c.has_archive(id_of("six")));
    CHECK(c.has_archive(id_of("orphan")));

    r = run_process({pkg_exe, "--cache-dir", root.string(), "cache", "clean"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("removed bucket archive-v1 (") != std::string::npos);
    CHECK(r.out.find("removed bucket archive-v0 (") != std::string::npos);
    CHECK_FALSE(path_exists(root / "archive-v1"));
    CHECK(path_exists(root / ".lock"));
    CHECK(path_exists(root / "CACHEDIR.TAG"));
}

TEST_CASE("cli cache: errors go to stderr with exit 1, usage errors exit 2", "[cli]")
{
    scratch_dir dir("errors");
    const auto root = dir.path / "c";
    auto c = populated_cache(root);

    auto r = run_process({pkg_exe, "--cache-dir", root.string(), "cache", "clean", "not a name"});
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find("pkg cache clean: ") == 0);
    CHECK(r.err.find("'not a name'") != std::string::npos);

    write_text(dir.path / "mine", "precious");
    r = run_process({pkg_exe, "--cache-dir", dir.path.string(), "cache", "prune"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("CACHEDIR.TAG") != std::string::npos);
    CHECK(path_exists(dir.path / "mine"));

    r = run_process({"/usr/bin/env", "PKG_LOCK_TIMEOUT=soon", pkg_exe, "--cache-dir", root.string(),
                     "cache", "prune"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("PKG_LOCK_TIMEOUT 'soon'") != std::string::npos);

    CHECK(run_process({pkg_exe, "cache"}).exit_code == 2);
    CHECK(run_process({pkg_exe, "cache", "frobnicate"}).exit_code == 2);
    CHECK(run_process({pkg_exe, "cache", "size", "--bogus"}).exit_code == 2);
}

TEST_CASE("cli cache prune: waits for the lock, names the holder, --force skips it", "[cli]")
{
    scratch_dir dir("lock");
    const auto root = dir.path / "c";
    auto c = populated_cache(root);
    const auto ready = dir.path / "ready";
    const auto release = dir.path / "release";
    holder_process holder;
    start_holder(holder,
                 {worker, "lock-hold", c.lock_path().string(), "exclusive", ready.string(),
                  release.string(), "pkg install -r lock.txt"},
                 dir.path / "holder.log");
    REQUIRE(wait_for_file(ready));

    auto r = run_process({"/usr/bin/env", "PKG_LOCK_TIMEOUT=0", pkg_exe, "--cache-dir",
                          root.string(), "cache", "prune"});
    CHECK(r.exit_code == 1);
    const std::string who = "pid " + std::to_string(holder.pid) + " (pkg install -r lock.txt)";
    CHECK(r.err.find("waiting for the cache lock held by " + who) != std::string::npos);
    CHECK(r.err.find("still locked") != std::string::npos);
    CHECK(r.err.find(who) != std::string::npos);
    CHECK(c.has_archive(id_of("orphan")));  // Nothing removed.

    r = run_process({"/usr/bin/env", "PKG_LOCK_TIMEOUT=0", pkg_exe, "--cache-dir", root.string(),
                     "cache", "prune", "--force"});
    CHECK(r.exit_code == 0);
    CHECK_FALSE(c.has_archive(id_of("orphan")));

    write_text(release, "go");
    CHECK(holder.wait() == 0);
}
