// `pkg install`, `sync`, `uninstall`, `list` and `freeze` as a user runs them: the real pkg binary
// in a controlled environment (env -i: no PKG_*/PIP_* of the caller, HOME an empty scratch
// directory, PIP_CONFIG_FILE=/dev/null), against an nginx serving a PEP 503 tree of Debian's
// wheels (/usr/share/python-wheels) plus a small generated one, into venvs made by `pkg venv`.
// The JSON writer (cli/src/json_writer.hpp, header-only) is tested directly.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "../../cli/src/json_writer.hpp"
#include "cache/digest.hpp"
#include "support/fault_server.hpp"
#include "support/files.hpp"
#include "support/nginx_fixture.hpp"
#include "support/process.hpp"

extern char** environ;

namespace fs = std::filesystem;
using pkg::test::process_result;
using pkg::test::read_text;
using pkg::test::run_process;
using pkg::test::scratch_dir;
using pkg::test::write_text;

namespace {

const std::string pkg_exe = PKG_TEST_CLI;
const fs::path debian_wheels = "/usr/share/python-wheels";

// The Debian wheel of `project` (pip, setuptools, wheel), or "" when python3-*-whl is missing.
fs::path debian_wheel(const std::string& project)
{
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(debian_wheels, ec)) {
        const auto name = entry.path().filename().string();
        if (name.starts_with(project + "-") && name.ends_with(".whl")) {
            return entry.path();
        }
    }
    return {};
}

// "wheel-0.38.4-py3-none-any.whl" → "0.38.4".
std::string version_of(const fs::path& wheel)
{
    const auto name = wheel.filename().string();
    const auto first = name.find('-');
    return name.substr(first + 1, name.find('-', first + 1) - first - 1);
}

// A one-module wheel `name`-`version` (import `name` prints nothing; `name.VERSION` is set),
// built by Python's zipfile so its RECORD is independent of pkg's code. With `also_ships`, it
// ships `<also_ships>/__init__.py` too (setting SHIPPED_BY = name), as some real pairs do.
std::string make_wheel(const fs::path& dir, const std::string& name, const std::string& version,
                       const std::string& also_ships = "")
{
    const auto script = dir / ("make_" + name + ".py");
    write_text(script, R"(import base64, hashlib, sys, zipfile
name, version, out, also = sys.argv[1:5]
di = f"{name}-{version}.dist-info"
files = {f"{name}/__init__.py": f"VERSION = {version!r}\n",
         f"{di}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
         f"{di}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
if also: files[f"{also}/__init__.py"] = f"SHIPPED_BY = {name!r}\n"
def h(b): return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
record = "".join(f"{p},{h(c.encode())},{len(c.encode())}\n" for p, c in files.items()) + f"{di}/RECORD,,\n"
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for p, c in files.items(): z.writestr(p, c)
    z.writestr(f"{di}/RECORD", record)
)");
    const auto out = dir / (name + "-" + version + "-py3-none-any.whl");
    const auto r = run_process({pkg::test::test_python().string(), script.string(), name, version,
                                out.string(), also_ships});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return read_text(out);
}

// A PEP 503 tree: /simple/<project>/index.html linking /files/<wheel>#sha256=…
struct index_tree {
    std::vector<std::pair<std::string, std::string>> files;
    std::string root_page = "<!DOCTYPE html><html><body>\n";

    // Adds `project`'s page listing `wheels` (filename → bytes), each served from /files/, or from
    // `url_for(filename)` when given.
    void add(const std::string& project, const std::vector<std::pair<std::string, std::string>>& wheels)
    {
        std::string page = "<!DOCTYPE html><html><body>\n";
        for (const auto& [filename, bytes] : wheels) {
            files.emplace_back("files/" + filename, bytes);
            page += "<a href=\"/files/" + filename + "#sha256=" + pkg::cache::sha256_hex(bytes) +
                    "\">" + filename + "</a><br>\n";
        }
        files.emplace_back("simple/" + project + "/index.html", page + "</body></html>\n");
        root_page += "<a href=\"/simple/" + project + "/\">" + project + "</a>\n";
    }

    // Adds `project`'s page with one link to an absolute `url` named `filename`.
    void add_link(const std::string& project, const std::string& filename, const std::string& url)
    {
        files.emplace_back("simple/" + project + "/index.html",
                           "<!DOCTYPE html><html><body>\n<a href=\"" + url + "\">" + filename +
                               "</a>\n</body></html>\n");
        root_page += "<a href=\"/simple/" + project + "/\">" + project + "</a>\n";
    }

    std::vector<std::pair<std::string, std::string>> all() const
    {
        auto out = files;
        out.emplace_back("simple/index.html", root_page + "</body></html>\n");
        return out;
    }
};

// Runs the pkg binary with a clean environment: only PATH, HOME (an empty directory),
// PIP_CONFIG_FILE=/dev/null, PKG_CACHE_DIR and whatever `extra` adds ("NAME=value").
struct sandbox {
    scratch_dir dir;
    fs::path home;
    fs::path cache;

    explicit sandbox(std::string_view tag)
        : dir("cli-install", tag), home(dir.path / "home"), cache(dir.path / "cache")
    {
        fs::create_directories(home);
    }

    std::vector<std::string> env(const std::vector<std::string>& extra = {}) const
    {
        std::vector<std::string> argv{"/usr/bin/env",
                                      "-i",
                                      "PATH=/usr/bin:/bin",
                                      "HOME=" + home.string(),
                                      "PIP_CONFIG_FILE=/dev/null",
                                      "PKG_CACHE_DIR=" + cache.string()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return argv;
    }

    process_result pkg(const std::vector<std::string>& args,
                       const std::vector<std::string>& extra_env = {}) const
    {
        auto argv = env(extra_env);
        argv.push_back(pkg_exe);
        argv.insert(argv.end(), args.begin(), args.end());
        return run_process(argv);
    }

    // A fresh venv at dir/<name> made by `pkg venv`; returns its path.
    fs::path venv(const std::string& name) const
    {
        const auto path = dir.path / name;
        const auto r = pkg({"venv", path.string(), "--python", pkg::test::test_python().string()});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        return path;
    }
};

// Runs Python code in the venv; returns the process result.
process_result in_venv(const fs::path& venv, const std::string& code)
{
    return run_process({(venv / "bin" / "python").string(), "-c", code});
}

// Checks with the venv's own Python that `text` is one JSON document and that `check` (a Python
// expression over `d`) holds for it.
void check_json(const fs::path& dir, const std::string& text, const std::string& check = "True")
{
    static int counter = 0;
    const auto file = dir / ("doc-" + std::to_string(++counter) + ".json");
    write_text(file, text);
    const auto r = run_process({"/usr/bin/python3", "-c",
                                "import json,sys; d = json.load(open(sys.argv[1])); "
                                "assert (" + check + "), d",
                                file.string()});
    INFO(text);
    INFO(r.err);
    CHECK(r.exit_code == 0);
}

bool has_line(const std::string& text, const std::string& line)
{
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

using pkg::test::fault_server;

// Waits (bounded, never asserted on) until file `p` contains `text`.
bool wait_for_text(const fs::path& p, const std::string& text)
{
    for (int i = 0; i < 600; ++i) {
        std::ifstream in(p);
        std::stringstream s;
        s << in.rdbuf();
        if (s.str().find(text) != std::string::npos) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

// Every installed distribution's RECORD files exist (no .dist-info without its files).
void check_environment_consistent(const fs::path& venv)
{
    const auto r = in_venv(venv, "import importlib.metadata as m\n"
                                 "for d in m.distributions():\n"
                                 "    for f in d.files or []:\n"
                                 "        assert d.locate_file(f).exists() or f.suffix == '.pyc', f\n");
    INFO(r.err);
    CHECK(r.exit_code == 0);
}

}  // namespace

// ---- the JSON writer ----------------------------------------------------------------------------

TEST_CASE("cli json: strings are escaped per RFC 8259", "[cli][install]")
{
    using pkg::cli::json_quote;
    CHECK(json_quote("") == R"("")");
    CHECK(json_quote("plain") == R"("plain")");
    CHECK(json_quote("a\"b\\c") == R"("a\"b\\c")");
    CHECK(json_quote("\n\t\r\b\f") == R"("\n\t\r\b\f")");
    CHECK(json_quote(std::string("\x00\x01\x1f\x7f", 4)) == R"("\u0000\u0001\u001f\u007f")");
    CHECK(json_quote("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d") ==
          "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d\"");  // é € 🐍 pass through
    // Invalid UTF-8 (a stray continuation byte, a truncated sequence, an overlong '/', a UTF-16
    // surrogate, a lead byte past U+10FFFF) becomes U+FFFD per byte: the document still parses.
    CHECK(json_quote("a\x80z") == R"("a\ufffdz")");
    CHECK(json_quote("\xe2\x82") == R"("\ufffd\ufffd")");
    CHECK(json_quote("\xc0\xaf") == R"("\ufffd\ufffd")");
    CHECK(json_quote("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")");
    CHECK(json_quote("\xf5\x80\x80\x80") == R"("\ufffd\ufffd\ufffd\ufffd")");
}

TEST_CASE("cli json: the writer nests, separates and indents, Python parses it", "[cli][install]")
{
    pkg::cli::json_writer json;
    json.begin_object()
        .member("name", "caf\xc3\xa9\n\x01")
        .member("count", std::uint64_t{3})
        .member("delta", std::int64_t{-2})
        .member("ok", true)
        .key("none")
        .null()
        .key("empty")
        .begin_array()
        .end_array()
        .key("list")
        .begin_array()
        .value("a")
        .begin_object()
        .member("b", false)
        .end_object()
        .end_array()
        .end_object();
    const std::string text = json.str();
    CHECK(text == "{\n  \"name\": \"caf\xc3\xa9\\n\\u0001\",\n  \"count\": 3,\n  \"delta\": -2,\n"
                  "  \"ok\": true,\n  \"none\": null,\n  \"empty\": [],\n  \"list\": [\n    \"a\",\n"
                  "    {\n      \"b\": false\n    }\n  ]\n}\n");
    scratch_dir dir("cli-install", "json");
    check_json(dir.path, text,
               "d['name'] == 'caf\\u00e9\\n\\x01' and d['count'] == 3 and d['delta'] == -2 and "
               "d['ok'] is True and d['none'] is None and d['empty'] == [] and "
               "d['list'] == ['a', {'b': False}]");
}

// ---- usage ------------------------------------------------------------------------------------

TEST_CASE("cli install: usage errors exit 2 and say what is wrong", "[cli][install]")
{
    sandbox box("usage");
    const auto lock = box.dir.path / "lock.txt";
    write_text(lock, "wheel==0.38.4\n");

    auto r = box.pkg({"install"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--requirement") != std::string::npos);

    r = box.pkg({"install", "-r", lock.string(), "--link-mode", "teleport"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("error: ") == 0);
    CHECK(r.err.find("teleport") != std::string::npos);
    for (const char* mode : {"clone", "hardlink", "copy", "symlink"}) {
        INFO(mode);
        CHECK(r.err.find(mode) != std::string::npos);
    }
    CHECK(r.err.find("PKG_LINK_MODE") != std::string::npos);
    CHECK(r.out.empty());

    r = box.pkg({"sync", lock.string()}, {"PKG_LINK_MODE=teleport"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("teleport") != std::string::npos);

    r = box.pkg({"sync"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("no lockfile given") != std::string::npos);
    CHECK(r.err.find("pkg sync FILE") != std::string::npos);

    CHECK(box.pkg({"install", "-r", lock.string(), "--concurrent-downloads", "0"}).exit_code == 2);
    CHECK(box.pkg({"install", "-r", lock.string()}, {"PKG_CONCURRENT_DOWNLOADS=many"}).exit_code ==
          2);
    r = box.pkg({"install", "-r", lock.string()}, {"PKG_OFFLINE=perhaps"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("offline") != std::string::npos);
    CHECK(box.pkg({"install", "-r", lock.string(), "-q", "-v"}).exit_code == 2);
    CHECK(box.pkg({"install", "-r", lock.string(), "--frobnicate"}).exit_code == 2);
    CHECK(box.pkg({"uninstall"}).exit_code == 2);
    CHECK(box.pkg({"list", "--format", "xml"}).exit_code == 2);
    CHECK(box.pkg({"freeze", "extra-arg"}).exit_code == 2);

    // A variable is read only by the commands that have its flag.
    r = box.pkg({"cache", "dir"}, {"PKG_OFFLINE=perhaps", "PKG_CONCURRENT_DOWNLOADS=0",
                                   "PKG_LINK_MODE=teleport"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == box.cache.string() + "\n");
}

TEST_CASE("cli install: each command documents its flags and variables", "[cli][install]")
{
    sandbox box("help");
    auto r = box.pkg({"install", "--help"});
    CHECK(r.exit_code == 0);
    for (const char* text :
         {"--requirement", "--python", "PKG_PYTHON", "--index-url", "--extra-index-url",
          "--find-links", "--no-index", "--require-hashes", "--link-mode", "PKG_LINK_MODE",
          "--reinstall", "--offline", "PKG_OFFLINE", "--refresh", "--no-cache", "PKG_NO_CACHE",
          "--dry-run", "--compile-bytecode", "PKG_COMPILE_BYTECODE", "--quiet", "--verbose",
          "--json", "--concurrent-downloads", "PKG_CONCURRENT_DOWNLOADS"}) {
        INFO(text);
        CHECK(r.out.find(text) != std::string::npos);
    }
    r = box.pkg({"uninstall", "--help"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("--yes") != std::string::npos);
    r = box.pkg({"list", "--help"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("--format") != std::string::npos);
    r = box.pkg({"--help"});
    CHECK(r.out.find("130") != std::string::npos);  // exit codes in the footer
}

// ---- no index -----------------------------------------------------------------------------------

TEST_CASE("cli install: no index configured is a clear error with a hint", "[cli][install]")
{
    if (pkg::test::test_python().empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    sandbox box("no-index");
    const auto venv = box.venv("env");
    const auto lock = box.dir.path / "lock.txt";
    write_text(lock, "wheel==0.38.4\n");

    auto r = box.pkg({"install", "-r", lock.string(), "--python", venv.string()});
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find("error: ") != std::string::npos);
    CHECK(r.err.find("\n  hint: ") != std::string::npos);
    for (const char* how : {"--index-url", "PKG_INDEX_URL", "PIP_INDEX_URL"}) {
        INFO(how);
        CHECK(r.err.find(how) != std::string::npos);
    }

    r = box.pkg({"install", "-r", lock.string(), "--json"}, {"PKG_PYTHON=" + venv.string()});
    CHECK(r.exit_code == 1);
    check_json(box.dir.path, r.out,
               "d['command'] == 'install' and 'PKG_INDEX_URL' in d['error']['message'] + "
               "d['error']['hint'] and d['error']['category'] == 'pkg'");
    CHECK(r.err.find("error: ") != std::string::npos);
}

// ---- end to end -----------------------------------------------------------------------------------

TEST_CASE("cli install: install, no-op, list, freeze, uninstall, json, dry run, quiet, sync",
          "[cli][install]")
{
    const auto pip_whl = debian_wheel("pip");
    const auto wheel_whl = debian_wheel("wheel");
    if (pkg::test::test_python().empty() || pip_whl.empty() || wheel_whl.empty()) {
        WARN("needs /usr/bin/python3 and python3-pip-whl: skipped");
        return;
    }
    sandbox box("e2e");
    const std::string pip_version = version_of(pip_whl);
    const std::string wheel_version = version_of(wheel_whl);
    index_tree tree;
    tree.add("pip", {{pip_whl.filename().string(), read_text(pip_whl)}});
    tree.add("wheel", {{wheel_whl.filename().string(), read_text(wheel_whl)}});
    tree.add("tinypkg", {{"tinypkg-1.0-py3-none-any.whl", make_wheel(box.dir.path, "tinypkg", "1.0")},
                         {"tinypkg-2.0-py3-none-any.whl", make_wheel(box.dir.path, "tinypkg", "2.0")}});
    const pkg::test::nginx_fixture nginx(tree.all());
    const std::string index = nginx.http_url("/simple/");

    const auto venv = box.venv("env");
    const auto lock = box.dir.path / "lock.txt";
    write_text(lock, "# a lockfile\npip==" + pip_version + "\nwheel==" + wheel_version +
                         "\ntinypkg==1.0\n");
    const std::vector<std::string> target{"--python", venv.string(), "-i", index};
    auto install = [&](std::vector<std::string> args, std::vector<std::string> env = {}) {
        args.insert(args.begin(), {"install", "-r", lock.string()});
        args.insert(args.end(), target.begin(), target.end());
        return box.pkg(args, std::move(env));
    };

    // First install: plain progress lines (stderr is a pipe), then the summary.
    auto r = install({});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.empty());
    CHECK(r.err.find("Installed 3 packages in ") != std::string::npos);
    CHECK(r.err.find(" + pip==" + pip_version + "\n + tinypkg==1.0\n + wheel==" + wheel_version +
                     "\n") != std::string::npos);
    CHECK(r.err.find("Downloaded ") != std::string::npos);
    CHECK(r.err.find("\x1b[") == std::string::npos);  // no terminal codes into a pipe
    CHECK(in_venv(venv, "import wheel, tinypkg; assert tinypkg.VERSION == '1.0'").exit_code == 0);
    check_environment_consistent(venv);

    // The same lockfile again does nothing and says so.
    r = install({});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("Nothing to do: 3 packages already installed\n") != std::string::npos);
    CHECK(r.err.find(" + ") == std::string::npos);

    // list and freeze agree with pip's own view of the environment.
    const auto pip_list = run_process({(venv / "bin" / "python").string(), "-m", "pip", "list",
                                       "--format=freeze", "--disable-pip-version-check"});
    INFO(pip_list.err);
    REQUIRE(pip_list.exit_code == 0);
    CHECK(has_line(pip_list.out, "wheel==" + wheel_version));
    r = box.pkg({"freeze", "--python", venv.string()});
    CHECK(r.exit_code == 0);
    CHECK(r.out == pip_list.out);
    r = box.pkg({"list"}, {"PKG_PYTHON=" + venv.string()});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("Package ") == 0);
    CHECK(r.out.find("\n------") != std::string::npos);
    CHECK(r.out.find("\nwheel ") != std::string::npos);
    CHECK(r.out.find(" " + wheel_version + "\n") != std::string::npos);
    r = box.pkg({"list", "--python", venv.string(), "--format", "freeze"});
    CHECK(r.out == pip_list.out);
    r = box.pkg({"list", "--python", venv.string(), "--format", "json"});
    CHECK(r.exit_code == 0);
    check_json(box.dir.path, r.out,
               "sorted(p['name'] + '==' + p['version'] for p in d) == sorted('''" + pip_list.out +
                   "'''.split()) and all(p['installer'] == 'pkg' for p in d)");

    // Uninstall; -y is accepted and nothing is asked.
    r = box.pkg({"uninstall", "-y", "Wheel", "--python", venv.string()});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("Uninstalled 1 package in ") != std::string::npos);
    CHECK(r.err.find(" - wheel==" + wheel_version + "\n") != std::string::npos);
    CHECK(in_venv(venv, "import wheel").exit_code != 0);
    r = box.pkg({"uninstall", "wheel", "--python", venv.string()});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("error: ") != std::string::npos);
    CHECK(r.err.find("wheel") != std::string::npos);

    // --dry-run plans and reports but changes nothing.
    r = install({"--dry-run"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("Would install 1 package\n") != std::string::npos);
    CHECK(r.err.find(" + wheel==" + wheel_version + "\n") != std::string::npos);
    CHECK(in_venv(venv, "import wheel").exit_code != 0);
    r = install({"--json"}, {"PKG_DRY_RUN=yes"});
    CHECK(r.exit_code == 0);
    check_json(box.dir.path, r.out, "d['dry_run'] is True and d['installed'][0]['name'] == 'wheel'");
    CHECK(in_venv(venv, "import wheel").exit_code != 0);

    // --json: one document on stdout, from the cache this time.
    r = install({"--json"}, {"PKG_DRY_RUN=0"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    check_json(box.dir.path, r.out,
               "d['command'] == 'install' and d['dry_run'] is False and "
               "[(p['name'], p['version'], p['source']) for p in d['installed']] == "
               "[('wheel', '" + wheel_version + "', 'cache')] and "
               "sorted(p['name'] for p in d['unchanged']) == ['pip', 'tinypkg'] and "
               "d['environment'] == '" + venv.string() + "' and d['python_version'].startswith('3.') "
               "and d['removed'] == [] and d['replaced'] == [] and "
               "isinstance(d['timings_ms']['total'], int)");
    CHECK(in_venv(venv, "import wheel").exit_code == 0);

    // -q prints nothing at all on success; uninstall --json reports what it removed.
    r = box.pkg({"uninstall", "wheel", "--json", "--python", venv.string()});
    CHECK(r.exit_code == 0);
    check_json(box.dir.path, r.out,
               "d['command'] == 'uninstall' and d['dry_run'] is False and "
               "[(p['name'], p['version']) for p in d['removed']] == [('wheel', '" + wheel_version +
                   "')]");
    r = install({"-q"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
    CHECK(r.err.empty());
    CHECK(in_venv(venv, "import wheel").exit_code == 0);

    // An upgrade shows the old version going and the new one coming.
    const auto upgrade_lock = box.dir.path / "upgrade.txt";
    write_text(upgrade_lock, "tinypkg==2.0\n");
    r = box.pkg({"install", "-r", upgrade_lock.string(), "--python", venv.string(), "-i", index});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("Installed 1 package in ") != std::string::npos);
    CHECK(r.err.find("\n - tinypkg==1.0\n + tinypkg==2.0\n") != std::string::npos);
    CHECK(in_venv(venv, "import tinypkg; assert tinypkg.VERSION == '2.0'").exit_code == 0);

    // uninstall --dry-run says what would go and removes nothing.
    r = box.pkg({"uninstall", "tinypkg", "--dry-run", "--python", venv.string()});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("Would uninstall 1 package\n - tinypkg==2.0\n") != std::string::npos);
    CHECK(in_venv(venv, "import tinypkg").exit_code == 0);

    // sync to a lockfile without tinypkg removes it (and keeps pip and wheel, seed packages).
    const auto small_lock = box.dir.path / "small.txt";
    write_text(small_lock, "pip==" + pip_version + "\n");
    r = box.pkg({"sync", small_lock.string(), "--python", venv.string(), "-i", index});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find(" - tinypkg==2.0\n") != std::string::npos);
    CHECK(r.err.find("Removed 1 package in ") != std::string::npos);
    CHECK(in_venv(venv, "import tinypkg").exit_code != 0);
    CHECK(in_venv(venv, "import wheel").exit_code == 0);
    check_environment_consistent(venv);
    r = box.pkg({"sync", "-r", small_lock.string(), "--python", venv.string(), "-i", index});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("Nothing to do") != std::string::npos);
}

TEST_CASE("cli install: flags from PKG_* variables", "[cli][install]")
{
    const auto wheel_whl = debian_wheel("wheel");
    if (pkg::test::test_python().empty() || wheel_whl.empty()) {
        WARN("needs /usr/bin/python3 and python3-wheel-whl: skipped");
        return;
    }
    sandbox box("env-vars");
    index_tree tree;
    tree.add("wheel", {{wheel_whl.filename().string(), read_text(wheel_whl)}});
    std::optional<pkg::test::nginx_fixture> nginx(std::in_place, tree.all());
    const std::string index = nginx->http_url("/simple/");
    const auto venv = box.venv("env");
    const auto lock = box.dir.path / "lock.txt";
    write_text(lock, "wheel==" + version_of(wheel_whl) + "\n");
    const auto installed_file = [&] {
        // -B: this import must not write the .pyc files --compile-bytecode is checked for.
        const auto r = run_process({(venv / "bin" / "python").string(), "-B", "-c",
                                    "import wheel; print(wheel.__file__)"});
        REQUIRE(r.exit_code == 0);
        return fs::path(r.out.substr(0, r.out.size() - 1));
    };
    const auto links = [](const fs::path& p) {
        struct stat st {};
        REQUIRE(::stat(p.c_str(), &st) == 0);
        return st.st_nlink;
    };

    // PKG_PYTHON and PKG_INDEX_URL (read by the engine) with PKG_NO_CACHE=true: a temporary cache.
    auto r = box.pkg({"install", "-r", lock.string()},
                     {"PKG_PYTHON=" + venv.string(), "PKG_INDEX_URL=" + index,
                      "PKG_NO_CACHE=true"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("Installed 1 package in ") != std::string::npos);
    CHECK_FALSE(fs::exists(box.cache / "archive-v1"));

    // PKG_REINSTALL=on with PKG_LINK_MODE=copy: files are copies (one link), then with the default
    // hardlink mode they share the cache's inode.
    r = box.pkg({"install", "-r", lock.string(), "-i", index},
                {"PKG_PYTHON=" + venv.string(), "PKG_REINSTALL=on", "PKG_LINK_MODE=copy"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("Installed 1 package in ") != std::string::npos);
    CHECK(r.err.find("\n ~ wheel==" + version_of(wheel_whl) + "\n") != std::string::npos);
    CHECK(links(installed_file()) == 1);
    // PKG_COMPILE_BYTECODE=yes leaves .pyc files; PKG_CONCURRENT_DOWNLOADS=2 is a valid count.
    r = box.pkg({"install", "-r", lock.string(), "-i", index, "--reinstall",
                 "--link-mode", "hardlink"},
                {"PKG_PYTHON=" + venv.string(), "PKG_COMPILE_BYTECODE=yes",
                 "PKG_CONCURRENT_DOWNLOADS=2"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(links(installed_file()) > 1);
    bool has_pyc = false;
    for (const auto& entry : fs::directory_iterator(installed_file().parent_path() / "__pycache__")) {
        has_pyc = has_pyc || entry.path().extension() == ".pyc";
    }
    CHECK(has_pyc);

    // With the index gone, PKG_OFFLINE=1 works from the cache alone (PKG_REINSTALL=0 is off).
    nginx.reset();
    r = box.pkg({"install", "-r", lock.string(), "-i", index},
                {"PKG_PYTHON=" + venv.string(), "PKG_REINSTALL=0", "PKG_OFFLINE=1"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("Nothing to do: 1 package already installed") != std::string::npos);
    r = box.pkg({"install", "-r", lock.string(), "-i", index, "--reinstall"},
                {"PKG_PYTHON=" + venv.string(), "PKG_OFFLINE=yes", "PKG_QUIET=1"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    r = box.pkg({"install", "-r", lock.string(), "-i", index, "--reinstall"},
                {"PKG_PYTHON=" + venv.string(), "PKG_OFFLINE=off", "PKG_REFRESH=1"});
    CHECK(r.exit_code == 1);  // revalidating the page needs the network, and the index is gone
    CHECK(r.err.find("error: ") != std::string::npos);
}

// ---- interruption -------------------------------------------------------------------------------

TEST_CASE("cli install: SIGINT/SIGTERM during a download exits 128+signal, environment consistent",
          "[cli][install]")
{
    const auto wheel_whl = debian_wheel("wheel");
    if (pkg::test::test_python().empty() || wheel_whl.empty()) {
        WARN("needs /usr/bin/python3 and python3-wheel-whl: skipped");
        return;
    }
    sandbox box("sigint");
    const fault_server slow;
    index_tree tree;
    tree.add("wheel", {{wheel_whl.filename().string(), read_text(wheel_whl)}});
    // The download never gets an answer (the server holds it for 30 s).
    tree.add_link("slowpkg", "slowpkg-1.0-py3-none-any.whl", slow.url("/stall"));
    const pkg::test::nginx_fixture nginx(tree.all());
    const auto venv = box.venv("env");
    const auto lock = box.dir.path / "lock.txt";
    write_text(lock, "wheel==" + version_of(wheel_whl) + "\nslowpkg==1.0\n");

    for (const int signal_number : {SIGINT, SIGTERM}) {
        INFO("signal " << signal_number);
        auto argv = box.env();
        argv.insert(argv.end(), {pkg_exe, "install", "-v", "-r", lock.string(), "--python",
                                 venv.string(), "-i", nginx.http_url("/simple/")});
        const auto log = box.dir.path / ("install-" + std::to_string(signal_number));
        auto child = pkg::test::spawn(argv, log);
        const bool started = wait_for_text(fs::path(log.string() + ".err"), "Downloading slowpkg");
        INFO(read_text(log.string() + ".err"));
        REQUIRE(started);
        REQUIRE(::kill(child.pid, signal_number) == 0);
        CHECK(pkg::test::wait_exit(child) == 128 + signal_number);
        const auto err = read_text(log.string() + ".err");
        CHECK(err.find("Cancelling") != std::string::npos);
        CHECK(err.find("error: ") != std::string::npos);
        check_environment_consistent(venv);
        const auto r = box.pkg({"freeze", "--python", venv.string()});
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("slowpkg") == std::string::npos);
    }
}

TEST_CASE("cli install: a file two packages ship stays the first one's, with a warning also under -q",
          "[cli][install]")
{
    if (pkg::test::test_python().empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    sandbox box("shared-file");
    index_tree tree;
    tree.add("alpha", {{"alpha-1.0-py3-none-any.whl", make_wheel(box.dir.path, "alpha", "1.0")}});
    tree.add("beta",
             {{"beta-1.0-py3-none-any.whl", make_wheel(box.dir.path, "beta", "1.0", "alpha")}});
    const pkg::test::nginx_fixture nginx(tree.all());
    const auto venv = box.venv("env");
    const auto index = nginx.http_url("/simple/");
    const auto first = box.dir.path / "first.txt";
    write_text(first, "alpha==1.0\n");
    auto r = box.pkg({"install", "-r", first.string(), "--python", venv.string(), "-i", index, "-q"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto second = box.dir.path / "second.txt";
    write_text(second, "alpha==1.0\nbeta==1.0\n");
    r = box.pkg({"install", "-r", second.string(), "--python", venv.string(), "-i", index, "-q"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("warning: beta==1.0: beta 1.0 and alpha 1.0 both ship") != std::string::npos);
    CHECK(r.err.find("kept alpha 1.0's copy") != std::string::npos);
    CHECK(in_venv(venv, "import alpha, beta; assert alpha.VERSION == '1.0', alpha.__dict__").exit_code == 0);
    check_environment_consistent(venv);
    // Uninstalling beta leaves alpha whole.
    r = box.pkg({"uninstall", "beta", "--python", venv.string(), "-q"});
    REQUIRE(r.exit_code == 0);
    CHECK(in_venv(venv, "import alpha; assert alpha.VERSION == '1.0'").exit_code == 0);
    check_environment_consistent(venv);
}

// ---- progress on a terminal ---------------------------------------------------------------------

TEST_CASE("cli install: on a terminal the status line is redrawn in place and cleared",
          "[cli][install]")
{
    if (pkg::test::test_python().empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    sandbox box("tty");
    const fault_server slow;
    index_tree tree;
    // The download never gets an answer: the status line stays up until Ctrl-C.
    tree.add_link("slowpkg", "slowpkg-1.0-py3-none-any.whl", slow.url("/stall"));
    const pkg::test::nginx_fixture nginx(tree.all());
    const auto venv = box.venv("env");
    const auto lock = box.dir.path / "lock.txt";
    write_text(lock, "slowpkg==1.0\n");
    const auto script = box.dir.path / "pty_run.py";
    // Runs argv with stdin, stdout and stderr on a new pseudo-terminal, sends SIGINT once the
    // status line shows the fetching phase, copies everything printed to stdout and exits as the
    // command did.
    write_text(script, "import os, pty, signal, sys\n"
                       "pid, fd = pty.fork()\n"
                       "if pid == 0:\n"
                       "    os.execv(sys.argv[1], sys.argv[1:])\n"
                       "out = b''\n"
                       "sent = False\n"
                       "while True:\n"
                       "    try:\n"
                       "        data = os.read(fd, 65536)\n"
                       "    except OSError:\n"
                       "        break\n"
                       "    if not data:\n"
                       "        break\n"
                       "    out += data\n"
                       "    if not sent and b'\\x1b[2Kfetching' in out:\n"
                       "        os.kill(pid, signal.SIGINT)\n"
                       "        sent = True\n"
                       "_, status = os.waitpid(pid, 0)\n"
                       "sys.stdout.buffer.write(out)\n"
                       "sys.exit(os.waitstatus_to_exitcode(status))\n");
    auto argv = box.env();
    argv.insert(argv.end(), {pkg::test::test_python().string(), script.string(), pkg_exe, "install",
                             "-r", lock.string(), "--python", venv.string(), "-i",
                             nginx.http_url("/simple/")});
    const auto r = run_process(argv);
    INFO(r.out);
    INFO(r.err);
    CHECK(r.exit_code == 130);
    const std::string erase = "\r\x1b[2K";
    CHECK(r.out.find(erase + "fetching   ") != std::string::npos);  // drawn while downloading
    CHECK(r.out.find(" 0/1 packages") != std::string::npos);
    // "Cancelling..." is printed above the line, which is then drawn again.
    CHECK(r.out.find(erase + "Cancelling...") != std::string::npos);
    // The last thing drawn is the erasure, right before the error: the line is gone for good.
    const auto last_erase = r.out.rfind(erase);
    REQUIRE(last_erase != std::string::npos);
    CHECK(r.out.substr(last_erase + erase.size(), 7) == "error: ");
}
