// Interpreter discovery, the query of a real interpreter, and the "recorded, not newer" cache.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <pkg/engine/errc.hpp>

#include "pep508/marker.hpp"
#include "python/interpreter.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "wheel/tags.hpp"

namespace fs = std::filesystem;
using namespace pkg::python;
using pkg::test::test_python;

namespace {

fs::path fresh_dir(const std::string& name) { return pkg::test::fresh_dir("interp-tests", name); }

void write_file(const fs::path& path, const std::string& text, fs::perms perms = fs::perms::owner_read | fs::perms::owner_write)
{
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    fs::permissions(path, perms);
}

constexpr auto executable_perms = fs::perms::owner_all;

void make_executable(const fs::path& path) { write_file(path, "#!/bin/sh\nexit 0\n", executable_perms); }

std::string read_file(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

getenv_function env_of(std::map<std::string, std::string> values)
{
    return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
        const auto it = values.find(std::string(name));
        if (it == values.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

// Shifts a file's mtime by `delta_ns` nanoseconds (negative: into the past).
void shift_mtime(const fs::path& path, long long delta_ns)
{
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    long long total = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec + delta_ns;
    timespec times[2];
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_sec = static_cast<time_t>(total / 1000000000LL);
    times[1].tv_nsec = static_cast<long>(total % 1000000000LL);
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

// A native (ELF) stand-in for `python` at `path` that the test owns: a copy of the trampoline
// helper, which runs `python` (only native executables are cached).
void make_native_python(const fs::path& path, const fs::path& python)
{
    fs::create_directories(path.parent_path());
    fs::copy_file(PKG_TEST_HELPER_python_trampoline, path);
    write_file(fs::path(path.string() + ".target"), python.string() + "\n");
}

// A runner that counts spawns and hands them to the real one.
struct counting_runner {
    std::shared_ptr<int> spawns = std::make_shared<int>(0);
    process_runner runner() const
    {
        auto count = spawns;
        return [count](const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
            ++*count;
            return run_captured(argv, run_options{timeout, 1u << 20});
        };
    }
};

// A runner that answers without running anything.
process_runner canned(process_output output)
{
    return [output](const std::vector<std::string>&, std::chrono::milliseconds) {
        return pkg::result<process_output>(output);
    };
}

// A well-formed answer of the query script (a CPython 3.11 on glibc x86_64).
const std::string sample_answer = R"({"version": {"major": 3, "minor": 11, "micro": 7, "releaselevel": "final", "serial": 0},
 "implementation": {"name": "cpython", "version": "3.11.7"},
 "executable": "/opt/py/bin/python3.11", "base_executable": "/opt/py/bin/python3.11",
 "prefix": "/opt/py", "base_prefix": "/opt/py",
 "markers": {"implementation_name": "cpython", "implementation_version": "3.11.7", "os_name": "posix",
   "platform_machine": "x86_64", "platform_python_implementation": "CPython", "platform_release": "6.1.0",
   "platform_system": "Linux", "platform_version": "#1 SMP", "python_full_version": "3.11.7",
   "python_version": "3.11", "sys_platform": "linux"},
 "scheme": {"purelib": "/opt/py/lib/python3.11/site-packages", "platlib": "/opt/py/lib/python3.11/site-packages",
   "scripts": "/opt/py/bin", "data": "/opt/py", "include": "/opt/py/include/python3.11"},
 "scheme_name": "posix_prefix",
 "venv_layout": {"purelib": "lib/python3.11/site-packages", "platlib": "lib/python3.11/site-packages",
   "scripts": "bin", "data": ".", "include": "include/python3.11"},
 "venv_scheme": {"purelib": "/pkg-venv-root/lib/python3.11/site-packages",
   "platlib": "/pkg-venv-root/lib/python3.11/site-packages", "scripts": "/pkg-venv-root/bin",
   "data": "/pkg-venv-root", "include": "/opt/py/include/python3.11"},
 "venv_scheme_name": "venv", "venv_anchor": "/pkg-venv-root",
 "libc": {"name": "glibc", "version": "2.36"}, "elf_interpreter": "/lib64/ld-linux-x86-64.so.2",
 "machine": "x86_64", "abiflags": "", "soabi": "cpython-311-x86_64-linux-gnu", "gil_disabled": false,
 "pointer_bits": 64, "sys_platform": "linux"})";

std::string replaced(std::string text, const std::string& from, const std::string& to)
{
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("interpreter: explicit --python as a path, a name or a version", "[interpreter]")
{
    const auto dir = fresh_dir("explicit");
    make_executable(dir / "bin1" / "python3");
    make_executable(dir / "bin2" / "python3.11");
    make_executable(dir / "bin2" / "pypy3");
    write_file(dir / "bin1" / "python3.11", "not executable\n");  // skipped: no x bit
    const auto env = env_of({{"PATH", (dir / "bin1").string() + ":" + (dir / "bin2").string()}});

    auto by_path = find_interpreter(std::string("bin1/python3"), {env, dir});
    REQUIRE(by_path);
    CHECK(by_path->executable == dir / "bin1" / "python3");
    CHECK(by_path->source == interpreter_source::explicit_path);

    for (const std::string request : {"3.11", "python3.11"}) {
        INFO(request);
        auto found = find_interpreter(request, {env, dir});
        REQUIRE(found);
        CHECK(found->executable == dir / "bin2" / "python3.11");
        CHECK(found->source == interpreter_source::explicit_name);
    }
    auto three = find_interpreter(std::string("3"), {env, dir});
    REQUIRE(three);
    CHECK(three->executable == dir / "bin1" / "python3");
    auto pypy = find_interpreter(std::string("pypy3"), {env, dir});
    REQUIRE(pypy);
    CHECK(pypy->executable == dir / "bin2" / "pypy3");

    auto missing = find_interpreter(std::string("3.99"), {env, dir});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == pkg::errc::interpreter_not_found);
    CHECK(contains(missing.error().message, "python3.99"));
    CHECK(contains(missing.error().where, (dir / "bin1").string()));

    auto bad_path = find_interpreter(std::string("./nope/python"), {env, dir});
    REQUIRE_FALSE(bad_path);
    CHECK(bad_path.error().code == pkg::errc::interpreter_not_found);
    CHECK(contains(bad_path.error().message, (dir / "nope" / "python").string()));

    auto empty = find_interpreter(std::string(), {env, dir});
    REQUIRE_FALSE(empty);
    CHECK(contains(empty.error().message, "empty"));
}

TEST_CASE("interpreter: discovery order is VIRTUAL_ENV, .venv up the tree, python3 on PATH", "[interpreter]")
{
    const auto dir = fresh_dir("order");
    make_executable(dir / "path" / "python3");
    make_executable(dir / "active" / "bin" / "python");
    make_executable(dir / "proj" / ".venv" / "bin" / "python");
    write_file(dir / "proj" / ".venv" / "pyvenv.cfg", "home = /usr/bin\n");
    fs::create_directories(dir / "proj" / "sub" / "deeper");
    // A .venv without pyvenv.cfg is not an environment: the walk continues past it.
    make_executable(dir / "proj" / "sub" / ".venv" / "bin" / "python");
    const std::string path = (dir / "path").string();

    SECTION("VIRTUAL_ENV wins over .venv")
    {
        auto found = find_interpreter(std::nullopt, {env_of({{"PATH", path}, {"VIRTUAL_ENV", (dir / "active").string()}}), dir / "proj"});
        REQUIRE(found);
        CHECK(found->executable == dir / "active" / "bin" / "python");
        CHECK(found->source == interpreter_source::virtual_env);
    }
    SECTION("an explicit request wins over VIRTUAL_ENV")
    {
        auto found = find_interpreter(std::string("python3"), {env_of({{"PATH", path}, {"VIRTUAL_ENV", (dir / "active").string()}}), dir / "proj"});
        REQUIRE(found);
        CHECK(found->executable == dir / "path" / "python3");
    }
    SECTION(".venv is found from a subdirectory")
    {
        auto found = find_interpreter(std::nullopt, {env_of({{"PATH", path}}), dir / "proj" / "sub" / "deeper"});
        REQUIRE(found);
        CHECK(found->executable == dir / "proj" / ".venv" / "bin" / "python");
        CHECK(found->source == interpreter_source::dot_venv);
    }
    SECTION("python3 on PATH when there is no environment")
    {
        auto found = find_interpreter(std::nullopt, {env_of({{"PATH", "/nonexistent-dir:" + path}}), dir});
        REQUIRE(found);
        CHECK(found->executable == dir / "path" / "python3");
        CHECK(found->source == interpreter_source::search_path);
    }
    SECTION("an empty PATH entry means the current directory")
    {
        auto found = find_interpreter(std::nullopt, {env_of({{"PATH", "/nonexistent-dir::"}}), dir / "path"});
        REQUIRE(found);
        CHECK(found->executable == dir / "path" / "python3");
    }
    SECTION("environments are skipped when not allowed (pkg venv)")
    {
        discovery_options options;
        options.is_environment_allowed = false;
        auto found = find_interpreter(std::nullopt, {env_of({{"PATH", path}, {"VIRTUAL_ENV", (dir / "active").string()}}), dir / "proj"}, options);
        REQUIRE(found);
        CHECK(found->executable == dir / "path" / "python3");
    }
    SECTION("a VIRTUAL_ENV without bin/python is an error naming it")
    {
        auto found = find_interpreter(std::nullopt, {env_of({{"PATH", path}, {"VIRTUAL_ENV", (dir / "proj" / "sub").string()}}), dir});
        REQUIRE_FALSE(found);
        CHECK(found.error().code == pkg::errc::interpreter_not_found);
        CHECK(contains(found.error().message, "VIRTUAL_ENV"));
        CHECK(contains(found.error().where, (dir / "proj" / "sub" / "bin" / "python").string()));
    }
    SECTION("a .venv with pyvenv.cfg but no python is an error")
    {
        write_file(dir / "broken" / ".venv" / "pyvenv.cfg", "home = /usr/bin\n");
        auto found = find_interpreter(std::nullopt, {env_of({{"PATH", path}}), dir / "broken"});
        REQUIRE_FALSE(found);
        CHECK(found.error().code == pkg::errc::interpreter_not_found);
        CHECK(contains(found.error().where, "broken/.venv/bin/python"));
    }
    SECTION("nothing anywhere")
    {
        auto found = find_interpreter(std::nullopt, {env_of({{"PATH", "/nonexistent-dir"}}), dir});
        REQUIRE_FALSE(found);
        CHECK(found.error().code == pkg::errc::interpreter_not_found);
        CHECK(contains(found.error().message, "no python3 on PATH"));
        CHECK(contains(found.error().where, "PATH=/nonexistent-dir"));
    }
}

TEST_CASE("interpreter: facts parse and describe the interpreter", "[interpreter]")
{
    auto facts = parse_facts(sample_answer, "sample");
    REQUIRE(facts);
    CHECK(facts->version.to_string() == "3.11.7");
    CHECK(facts->implementation_name == "cpython");
    CHECK(facts->markers.python_version == "3.11");
    CHECK(facts->markers.sys_platform == "linux");
    CHECK(facts->scheme.purelib == "/opt/py/lib/python3.11/site-packages");
    CHECK(facts->venv_layout.include == "include/python3.11");
    CHECK(facts->glibc == std::pair<unsigned, unsigned>{2, 36});
    CHECK_FALSE(facts->musl);
    CHECK_FALSE(facts->is_virtual_environment());

    const auto d = facts->tag_description();
    CHECK(d.implementation == "cp");
    CHECK(d.abi == "cp311");
    CHECK(d.arch == "x86_64");
    CHECK(d.os == "linux");
    const auto tags = pkg::wheel::tag_list::for_interpreter(d);
    CHECK(tags.priority(*pkg::wheel::tag::parse("cp311-cp311-manylinux_2_36_x86_64")));
    CHECK_FALSE(tags.priority(*pkg::wheel::tag::parse("cp311-cp311-manylinux_2_37_x86_64")));

    SECTION("32-bit interpreter on a 64-bit kernel, free-threaded, pypy, musl")
    {
        auto f = *facts;
        f.pointer_bits = 32;
        CHECK(f.tag_description().arch == "i686");
        f.machine = "aarch64";
        CHECK(f.tag_description().arch == "armv8l");
        f = *facts;
        f.version.minor = 13;
        f.abiflags = "t";
        CHECK(f.tag_description().abi == "cp313t");
        f = *facts;
        f.implementation_name = "pypy";
        f.soabi = "pypy310-pp73-x86_64-linux-gnu";
        CHECK(f.tag_description().implementation == "pp");
        CHECK(f.tag_description().abi == "pypy310_pp73");
        f.soabi = "graalpy240-310-native-x86_64-linux";
        CHECK(f.tag_description().abi == "graalpy240_310_native");
        auto musl = parse_facts(replaced(sample_answer, R"({"name": "glibc", "version": "2.36"})",
                                         R"({"name": "musl", "version": "1.2"})"),
                                "sample");
        REQUIRE(musl);
        CHECK(musl->musl == std::pair<unsigned, unsigned>{1, 2});
        CHECK_FALSE(musl->glibc);
        CHECK(parse_facts(replaced(sample_answer, R"({"name": "glibc", "version": "2.36"})", "null"), "s")->glibc == std::nullopt);
    }
    SECTION("pre-release versions print in PEP 440 spelling")
    {
        python_version v{3, 13, 0, "candidate", 2};
        CHECK(v.to_string() == "3.13.0rc2");
        v.releaselevel = "alpha";
        CHECK(v.to_string() == "3.13.0a2");
        v.releaselevel = "beta";
        CHECK(v.to_string() == "3.13.0b2");
    }
}

TEST_CASE("interpreter: malformed answers are errors naming the key", "[interpreter]")
{
    const auto check = [](const std::string& answer, const std::string& expected) {
        INFO(answer.substr(0, 80));
        auto facts = parse_facts(answer, "/some/python");
        REQUIRE_FALSE(facts);
        CHECK(facts.error().code == pkg::errc::interpreter_query_failed);
        CHECK(facts.error().where == "/some/python");
        CHECK_THAT(facts.error().message, Catch::Contains(expected));
    };
    check("Traceback (most recent call last):", "not JSON");
    check("[1, 2]", "not a JSON object");
    check(replaced(sample_answer, R"("markers")", R"("markerz")"), R"(key "markers" is missing)");
    check(replaced(sample_answer, R"("pointer_bits": 64)", R"("pointer_bits": "64")"), R"(key "pointer_bits" is not a non-negative integer)");
    check(replaced(sample_answer, R"("pointer_bits": 64)", R"("pointer_bits": 16)"), "pointer_bits is 16");
    check(replaced(sample_answer, R"("major": 3)", R"("major": -3)"), R"(key "version.major")");
    check(replaced(sample_answer, R"("python_version": "3.11")", R"("python_version": 3.11)"), R"(key "markers.python_version" is not a string)");
    check(replaced(sample_answer, R"("scripts": "bin")", R"("scripts": "../../bin")"), "leaves the environment");
    check(replaced(sample_answer, R"("scripts": "bin")", R"("scripts": "/usr/bin")"), "is absolute");
    check(replaced(sample_answer, R"("version": "2.36")", R"("version": "2")"), "not MAJOR.MINOR");
    // Found by fuzz_interpreter_facts: an absurd libc version made millions of platform tags.
    check(replaced(sample_answer, R"("version": "2.36")", R"("version": "2.999999")"),
          "implausible");
    check(replaced(sample_answer, R"("version": "2.36")", R"("version": "10.1")"), "implausible");
    check(replaced(sample_answer, R"("name": "glibc")", R"("name": "bionic")"), "unknown libc");
    check(replaced(sample_answer, R"("venv_anchor": "/pkg-venv-root")", R"("venv_anchor": "root")"),
          "not an absolute path");
    check(replaced(sample_answer, R"("venv_scheme_name": "venv")", R"("venv_scheme_name": null)"),
          R"(key "venv_scheme_name" is not a string)");

    auto old = parse_facts(R"({"error": "Python 2.7.18 is too old: pkg needs 3.7 or newer"})", "/usr/bin/python2");
    REQUIRE_FALSE(old);
    CHECK(old.error().code == pkg::errc::unsupported);
    CHECK(contains(old.error().message, "2.7.18 is too old"));
}

TEST_CASE("interpreter: the facts of a real interpreter", "[interpreter]")
{
    const auto python = test_python();
    if (python.empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    auto info = query_interpreter(python);
    REQUIRE(info);
    CHECK_FALSE(info->is_from_cache);
    const auto& f = info->facts;

    const auto expected = pkg::test::run_process(
        {python.string(), "-c",
         "import sys, platform, sysconfig; print('%d.%d.%d' % sys.version_info[:3]); "
         "print(sys.prefix); print(platform.machine()); print(sysconfig.get_config_var('SOABI'))"});
    REQUIRE(expected.exit_code == 0);
    std::istringstream lines(expected.out);
    std::string version, prefix, machine, soabi;
    std::getline(lines, version);
    std::getline(lines, prefix);
    std::getline(lines, machine);
    std::getline(lines, soabi);
    CHECK(f.version.to_string() == version);
    CHECK(f.markers.python_full_version == version);
    CHECK(f.markers.python_version == std::to_string(f.version.major) + "." + std::to_string(f.version.minor));
    CHECK(f.prefix == prefix);
    CHECK(f.machine == machine);
    CHECK(f.soabi == soabi);
    CHECK(f.markers.platform_machine == machine);
    CHECK(f.implementation_name == "cpython");
    CHECK(f.markers.os_name == "posix");
    CHECK(f.sys_platform == "linux");
    CHECK(f.pointer_bits == 8 * sizeof(void*));
    CHECK(f.glibc.has_value());  // Debian and pyenv builds here run on glibc
    CHECK(f.elf_interpreter.find("ld-linux") != std::string::npos);
    CHECK_FALSE(f.is_virtual_environment());
    CHECK_FALSE(f.venv_scheme_name.empty());
    CHECK(f.venv_scheme.scripts == f.venv_anchor / "bin");
    CHECK(f.venv_layout.scripts == "bin");
    CHECK(f.venv_layout.purelib == fs::path("lib") / ("python" + f.markers.python_version) / "site-packages");
    CHECK(info->resolved == fs::canonical(python));

    auto marker = pkg::pep508::marker::parse("python_version >= \"3\" and os_name == \"posix\" and sys_platform == \"linux\"");
    REQUIRE(marker);
    CHECK(marker->evaluate(f.markers));

    const auto tags = pkg::wheel::tag_list::for_interpreter(f.tag_description());
    const std::string cp = "cp" + std::to_string(f.version.major) + std::to_string(f.version.minor);
    const auto own = pkg::wheel::tag::parse(cp + "-" + cp + "-linux_" + machine);
    REQUIRE(own);
    CHECK(tags.priority(*own).has_value());
    CHECK(tags.priority(*pkg::wheel::tag::parse("py3-none-any")).has_value());
}

TEST_CASE("interpreter: the cache is used only while the recorded stat is equal", "[interpreter]")
{
    const auto python = test_python();
    if (python.empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    const auto dir = fresh_dir("cache");
    // A stand-in we own, so its mtime can be moved; it runs the real interpreter.
    const fs::path wrapper = dir / "bin" / "python";
    make_native_python(wrapper, python);
    const fs::path bucket = dir / "cache" / "interpreter-v1";
    counting_runner counter;
    query_options options;
    options.cache_bucket = bucket;
    options.runner = counter.runner();
    const fs::path entry = bucket / cache_file_name(wrapper);

    auto first = query_interpreter(wrapper, options);
    REQUIRE(first);
    CHECK_FALSE(first->is_from_cache);
    CHECK(*counter.spawns == 1);
    REQUIRE(fs::is_regular_file(entry));
    CHECK(contains(read_file(entry), "\"path\":\"" + wrapper.string() + "\""));

    auto second = query_interpreter(wrapper, options);
    REQUIRE(second);
    CHECK(second->is_from_cache);
    CHECK(*counter.spawns == 1);  // equal stat: no process
    CHECK(second->facts.version.to_string() == first->facts.version.to_string());
    CHECK(second->facts.markers.platform_version == first->facts.markers.platform_version);
    CHECK(second->facts.scheme.purelib == first->facts.scheme.purelib);
    CHECK(second->facts.glibc == first->facts.glibc);

    SECTION("mtime moved into the past")
    {
        shift_mtime(wrapper, -86400LL * 1000000000LL);
        REQUIRE(query_interpreter(wrapper, options));
        CHECK(*counter.spawns == 2);
        auto again = query_interpreter(wrapper, options);
        REQUIRE(again);
        CHECK(again->is_from_cache);
        CHECK(*counter.spawns == 2);
    }
    SECTION("mtime moved into the future")
    {
        shift_mtime(wrapper, 86400LL * 1000000000LL);
        REQUIRE(query_interpreter(wrapper, options));
        CHECK(*counter.spawns == 2);
    }
    SECTION("mtime moved by one nanosecond")
    {
        shift_mtime(wrapper, 1);
        REQUIRE(query_interpreter(wrapper, options));
        CHECK(*counter.spawns == 2);
    }
    SECTION("the file is replaced by another one (new inode, same mtime)")
    {
        struct stat st {};
        REQUIRE(::stat(wrapper.c_str(), &st) == 0);
        const fs::path next = dir / "bin" / "python.next";
        fs::copy_file(wrapper, next);
        fs::permissions(next, executable_perms);
        timespec times[2] = {st.st_atim, st.st_mtim};
        REQUIRE(::utimensat(AT_FDCWD, next.c_str(), times, 0) == 0);
        fs::rename(next, wrapper);
        REQUIRE(query_interpreter(wrapper, options));
        CHECK(*counter.spawns == 2);
    }
    SECTION("a pyvenv.cfg appears beside bin/")
    {
        write_file(dir / "pyvenv.cfg", "home = /usr/bin\n");
        REQUIRE(query_interpreter(wrapper, options));
        CHECK(*counter.spawns == 2);
        REQUIRE(query_interpreter(wrapper, options));
        CHECK(*counter.spawns == 2);
        shift_mtime(dir / "pyvenv.cfg", -1000000000LL);
        REQUIRE(query_interpreter(wrapper, options));
        CHECK(*counter.spawns == 3);
    }
    SECTION("a corrupt entry is discarded, re-queried and rewritten")
    {
        for (const std::string& garbage : {std::string("{not json"), std::string(),
                                          read_file(entry).substr(0, 100),
                                          replaced(read_file(entry), "\"format\":2", "\"format\":99"),
                                          replaced(read_file(entry), "\"facts\":{", "\"facts\":{\"x\":1,\"version\":7,")}) {
            INFO(garbage.substr(0, 60));
            const int before = *counter.spawns;
            write_file(entry, garbage);
            auto answer = query_interpreter(wrapper, options);
            REQUIRE(answer);
            CHECK_FALSE(answer->is_from_cache);
            CHECK(*counter.spawns == before + 1);
            auto cached = query_interpreter(wrapper, options);
            REQUIRE(cached);
            CHECK(cached->is_from_cache);
            CHECK(*counter.spawns == before + 1);
        }
    }
    SECTION("an entry recorded for another path is a miss")
    {
        const fs::path other = dir / "bin" / "python-other";
        fs::create_symlink(wrapper.filename(), other);
        fs::copy_file(entry, bucket / cache_file_name(other));
        auto answer = query_interpreter(other, options);
        REQUIRE(answer);
        CHECK_FALSE(answer->is_from_cache);
        CHECK(*counter.spawns == 2);
    }
}

// Every fact, field by field, so a derived answer that differs from the real one says where.
void check_same_facts(const interpreter_facts& got, const interpreter_facts& want)
{
    CHECK(got.version.to_string() == want.version.to_string());
    CHECK(got.implementation_name == want.implementation_name);
    CHECK(got.implementation_version == want.implementation_version);
    CHECK(got.executable == want.executable);
    CHECK(got.base_executable == want.base_executable);
    CHECK(got.prefix == want.prefix);
    CHECK(got.base_prefix == want.base_prefix);
    const auto& gm = got.markers;
    const auto& wm = want.markers;
    CHECK(gm.implementation_name == wm.implementation_name);
    CHECK(gm.implementation_version == wm.implementation_version);
    CHECK(gm.os_name == wm.os_name);
    CHECK(gm.platform_machine == wm.platform_machine);
    CHECK(gm.platform_python_implementation == wm.platform_python_implementation);
    CHECK(gm.platform_release == wm.platform_release);
    CHECK(gm.platform_system == wm.platform_system);
    CHECK(gm.platform_version == wm.platform_version);
    CHECK(gm.python_full_version == wm.python_full_version);
    CHECK(gm.python_version == wm.python_version);
    CHECK(gm.sys_platform == wm.sys_platform);
    for (const auto& [g, w] : {std::pair{got.scheme, want.scheme},
                               std::pair{got.venv_layout, want.venv_layout},
                               std::pair{got.venv_scheme, want.venv_scheme}}) {
        CHECK(g.purelib == w.purelib);
        CHECK(g.platlib == w.platlib);
        CHECK(g.scripts == w.scripts);
        CHECK(g.data == w.data);
        CHECK(g.include == w.include);
    }
    CHECK(got.scheme_name == want.scheme_name);
    CHECK(got.venv_scheme_name == want.venv_scheme_name);
    CHECK(got.venv_anchor == want.venv_anchor);
    CHECK(got.glibc == want.glibc);
    CHECK(got.musl == want.musl);
    CHECK(got.elf_interpreter == want.elf_interpreter);
    CHECK(got.machine == want.machine);
    CHECK(got.abiflags == want.abiflags);
    CHECK(got.soabi == want.soabi);
    CHECK(got.is_gil_disabled == want.is_gil_disabled);
    CHECK(got.pointer_bits == want.pointer_bits);
    CHECK(got.sys_platform == want.sys_platform);
    CHECK(got.is_virtual_environment() == want.is_virtual_environment());
}

TEST_CASE("interpreter: a fresh venv is known from its base interpreter without starting it", "[interpreter]")
{
    std::vector<fs::path> pythons;
    for (const fs::path& p : {test_python(), fs::path("/usr/bin/python3")}) {
        std::error_code ec;
        if (!p.empty() && fs::exists(p, ec) &&
            std::none_of(pythons.begin(), pythons.end(),
                         [&](const fs::path& q) { return fs::equivalent(p, q, ec); })) {
            pythons.push_back(p);
        }
    }
    if (pythons.empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    for (const auto& python : pythons) {
        INFO("base " << python);
        const auto dir = fresh_dir("venv-from-base-" + std::to_string(&python - pythons.data()));
        const auto make_venv = [&](const std::string& name, std::vector<std::string> extra = {}) {
            std::vector<std::string> argv{python.string(), "-m", "venv", "--without-pip"};
            argv.insert(argv.end(), extra.begin(), extra.end());
            argv.push_back((dir / name).string());
            const auto made = pkg::test::run_process(argv);
            REQUIRE(made.exit_code == 0);
            return dir / name / "bin" / "python";
        };
        counting_runner counter;
        query_options options;
        options.cache_bucket = dir / "cache";
        options.runner = counter.runner();

        const fs::path first = make_venv("one");
        auto one = query_interpreter(first, options);
        REQUIRE(one);
        CHECK(*counter.spawns == 1);  // the base interpreter, once
        CHECK(one->facts.is_virtual_environment());
        CHECK(one->facts.prefix == dir / "one");

        const fs::path second = make_venv("two");
        auto two = query_interpreter(second, options);
        REQUIRE(two);
        CHECK(*counter.spawns == 1);  // nothing started for the second venv
        CHECK(two->is_from_cache);

        // The derived facts equal what the venv's own interpreter answers.
        auto real = query_interpreter(second);
        REQUIRE(real);
        check_same_facts(two->facts, real->facts);

        // Asked instead: a venv that sees the system site-packages (its site list is the base's
        // too), one with its own copy of the interpreter, one whose pyvenv.cfg names another home.
        const fs::path system = make_venv("system", {"--system-site-packages"});
        auto with_system = query_interpreter(system, options);
        REQUIRE(with_system);
        CHECK(*counter.spawns == 2);
        CHECK(with_system->facts.prefix == dir / "system");

        const fs::path copies = make_venv("copies", {"--copies"});
        auto copied = query_interpreter(copies, options);
        REQUIRE(copied);
        CHECK(*counter.spawns == 3);
        auto copied_real = query_interpreter(copies);
        REQUIRE(copied_real);
        check_same_facts(copied->facts, copied_real->facts);

        std::ofstream(dir / "two" / "pyvenv.cfg", std::ios::app) << "home = /nonexistent/bin\n";
        auto elsewhere = query_interpreter(second, options);
        REQUIRE(elsewhere);
        CHECK(*counter.spawns == 4);
    }
}

TEST_CASE("interpreter: scripts (pyenv shims, wrappers) are asked every time", "[interpreter]")
{
    const auto python = test_python();
    if (python.empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    const auto dir = fresh_dir("script");
    const fs::path shim = dir / "shims" / "python3";
    write_file(shim, "#!/bin/sh\nexec " + python.string() + " \"$@\"\n", executable_perms);
    counting_runner counter;
    query_options options;
    options.cache_bucket = dir / "cache";
    options.runner = counter.runner();
    for (int i = 1; i <= 2; ++i) {
        auto answer = query_interpreter(shim, options);
        REQUIRE(answer);
        CHECK_FALSE(answer->is_from_cache);
        CHECK(answer->facts.executable == python);  // the script ran the real interpreter
        CHECK(*counter.spawns == i);
    }
    CHECK_FALSE(fs::exists(dir / "cache" / cache_file_name(shim)));
}

TEST_CASE("interpreter: a symlinked interpreter records the link text and the target's stat", "[interpreter]")
{
    const auto python = test_python();
    if (python.empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    const auto dir = fresh_dir("symlink");
    make_native_python(dir / "real" / "python-a", python);
    make_native_python(dir / "real" / "python-b", python);
    fs::create_directories(dir / "env" / "bin");
    const fs::path link = dir / "env" / "bin" / "python";
    fs::create_symlink(dir / "real" / "python-a", link);
    counting_runner counter;
    query_options options;
    options.cache_bucket = dir / "cache";
    options.runner = counter.runner();

    auto first = query_interpreter(link, options);
    REQUIRE(first);
    CHECK(first->executable == link);
    CHECK(first->resolved == dir / "real" / "python-a");
    CHECK(contains(read_file(dir / "cache" / cache_file_name(link)), "\"link_text\":\"" + (dir / "real" / "python-a").string() + "\""));
    REQUIRE(query_interpreter(link, options));
    CHECK(*counter.spawns == 1);

    SECTION("the target's mtime changes")
    {
        shift_mtime(dir / "real" / "python-a", -5000000000LL);
        REQUIRE(query_interpreter(link, options));
        CHECK(*counter.spawns == 2);
    }
    SECTION("the link is pointed elsewhere")
    {
        fs::remove(link);
        fs::create_symlink(dir / "real" / "python-b", link);
        auto answer = query_interpreter(link, options);
        REQUIRE(answer);
        CHECK(answer->resolved == dir / "real" / "python-b");
        CHECK(*counter.spawns == 2);
    }
    SECTION("the link dangles")
    {
        fs::remove(dir / "real" / "python-a");
        auto answer = query_interpreter(link, options);
        REQUIRE_FALSE(answer);
        CHECK(answer.error().code == pkg::errc::interpreter_not_found);
        CHECK(answer.error().where == link.string());
        CHECK(contains(answer.error().message, "python-a"));
        CHECK(*counter.spawns == 1);
    }
}

TEST_CASE("interpreter: query failures say what the interpreter did", "[interpreter]")
{
    const auto dir = fresh_dir("failures");
    const fs::path fake = dir / "python";
    make_executable(fake);
    query_options options;

    SECTION("non-zero exit cites the last stderr line")
    {
        options.runner = canned({1, 0, false, "", "Traceback (most recent call last):\n  File x\nZeroDivisionError: boom\n"});
        auto answer = query_interpreter(fake, options);
        REQUIRE_FALSE(answer);
        CHECK(answer.error().code == pkg::errc::interpreter_query_failed);
        CHECK(contains(answer.error().message, "status 1"));
        CHECK(contains(answer.error().message, "ZeroDivisionError: boom"));
        CHECK(answer.error().where == fake.string());
    }
    SECTION("killed by a signal")
    {
        options.runner = canned({-1, 9, false, "", ""});
        auto answer = query_interpreter(fake, options);
        REQUIRE_FALSE(answer);
        CHECK(contains(answer.error().message, "signal 9"));
    }
    SECTION("garbage on stdout is cited")
    {
        options.runner = canned({0, 0, false, "hello from sitecustomize\nnot json at all\n", ""});
        auto answer = query_interpreter(fake, options);
        REQUIRE_FALSE(answer);
        CHECK(answer.error().code == pkg::errc::interpreter_query_failed);
        CHECK(contains(answer.error().message, "not json at all"));
    }
    SECTION("lines printed before the answer are ignored")
    {
        options.runner = canned({0, 0, false, "hello from sitecustomize\n" + [] {
                                     std::string one_line = sample_answer;
                                     for (char& c : one_line) {
                                         if (c == '\n') {
                                             c = ' ';
                                         }
                                     }
                                     return one_line;
                                 }() + "\n", ""});
        auto answer = query_interpreter(fake, options);
        REQUIRE(answer);
        CHECK(answer->facts.version.to_string() == "3.11.7");
    }
    SECTION("a real child that hangs is killed at the deadline")
    {
        write_file(fake, "#!/bin/sh\nexec sleep 30\n", executable_perms);
        options.timeout = std::chrono::milliseconds(300);
        auto answer = query_interpreter(fake, options);
        REQUIRE_FALSE(answer);
        CHECK(answer.error().code == pkg::errc::interpreter_query_failed);
        CHECK(contains(answer.error().message, "did not answer within 300 ms"));
    }
    SECTION("a real child that fails")
    {
        write_file(fake, "#!/bin/sh\necho 'bad interpreter' >&2\nexit 7\n", executable_perms);
        auto answer = query_interpreter(fake, options);
        REQUIRE_FALSE(answer);
        CHECK(contains(answer.error().message, "status 7"));
        CHECK(contains(answer.error().message, "bad interpreter"));
    }
    SECTION("missing, not executable, a directory")
    {
        for (const fs::path& bad : {dir / "missing", dir / "plain", dir / "adir"}) {
            write_file(dir / "plain", "x");
            fs::create_directories(dir / "adir");
            INFO(bad);
            auto answer = query_interpreter(bad, options);
            REQUIRE_FALSE(answer);
            CHECK(answer.error().code == pkg::errc::interpreter_not_found);
            CHECK(contains(answer.error().where + answer.error().message, bad.filename().string()));
        }
    }
    SECTION("a spawn failure names the program")
    {
        write_file(fake, "\x7f" "ELF garbage", executable_perms);
        auto answer = query_interpreter(fake, options);
        REQUIRE_FALSE(answer);
        CHECK(contains(answer.error().to_string(), fake.string()));
    }
}
