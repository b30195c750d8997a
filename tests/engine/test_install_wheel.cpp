// Tests of engine/src/install: wheels unpacked by the real pipeline into a cache, installed into
// real virtual environments (pkg::create_venv over /usr/bin/python3), and checked against what
// pip installs from the same wheels (differential), by running what was installed (imports,
// console scripts, pip itself), and by taking installs apart again (uninstall, pip uninstall,
// collisions, failures half-way, hostile RECORDs, link modes across filesystems).

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <pkg/engine/errc.hpp>
#include <pkg/engine/install.hpp>
#include <pkg/engine/venv.hpp>

#include "cache/cache.hpp"
#include "cache/digest.hpp"
#include "fs/file_backend.hpp"
#include "http/http_client.hpp"
#include "install/entry_points.hpp"
#include "install/install_wheel.hpp"
#include "install/installed_record.hpp"
#include "pipeline/fetch_wheel.hpp"
#include "pipeline/record.hpp"
#include "python/interpreter.hpp"
#include "runtime/runtime.hpp"
#include "runtime/slots.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/zip_writer.hpp"

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;
using pkg::installer::entry_point;
using pkg::installer::install_outcome;
using pkg::installer::install_request;
using pkg::installer::installed_dist;
using pkg::installer::target_scheme;
using pkg::test::run_process;
using pkg::test::scratch_dir;

namespace {

const char* const debian_wheel_dir = "/usr/share/python-wheels";
const char* const debian_wheels[] = {
    "pip-23.0.1-py3-none-any.whl",
    "setuptools-66.1.1-py3-none-any.whl",
    "wheel-0.38.4-py3-none-any.whl",
};

std::string read_file(const stdfs::path& path) { return pkg::test::read_text(path); }

void write_file(const stdfs::path& path, const std::string& bytes) { pkg::test::write_text(path, bytes); }

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// ---------------------------------------------------------------------------------------------
// Wheels.

struct wheel_spec {
    std::string name = "demo";
    std::string version = "1.0";
    std::string tag = "py3-none-any";
    bool is_purelib = true;
    std::string wheel_file;  // WHEEL content; empty → the default for is_purelib
    std::vector<pkg::test::zip_writer_entry> entries;
    std::string entry_points;  // entry_points.txt; empty → none
};

std::string dist_info(const wheel_spec& spec) { return spec.name + "-" + spec.version + ".dist-info"; }

pkg::test::zip_writer_entry file_entry(std::string name, std::string content,
                                       std::optional<std::uint32_t> mode = 0100644)
{
    pkg::test::zip_writer_entry e;
    e.name = std::move(name);
    e.content = std::move(content);
    e.unix_mode = mode;
    return e;
}

std::string build_wheel(const wheel_spec& spec)
{
    std::vector<pkg::test::zip_writer_entry> entries = spec.entries;
    entries.push_back(file_entry(
        dist_info(spec) + "/WHEEL",
        !spec.wheel_file.empty()
            ? spec.wheel_file
            : std::string("Wheel-Version: 1.0\nGenerator: pkg-test\nRoot-Is-Purelib: ") +
                  (spec.is_purelib ? "true" : "false") + "\nTag: " + spec.tag + "\n"));
    entries.push_back(file_entry(dist_info(spec) + "/METADATA",
                                 "Metadata-Version: 2.1\nName: " + spec.name +
                                     "\nVersion: " + spec.version + "\n"));
    if (!spec.entry_points.empty()) {
        entries.push_back(file_entry(dist_info(spec) + "/entry_points.txt", spec.entry_points));
    }
    std::string record;
    for (const auto& e : entries) {
        record += e.name + ",sha256=" + pkg::installer::record_hash(e.content) + "," +
                  std::to_string(e.content.size()) + "\n";
    }
    record += dist_info(spec) + "/RECORD,,\n";
    entries.push_back(file_entry(dist_info(spec) + "/RECORD", record));
    return pkg::test::write_zip(entries);
}

std::string wheel_filename(const wheel_spec& spec)
{
    return spec.name + "-" + spec.version + "-" + spec.tag + ".whl";
}

// Builds `spec` into `<dir>/<its filename>` and returns the path.
stdfs::path write_wheel(const stdfs::path& dir, const wheel_spec& spec)
{
    const stdfs::path path = dir / wheel_filename(spec);
    write_file(path, build_wheel(spec));
    return path;
}

// The wheel with everything: both lib roots through .data, every .data kind, #!python scripts,
// scripts with and without exec bits, console and GUI entry points (one with an attribute path
// and extras), an executable package file.
wheel_spec demo_spec()
{
    wheel_spec s;
    s.name = "demo";
    s.version = "1.0";
    s.entries = {
        file_entry("demo/__init__.py", "VALUE = 42\n"),
        file_entry("demo/cli.py",
                   "import sys\n"
                   "def main():\n"
                   "    print('demo main', sys.argv[1:])\n"
                   "    return 0\n"
                   "def gui():\n"
                   "    print('demo gui')\n"
                   "class App:\n"
                   "    @staticmethod\n"
                   "    def run():\n"
                   "        print('demo app run')\n"
                   "        return 3\n"),
        file_entry("demo/tool.sh", "#!/bin/sh\necho tool\n", 0100755),
        file_entry("demo/sub/data.bin", std::string("\0\1\2binary\xff", 10)),
        file_entry("demo-1.0.data/purelib/demo_pure/__init__.py", "PURE = 'pure'\n"),
        file_entry("demo-1.0.data/platlib/demo_plat/__init__.py", "PLAT = 'plat'\n"),
        file_entry("demo-1.0.data/scripts/demo-script",
                   "#!python\nimport sys\nprint('script ok', sys.prefix)\n"),
        file_entry("demo-1.0.data/scripts/demo-pyw", "#!pythonw -u\nprint('pyw ok')\n"),
        file_entry("demo-1.0.data/scripts/demo-sh", "#!/bin/sh\necho sh ok\n", 0100755),
        file_entry("demo-1.0.data/scripts/demo-plain", "#!/bin/sh\necho plain ok\n", 0100644),
        file_entry("demo-1.0.data/headers/demo.h", "#define DEMO 1\n"),
        file_entry("demo-1.0.data/data/share/demo/data.txt", "shared data\n"),
    };
    s.entry_points =
        "[console_scripts]\n"
        "demo-cli = demo.cli:main\n"
        "demo-app = demo.cli:App.run [extra1, extra2]\n"
        "\n"
        "[gui_scripts]\n"
        "demo-gui=demo.cli:gui\n"
        "\n"
        "[demo.plugins]\n"
        "whatever = not a : valid value but ignored\n";
    return s;
}

wheel_spec platlib_spec()
{
    wheel_spec s;
    s.name = "platpkg";
    s.version = "2.0";
    s.is_purelib = false;
    s.entries = {file_entry("platpkg/__init__.py", "KIND = 'platlib root'\n")};
    return s;
}

wheel_spec namespace_spec(const std::string& part)
{
    wheel_spec s;
    s.name = "ns" + part;
    s.version = "1.0";
    s.entries = {file_entry("nspkg/" + part + "/__init__.py", "PART = '" + part + "'\n")};
    return s;
}

// ---------------------------------------------------------------------------------------------
// Environments.

// A pipeline that unpacks local wheels into a cache (torn down in the right order).
struct archive_maker {
    explicit archive_maker(const stdfs::path& cache_root)
        : rt(pkg::io::runtime::options{.cpu_threads = 2})
    {
        auto c = pkg::cache::cache::open(cache_root);
        REQUIRE(c);
        wheel_cache.emplace(std::move(*c));
        auto f = pkg::io::make_file_backend(rt.executor());
        REQUIRE(f);
        files = std::move(*f);
        http = std::make_unique<pkg::io::http_client>(rt.executor(), pkg::io::http_options{});
        unzip_slots = std::make_unique<pkg::io::slots>(rt.executor(), 4, "unzip_slots");
        ctx = std::make_shared<pkg::pipeline::pipeline_context>(rt.cpu_executor(), *http, *files,
                                                                *wheel_cache, *unzip_slots);
    }
    ~archive_maker()
    {
        ctx.reset();
        unzip_slots.reset();
        http.reset();
        files.reset();
    }

    install_request request_for(const stdfs::path& wheel)
    {
        auto archive = rt.run(pkg::pipeline::async_unpack_local_wheel(ctx, wheel, {}));
        REQUIRE(archive);
        install_request r;
        r.archive_dir = archive->dir;
        r.manifest = archive->manifest;
        return r;
    }

    pkg::io::runtime rt;
    std::optional<pkg::cache::cache> wheel_cache;
    std::unique_ptr<pkg::io::file_backend> files;
    std::unique_ptr<pkg::io::http_client> http;
    std::unique_ptr<pkg::io::slots> unzip_slots;
    std::shared_ptr<pkg::pipeline::pipeline_context> ctx;
};

struct venv {
    stdfs::path root;
    stdfs::path python;
    target_scheme scheme;
    stdfs::path site;  // purelib
};

venv make_venv(const stdfs::path& root)
{
    pkg::venv_options o;
    o.path = root;
    o.python = pkg::test::test_python().string();
    auto made = pkg::create_venv(o);
    if (!made) {
        FAIL("create_venv " << root << ": " << made.error().to_string());
    }
    venv v;
    v.root = made->path;
    v.python = made->python;
    auto info = pkg::python::query_interpreter(v.python);
    REQUIRE(info);
    v.scheme = pkg::installer::make_target_scheme(info->facts, v.python);
    v.site = v.scheme.purelib;
    return v;
}

// Every entry under `root` → "d", "l -> target" or "f <mode> <size>", symlinks not followed.
std::map<std::string, std::string> tree_of(const stdfs::path& root)
{
    std::map<std::string, std::string> out;
    for (auto it = stdfs::recursive_directory_iterator(root); it != stdfs::recursive_directory_iterator(); ++it) {
        const std::string rel = stdfs::relative(it->path(), root).generic_string();
        struct stat st {};
        REQUIRE(::lstat(it->path().c_str(), &st) == 0);
        if (S_ISLNK(st.st_mode)) {
            out[rel] = "l -> " + stdfs::read_symlink(it->path()).string();
        } else if (S_ISDIR(st.st_mode)) {
            out[rel] = "d";
        } else {
            out[rel] = "f " + std::to_string(st.st_mode & 0777) + " " + std::to_string(st.st_size);
        }
    }
    return out;
}

// The entries of `after` that `before` lacks (or that changed).
std::map<std::string, std::string> added(const std::map<std::string, std::string>& before,
                                         const std::map<std::string, std::string>& after)
{
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : after) {
        auto it = before.find(k);
        if (it == before.end() || it->second != v) {
            out[k] = v;
        }
    }
    return out;
}

pkg::result<install_outcome> install(archive_maker& maker, const venv& v, const stdfs::path& wheel,
                                     pkg::installer::linker& links,
                                     pkg::installer::file_owners& owners,
                                     std::optional<std::string> direct_url = std::nullopt)
{
    auto request = maker.request_for(wheel);
    request.direct_url = std::move(direct_url);
    return pkg::installer::install_wheel(request, v.scheme, links, owners);
}

pkg::installer::file_owners owners_of(const venv& v)
{
    auto dists = pkg::installer::scan_site_packages({v.scheme.purelib, v.scheme.platlib});
    REQUIRE(dists);
    auto owners = pkg::installer::file_owners::build(*dists);
    REQUIRE(owners);
    return std::move(*owners);
}

std::optional<installed_dist> find_dist(const venv& v, const std::string& name)
{
    auto dists = pkg::installer::scan_site_packages({v.scheme.purelib, v.scheme.platlib});
    REQUIRE(dists);
    for (auto& d : *dists) {
        if (d.normalized_name == name) {
            return d;
        }
    }
    return std::nullopt;
}

// pip from Debian's wheel, run by `python` (so it works on that interpreter's environment),
// hermetic: no config files, no find-links from the machine's environment, no network.
pkg::test::process_result run_pip(const stdfs::path& python, const stdfs::path& home,
                                  std::vector<std::string> args)
{
    std::vector<std::string> argv = {"/usr/bin/env", "-i", "PATH=/usr/bin:/bin",
                                     "HOME=" + home.string(), "PIP_CONFIG_FILE=/dev/null",
                                     "PIP_NO_INDEX=1", "PIP_DISABLE_PIP_VERSION_CHECK=1",
                                     python.string(),
                                     std::string(debian_wheel_dir) + "/" + debian_wheels[0] + "/pip"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv);
}

pkg::test::process_result run_in(const venv& v, std::vector<std::string> argv)
{
    std::vector<std::string> full = {"/usr/bin/env", "-i", "PATH=" + (v.root / "bin").string() + ":/usr/bin:/bin"};
    full.insert(full.end(), argv.begin(), argv.end());
    return run_process(full);
}

bool has_debian_wheels()
{
    return std::all_of(std::begin(debian_wheels), std::end(debian_wheels), [](const char* w) {
        return stdfs::exists(stdfs::path(debian_wheel_dir) / w);
    });
}

std::string direct_url_for(const stdfs::path& wheel)
{
    // What pip 23 writes for a local wheel file; given to pkg too, so both trees match.
    return "{\"archive_info\": {}, \"url\": \"file://" + wheel.string() + "\"}";
}

std::set<std::string> record_lines(const stdfs::path& record)
{
    std::set<std::string> out;
    std::istringstream in(read_file(record));
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (!line.empty()) {
            out.insert(line);
        }
    }
    return out;
}

// No hidden staging or aside leftovers anywhere below `root`.
void require_no_leftovers(const stdfs::path& root)
{
    for (auto it = stdfs::recursive_directory_iterator(root); it != stdfs::recursive_directory_iterator(); ++it) {
        const std::string name = it->path().filename().string();
        INFO(it->path());
        CHECK(name.find(".installing.") == std::string::npos);
        CHECK(name.find(".replaced.") == std::string::npos);
        CHECK(name.find(".removing.") == std::string::npos);
        CHECK(name.find(".tmp.") == std::string::npos);
    }
}

bool can_test() {
    if (pkg::test::test_python() != "/usr/bin/python3") {
        WARN("no /usr/bin/python3 (Debian's): skipped");
        return false;
    }
    return true;
}

}  // namespace

// =============================================================================================

TEST_CASE("install: link mode names round-trip and bad names are cited", "[install]")
{
    for (auto mode : {pkg::link_mode::clone, pkg::link_mode::hardlink, pkg::link_mode::copy,
                      pkg::link_mode::symlink}) {
        auto parsed = pkg::parse_link_mode(pkg::to_string(mode));
        REQUIRE(parsed);
        CHECK(*parsed == mode);
    }
    CHECK(std::string(pkg::to_string(pkg::link_mode::clone)) == "clone");
    auto reflink = pkg::parse_link_mode("reflink");
    REQUIRE(reflink);
    CHECK(*reflink == pkg::link_mode::clone);
    for (const char* bad : {"", "Hardlink", "hard", "copy "}) {
        auto parsed = pkg::parse_link_mode(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == std::errc::invalid_argument);
        CHECK_THAT(parsed.error().message, Catch::Contains("\"" + std::string(bad) + "\""));
        CHECK_THAT(parsed.error().message, Catch::Contains("hardlink, copy, symlink"));
    }
}

TEST_CASE("install: entry_points.txt parsing, launchers and shebangs", "[install]")
{
    SECTION("valid groups, extras, comments, other groups skipped")
    {
        auto eps = pkg::installer::parse_entry_points(
            "# comment\n[console_scripts]\n  a = m:f\nb=pkg.mod:Cls.meth [x,y]\n; c\n"
            "[other]\nnot even = a valid:value:here\n[gui_scripts]\r\ng = m.n:main\r\n",
            "w.whl/x.dist-info/entry_points.txt");
        REQUIRE(eps);
        REQUIRE(eps->size() == 3);
        CHECK((*eps)[0].name == "a");
        CHECK((*eps)[0].module == "m");
        CHECK((*eps)[0].attr == "f");
        CHECK_FALSE((*eps)[0].is_gui);
        CHECK((*eps)[0].line_number == 3);
        CHECK((*eps)[1].module == "pkg.mod");
        CHECK((*eps)[1].attr == "Cls.meth");
        CHECK((*eps)[2].name == "g");
        CHECK((*eps)[2].is_gui);
    }
    SECTION("malformed lines are errors naming the file, line and text")
    {
        struct bad_case {
            std::string text;
            std::size_t line;
            std::string cited;
        };
        const bad_case cases[] = {
            {"[console_scripts]\nnoequals\n", 2, "noequals"},
            {"[console_scripts]\na = module_only\n", 2, "module_only"},
            {"[console_scripts]\na = 1mod:f\n", 2, "1mod"},
            {"[console_scripts]\na = mod:f-g\n", 2, "f-g"},
            {"[console_scripts]\na = mod:\n", 2, "a = mod:"},
            {"[console_scripts]\n = mod:f\n", 2, "= mod:f"},
            {"[console_scripts]\n../evil = mod:f\n", 2, "../evil"},
            {"[console_scripts]\na = mod:f [x\n", 2, "[x"},
            {"[console_scripts]\na = m:f\na = m:g\n", 3, "defined twice"},
            {"[console_scripts\na = m:f\n", 1, "[console_scripts"},
        };
        for (const auto& c : cases) {
            INFO(c.text);
            auto eps = pkg::installer::parse_entry_points(c.text, "demo-1.0-py3-none-any.whl/e.txt");
            REQUIRE_FALSE(eps);
            CHECK(eps.error().code == pkg::errc::invalid_entry_point);
            CHECK_THAT(eps.error().message, Catch::Contains("demo-1.0-py3-none-any.whl/e.txt line " +
                                                            std::to_string(c.line)));
            CHECK_THAT(eps.error().message, Catch::Contains(c.cited));
        }
    }
    SECTION("pip's versioned launcher rule")
    {
        auto eps = pkg::installer::parse_entry_points(
            "[console_scripts]\npip = p:m\npip3 = p:m\npip3.8 = p:m\npipx = q:m\n"
            "easy_install = s:m\neasy_install-3.8 = s:m\n",
            "x");
        REQUIRE(eps);
        auto out = pkg::installer::apply_versioned_script_rule(*eps, "3.11");
        std::vector<std::string> names;
        for (const auto& ep : out) {
            names.push_back(ep.name);
        }
        CHECK(names == std::vector<std::string>{"pip", "pip3", "pip3.11", "pipx", "easy_install",
                                                "easy_install-3.11"});
        CHECK(pkg::installer::apply_versioned_script_rule(*eps, "").size() == eps->size());
    }
    SECTION("shebangs: direct, or the /bin/sh trampoline for long paths and spaces")
    {
        CHECK(pkg::installer::shebang_for("/v/bin/python") == "#!/v/bin/python\n");
        const std::string long_path = "/" + std::string(130, 'x') + "/bin/python";
        CHECK(pkg::installer::shebang_for(long_path) ==
              "#!/bin/sh\n'''exec' '" + long_path + "' \"$0\" \"$@\"\n' '''\n");
        CHECK(pkg::installer::shebang_for("/a b/python") ==
              "#!/bin/sh\n'''exec' '/a b/python' \"$0\" \"$@\"\n' '''\n");
        CHECK(pkg::installer::shebang_for("/it's here/python") ==
              "#!/bin/sh\n'''exec' '/it'\\''s here/python' \"$0\" \"$@\"\n' '''\n");
        CHECK(pkg::installer::rewrite_python_shebang("#!python -u\nx\n", "/p") == "#!/p\nx\n");
        CHECK(pkg::installer::rewrite_python_shebang("#!pythonw", "/p") == "#!/p\n");
        CHECK_FALSE(pkg::installer::rewrite_python_shebang("#!/usr/bin/python\n", "/p"));
        CHECK_FALSE(pkg::installer::rewrite_python_shebang(" #!python\n", "/p"));
        entry_point ep{"x", "pkg.mod", "Cls.run", false, 1};
        const std::string script = pkg::installer::launcher_script(ep, "/v/bin/python");
        CHECK(first_line(script) == "#!/v/bin/python");
        CHECK_THAT(script, Catch::Contains("from pkg.mod import Cls\n"));
        CHECK_THAT(script, Catch::Contains("sys.exit(Cls.run())"));
    }
}

TEST_CASE("install: RECORD text is CSV Python reads back", "[install]")
{
    using pkg::installer::record_entry;
    const std::string text = pkg::installer::format_record({
        record_entry{"a/b.py", "abc", 3, true},
        record_entry{"odd,name \"q\".py", "h", 1, true},
        record_entry{"x.dist-info/RECORD", "", 0, false},
    });
    CHECK(text == "a/b.py,sha256=abc,3\n\"odd,name \"\"q\"\".py\",sha256=h,1\nx.dist-info/RECORD,,\n");
    // The reader pkg uses for wheels agrees (and so does Python's csv, below in the pip tests).
    auto lines = pkg::pipeline::parse_record(text, "RECORD");
    REQUIRE(lines);
    REQUIRE(lines->size() == 3);
    CHECK((*lines)[1].path == "odd,name \"q\".py");
    if (can_test()) {
        const auto r = run_process({"/usr/bin/python3", "-c",
                                    "import csv, sys\n"
                                    "rows = list(csv.reader(sys.argv[1].splitlines()))\n"
                                    "print(rows[1][0]); print(len(rows))",
                                    text});
        REQUIRE(r.exit_code == 0);
        CHECK(r.out == "odd,name \"q\".py\n3\n");
    }
    CHECK(pkg::installer::record_hash("") == "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
}

TEST_CASE("install: generated and Debian wheels install like pip installs them", "[install]")
{
    if (!can_test() || !has_debian_wheels()) {
        WARN("needs Debian's python3 and python3-pip-whl wheels");
        return;
    }
    scratch_dir dir("install", "differential");
    std::vector<stdfs::path> wheels;
    for (const auto& spec : {demo_spec(), platlib_spec(), namespace_spec("a"), namespace_spec("b")}) {
        wheels.push_back(write_wheel(dir.path, spec));
    }
    for (const char* w : debian_wheels) {
        wheels.push_back(stdfs::path(debian_wheel_dir) / w);
    }

    archive_maker maker(dir.path / "cache");
    venv a = make_venv(dir.path / "a");
    venv b = make_venv(dir.path / "b");
    const auto a_before = tree_of(a.root);
    const auto b_before = tree_of(b.root);

    pkg::installer::linker links(pkg::link_mode::hardlink);
    auto owners = owners_of(a);
    std::map<std::string, install_outcome> outcomes;
    for (const auto& w : wheels) {
        auto out = install(maker, a, w, links, owners, direct_url_for(w));
        INFO(w);
        REQUIRE(out);
        outcomes[out->dist.normalized_name] = *out;
    }
    CHECK(links.warnings().empty());  // cache and venvs share the build directory's filesystem
    CHECK(outcomes["demo"].dist.name == "demo");
    CHECK(outcomes["demo"].dist.version == "1.0");
    CHECK(outcomes["demo"].dist.dist_info == a.site / "demo-1.0.dist-info");
    CHECK(outcomes["setuptools"].warnings.empty());

    std::vector<std::string> pip_args = {"install", "--no-deps", "--no-compile", "--no-index"};
    for (const auto& w : wheels) {
        pip_args.push_back(w.string());
    }
    const auto pip = run_pip(b.python, dir.path, pip_args);
    INFO(pip.out << pip.err);
    REQUIRE(pip.exit_code == 0);

    // Same files, same modes and sizes (paths relative to each venv).
    const auto a_new = added(a_before, tree_of(a.root));
    const auto b_new = added(b_before, tree_of(b.root));
    std::set<std::string> a_paths, b_paths;
    for (const auto& [k, v] : a_new) {
        a_paths.insert(k);
    }
    for (const auto& [k, v] : b_new) {
        if (k.find("__pycache__") == std::string::npos) {
            b_paths.insert(k);
        }
    }
    CHECK(a_paths == b_paths);
    CHECK(a_new.size() > 900);  // pip and setuptools are in

    std::set<std::string> launchers;
    const std::set<std::string> non_executable_scripts = {"bin/demo-script", "bin/demo-pyw",
                                                          "bin/demo-plain"};
    std::size_t compared = 0;
    for (const auto& path : a_paths) {
        if (!b_paths.contains(path)) {
            continue;
        }
        INFO(path);
        const auto& av = a_new.at(path);
        const auto& bv = b_new.at(path);
        const stdfs::path ap = a.root / path;
        const stdfs::path bp = b.root / path;
        if (av == "d" || bv == "d") {
            CHECK(av == bv);
            continue;
        }
        ++compared;
        const std::string ac = read_file(ap);
        const std::string bc = read_file(bp);
        const auto mode_of = [](const std::string& v) { return v.substr(0, v.rfind(' ')); };
        if (non_executable_scripts.contains(path)) {
            // pip keeps the zip entry's mode for .data/scripts files; pkg makes every script
            // executable (a script nobody can run is useless; uv does the same).
            CHECK(mode_of(av) == "f 493");
            CHECK(mode_of(bv) == "f 420");
        } else {
            CHECK(mode_of(av) == mode_of(bv));  // "f <mode>": exec bits equal
        }
        if (path.ends_with(".dist-info/INSTALLER")) {
            CHECK(ac == "pkg\n");
            CHECK(bc == "pip\n");
            continue;
        }
        if (path.ends_with(".dist-info/RECORD")) {
            continue;  // below
        }
        if (path.starts_with("bin/")) {
            // Shebangs name each venv's own python; pip's launcher body differs from pkg's.
            const std::string ashe = first_line(ac);
            const std::string bshe = first_line(bc);
            if (ashe == "#!/bin/sh") {
                CHECK(ac == bc);  // not a Python script: untouched
                continue;
            }
            CHECK(ashe == "#!" + (a.root / "bin" / "python").string());
            CHECK(bshe == "#!" + (b.root / "bin" / "python").string());
            if (ac.substr(ashe.size()) != bc.substr(bshe.size())) {
                launchers.insert(path);
            }
            continue;
        }
        CHECK(ac == bc);
    }
    CHECK(compared > 800);
    // The launchers are exactly the entry points (the #!python and other scripts matched bytes).
    CHECK(launchers == std::set<std::string>{"bin/demo-cli", "bin/demo-app", "bin/demo-gui",
                                             "bin/pip", "bin/pip3", "bin/pip3.11", "bin/wheel"});

    // RECORDs: the same lines, except INSTALLER (content) and scripts naming each venv's python
    // (their hashes differ; that pkg's hashes are right is checked against the bytes below).
    for (const auto& [name, out] : outcomes) {
        INFO(name);
        const stdfs::path rel = stdfs::relative(out.dist.dist_info, a.root);
        auto a_lines = record_lines(a.root / rel / "RECORD");
        auto b_lines = record_lines(b.root / rel / "RECORD");
        CHECK(a_lines.size() == out.files);
        const auto strip = [&](std::set<std::string> lines) {
            std::set<std::string> kept;
            for (const auto& l : lines) {
                const std::string p = l.substr(0, l.find(','));
                const bool names_python = p.starts_with("../../../bin/") && p != "../../../bin/demo-sh" &&
                                          p != "../../../bin/demo-plain";
                kept.insert(p.ends_with("/INSTALLER") || names_python ? p : l);
            }
            return kept;
        };
        CHECK(strip(a_lines) == strip(b_lines));
        // Every line's hash and size describe the bytes on disk.
        for (const auto& l : a_lines) {
            auto parsed = pkg::pipeline::parse_record(l + "\n", "RECORD");
            REQUIRE(parsed);
            const auto& line = parsed->front();
            const stdfs::path file = out.dist.dist_info.parent_path() / line.path;
            if (line.path.ends_with("/RECORD")) {
                CHECK(line.hash.empty());
                continue;
            }
            const std::string bytes = read_file(file);
            CHECK(line.hash == "sha256=" + pkg::installer::record_hash(bytes));
            CHECK(line.size == std::to_string(bytes.size()));
        }
    }

    // What was installed works: imports, every kind of script, pip itself.
    auto r = run_in(a, {a.python.string(), "-c",
                        "import demo, demo_pure, demo_plat, platpkg, nspkg.a, nspkg.b, wheel, setuptools\n"
                        "print(demo.VALUE, demo_pure.PURE, demo_plat.PLAT, platpkg.KIND, nspkg.a.PART, nspkg.b.PART)"});
    CHECK(r.err == "");
    CHECK(r.out == "42 pure plat platlib root a b\n");
    for (const venv* v : {&a, &b}) {
        INFO(v->root);
        r = run_in(*v, {(v->root / "bin" / "demo-cli").string(), "x", "y"});
        CHECK(r.exit_code == 0);
        CHECK(r.out == "demo main ['x', 'y']\n");
        r = run_in(*v, {(v->root / "bin" / "demo-app").string()});
        CHECK(r.exit_code == 3);
        CHECK(r.out == "demo app run\n");
        r = run_in(*v, {(v->root / "bin" / "demo-gui").string()});
        CHECK(r.out == "demo gui\n");
        r = run_in(*v, {(v->root / "bin" / "demo-sh").string()});
        CHECK(r.out == "sh ok\n");
    }
    // Scripts that were not executable in the wheel: pkg's run, pip's cannot be executed.
    r = run_in(a, {(a.root / "bin" / "demo-script").string()});
    CHECK(r.out == "script ok " + a.root.string() + "\n");
    r = run_in(a, {(a.root / "bin" / "demo-pyw").string()});
    CHECK(r.out == "pyw ok\n");
    r = run_in(a, {(a.root / "bin" / "demo-plain").string()});
    CHECK(r.out == "plain ok\n");
    r = run_in(b, {(b.root / "bin" / "demo-plain").string()});
    CHECK(r.exit_code == 126);
    r = run_in(b, {b.python.string(), (b.root / "bin" / "demo-script").string()});
    CHECK(r.out == "script ok " + b.root.string() + "\n");
    r = run_in(a, {(a.root / "bin" / "pip3.11").string(), "--version"});
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("pip 23.0.1 from " + a.site.string()));
    r = run_in(a, {(a.root / "bin" / "wheel").string(), "version"});
    CHECK(r.out == "wheel 0.38.4\n");

    // pip (pkg-installed, run by A's python) sees every package with its version and accepts
    // the environment.
    r = run_in(a, {a.python.string(), "-m", "pip", "list", "--format=freeze", "--no-index",
                   "--disable-pip-version-check"});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == "demo==1.0\nnsa==1.0\nnsb==1.0\npip==23.0.1\nplatpkg==2.0\nsetuptools==66.1.1\nwheel==0.38.4\n");
    r = run_in(a, {a.python.string(), "-m", "pip", "check", "--disable-pip-version-check"});
    CHECK(r.exit_code == 0);

    // pip uninstall removes a pkg-installed package cleanly (pkg's RECORD is right).
    const auto a_full = tree_of(a.root);
    r = run_pip(a.python, dir.path, {"uninstall", "-y", "demo"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const auto a_after = tree_of(a.root);
    for (const auto& [path, kind] : a_full) {
        const bool is_demo = path.find("demo") != std::string::npos;
        INFO(path);
        if (kind == "d") {
            continue;  // pip leaves or removes empty directories its own way
        }
        CHECK(a_after.contains(path) == !is_demo);
    }
    CHECK_FALSE(stdfs::exists(a.root / "share" / "demo" / "data.txt"));
    CHECK(stdfs::exists(a.site / "nspkg" / "a" / "__init__.py"));
}

TEST_CASE("install: uninstall removes exactly what was installed", "[install]")
{
    if (!can_test()) {
        return;
    }
    scratch_dir dir("install", "uninstall");
    std::vector<stdfs::path> wheels;
    for (const auto& spec : {demo_spec(), namespace_spec("a"), namespace_spec("b"), platlib_spec()}) {
        wheels.push_back(write_wheel(dir.path, spec));
    }
    archive_maker maker(dir.path / "cache");
    venv v = make_venv(dir.path / "env");
    const auto before = tree_of(v.root);
    pkg::installer::linker links(pkg::link_mode::copy);
    auto owners = owners_of(v);
    for (const auto& w : wheels) {
        REQUIRE(install(maker, v, w, links, owners));
    }
    // Byte-compiled files appear beside the sources, as after `--compile-bytecode` or use.
    auto r = run_process({v.python.string(), "-m", "compileall", "-q", v.site.string()});
    REQUIRE(r.exit_code == 0);
    REQUIRE(stdfs::exists(v.site / "demo" / "__pycache__"));

    CHECK(tree_of(v.root).size() > before.size() + 20);
    auto dists = pkg::installer::scan_site_packages({v.scheme.purelib, v.scheme.platlib});
    REQUIRE(dists);
    REQUIRE(dists->size() == 4);

    SECTION("one namespace part: the other and the shared directory stay")
    {
        auto nsa = find_dist(v, "nsa");
        REQUIRE(nsa);
        auto out = pkg::installer::uninstall_dist(*nsa, v.scheme);
        REQUIRE(out);
        CHECK(out->files == 6);  // __init__.py, METADATA, WHEEL, INSTALLER, REQUESTED, RECORD
        CHECK_FALSE(stdfs::exists(v.site / "nspkg" / "a"));
        CHECK(stdfs::exists(v.site / "nspkg" / "b" / "__init__.py"));
        CHECK_FALSE(stdfs::exists(nsa->dist_info));
    }
    SECTION("everything: the environment is as before (scheme roots aside)")
    {
        for (const auto& d : *dists) {
            INFO(d.name);
            auto out = pkg::installer::uninstall_dist(d, v.scheme);
            REQUIRE(out);
            CHECK(out->warnings.empty());
            owners.forget(d.normalized_name);
        }
        auto after = tree_of(v.root);
        // The headers root of pip's venv scheme is a scheme directory: kept, as pip keeps it.
        CHECK(after.erase("include/site/python3.11") == 1);
        CHECK(after.erase("include/site") == 1);
        CHECK(after == before);
        CHECK(owners.owner_of(v.site / "demo" / "__init__.py") == nullptr);
        auto left = pkg::installer::scan_site_packages({v.scheme.purelib});
        REQUIRE(left);
        CHECK(left->empty());
    }
}

TEST_CASE("install: a file two distributions ship stays the first one's and other collisions are refused", "[install]")
{
    if (!can_test()) {
        return;
    }
    scratch_dir dir("install", "collision");
    wheel_spec first;
    first.name = "first";
    first.entries = {file_entry("shared/mod.py", "A = 1\n"), file_entry("first/x.py", "")};
    wheel_spec second;
    second.name = "second";
    second.entries = {file_entry("second/y.py", ""), file_entry("shared/mod.py", "A = 2\n")};
    second.entry_points = "[console_scripts]\nsecond = second.y:main\n";
    const stdfs::path w1 = write_wheel(dir.path, first);
    const stdfs::path w2 = write_wheel(dir.path, second);
    archive_maker maker(dir.path / "cache");
    venv v = make_venv(dir.path / "env");
    pkg::installer::linker links(pkg::link_mode::hardlink);

    SECTION("a file of another distribution (from its RECORD, as a new scan sees it)")
    {
        {
            auto owners = owners_of(v);
            REQUIRE(install(maker, v, w1, links, owners));
        }
        const auto before = tree_of(v.root);
        auto owners = owners_of(v);
        const auto* owner = owners.owner_of(v.site / "shared" / "mod.py");
        REQUIRE(owner != nullptr);
        CHECK(owner->name == "first");
        auto out = install(maker, v, w2, links, owners);
        REQUIRE(out);
        REQUIRE(out->warnings.size() == 1);
        CHECK_THAT(out->warnings[0], Catch::Contains("second 1.0"));
        CHECK_THAT(out->warnings[0], Catch::Contains("first 1.0"));
        CHECK_THAT(out->warnings[0], Catch::Contains((v.site / "shared" / "mod.py").string()));
        // The shared file is untouched and stays first's alone: second's RECORD does not list
        // it, so uninstalling second cannot break first.
        CHECK(read_file(v.site / "shared" / "mod.py") == "A = 1\n");
        CHECK(owners.owner_of(v.site / "shared" / "mod.py")->name == "first");
        CHECK(owners.owner_of(v.site / "second" / "y.py")->name == "second");
        const auto lines = record_lines(v.site / "second-1.0.dist-info" / "RECORD");
        CHECK(std::none_of(lines.begin(), lines.end(),
                           [](const std::string& l) { return l.starts_with("shared/"); }));
        CHECK(std::any_of(lines.begin(), lines.end(),
                          [](const std::string& l) { return l.starts_with("second/y.py,"); }));
        const auto changed = tree_of(v.root);
        CHECK(changed != before);
        require_no_leftovers(v.root);
    }
    SECTION("two wheels of one run: the first claims, the second shares")
    {
        auto owners = owners_of(v);
        REQUIRE(install(maker, v, w1, links, owners));
        auto out = install(maker, v, w2, links, owners);
        REQUIRE(out);
        REQUIRE(out->warnings.size() == 1);
        CHECK_THAT(out->warnings[0], Catch::Contains("kept first 1.0's copy"));
        CHECK(read_file(v.site / "shared" / "mod.py") == "A = 1\n");
        CHECK(stdfs::exists(v.site / "second" / "y.py"));
    }
    SECTION("the same bytes shipped twice: shared without a warning")
    {
        wheel_spec twin;
        twin.name = "twin";
        twin.entries = {file_entry("twin/z.py", ""), file_entry("shared/mod.py", "A = 1\n")};
        const stdfs::path w3 = write_wheel(dir.path, twin);
        auto owners = owners_of(v);
        REQUIRE(install(maker, v, w1, links, owners));
        auto out = install(maker, v, w3, links, owners);
        REQUIRE(out);
        CHECK(out->warnings.empty());
        CHECK(owners.owner_of(v.site / "shared" / "mod.py")->name == "first");
        const auto lines = record_lines(v.site / "twin-1.0.dist-info" / "RECORD");
        CHECK(std::none_of(lines.begin(), lines.end(),
                           [](const std::string& l) { return l.starts_with("shared/"); }));
    }
    SECTION("claims take the free paths and report the owned ones")
    {
        pkg::installer::file_owners owners;
        installed_dist d1{"one", "one", "1", v.site / "one-1.dist-info", "pkg"};
        installed_dist d2{"two", "two", "1", v.site / "two-1.dist-info", "pkg"};
        CHECK(owners.claim(d1, {{v.site / "a", "ha"}, {v.site / "b", "hb"}}).empty());
        auto shared = owners.claim(d2, {{v.site / "c", "hc"}, {v.site / "b", "hx"}});
        REQUIRE(shared.size() == 1);
        CHECK(shared[0].path == v.site / "b");
        CHECK(shared[0].owner.name == "one");
        CHECK_FALSE(shared[0].is_same_content);
        CHECK(owners.owner_of(v.site / "c")->name == "two");
        installed_dist d3{"three", "three", "1", v.site / "three-1.dist-info", "pkg"};
        auto same = owners.claim(d3, {{v.site / "a", "ha"}, {v.site / "c", ""}});
        REQUIRE(same.size() == 2);
        CHECK(same[0].is_same_content);        // equal hashes
        CHECK_FALSE(same[1].is_same_content);  // an unknown hash is never "the same"
        CHECK(owners.owner_of(v.site / "b")->name == "one");
        owners.forget("one");
        CHECK(owners.owner_of(v.site / "a") == nullptr);
        CHECK(owners.owner_of(v.site / "b") == nullptr);
        CHECK(owners.claim(d2, {{v.site / "b", ""}}).empty());
        CHECK(owners.owner_of(v.site / "b")->name == "two");
    }
    SECTION("a file nobody owns is replaced, with a warning")
    {
        stdfs::create_directories(v.site / "shared");
        write_file(v.site / "shared" / "mod.py", "stray\n");
        auto owners = owners_of(v);
        auto out = install(maker, v, w1, links, owners);
        REQUIRE(out);
        REQUIRE(out->warnings.size() == 1);
        CHECK_THAT(out->warnings[0], Catch::Contains((v.site / "shared" / "mod.py").string()));
        CHECK(read_file(v.site / "shared" / "mod.py") == "A = 1\n");
        require_no_leftovers(v.root);
    }
    SECTION("the same distribution twice: its .dist-info is there")
    {
        auto owners = owners_of(v);
        REQUIRE(install(maker, v, w1, links, owners));
        const auto before = tree_of(v.root);
        pkg::installer::file_owners none;
        auto out = install(maker, v, w1, links, none);
        REQUIRE_FALSE(out);
        CHECK(out.error().code == pkg::errc::file_collision);
        CHECK_THAT(out.error().message, Catch::Contains("first-1.0.dist-info already exists"));
        CHECK(tree_of(v.root) == before);
    }
    SECTION("a directory where the wheel has a file")
    {
        stdfs::create_directories(v.site / "shared" / "mod.py");
        const auto before = tree_of(v.root);
        auto owners = owners_of(v);
        auto out = install(maker, v, w1, links, owners);
        REQUIRE_FALSE(out);
        CHECK(out.error().code == pkg::errc::file_collision);
        CHECK_THAT(out.error().message, Catch::Contains("is a directory"));
        CHECK(tree_of(v.root) == before);
    }
}

TEST_CASE("install: a failure half-way leaves no .dist-info and no files", "[install]")
{
    if (!can_test()) {
        return;
    }
    scratch_dir dir("install", "failure");
    const stdfs::path wheel = write_wheel(dir.path, demo_spec());
    archive_maker maker(dir.path / "cache");
    venv v = make_venv(dir.path / "env");
    const auto before = tree_of(v.root);

    // The cache's tree loses a file (a damaged cache): placing it fails after others were placed.
    const char* victims[] = {
        "demo/sub/data.bin",                     // among the package files
        "demo-1.0.data/scripts/demo-script",     // a script to rewrite
        "demo-1.0.data/data/share/demo/data.txt", // a data file, in a directory made for it
        "demo-1.0.dist-info/METADATA",           // the last step: the staged .dist-info
    };
    for (const char* victim : victims) {
        INFO(victim);
        auto request = maker.request_for(wheel);
        // Published archives are read-only; make the damage possible.
        const stdfs::path file = request.archive_dir / victim;
        for (stdfs::path d = file.parent_path(); d != request.archive_dir.parent_path(); d = d.parent_path()) {
            ::chmod(d.c_str(), 0755);
        }
        const std::string saved = read_file(file);
        REQUIRE(stdfs::remove(file));
        pkg::installer::linker links(pkg::link_mode::hardlink);
        auto owners = owners_of(v);
        auto out = pkg::installer::install_wheel(request, v.scheme, links, owners);
        REQUIRE_FALSE(out);
        CHECK(out.error().code == std::errc::no_such_file_or_directory);
        CHECK_THAT(out.error().to_string(), Catch::Contains(file.string()));
        CHECK(tree_of(v.root) == before);
        CHECK(owners.owner_of(v.site / "demo" / "__init__.py") == nullptr);
        write_file(file, saved);
    }
    // And with the archive whole again, the same install succeeds.
    pkg::installer::linker links(pkg::link_mode::hardlink);
    auto owners = owners_of(v);
    REQUIRE(install(maker, v, wheel, links, owners));
    CHECK(stdfs::exists(v.site / "demo-1.0.dist-info" / "RECORD"));
}

TEST_CASE("install: malformed wheels are refused before anything is written", "[install]")
{
    if (!can_test()) {
        return;
    }
    scratch_dir dir("install", "malformed");
    archive_maker maker(dir.path / "cache");
    venv v = make_venv(dir.path / "env");
    const auto before = tree_of(v.root);
    struct bad_case {
        std::string what;
        std::function<void(wheel_spec&)> edit;
        pkg::errc code;
        std::vector<std::string> cited;
    };
    const bad_case cases[] = {
        {"no Root-Is-Purelib", [](wheel_spec& s) { s.wheel_file = "Wheel-Version: 1.0\n"; },
         pkg::errc::invalid_wheel, {"bad-1.0-py3-none-any.whl", "has no Root-Is-Purelib"}},
        {"Wheel-Version 2", [](wheel_spec& s) { s.wheel_file = "Wheel-Version: 2.0\nRoot-Is-Purelib: true\n"; },
         pkg::errc::invalid_wheel, {"Wheel-Version \"2.0\""}},
        {"Root-Is-Purelib maybe", [](wheel_spec& s) { s.wheel_file = "Wheel-Version: 1.0\nRoot-Is-Purelib: maybe\n"; },
         pkg::errc::invalid_wheel, {"\"maybe\""}},
        {"unknown .data key", [](wheel_spec& s) { s.entries.push_back(file_entry("bad-1.0.data/etc/x", "")); },
         pkg::errc::invalid_wheel, {"unknown scheme key \"etc\""}},
        {"file directly in .data", [](wheel_spec& s) { s.entries.push_back(file_entry("bad-1.0.data/x", "")); },
         pkg::errc::invalid_wheel, {"\"bad-1.0.data/x\""}},
        {"malformed entry point",
         [](wheel_spec& s) { s.entry_points = "[console_scripts]\nok = a:b\nbroken = a.b\n"; },
         pkg::errc::invalid_entry_point, {"bad-1.0-py3-none-any.whl/bad-1.0.dist-info/entry_points.txt line 3", "broken = a.b"}},
        {"two files for one place",
         [](wheel_spec& s) { s.entries.push_back(file_entry("bad-1.0.data/purelib/bad/__init__.py", "")); },
         pkg::errc::invalid_wheel, {"would both be installed at"}},
        {"a second .dist-info",
         [](wheel_spec& s) { s.entries.push_back(file_entry("other-2.0.dist-info/METADATA", "")); },
         pkg::errc::invalid_wheel, {"more than one .dist-info"}},
        {"a launcher named python",
         [](wheel_spec& s) { s.entry_points = "[gui_scripts]\npython = a:b\n"; },
         pkg::errc::invalid_wheel, {"an entry point would replace the environment's own", "/bin/python"}},
        {"a script named python3.11",
         [](wheel_spec& s) { s.entries.push_back(file_entry("bad-1.0.data/scripts/python3.11", "")); },
         pkg::errc::invalid_wheel, {"\"bad-1.0.data/scripts/python3.11\" would replace", "/bin/python3.11"}},
        {"a script named activate",
         [](wheel_spec& s) { s.entries.push_back(file_entry("bad-1.0.data/scripts/activate", "")); },
         pkg::errc::invalid_wheel, {"/bin/activate"}},
        {"data escaping the environment",
         [](wheel_spec& s) { s.entries.push_back(file_entry("bad-1.0.data/data/../../../../escape", "")); },
         pkg::errc::invalid_wheel, {"outside the environment"}},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        wheel_spec spec;
        spec.name = "bad";
        spec.entries = {file_entry("bad/__init__.py", "")};
        c.edit(spec);
        const stdfs::path wheel = dir.path / (c.what + ".whl");
        write_file(wheel, build_wheel(spec));
        pkg::pipeline::wheel_request named;
        named.filename = wheel_filename(spec);
        auto archive =
            maker.rt.run(pkg::pipeline::async_unpack_local_wheel(maker.ctx, wheel, named));
        if (!archive) {
            // The pipeline already refuses some (unsafe paths): then there is nothing to install.
            CHECK(c.what == "data escaping the environment");
            continue;
        }
        install_request request{archive->dir, archive->manifest, true, std::nullopt};
        pkg::installer::linker links(pkg::link_mode::hardlink);
        auto owners = owners_of(v);
        auto out = pkg::installer::install_wheel(request, v.scheme, links, owners);
        REQUIRE_FALSE(out);
        CHECK(out.error().code == c.code);
        for (const auto& text : c.cited) {
            CHECK_THAT(out.error().message, Catch::Contains(text));
        }
        CHECK(tree_of(v.root) == before);
    }
}

TEST_CASE("install: uninstall refuses RECORD paths outside the environment", "[install]")
{
    if (!can_test()) {
        return;
    }
    scratch_dir dir("install", "hostile");
    const stdfs::path wheel = write_wheel(dir.path, namespace_spec("a"));
    archive_maker maker(dir.path / "cache");
    venv v = make_venv(dir.path / "env");
    pkg::installer::linker links(pkg::link_mode::hardlink);
    auto owners = owners_of(v);
    REQUIRE(install(maker, v, wheel, links, owners));
    const stdfs::path outside = dir.path / "outside";
    stdfs::create_directories(outside);
    write_file(outside / "victim.txt", "keep me\n");
    stdfs::create_symlink(outside, v.site / "escape");
    const stdfs::path record = v.site / "nsa-1.0.dist-info" / "RECORD";
    const std::string original = read_file(record);

    const std::string hostile[] = {
        "../../../../outside/victim.txt,,\n",
        (outside / "victim.txt").string() + ",,\n",
        "escape/victim.txt,,\n",
    };
    for (const auto& line : hostile) {
        INFO(line);
        write_file(record, original + line);
        const auto before = tree_of(v.root);
        auto dist = find_dist(v, "nsa");
        REQUIRE(dist);
        auto out = pkg::installer::uninstall_dist(*dist, v.scheme);
        REQUIRE_FALSE(out);
        CHECK(out.error().code == pkg::errc::invalid_record);
        CHECK_THAT(out.error().message, Catch::Contains(record.string() + " line 7"));
        CHECK_THAT(out.error().message, Catch::Contains("outside the environment"));
        CHECK(tree_of(v.root) == before);
        CHECK(read_file(outside / "victim.txt") == "keep me\n");
        auto index = pkg::installer::file_owners::build({*dist});
        REQUIRE(index);  // the index only reads: a hostile path just owns nothing real
    }
    write_file(record, original + "\"unterminated,,\n");
    auto dist = find_dist(v, "nsa");
    REQUIRE(dist);
    auto out = pkg::installer::uninstall_dist(*dist, v.scheme);
    REQUIRE_FALSE(out);
    CHECK(out.error().code == pkg::errc::invalid_record);
    auto index = pkg::installer::file_owners::build({*dist});
    REQUIRE_FALSE(index);
    CHECK(index.error().code == pkg::errc::invalid_record);
    CHECK_THAT(index.error().message, Catch::Contains("line 7"));

    stdfs::remove(record);
    out = pkg::installer::uninstall_dist(*dist, v.scheme);
    REQUIRE_FALSE(out);
    CHECK(out.error().code == pkg::errc::invalid_record);
    CHECK_THAT(out.error().message, Catch::Contains("cannot tell which files belong to"));
    CHECK(stdfs::exists(v.site / "nspkg" / "a" / "__init__.py"));
}

TEST_CASE("install: link modes and the fallback across filesystems", "[install]")
{
    if (!can_test()) {
        return;
    }
    scratch_dir dir("install", "linkmodes");
    const stdfs::path wheel = write_wheel(dir.path, demo_spec());
    archive_maker maker(dir.path / "cache");
    auto request = maker.request_for(wheel);
    const stdfs::path source = request.archive_dir / "demo" / "cli.py";
    struct stat source_st {};
    REQUIRE(::stat(source.c_str(), &source_st) == 0);

    const auto installed_stat = [](const stdfs::path& p) {
        struct stat st {};
        REQUIRE(::lstat(p.c_str(), &st) == 0);
        return st;
    };
    SECTION("hardlink shares the archive's inodes")
    {
        venv v = make_venv(dir.path / "hard");
        pkg::installer::linker links(pkg::link_mode::hardlink);
        auto owners = owners_of(v);
        REQUIRE(pkg::installer::install_wheel(request, v.scheme, links, owners));
        const auto st = installed_stat(v.site / "demo" / "cli.py");
        CHECK(st.st_ino == source_st.st_ino);
        CHECK(links.warnings().empty());
        // Executable package files keep their bit through the link.
        CHECK((installed_stat(v.site / "demo" / "tool.sh").st_mode & 0777) == 0755);
        // RECORD and the rewritten scripts are the environment's own.
        CHECK(installed_stat(v.root / "bin" / "demo-script").st_nlink == 1);
    }
    SECTION("copy makes independent files with the same bytes")
    {
        venv v = make_venv(dir.path / "copy");
        pkg::installer::linker links(pkg::link_mode::copy);
        auto owners = owners_of(v);
        REQUIRE(pkg::installer::install_wheel(request, v.scheme, links, owners));
        const auto st = installed_stat(v.site / "demo" / "cli.py");
        CHECK(st.st_ino != source_st.st_ino);
        CHECK(S_ISREG(st.st_mode));
        CHECK(read_file(v.site / "demo" / "cli.py") == read_file(source));
        CHECK((installed_stat(v.site / "demo" / "tool.sh").st_mode & 0777) == 0755);
    }
    SECTION("symlink points into the archive")
    {
        venv v = make_venv(dir.path / "sym");
        pkg::installer::linker links(pkg::link_mode::symlink);
        auto owners = owners_of(v);
        REQUIRE(pkg::installer::install_wheel(request, v.scheme, links, owners));
        const stdfs::path installed = v.site / "demo" / "cli.py";
        REQUIRE(stdfs::is_symlink(installed));
        CHECK(stdfs::read_symlink(installed) == stdfs::absolute(source).lexically_normal());
        auto r = run_in(v, {(v.root / "bin" / "demo-cli").string()});
        CHECK(r.out == "demo main []\n");
        // Uninstall removes the links, never the archive's files.
        auto dist = find_dist(v, "demo");
        REQUIRE(dist);
        REQUIRE(pkg::installer::uninstall_dist(*dist, v.scheme));
        CHECK_FALSE(pkg::test::path_exists(installed));
        CHECK(stdfs::exists(source));
    }
    SECTION("clone on a filesystem without reflinks falls back with one warning")
    {
        venv v = make_venv(dir.path / "clone");
        pkg::installer::linker links(pkg::link_mode::clone);
        auto owners = owners_of(v);
        REQUIRE(pkg::installer::install_wheel(request, v.scheme, links, owners));
        CHECK(read_file(v.site / "demo" / "cli.py") == read_file(source));
        struct stat fs_probe {};
        REQUIRE(::stat(source.c_str(), &fs_probe) == 0);
        const auto warnings = links.warnings();
        // ext4/tmpfs have no FICLONE: one warning naming the variable; btrfs/XFS clone silently.
        const auto st = installed_stat(v.site / "demo" / "cli.py");
        if (st.st_ino == source_st.st_ino) {
            REQUIRE(warnings.size() == 1);
            CHECK_THAT(warnings[0], Catch::Contains("PKG_LINK_MODE"));
            CHECK_THAT(warnings[0], Catch::Contains("clone"));
        }
    }
    SECTION("hardlink from the disk into /dev/shm copies, with one warning")
    {
        struct stat shm {};
        if (::stat("/dev/shm", &shm) != 0 || shm.st_dev == source_st.st_dev ||
            ::access("/dev/shm", W_OK) != 0) {
            WARN("no writable /dev/shm on another filesystem: skipped");
            return;
        }
        scratch_dir shm_dir("install", "shm", "/dev/shm");
        venv v = make_venv(shm_dir.path / "env");
        pkg::installer::linker links(pkg::link_mode::hardlink);
        auto owners = owners_of(v);
        auto out = pkg::installer::install_wheel(request, v.scheme, links, owners);
        REQUIRE(out);
        const auto st = installed_stat(v.site / "demo" / "cli.py");
        CHECK(st.st_ino != source_st.st_ino);
        CHECK(read_file(v.site / "demo" / "cli.py") == read_file(source));
        CHECK((installed_stat(v.site / "demo" / "tool.sh").st_mode & 0777) == 0755);
        const auto warnings = links.warnings();
        REQUIRE(warnings.size() == 1);  // one per fallback, not one per file
        CHECK_THAT(warnings[0], Catch::Contains("PKG_LINK_MODE"));
        CHECK_THAT(warnings[0], Catch::Contains("copying"));
        CHECK_THAT(warnings[0], Catch::Contains("Invalid cross-device link"));
        // A second wheel over the same pair of filesystems does not warn again.
        const stdfs::path other = write_wheel(dir.path, platlib_spec());
        auto second = maker.request_for(other);
        REQUIRE(pkg::installer::install_wheel(second, v.scheme, links, owners));
        CHECK(links.warnings().size() == 1);
        auto r = run_in(v, {(v.root / "bin" / "demo-cli").string()});
        CHECK(r.out == "demo main []\n");
    }
}

TEST_CASE("install: launchers work from long and spaced environment paths", "[install]")
{
    if (!can_test()) {
        return;
    }
    scratch_dir dir("install", "trampoline");
    const stdfs::path wheel = write_wheel(dir.path, demo_spec());
    archive_maker maker(dir.path / "cache");
    for (const std::string& leaf : {std::string(120, 'l'), std::string("with space")}) {
        INFO(leaf);
        venv v = make_venv(dir.path / leaf / "env");
        pkg::installer::linker links(pkg::link_mode::hardlink);
        auto owners = owners_of(v);
        REQUIRE(install(maker, v, wheel, links, owners));
        const std::string launcher = read_file(v.root / "bin" / "demo-cli");
        CHECK(first_line(launcher) == "#!/bin/sh");
        auto r = run_in(v, {(v.root / "bin" / "demo-cli").string(), "arg with space"});
        CHECK(r.exit_code == 0);
        CHECK(r.out == "demo main ['arg with space']\n");
        r = run_in(v, {(v.root / "bin" / "demo-script").string()});
        CHECK(r.out == "script ok " + v.root.string() + "\n");
    }
}

TEST_CASE("install: scan_site_packages lists dist-info and egg-info", "[install]")
{
    if (!can_test()) {
        return;
    }
    scratch_dir dir("install", "scan");
    venv v = make_venv(dir.path / "env");
    archive_maker maker(dir.path / "cache");
    const stdfs::path wheel = write_wheel(dir.path, platlib_spec());
    pkg::installer::linker links(pkg::link_mode::hardlink);
    auto owners = owners_of(v);
    REQUIRE(install(maker, v, wheel, links, owners));
    // pip-installed look-alike, an egg-info directory and file, a metadata-less leftover, and
    // pkg's own hidden names, which are not distributions.
    stdfs::create_directories(v.site / "Foo_Bar-3.1.dist-info");
    write_file(v.site / "Foo_Bar-3.1.dist-info" / "METADATA", "Name: Foo-Bar\nVersion: 3.1\n");
    write_file(v.site / "Foo_Bar-3.1.dist-info" / "INSTALLER", "pip\n");
    stdfs::create_directories(v.site / "legacy-0.9-py3.11.egg-info");
    write_file(v.site / "single-2.0.egg-info", "Metadata-Version: 1.0\n");
    stdfs::create_directories(v.site / "empty-1.0.dist-info");
    stdfs::create_directories(v.site / ".x-1.0.dist-info.installing.1.2");
    write_file(v.site / ".x-1.0.dist-info.installing.1.2" / "METADATA", "");

    auto dists = pkg::installer::scan_site_packages({v.scheme.purelib, v.scheme.platlib, v.site / "missing"});
    REQUIRE(dists);
    std::vector<std::string> seen;
    for (const auto& d : *dists) {
        seen.push_back(d.normalized_name + " " + d.name + " " + d.version + " [" + d.installer + "]");
    }
    CHECK(seen == std::vector<std::string>{"foo-bar Foo_Bar 3.1 [pip]", "legacy legacy 0.9 []",
                                           "platpkg platpkg 2.0 [pkg]", "single single 2.0 []"});
    CHECK((*dists)[2].dist_info == v.site / "platpkg-2.0.dist-info");

    auto egg = (*dists)[1];
    auto refused = pkg::installer::uninstall_dist(egg, v.scheme);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == pkg::errc::unsupported);
    CHECK(stdfs::exists(egg.dist_info));
}

TEST_CASE("install: installer metadata follows the request", "[install]")
{
    if (!can_test()) {
        return;
    }
    scratch_dir dir("install", "metadata");
    const stdfs::path wheel = write_wheel(dir.path, platlib_spec());
    archive_maker maker(dir.path / "cache");
    venv v = make_venv(dir.path / "env");
    auto request = maker.request_for(wheel);
    request.requested = false;
    pkg::installer::linker links(pkg::link_mode::hardlink);
    auto owners = owners_of(v);
    auto out = pkg::installer::install_wheel(request, v.scheme, links, owners);
    REQUIRE(out);
    const stdfs::path info = v.scheme.platlib / "platpkg-2.0.dist-info";
    CHECK(out->dist.dist_info == info);
    CHECK(out->dist.installer == "pkg");
    CHECK(read_file(info / "INSTALLER") == "pkg\n");
    CHECK_FALSE(stdfs::exists(info / "REQUESTED"));
    CHECK_FALSE(stdfs::exists(info / "direct_url.json"));
    const auto line = [](const std::string& path, const std::string& content) {
        return path + ",sha256=" + pkg::installer::record_hash(content) + "," +
               std::to_string(content.size());
    };
    const std::string metadata = "Metadata-Version: 2.1\nName: platpkg\nVersion: 2.0\n";
    const std::string wheel_file =
        "Wheel-Version: 1.0\nGenerator: pkg-test\nRoot-Is-Purelib: false\nTag: py3-none-any\n";
    const std::string init = "KIND = 'platlib root'\n";
    CHECK(record_lines(info / "RECORD") ==
          std::set<std::string>{line("platpkg-2.0.dist-info/INSTALLER", "pkg\n"),
                                line("platpkg-2.0.dist-info/METADATA", metadata),
                                "platpkg-2.0.dist-info/RECORD,,",
                                line("platpkg-2.0.dist-info/WHEEL", wheel_file),
                                line("platpkg/__init__.py", init)});
    CHECK(out->files == 5);
    CHECK(out->bytes == 4 + metadata.size() + wheel_file.size() + init.size());
    // The file index now knows the new files (claimed during the install).
    const auto* owner = owners.owner_of(v.scheme.platlib / "platpkg" / "__init__.py");
    REQUIRE(owner != nullptr);
    CHECK(owner->name == "platpkg");
}

TEST_CASE("install: many wheels at once share directories and shared files cleanly", "[install]")
{
    if (!can_test()) {
        return;
    }
    scratch_dir dir("install", "parallel");
    archive_maker maker(dir.path / "cache");
    venv v = make_venv(dir.path / "env");
    std::vector<install_request> requests;
    const std::string parts = "abcdefgh";
    for (char c : parts) {
        const wheel_spec spec = namespace_spec(std::string(1, c));
        const stdfs::path wheel = write_wheel(dir.path, spec);
        requests.push_back(maker.request_for(wheel));
    }
    // Two more that both ship nspkg/shared.py: exactly one of them may win.
    for (const std::string name : {"rival1", "rival2"}) {
        wheel_spec spec;
        spec.name = name;
        spec.entries = {file_entry("nspkg/shared.py", "WHO = '" + name + "'\n"),
                        file_entry(name + "/__init__.py", "")};
        const stdfs::path wheel = write_wheel(dir.path, spec);
        requests.push_back(maker.request_for(wheel));
    }
    pkg::installer::linker links(pkg::link_mode::hardlink);
    auto owners = owners_of(v);
    std::vector<std::optional<pkg::result<install_outcome>>> results(requests.size());
    {
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < requests.size(); ++i) {
            threads.emplace_back([&, i] {
                results[i] = pkg::installer::install_wheel(requests[i], v.scheme, links, owners);
            });
        }
        for (auto& t : threads) {
            t.join();
        }
    }
    for (std::size_t i = 0; i < parts.size(); ++i) {
        REQUIRE(results[i]);
        CHECK(*results[i]);
    }
    const auto& r1 = *results[parts.size()];
    const auto& r2 = *results[parts.size() + 1];
    REQUIRE(r1);
    REQUIRE(r2);
    // Exactly one claimed the shared file first; the other was told and left it alone.
    REQUIRE(r1->warnings.size() + r2->warnings.size() == 1);
    const std::string winner = r2->warnings.empty() ? "rival2" : "rival1";
    const std::string loser = winner == "rival1" ? "rival2" : "rival1";
    CHECK(read_file(v.site / "nspkg" / "shared.py") == "WHO = '" + winner + "'\n");
    CHECK(stdfs::exists(v.site / loser / "__init__.py"));
    const auto lines = record_lines(v.site / (loser + "-1.0.dist-info") / "RECORD");
    CHECK(std::none_of(lines.begin(), lines.end(),
                       [](const std::string& l) { return l.starts_with("nspkg/shared.py"); }));
    CHECK(record_lines(v.site / (winner + "-1.0.dist-info") / "RECORD").size() == lines.size() + 1);
    require_no_leftovers(v.root);
    std::string imports = "import nspkg.shared";
    for (char c : parts) {
        imports += ", nspkg." + std::string(1, c);
    }
    auto r = run_process({v.python.string(), "-c", imports + "\nprint(nspkg.shared.WHO)"});
    CHECK(r.err == "");
    CHECK(r.out == winner + "\n");
}

TEST_CASE("install: a process killed at any moment never leaves a .dist-info without its files",
          "[install]")
{
    if (!can_test()) {
        return;
    }
    scratch_dir dir("install", "kill");
    wheel_spec spec;
    spec.name = "many";
    for (int i = 0; i < 300; ++i) {
        spec.entries.push_back(file_entry("many/m" + std::to_string(i) + ".py", "X = " + std::to_string(i) + "\n"));
    }
    spec.entries.push_back(file_entry("many-1.0.data/scripts/many-script", "#!python\nprint('many')\n"));
    spec.entry_points = "[console_scripts]\nmany = many.m1:main\n";
    const stdfs::path wheel = write_wheel(dir.path, spec);
    archive_maker maker(dir.path / "cache");
    venv v = make_venv(dir.path / "env");
    auto request = maker.request_for(wheel);

    // Every visible .dist-info must have a RECORD whose files all exist.
    const auto check_invariant = [&] {
        auto dists = pkg::installer::scan_site_packages({v.scheme.purelib});
        REQUIRE(dists);
        for (const auto& d : *dists) {
            INFO(d.dist_info);
            auto files = pkg::installer::read_installed_record(d.dist_info);
            REQUIRE(files);
            CHECK(files->size() == 300 + 2 + 3 + 3);  // modules, 2 scripts, 3 from the wheel, INSTALLER REQUESTED RECORD
            for (const auto& f : *files) {
                INFO(f.path);
                CHECK(pkg::test::path_exists(f.path));
            }
        }
    };
    std::mt19937 random(std::random_device{}());
    for (int round = 0; round < 12; ++round) {
        const stdfs::path ready = dir.path / ("ready-" + std::to_string(round));
        auto worker = pkg::test::spawn(
            {PKG_TEST_HELPER_install_worker, request.archive_dir.string(), ready.string(),
             v.scheme.prefix.string(), v.scheme.purelib.string(), v.scheme.platlib.string(),
             v.scheme.scripts.string(), v.scheme.data.string(), v.scheme.include.string(),
             v.python.string()},
            dir.path / ("worker-" + std::to_string(round)));
        REQUIRE(pkg::test::wait_for_file(ready));
        std::this_thread::sleep_for(std::chrono::microseconds(random() % 40000));
        ::kill(worker.pid, SIGKILL);
        CHECK(pkg::test::wait_exit(worker) == 128 + SIGKILL);
        check_invariant();
    }
    // Whatever the last kill left, a new run ends correct: hidden staging and removal trees of
    // dead processes go, what is visible is uninstalled and installed again (orphaned files of an
    // interrupted install are nobody's and get replaced).
    auto cleaned = pkg::installer::remove_interrupted_leftovers({v.scheme.purelib, v.scheme.platlib});
    REQUIRE(cleaned);
    for (const auto& entry : stdfs::directory_iterator(v.site)) {
        const std::string name = entry.path().filename().string();
        INFO(name);
        CHECK(name.find(".installing.") == std::string::npos);
        CHECK(name.find(".removing.") == std::string::npos);
    }
    if (auto d = find_dist(v, "many")) {
        REQUIRE(pkg::installer::uninstall_dist(*d, v.scheme));
    }
    pkg::installer::linker links(pkg::link_mode::hardlink);
    auto owners = owners_of(v);
    auto out = pkg::installer::install_wheel(request, v.scheme, links, owners);
    REQUIRE(out);
    check_invariant();
    auto r = run_process({v.python.string(), "-c", "import many.m299; print(many.m299.X)"});
    CHECK(r.out == "299\n");
}

TEST_CASE("install: leftovers of dead processes are removed, live ones kept", "[install]")
{
    scratch_dir dir("install", "leftovers");
    const stdfs::path site = dir.path / "site-packages";
    const std::string own_pid = std::to_string(::getpid());
    const std::string names[] = {
        ".dead-1.0.dist-info.installing.999999999.0123456789abcdef",  // no such pid
        ".gone-2.0.dist-info.removing.999999998.0123456789abcdef",
        ".live-1.0.dist-info.installing." + own_pid + ".0123456789abcdef",  // this process
        ".odd-1.0.dist-info.installing.notapid.0123456789abcdef",  // not pkg's name: untouched
        "real-1.0.dist-info",
    };
    for (const auto& name : names) {
        stdfs::create_directories(site / name / "sub");
        write_file(site / name / "sub" / "file", "x");
    }
    auto removed = pkg::installer::remove_interrupted_leftovers({site, site, dir.path / "missing"});
    REQUIRE(removed);
    CHECK(std::set<stdfs::path>(removed->begin(), removed->end()) ==
          std::set<stdfs::path>{site / names[0], site / names[1]});
    CHECK_FALSE(stdfs::exists(site / names[0]));
    CHECK_FALSE(stdfs::exists(site / names[1]));
    for (int i = 2; i < 5; ++i) {
        CHECK(stdfs::exists(site / names[i] / "sub" / "file"));
    }
}
