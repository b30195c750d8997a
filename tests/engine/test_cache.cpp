// Tests of engine/src/cache: root resolution, base files, staging and publishing, the archive
// manifest, wheel pointers, prune/clean/size, the cache lock (across real processes through
// tests/helpers/fs_stress_worker.cpp) and temporary caches.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <pkg/engine/cache.hpp>
#include <pkg/engine/errc.hpp>

#include "cache/cache.hpp"
#include "cache/digest.hpp"
#include "cache/gc.hpp"
#include "cache/index_key.hpp"
#include "cache/manifest.hpp"
#include "fs/file_lock.hpp"
#include "fs/symlink_swap.hpp"
#include "support/files.hpp"
#include "support/process.hpp"

namespace stdfs = std::filesystem;
using pkg::cache::archive_manifest;
using pkg::cache::cache;
using pkg::test::path_exists;
using pkg::test::read_text;
using pkg::test::scratch_dir;
using pkg::test::spawn_merged;
using pkg::test::wait_exit;
using pkg::test::wait_for_file;
using pkg::test::write_text;

namespace {

void set_mtime(const stdfs::path& p, std::chrono::system_clock::time_point when)
{
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
    const timespec times[2] = {{ns / 1000000000, ns % 1000000000},
                               {ns / 1000000000, ns % 1000000000}};
    REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

// A getenv over a map, as embedders and tests pass it.
pkg::cache::getenv_function env_of(std::map<std::string, std::string> vars)
{
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string(name));
        if (it == vars.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

// A valid RECORD-style hash (sha256 of the empty string, urlsafe base64, no padding).
const std::string empty_hash = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";

std::string wheel_id(const std::string& seed)
{
    return pkg::cache::sha256_hex("wheel " + seed);
}

archive_manifest six_manifest(const std::string& sha256)
{
    archive_manifest m;
    m.wheel_filename = "six-1.16.0-py2.py3-none-any.whl";
    m.name = "six";
    m.version = "1.16.0";
    m.tags = "py2.py3-none-any";
    m.sha256 = sha256;
    m.wheel_size_bytes = 11053;
    m.files = {
        {"six.py", 5, empty_hash, false},
        {"six-1.16.0.dist-info/RECORD", 0, "", false},
        {"six-1.16.0.data/scripts/run me", 7, empty_hash, true},
    };
    m.unpacked_size_bytes = 12;
    return m;
}

archive_manifest manifest_for(const std::string& name, const std::string& sha256)
{
    archive_manifest m;
    m.wheel_filename = name + "-1.0-py3-none-any.whl";
    m.name = name;
    m.version = "1.0";
    m.tags = "py3-none-any";
    m.sha256 = sha256;
    m.wheel_size_bytes = 100;
    m.files = {{name + "/__init__.py", 5, empty_hash, false}};
    m.unpacked_size_bytes = 5;
    return m;
}

// Stages and publishes an archive with the manifest given; returns its path.
stdfs::path publish(const cache& c, const archive_manifest& m)
{
    auto staging = c.create_staging();
    REQUIRE(staging);
    stdfs::create_directories(*staging / m.name);
    write_text(*staging / m.name / "__init__.py", "hello");
    REQUIRE(pkg::cache::write_manifest(*staging, m));
    auto published = c.publish_archive(*staging, m.sha256);
    REQUIRE(published);
    return *published;
}

cache open_cache(const stdfs::path& root)
{
    auto c = cache::open(root);
    REQUIRE(c);
    return std::move(*c);
}

std::set<std::string> removed_paths(const pkg::cache_removal_report& report)
{
    std::set<std::string> out;
    for (const auto& e : report.removed) {
        out.insert(e.path);
    }
    return out;
}

const std::string worker = PKG_TEST_HELPER_fs_stress_worker;

}  // namespace

// ---- root resolution -------------------------------------------------------------------------

TEST_CASE("cache root: --cache-dir, then PKG_CACHE_DIR, then absolute XDG_CACHE_HOME, then HOME",
          "[cache]")
{
    using pkg::cache::resolve_root;
    const std::map<std::string, std::string> all = {
        {"PKG_CACHE_DIR", "/env/pkg"}, {"XDG_CACHE_HOME", "/xdg"}, {"HOME", "/home/u"}};

    auto r = resolve_root(std::string("/explicit"), env_of(all));
    REQUIRE(r);
    CHECK(*r == "/explicit");

    r = resolve_root(std::nullopt, env_of(all));
    REQUIRE(r);
    CHECK(*r == "/env/pkg");

    r = resolve_root(std::string(), env_of({{"PKG_CACHE_DIR", ""}, {"XDG_CACHE_HOME", "/xdg"}}));
    REQUIRE(r);
    CHECK(*r == "/xdg/pkg");  // Empty values count as unset.

    r = resolve_root(std::nullopt,
                     env_of({{"XDG_CACHE_HOME", "relative/xdg"}, {"HOME", "/home/u"}}));
    REQUIRE(r);
    CHECK(*r == "/home/u/.cache/pkg");  // XDG: relative paths are invalid and ignored.

    r = resolve_root(std::nullopt, env_of({{"HOME", "/home/u"}}));
    REQUIRE(r);
    CHECK(*r == "/home/u/.cache/pkg");

    r = resolve_root(std::string("rel/cache"), env_of({}));
    REQUIRE(r);
    CHECK(r->is_absolute());
    CHECK(*r == stdfs::current_path() / "rel/cache");

    r = resolve_root(std::nullopt, env_of({{"HOME", "not-absolute"}}));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == pkg::errc::no_cache_directory);
    CHECK(r.error().hint.find("PKG_CACHE_DIR") != std::string::npos);

    // The public API follows the same order.
    pkg::cache_options options;
    options.getenv = env_of(all);
    auto dir = pkg::cache_dir(options);
    REQUIRE(dir);
    CHECK(*dir == "/env/pkg");
    options.cache_dir = "/explicit";
    CHECK(pkg::cache_dir(options).value() == "/explicit");
}

TEST_CASE("cache lock timeout: PKG_LOCK_TIMEOUT in whole seconds, 300 s by default", "[cache]")
{
    using pkg::cache::lock_timeout_from_env;
    CHECK(lock_timeout_from_env(env_of({})).value() == std::chrono::seconds(300));
    CHECK(lock_timeout_from_env(env_of({{"PKG_LOCK_TIMEOUT", ""}})).value() ==
          std::chrono::seconds(300));
    CHECK(lock_timeout_from_env(env_of({{"PKG_LOCK_TIMEOUT", "7"}})).value() ==
          std::chrono::seconds(7));
    CHECK(lock_timeout_from_env(env_of({{"PKG_LOCK_TIMEOUT", "0"}})).value() ==
          std::chrono::seconds(0));
    for (const char* bad : {"-1", "1.5", "ten", "12345678901", " 5"}) {
        INFO(bad);
        auto r = lock_timeout_from_env(env_of({{"PKG_LOCK_TIMEOUT", bad}}));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == std::errc::invalid_argument);
        CHECK(r.error().message.find(std::string("'") + bad + "'") != std::string::npos);
    }
}

// ---- base files ------------------------------------------------------------------------------

TEST_CASE("cache open: base files and buckets, idempotent, existing files untouched", "[cache]")
{
    scratch_dir dir("cache", "base");
    const auto root = dir.path / "nested" / "cache";
    {
        auto c = open_cache(root);
        CHECK(c.root() == root);
        CHECK_FALSE(c.is_temporary());
    }
    CHECK(read_text(root / "CACHEDIR.TAG")
              .rfind("Signature: 8a477f597d28d172789f06886806bc55\n", 0) == 0);
    CHECK(pkg::cache::has_cachedir_tag(root));
    CHECK(read_text(root / ".gitignore") == "*\n");
    CHECK(stdfs::is_regular_file(root / ".lock"));
    for (const char* bucket : {"archive-v1", "wheels-v1", "simple-v1", "interpreter-v1", "tmp"}) {
        INFO(bucket);
        CHECK(stdfs::is_directory(root / bucket));
    }

    write_text(root / ".gitignore", "mine\n");
    stdfs::remove(root / "tmp");
    auto again = open_cache(root);
    CHECK(read_text(root / ".gitignore") == "mine\n");  // Not rewritten.
    CHECK(stdfs::is_directory(root / "tmp"));           // Recreated.
}

TEST_CASE("cache open: concurrent openers of a fresh root all succeed", "[cache]")
{
    scratch_dir dir("cache", "base-race");
    const auto root = dir.path / "cache";
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&] {
            if (!cache::open(root)) {
                ++failures;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(failures == 0);
    CHECK(pkg::cache::has_cachedir_tag(root));
    // No temporaries of the atomic writes are left behind.
    for (const auto& entry : stdfs::directory_iterator(root)) {
        INFO(entry.path());
        CHECK(entry.path().filename().string().find(".tmp.") == std::string::npos);
    }
}

TEST_CASE("cache open: a file in the way is an error naming the path", "[cache]")
{
    scratch_dir dir("cache", "base-file");
    write_text(dir.path / "file", "x");
    auto c = cache::open(dir.path / "file");
    REQUIRE_FALSE(c);
    CHECK(c.error().to_string().find((dir.path / "file").string()) != std::string::npos);
}

// ---- staging and publishing ------------------------------------------------------------------

TEST_CASE("cache archives: staging in tmp/, publish, lookup by hash", "[cache]")
{
    scratch_dir dir("cache", "publish");
    auto c = open_cache(dir.path / "cache");
    auto a = c.create_staging();
    auto b = c.create_staging();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a != *b);
    CHECK(a->parent_path() == c.root() / "tmp");
    CHECK(stdfs::is_empty(*a));

    const auto id = wheel_id("six");
    CHECK_FALSE(c.has_archive(id));
    CHECK_FALSE(c.lookup_by_hash(id));
    const auto m = six_manifest(id);
    write_text(*a / "six.py", "hello");
    REQUIRE(pkg::cache::write_manifest(*a, m));
    auto published = c.publish_archive(*a, id);
    REQUIRE(published);
    CHECK(*published == c.archive_path(id));
    CHECK(*published == c.root() / "archive-v1" / id);
    CHECK_FALSE(path_exists(*a));
    CHECK(c.has_archive(id));
    CHECK(read_text(*published / "six.py") == "hello");
    auto found = c.lookup_by_hash(id);
    REQUIRE(found);
    CHECK(found->dir == *published);
    CHECK(found->manifest == m);

    CHECK_FALSE(c.has_archive("not-an-id"));
    CHECK_FALSE(c.lookup_by_hash(wheel_id("other")));
    CHECK_FALSE(c.lookup_by_hash(std::string(64, 'A')));  // Upper case is not an id.
}

TEST_CASE("cache archives: two publishers of one id both succeed, one tree remains", "[cache]")
{
    scratch_dir dir("cache", "publish-race");
    auto c = open_cache(dir.path / "cache");
    const auto id = wheel_id("six");
    const auto m = six_manifest(id);
    auto first = c.create_staging();
    auto second = c.create_staging();
    REQUIRE(first);
    REQUIRE(second);
    write_text(*first / "marker", "first");
    write_text(*second / "marker", "second");
    REQUIRE(pkg::cache::write_manifest(*first, m));
    REQUIRE(pkg::cache::write_manifest(*second, m));

    auto p1 = c.publish_archive(*first, id);
    auto p2 = c.publish_archive(*second, id);
    REQUIRE(p1);
    REQUIRE(p2);
    CHECK(*p1 == *p2);
    CHECK(read_text(*p1 / "marker") == "first");  // The winner's tree, never a mix.
    CHECK_FALSE(path_exists(*second));            // The loser's staging tree is gone.
    CHECK(stdfs::is_empty(c.root() / "tmp"));
    std::size_t archives = 0;
    for ([[maybe_unused]] const auto& e : stdfs::directory_iterator(c.root() / "archive-v1")) {
        ++archives;
    }
    CHECK(archives == 1);
}

TEST_CASE("cache archives: publishing needs a manifest for the same sha256", "[cache]")
{
    scratch_dir dir("cache", "publish-bad");
    auto c = open_cache(dir.path / "cache");
    const auto id = wheel_id("six");
    auto staging = c.create_staging();
    REQUIRE(staging);

    auto r = c.publish_archive(*staging, id);  // No manifest.
    REQUIRE_FALSE(r);
    CHECK(r.error().code == pkg::errc::corrupt_cache_entry);
    CHECK(r.error().to_string().find(".pkg-archive") != std::string::npos);

    REQUIRE(pkg::cache::write_manifest(*staging, six_manifest(wheel_id("other"))));
    r = c.publish_archive(*staging, id);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == pkg::errc::corrupt_cache_entry);
    CHECK(r.error().message.find(id) != std::string::npos);

    r = c.publish_archive(*staging, "XYZ");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == std::errc::invalid_argument);
    CHECK(r.error().message.find("'XYZ'") != std::string::npos);
    CHECK_FALSE(c.has_archive(id));
    CHECK(path_exists(*staging));  // Nothing published, nothing removed.
}

// ---- manifest --------------------------------------------------------------------------------

TEST_CASE("cache manifest: round trip through text and file", "[cache]")
{
    const auto m = six_manifest(wheel_id("six"));
    auto text = pkg::cache::format_manifest(m);
    REQUIRE(text);
    CHECK(text->rfind("pkg-archive 1\nwheel six-1.16.0-py2.py3-none-any.whl\nname six\n", 0) == 0);
    CHECK(text->find("\nx 7 " + empty_hash + " six-1.16.0.data/scripts/run me\n") !=
          std::string::npos);
    CHECK(text->find("\n- 0 - six-1.16.0.dist-info/RECORD\n") != std::string::npos);
    CHECK(text->ends_with("\nend\n"));
    auto parsed = pkg::cache::parse_manifest(*text);
    REQUIRE(parsed);
    CHECK(*parsed == m);

    scratch_dir dir("cache", "manifest");
    REQUIRE(pkg::cache::write_manifest(dir.path, m));
    auto read = pkg::cache::read_manifest(dir.path);
    REQUIRE(read);
    CHECK(*read == m);

    archive_manifest empty = m;
    empty.files.clear();
    empty.unpacked_size_bytes = 0;
    auto empty_text = pkg::cache::format_manifest(empty);
    REQUIRE(empty_text);
    CHECK(pkg::cache::parse_manifest(*empty_text).value() == empty);
}

TEST_CASE("cache manifest: the parser rejects every malformed variant", "[cache]")
{
    const std::string good = pkg::cache::format_manifest(six_manifest(wheel_id("six"))).value();
    REQUIRE(pkg::cache::parse_manifest(good));
    auto replace = [&](const std::string& from, const std::string& to) {
        auto pos = good.find(from);
        REQUIRE(pos != std::string::npos);
        std::string out = good;
        out.replace(pos, from.size(), to);
        return out;
    };
    const std::string id = wheel_id("six");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"empty", ""},
        {"other version", replace("pkg-archive 1", "pkg-archive 2")},
        {"truncated", good.substr(0, good.size() - 1)},
        {"no end", good.substr(0, good.size() - 4)},
        {"trailing data", good + "x\n"},
        {"crlf", replace("name six\n", "name six\r\n")},
        {"field order", replace("name six\nversion 1.16.0\n", "version 1.16.0\nname six\n")},
        {"unknown key", replace("name six", "nome six")},
        {"name mismatch", replace("name six", "name seven")},
        {"unnormalized name", replace("name six", "name Six")},
        {"version mismatch", replace("version 1.16.0", "version 1.17")},
        {"bad version", replace("version 1.16.0", "version one")},
        {"tags mismatch", replace("tags py2.py3-none-any", "tags py3-none-any")},
        {"bad wheel name", replace("wheel six-1.16.0-py2.py3-none-any.whl", "wheel six.zip")},
        {"upper-case sha", replace("sha256 " + id, "sha256 " + std::string(64, 'A'))},
        {"short sha", replace("sha256 " + id, "sha256 abc")},
        {"leading zero", replace("wheel-size 11053", "wheel-size 011053")},
        {"signed number", replace("wheel-size 11053", "wheel-size +11053")},
        {"overflow", replace("wheel-size 11053", "wheel-size 99999999999999999999")},
        {"size sum", replace("unpacked-size 12", "unpacked-size 13")},
        {"count too big", replace("files 3", "files 4")},
        {"count too small", replace("files 3", "files 2")},
        {"huge count", replace("files 3", "files 18446744073709551615")},
        {"exec flag", replace("- 5 ", "y 5 ")},
        {"bad hash", replace("- 5 " + empty_hash, "- 5 sha256=" + empty_hash)},
        {"non-canonical hash",
         replace("- 5 " + empty_hash, "- 5 " + empty_hash.substr(0, 42) + "V")},
        {"dotdot path", replace(" six.py\n", " ../six.py\n")},
        {"absolute path", replace(" six.py\n", " /six.py\n")},
        {"empty component", replace(" six.py\n", " a//six.py\n")},
        {"backslash", replace(" six.py\n", " a\\six.py\n")},
        {"manifest path", replace(" six.py\n", " .pkg-archive\n")},
        {"duplicate path", replace("six-1.16.0.dist-info/RECORD", "six.py")},
        {"missing path", replace(" six.py\n", "\n")},
    };
    for (const auto& [what, text] : cases) {
        INFO(what);
        auto r = pkg::cache::parse_manifest(text, "/some/archive/.pkg-archive");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == pkg::errc::corrupt_cache_entry);
        CHECK(r.error().where == "/some/archive/.pkg-archive");
        CHECK_FALSE(r.error().message.empty());
    }
    // Messages cite the line and the text.
    auto r = pkg::cache::parse_manifest(replace("wheel-size 11053", "wheel-size 1x"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("line 7") != std::string::npos);
    CHECK(r.error().message.find("'1x'") != std::string::npos);
}

TEST_CASE("cache manifest: the writer refuses what the parser would reject", "[cache]")
{
    scratch_dir dir("cache", "manifest-bad");
    auto m = six_manifest(wheel_id("six"));
    m.files[0].path = "a\nb";
    auto r = pkg::cache::write_manifest(dir.path, m);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == pkg::errc::corrupt_cache_entry);
    CHECK(r.error().message.find("control character") != std::string::npos);
    CHECK_FALSE(path_exists(dir.path / ".pkg-archive"));

    m = six_manifest(wheel_id("six"));
    m.unpacked_size_bytes = 1;
    CHECK_FALSE(pkg::cache::format_manifest(m));
    m = six_manifest(wheel_id("six"));
    m.name = "seven";
    auto named = pkg::cache::format_manifest(m);
    REQUIRE_FALSE(named);
    CHECK(named.error().message.find("'seven'") != std::string::npos);

    auto missing = pkg::cache::read_manifest(dir.path / "nowhere");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == pkg::errc::corrupt_cache_entry);
    CHECK(missing.error().where == (dir.path / "nowhere" / ".pkg-archive").string());
}

TEST_CASE("cache manifest: a corrupt or foreign manifest makes lookups miss", "[cache]")
{
    scratch_dir dir("cache", "manifest-miss");
    auto c = open_cache(dir.path / "cache");
    const auto id = wheel_id("six");
    const auto archive = publish(c, six_manifest(id));
    const std::string index = "https://pypi.org/simple";
    REQUIRE(c.link_wheel(index, "six", "six-1.16.0-py2.py3-none-any.whl", id));
    REQUIRE(c.lookup_by_hash(id));
    REQUIRE(c.lookup_wheel(index, "six", "six-1.16.0-py2.py3-none-any.whl"));

    const std::string good = read_text(archive / ".pkg-archive");
    write_text(archive / ".pkg-archive", good.substr(0, good.size() / 2));
    CHECK_FALSE(c.lookup_by_hash(id));
    CHECK_FALSE(c.lookup_wheel(index, "six", "six-1.16.0-py2.py3-none-any.whl"));

    // A valid manifest naming other bytes is as bad as a corrupt one.
    REQUIRE(pkg::cache::write_manifest(archive, six_manifest(wheel_id("other"))));
    CHECK_FALSE(c.lookup_by_hash(id));

    stdfs::remove(archive / ".pkg-archive");
    CHECK_FALSE(c.lookup_by_hash(id));
}

// ---- index keys and pointers -----------------------------------------------------------------

TEST_CASE("cache index key: one key per index however it is spelled", "[cache]")
{
    using pkg::cache::canonical_index_url;
    using pkg::cache::index_key;
    CHECK(canonical_index_url("HTTPS://User:p@ss@PyPI.org:443/simple/#frag") ==
          "https://pypi.org/simple");
    CHECK(canonical_index_url("http://h:80/a/b///") == "http://h/a/b");
    CHECK(canonical_index_url("http://h:8080/a") == "http://h:8080/a");
    CHECK(canonical_index_url("https://h/Path/?q=1") == "https://h/Path?q=1");
    CHECK(canonical_index_url("https://h") == "https://h");
    CHECK(canonical_index_url("/srv/index/") == "/srv/index");

    const auto key = index_key("https://pypi.org/simple");
    CHECK(key.size() == 16);
    CHECK(pkg::cache::is_sha256_hex(pkg::cache::sha256_hex("x")));
    CHECK(key == pkg::cache::sha256_hex("https://pypi.org/simple").substr(0, 16));
    CHECK(index_key("https://token@PYPI.org/simple/") == key);
    CHECK(index_key("https://pypi.org/other") != key);
    CHECK(index_key("http://pypi.org/simple") != key);
    CHECK(pkg::cache::sha256_hex("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("cache pointers: relative symlink, atomic replace, lookups", "[cache]")
{
    scratch_dir dir("cache", "pointers");
    auto c = open_cache(dir.path / "cache");
    const std::string index = "https://pypi.org/simple/";
    const std::string file = "six-1.16.0-py2.py3-none-any.whl";
    const auto id1 = wheel_id("six-1");
    const auto id2 = wheel_id("six-2");
    publish(c, six_manifest(id1));
    publish(c, six_manifest(id2));

    CHECK_FALSE(c.lookup_wheel(index, "six", file));  // No pointer yet: a miss.
    REQUIRE(c.link_wheel(index, "Six", file, id1));
    const auto link = c.root() / "wheels-v1" / pkg::cache::index_key(index) / "six" / file;
    auto text = pkg::io::read_pointer(link);
    REQUIRE(text);
    REQUIRE(*text);
    CHECK(**text == stdfs::path("../../../archive-v1") / id1);

    auto found = c.lookup_wheel(index, "SIX", file);
    REQUIRE(found);
    CHECK(found->manifest.sha256 == id1);
    CHECK(stdfs::equivalent(found->dir, c.archive_path(id1)));
    CHECK(c.lookup_wheel("https://PYPI.org/simple", "six", file));  // Same index, other spelling.
    CHECK_FALSE(c.lookup_wheel("https://test.pypi.org/simple", "six", file));
    CHECK_FALSE(c.lookup_wheel(index, "six", "six-1.15.0-py2.py3-none-any.whl"));

    REQUIRE(c.link_wheel(index, "six", file, id2));  // Replaced in place.
    CHECK(pkg::io::read_pointer(link).value().value() == stdfs::path("../../../archive-v1") / id2);
    CHECK(c.lookup_wheel(index, "six", file).value().manifest.sha256 == id2);
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : stdfs::directory_iterator(link.parent_path())) {
        ++entries;
    }
    CHECK(entries == 1);  // No temporary link left beside it.

    // Dangling (archive removed): a miss, not an error.
    stdfs::remove_all(c.archive_path(id2));
    CHECK_FALSE(c.lookup_wheel(index, "six", file));

    // A pointer pkg did not write (absolute, to a valid archive) is not trusted.
    REQUIRE(pkg::io::replace_symlink(link, c.archive_path(id1)));
    CHECK_FALSE(c.lookup_wheel(index, "six", file));

    // Malformed arguments are misses for lookups.
    CHECK_FALSE(c.lookup_wheel(index, "not a name", file));
    CHECK_FALSE(c.lookup_wheel(index, "six", "../six"));
    CHECK_FALSE(c.lookup_wheel(index, "six", ""));
}

TEST_CASE("cache pointers: link_wheel errors", "[cache]")
{
    scratch_dir dir("cache", "pointers-bad");
    auto c = open_cache(dir.path / "cache");
    const std::string index = "https://pypi.org/simple";
    const std::string file = "six-1.16.0-py2.py3-none-any.whl";
    const auto id = wheel_id("six");

    auto r = c.link_wheel(index, "six", file, id);  // Archive not published: no link.
    REQUIRE_FALSE(r);
    CHECK(r.error().code == std::errc::no_such_file_or_directory);
    CHECK(r.error().where == c.archive_path(id).string());
    CHECK(stdfs::is_empty(c.root() / "wheels-v1"));

    publish(c, six_manifest(id));
    r = c.link_wheel(index, "bad name!", file, id);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == pkg::errc::invalid_name);
    r = c.link_wheel(index, "six", "six.tar.gz", id);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == pkg::errc::invalid_wheel_filename);
    CHECK(r.error().message.find("'six.tar.gz'") != std::string::npos);
    r = c.link_wheel(index, "six", file, "1234");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == std::errc::invalid_argument);
}

// ---- prune, clean, size ----------------------------------------------------------------------

TEST_CASE("cache prune: unreferenced archives, dangling pointers, old staging, old buckets", "[gc]")
{
    scratch_dir dir("cache", "prune");
    auto c = open_cache(dir.path / "cache");
    const std::string index = "https://pypi.org/simple";
    const auto key = pkg::cache::index_key(index);
    const auto kept = wheel_id("kept");
    const auto orphan = wheel_id("orphan");
    const auto gone = wheel_id("gone");
    publish(c, manifest_for("kept", kept));
    publish(c, manifest_for("orphan", orphan));
    publish(c, manifest_for("gone", gone));
    REQUIRE(c.link_wheel(index, "kept", "kept-1.0-py3-none-any.whl", kept));
    REQUIRE(c.link_wheel(index, "gone", "gone-1.0-py3-none-any.whl", gone));
    stdfs::remove_all(c.archive_path(gone));  // Its pointer now dangles.
    write_text(c.root() / "wheels-v1" / key / "kept" / "kept-1.0.http",
               "metadata");  // Not a pointer.
    stdfs::create_directory(c.root() / "archive-v1" / "junk");

    const auto now = std::chrono::system_clock::now();
    const auto old_staging = *c.create_staging();
    const auto fresh_staging = *c.create_staging();
    const auto future_staging = *c.create_staging();
    write_text(old_staging / "partial", "x");
    set_mtime(old_staging, now - std::chrono::hours(2));
    set_mtime(future_staging, now + std::chrono::hours(24 * 365));

    stdfs::create_directories(c.root() / "archive-v0" / "abc");
    write_text(c.root() / "archive-v0" / "abc" / "f", "old");
    write_text(c.root() / "stray", "?");
    // A symlink out of the cache is removed itself, never followed.
    stdfs::create_directories(dir.path / "outside");
    write_text(dir.path / "outside" / "precious", "keep");
    stdfs::create_directory_symlink(dir.path / "outside", c.root() / "link-out");
    // Leftovers of removals that died between their rename and their delete.
    const std::string aside = ".six.removing.4711.0123456789abcdef";
    stdfs::create_directories(c.root() / "wheels-v1" / key / aside);
    write_text(c.root() / "wheels-v1" / key / aside / "x", "x");
    stdfs::create_directories(c.root() / "simple-v1" / key);
    write_text(c.root() / "simple-v1" / key / ".six.json.removing.4711.0123456789abcdef", "{}");
    write_text(c.root() / "simple-v1" / key / "six.json", "{}");

    auto report = pkg::cache::prune(c);
    REQUIRE(report);
    const std::set<std::string> expected = {
        "archive-v0",
        "link-out",
        "stray",
        "tmp/" + old_staging.filename().string(),
        "wheels-v1/" + key + "/gone/gone-1.0-py3-none-any.whl",
        "archive-v1/" + orphan,
        "archive-v1/junk",
        "wheels-v1/" + key + "/" + aside,
        "simple-v1/" + key + "/.six.json.removing.4711.0123456789abcdef",
    };
    CHECK(removed_paths(*report) == expected);
    std::uint64_t sum = 0;
    for (const auto& e : report->removed) {
        sum += e.bytes;
        if (e.path == "archive-v1/" + orphan) {
            CHECK(e.kind == pkg::cache_entry_kind::archive);
            CHECK(e.bytes > 0);
        }
        if (e.path == "archive-v0") {
            CHECK(e.kind == pkg::cache_entry_kind::bucket);
        }
        if (e.path.starts_with("tmp/")) {
            CHECK(e.kind == pkg::cache_entry_kind::staging);
        }
        if (e.path.ends_with(".whl")) {
            CHECK(e.kind == pkg::cache_entry_kind::pointer);
        }
        if (e.path.find(".removing.") != std::string::npos) {
            CHECK(e.kind == pkg::cache_entry_kind::other);
        }
    }
    CHECK(report->freed_bytes == sum);
    CHECK(report->freed_bytes > 0);
    CHECK(report->cache_dir == c.root().string());

    CHECK(c.lookup_wheel(index, "kept", "kept-1.0-py3-none-any.whl"));
    CHECK(path_exists(c.root() / "wheels-v1" / key / "kept" / "kept-1.0.http"));
    CHECK(path_exists(c.root() / "simple-v1" / key / "six.json"));
    CHECK(read_text(dir.path / "outside" / "precious") == "keep");
    CHECK_FALSE(path_exists(c.root() / "wheels-v1" / key / "gone"));  // Emptied directory removed.
    CHECK(path_exists(fresh_staging));
    CHECK(path_exists(future_staging));  // A future mtime is not old.
    CHECK_FALSE(path_exists(old_staging));
    CHECK_FALSE(path_exists(c.archive_path(orphan)));
    for (const auto& entry : stdfs::directory_iterator(c.root())) {
        INFO(entry.path());
        CHECK(entry.path().filename().string().find(".removing.") == std::string::npos);
    }

    auto again = pkg::cache::prune(c);
    REQUIRE(again);
    CHECK(again->removed.empty());
    CHECK(again->freed_bytes == 0);
}

TEST_CASE("cache prune: the staging age is measured against the given clock", "[gc]")
{
    scratch_dir dir("cache", "prune-clock");
    auto c = open_cache(dir.path / "cache");
    const auto staging = *c.create_staging();
    const auto now = std::chrono::system_clock::now();
    set_mtime(staging, now);

    pkg::cache::prune_options options;
    options.now = now + std::chrono::minutes(59);
    CHECK(pkg::cache::prune(c, options).value().removed.empty());
    options.now = now - std::chrono::hours(5);  // Clock stepped back: still fresh.
    CHECK(pkg::cache::prune(c, options).value().removed.empty());
    options.now = now + std::chrono::minutes(61);
    CHECK(removed_paths(pkg::cache::prune(c, options).value()) ==
          std::set<std::string>{"tmp/" + staging.filename().string()});
}

TEST_CASE("cache clean: everything except the lock and the tag", "[gc]")
{
    scratch_dir dir("cache", "clean-all");
    const auto root = dir.path / "cache";
    {
        auto c = open_cache(root);
        const auto id = wheel_id("six");
        publish(c, six_manifest(id));
        REQUIRE(
            c.link_wheel("https://pypi.org/simple", "six", "six-1.16.0-py2.py3-none-any.whl", id));
        write_text(root / "stray", "?");
        auto report = pkg::cache::clean(c, {});
        REQUIRE(report);
        CHECK(removed_paths(*report) == std::set<std::string>{"archive-v1", "interpreter-v1",
                                                              "simple-v1", "stray", "tmp",
                                                              "wheels-v1"});
        CHECK(report->freed_bytes > 0);
    }
    std::set<std::string> left;
    for (const auto& entry : stdfs::directory_iterator(root)) {
        left.insert(entry.path().filename().string());
    }
    CHECK(left == std::set<std::string>{".gitignore", ".lock", "CACHEDIR.TAG"});
    auto reopened = open_cache(root);  // Buckets come back on the next open.
    CHECK(stdfs::is_directory(root / "archive-v1"));
}

TEST_CASE("cache clean: by project name, keeping archives others still reference", "[gc]")
{
    scratch_dir dir("cache", "clean-names");
    auto c = open_cache(dir.path / "cache");
    const std::string index_a = "https://a.example/simple";
    const std::string index_b = "https://b.example/simple";
    const auto key_a = pkg::cache::index_key(index_a);
    const auto key_b = pkg::cache::index_key(index_b);
    const auto six = wheel_id("six");
    const auto shared = wheel_id("shared");
    const auto attrs = wheel_id("attrs");
    const auto loose = wheel_id("loose");
    publish(c, six_manifest(six));
    publish(c, manifest_for("shared", shared));
    publish(c, manifest_for("attrs", attrs));
    publish(c, manifest_for("loose", loose));
    REQUIRE(c.link_wheel(index_a, "six", "six-1.16.0-py2.py3-none-any.whl", six));
    REQUIRE(c.link_wheel(index_b, "six", "six-1.16.0-py2.py3-none-any.whl", six));
    REQUIRE(c.link_wheel(index_a, "six", "six-1.0-py3-none-any.whl", shared));
    REQUIRE(c.link_wheel(index_a, "attrs", "attrs-1.0-py3-none-any.whl", attrs));
    REQUIRE(c.link_wheel(index_a, "attrs", "attrs-1.1-py3-none-any.whl", shared));
    stdfs::create_directories(c.root() / "simple-v1" / key_a);
    for (const char* f : {"six.json", "six.etag", "sixteen.json", "attrs.json"}) {
        write_text(c.root() / "simple-v1" / key_a / f, "{}");
    }

    auto bad = pkg::cache::clean(c, std::vector<std::string>{"six", "no good"});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == pkg::errc::invalid_name);
    CHECK(c.lookup_by_hash(six));  // Nothing removed.

    auto report = pkg::cache::clean(c, std::vector<std::string>{"SIX"});
    REQUIRE(report);
    CHECK(removed_paths(*report) == std::set<std::string>{
                                        "wheels-v1/" + key_a + "/six",
                                        "wheels-v1/" + key_b + "/six",
                                        "simple-v1/" + key_a + "/six.etag",
                                        "simple-v1/" + key_a + "/six.json",
                                        "archive-v1/" + six,
                                    });
    CHECK_FALSE(c.has_archive(six));
    CHECK(c.has_archive(shared));  // attrs 1.1 still points at it.
    CHECK(c.has_archive(loose));   // Unreferenced before: only prune removes it.
    CHECK(path_exists(c.root() / "simple-v1" / key_a / "sixteen.json"));
    CHECK(path_exists(c.root() / "simple-v1" / key_a / "attrs.json"));
    CHECK(c.lookup_wheel(index_a, "attrs", "attrs-1.1-py3-none-any.whl"));
    CHECK_FALSE(path_exists(c.root() / "wheels-v1" / key_b));  // Emptied index directory removed.

    auto none = pkg::cache::clean(c, std::vector<std::string>{"six"});
    REQUIRE(none);
    CHECK(none->removed.empty());
}

TEST_CASE("cache size: allocated and apparent bytes, hardlinks once", "[gc]")
{
    scratch_dir dir("cache", "size");
    auto missing = pkg::cache::measure_size(dir.path / "missing");
    REQUIRE(missing);
    CHECK(missing->allocated_bytes == 0);
    CHECK(missing->files == 0);

    auto c = open_cache(dir.path / "cache");
    auto before = pkg::cache::measure_size(c.root());
    REQUIRE(before);
    CHECK(before->files == 3);  // CACHEDIR.TAG, .gitignore, .lock
    write_text(c.root() / "tmp" / "data", std::string(10000, 'x'));
    auto after = pkg::cache::measure_size(c.root());
    REQUIRE(after);
    CHECK(after->files == before->files + 1);
    CHECK(after->apparent_bytes == before->apparent_bytes + 10000);
    CHECK(after->allocated_bytes > before->allocated_bytes);

    stdfs::create_hard_link(c.root() / "tmp" / "data", c.root() / "tmp" / "data-link");
    auto linked = pkg::cache::measure_size(c.root());
    REQUIRE(linked);
    CHECK(linked->files == after->files);
    CHECK(linked->apparent_bytes == after->apparent_bytes);

    pkg::cache_options options;
    options.cache_dir = c.root().string();
    auto api = pkg::cache_size(options);
    REQUIRE(api);
    CHECK(api->apparent_bytes == linked->apparent_bytes);
    CHECK(api->cache_dir == c.root().string());
}

TEST_CASE("cache size: human-readable bytes", "[gc]")
{
    CHECK(pkg::format_bytes(0) == "0 B");
    CHECK(pkg::format_bytes(1023) == "1023 B");
    CHECK(pkg::format_bytes(1024) == "1.0 KiB");
    CHECK(pkg::format_bytes(1536) == "1.5 KiB");
    CHECK(pkg::format_bytes(1258291) == "1.2 MiB");
    CHECK(pkg::format_bytes(1048575) == "1.0 MiB");  // Not "1024.0 KiB".
    CHECK(pkg::format_bytes(3ULL << 30) == "3.0 GiB");
    CHECK(pkg::format_bytes(~0ULL) == "16.0 EiB");
}

// ---- public API: refusing non-caches, missing caches -----------------------------------------

TEST_CASE("cache API: clean and prune refuse a directory that is not a pkg cache", "[gc]")
{
    scratch_dir dir("cache", "not-a-cache");
    write_text(dir.path / "precious", "keep me");
    pkg::cache_options options;
    options.cache_dir = dir.path.string();
    options.lock_timeout = std::chrono::milliseconds(0);
    auto clean = pkg::cache_clean(options, {}, false);
    REQUIRE_FALSE(clean);
    CHECK(clean.error().code == pkg::errc::not_a_cache);
    CHECK(clean.error().where == dir.path.string());
    auto prune = pkg::cache_prune(options, true);
    REQUIRE_FALSE(prune);
    CHECK(prune.error().code == pkg::errc::not_a_cache);
    CHECK(read_text(dir.path / "precious") == "keep me");
    CHECK_FALSE(path_exists(dir.path / "CACHEDIR.TAG"));

    // A missing cache: nothing to do, nothing created.
    options.cache_dir = (dir.path / "absent").string();
    auto empty = pkg::cache_prune(options, false);
    REQUIRE(empty);
    CHECK(empty->removed.empty());
    CHECK_FALSE(path_exists(dir.path / "absent"));

    // Bad names fail before anything else.
    auto bad = pkg::cache_clean(options, std::vector<std::string>{"-bad-"}, false);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == pkg::errc::invalid_name);
    CHECK(bad.error().message.find("'-bad-'") != std::string::npos);
}

// ---- locks -----------------------------------------------------------------------------------

TEST_CASE("cache lock: exclusive waits for a shared holder in another process", "[cache]")
{
    scratch_dir dir("cache", "lock-shared");
    auto c = open_cache(dir.path / "cache");
    const auto ready = dir.path / "ready";
    const auto release = dir.path / "release";
    auto holder = spawn_merged(
        {worker, "lock-hold", c.lock_path().string(), "shared", ready.string(), release.string()},
        dir.path / "holder.log");
    REQUIRE(wait_for_file(ready));

    // Busy and no time to wait: an error naming the cache and who holds it.
    int told = 0;
    auto busy = c.lock_exclusive(std::chrono::milliseconds(0), false, "test",
                                 [&](const std::optional<pkg::io::lock_owner>& owner) {
                                     ++told;
                                     CHECK_FALSE(owner);  // Shared holders leave no sidecar.
                                 });
    REQUIRE_FALSE(busy);
    CHECK(busy.error().code == pkg::errc::cache_locked);
    CHECK(busy.error().message.find(c.root().string()) != std::string::npos);
    CHECK(busy.error().message.find("running pkg installs") != std::string::npos);
    CHECK(busy.error().hint.find("--force") != std::string::npos);
    CHECK(told == 1);  // Told even with no time to wait.

    // Shared takers are not blocked by a shared holder.
    auto shared = c.lock_shared(std::chrono::milliseconds(0));
    REQUIRE(shared);
    REQUIRE(shared->release());

    // --force: no lock, no wait.
    auto forced = c.lock_exclusive(std::chrono::milliseconds(0), true, "test");
    REQUIRE(forced);
    CHECK_FALSE(forced->has_value());

    // Waiting: told once, then the holder lets go (we tell it to from the callback) and we get it.
    told = 0;
    auto waited = c.lock_exclusive(std::chrono::seconds(60), false, "pkg cache prune",
                                   [&](const std::optional<pkg::io::lock_owner>& owner) {
                                       ++told;
                                       CHECK_FALSE(owner);
                                       write_text(release, "go");
                                   });
    REQUIRE(waited);
    REQUIRE(waited->has_value());
    CHECK(told == 1);
    CHECK(wait_exit(holder) == 0);

    // While we hold it exclusively, another process cannot take it shared.
    auto probe =
        spawn_merged({worker, "lock-try", c.lock_path().string(), "shared"}, dir.path / "try.log");
    CHECK(wait_exit(probe) == 3);
    REQUIRE((*waited)->release());
    auto probe2 =
        spawn_merged({worker, "lock-try", c.lock_path().string(), "shared"}, dir.path / "try2.log");
    CHECK(wait_exit(probe2) == 0);
}

TEST_CASE("cache lock: waiters learn the exclusive holder's pid and description", "[cache]")
{
    scratch_dir dir("cache", "lock-owner");
    auto c = open_cache(dir.path / "cache");
    const auto ready = dir.path / "ready";
    const auto release = dir.path / "release";
    auto holder = spawn_merged({worker, "lock-hold", c.lock_path().string(), "exclusive",
                                ready.string(), release.string(), "pkg cache prune"},
                               dir.path / "holder.log");
    REQUIRE(wait_for_file(ready));

    std::optional<pkg::io::lock_owner> seen;
    auto shared =
        c.lock_shared(std::chrono::milliseconds(0),
                      [&](const std::optional<pkg::io::lock_owner>& owner) { seen = owner; });
    REQUIRE_FALSE(shared);
    CHECK(shared.error().code == pkg::errc::cache_locked);
    REQUIRE(seen);
    CHECK(seen->pid == holder.pid);
    CHECK(seen->description == "pkg cache prune");
    CHECK(shared.error().message.find("pid " + std::to_string(holder.pid) + " (pkg cache prune)") !=
          std::string::npos);

    // The public API reports the holder through its own callback type.
    pkg::cache_options options;
    options.cache_dir = c.root().string();
    options.lock_timeout = std::chrono::milliseconds(0);
    std::optional<pkg::cache_lock_holder> api_seen;
    auto pruned = pkg::cache_prune(
        options, false, [&](const std::optional<pkg::cache_lock_holder>& h) { api_seen = h; });
    REQUIRE_FALSE(pruned);
    CHECK(pruned.error().code == pkg::errc::cache_locked);
    REQUIRE(api_seen);
    CHECK(api_seen->pid == holder.pid);
    auto forced = pkg::cache_prune(options, true);  // --force ignores the holder.
    REQUIRE(forced);

    write_text(release, "go");
    CHECK(wait_exit(holder) == 0);
    auto free_now = pkg::cache_prune(options, false);
    REQUIRE(free_now);
}

// ---- --no-cache ------------------------------------------------------------------------------

TEST_CASE("cache temporary: created beside the target, removed on destruction", "[cache]")
{
    scratch_dir dir("cache", "temporary");
    stdfs::path root;
    {
        auto c = cache::open_temporary(dir.path);
        REQUIRE(c);
        CHECK(c->is_temporary());
        root = c->root();
        CHECK(root.parent_path() == dir.path);
        CHECK(root.filename().string().starts_with(".pkg-cache-"));
        CHECK(pkg::cache::has_cachedir_tag(root));
        publish(*c, six_manifest(wheel_id("six")));

        cache moved = std::move(*c);  // Ownership moves; the moved-from object removes nothing.
        CHECK(moved.is_temporary());
        CHECK_FALSE(c->is_temporary());
    }
    CHECK_FALSE(path_exists(root));
    CHECK(stdfs::is_empty(dir.path));

    auto missing = cache::open_temporary(dir.path / "absent");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == std::errc::no_such_file_or_directory);
    CHECK(missing.error().to_string().find((dir.path / "absent").string()) != std::string::npos);
}

TEST_CASE("cache manifest: the fuzzer's seeds are what they claim", "[cache]")
{
    const stdfs::path corpus =
        stdfs::path(PKG_TEST_SOURCE_DIR) / "fuzz" / "corpus" / "cache_manifest";
    for (const char* valid : {"six", "empty_build_tag"}) {
        INFO(valid);
        const auto text = read_text(corpus / valid);
        auto parsed = pkg::cache::parse_manifest(text);
        REQUIRE(parsed);
        CHECK(pkg::cache::format_manifest(*parsed).value() == text);
    }
    CHECK_FALSE(pkg::cache::parse_manifest(read_text(corpus / "truncated")));
}
