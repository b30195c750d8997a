// `pkg cache dir|size|clean|prune` as a user runs them: the real pkg binary on a scratch cache.
// Fixtures are built with the engine's internal cache code; lock holders are real processes
// (tests/helpers/fs_stress_worker.cpp).

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "cache/cache.hpp"
#include "cache/digest.hpp"
#include "cache/gc.hpp"
#include "cache/index_key.hpp"
#include "cache/manifest.hpp"
#include "support/files.hpp"
#include "support/process.hpp"

namespace stdfs = std::filesystem;
using pkg::test::path_exists;
using pkg::test::run_process;
using pkg::test::scratch_dir;
using pkg::test::spawn_merged;
using pkg::test::wait_exit;
using pkg::test::wait_for_file;
using pkg::test::write_text;

namespace {

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

}  // namespace

TEST_CASE("cli cache dir: --cache-dir, PKG_CACHE_DIR, HOME", "[cli]")
{
    scratch_dir dir("cli-cache", "dir");
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
    scratch_dir dir("cli-cache", "size");
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
    scratch_dir dir("cli-cache", "prune");
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
    scratch_dir dir("cli-cache", "clean");
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
    scratch_dir dir("cli-cache", "errors");
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
    scratch_dir dir("cli-cache", "lock");
    const auto root = dir.path / "c";
    auto c = populated_cache(root);
    const auto ready = dir.path / "ready";
    const auto release = dir.path / "release";
    auto holder = spawn_merged({worker, "lock-hold", c.lock_path().string(), "exclusive",
                                ready.string(), release.string(), "pkg install -r lock.txt"},
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
    CHECK(wait_exit(holder) == 0);
}
