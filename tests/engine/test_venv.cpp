// Virtual environments made natively by pkg, checked against the interpreter itself and against
// CPython's own `python -m venv`.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include <pkg/engine/errc.hpp>
#include <pkg/engine/venv.hpp>

#include "python/activate_scripts.hpp"
#include "python/interpreter.hpp"
#include "support/files.hpp"
#include "support/process.hpp"

namespace fs = std::filesystem;
using pkg::test::run_process;
using pkg::test::test_python;

namespace {

fs::path fresh_dir(const std::string& name) { return pkg::test::fresh_dir("venv-tests", name); }

std::string read_file(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::map<std::string, std::string> read_cfg(const fs::path& path)
{
    std::map<std::string, std::string> values;
    std::istringstream lines(read_file(path));
    for (std::string line; std::getline(lines, line);) {
        const auto eq = line.find(" = ");
        if (eq != std::string::npos) {
            values[line.substr(0, eq)] = line.substr(eq + 3);
        }
    }
    return values;
}

// Every entry under `root` as "<type> <relative path>", symlinks not followed.
std::set<std::string> tree_of(const fs::path& root)
{
    std::set<std::string> entries;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
        const auto status = it->symlink_status();
        const char* type = fs::is_symlink(status) ? "l" : fs::is_directory(status) ? "d" : "f";
        entries.insert(std::string(type) + " " + fs::relative(it->path(), root).string());
    }
    return entries;
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

pkg::venv_options options_for(const fs::path& path, const fs::path& python)
{
    pkg::venv_options o;
    o.path = path;
    o.python = python.string();
    return o;
}

// Hidden staging or removal leftovers beside `target`.
bool has_leftovers(const fs::path& parent)
{
    for (const auto& entry : fs::directory_iterator(parent)) {
        const auto name = entry.path().filename().string();
        if (name.find(".tmp.") != std::string::npos || name.find(".removing.") != std::string::npos) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("venv: pkg's environment is one Python accepts as a venv", "[venv]")
{
    const auto python = test_python();
    if (python.empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    const auto dir = fresh_dir("real");
    const fs::path env = dir / "env";
    auto report = pkg::create_venv(options_for(env, python));
    REQUIRE(report);
    CHECK(report->path == env);
    CHECK(report->python == env / "bin" / "python");
    CHECK(report->base_executable == fs::canonical(python));
    CHECK_FALSE(report->is_replaced);
    CHECK_FALSE(has_leftovers(dir));

    auto base = pkg::python::query_interpreter(python);
    REQUIRE(base);
    CHECK(report->python_version == base->facts.version.to_string());

    const auto r = run_process({(env / "bin" / "python").string(), "-c",
                                "import sys, site\n"
                                "print(sys.prefix)\nprint(sys.base_prefix)\nprint(sys.executable)\n"
                                "print(sys.flags.no_user_site)\nprint('\\n'.join(site.getsitepackages()))"});
    REQUIRE(r.exit_code == 0);
    const auto out = lines_of(r.out);
    REQUIRE(out.size() >= 5);
    CHECK(out[0] == env.string());
    CHECK(out[1] == base->facts.base_prefix.string());
    CHECK(out[2] == (env / "bin" / "python").string());
    bool is_inside = false;
    for (std::size_t i = 4; i < out.size(); ++i) {
        is_inside = is_inside || out[i].rfind(env.string() + "/", 0) == 0;
    }
    CHECK(is_inside);

    // pkg's own view of it agrees.
    auto inside = pkg::python::query_interpreter(env / "bin" / "python");
    REQUIRE(inside);
    CHECK(inside->facts.is_virtual_environment());
    CHECK(inside->facts.prefix == env);
    CHECK(inside->facts.scheme.purelib == env / base->facts.venv_layout.purelib);
    CHECK(inside->facts.scheme.scripts == env / "bin");

    for (const char* name : {"python", "python3"}) {
        CHECK(fs::read_symlink(env / "bin" / name) == fs::canonical(python));
    }
    const auto minor_name = "python" + base->facts.markers.python_version;
    CHECK(fs::read_symlink(env / "bin" / minor_name) == fs::canonical(python));
    CHECK(fs::read_symlink(env / "lib64") == "lib");

    const auto cfg = read_cfg(env / "pyvenv.cfg");
    CHECK(cfg.at("home") == fs::canonical(python).parent_path().string());
    CHECK(cfg.at("include-system-site-packages") == "false");
    CHECK(cfg.at("version") == base->facts.version.to_string());
    CHECK(cfg.at("executable") == fs::canonical(python).string());
    CHECK(cfg.at("command") == "pkg venv " + env.string());
    CHECK(cfg.count("prompt") == 0);
}

TEST_CASE("venv: same layout and pyvenv.cfg keys as python -m venv", "[venv]")
{
    const auto python = test_python();
    if (python.empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    const auto dir = fresh_dir("compare");
    REQUIRE(pkg::create_venv(options_for(dir / "ours", python)));
    const auto made = run_process({python.string(), "-m", "venv", "--without-pip", (dir / "theirs").string()});
    REQUIRE(made.exit_code == 0);

    auto without_scripts = [](std::set<std::string> entries) {
        for (const char* name : {"f bin/activate", "f bin/activate.fish", "f bin/activate.csh", "f bin/Activate.ps1"}) {
            entries.erase(name);
        }
        return entries;
    };
    const auto ours = tree_of(dir / "ours");
    const auto theirs = tree_of(dir / "theirs");
    CHECK(without_scripts(ours) == without_scripts(theirs));
    CHECK(ours.count("f bin/activate") == 1);
    CHECK(ours.count("f bin/activate.fish") == 1);

    auto ours_cfg = read_cfg(dir / "ours" / "pyvenv.cfg");
    auto theirs_cfg = read_cfg(dir / "theirs" / "pyvenv.cfg");
    ours_cfg.erase("command");
    theirs_cfg.erase("command");
    CHECK(ours_cfg == theirs_cfg);  // keys and values: home, version, executable agree too

    // Both interpreters resolve to the same thing.
    CHECK(fs::canonical(dir / "ours" / "bin" / "python") == fs::canonical(dir / "theirs" / "bin" / "python"));
}

TEST_CASE("venv: bin/activate sets and restores the shell's state", "[venv]")
{
    const auto python = test_python();
    if (python.empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    const auto dir = fresh_dir("activate");
    const fs::path env = dir / "my env's";  // a space and a quote in the path
    REQUIRE(pkg::create_venv(options_for(env, python)));
    const fs::path second = dir / "second";
    REQUIRE(pkg::create_venv(options_for(second, python)));
    const std::string activate = pkg::python::sh_quote((env / "bin" / "activate").string());

    for (const char* shell : {"/bin/bash", "/bin/sh", "/bin/zsh", "/usr/bin/zsh"}) {
        if (::access(shell, X_OK) != 0) {
            continue;
        }
        INFO(shell);
        const std::string script =
            "PATH=/usr/bin:/bin; PS1='x$ '; PYTHONHOME=/nowhere; export PYTHONHOME; before=\"$PATH\"\n"
            ". " + activate + " && command -v python && echo \"$VIRTUAL_ENV\" && echo \"$PS1\" && "
            "echo \"${PYTHONHOME:-nohome}\" && python -c 'import sys; print(sys.prefix)' && deactivate && "
            "echo \"${VIRTUAL_ENV:-unset}\" && echo \"$PS1\" && echo \"$PYTHONHOME\" && "
            "[ \"$PATH\" = \"$before\" ] && echo path-restored && "
            "(command -v deactivate >/dev/null || echo no-deactivate)\n";
        const auto r = run_process({shell, "-c", script});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const auto out = lines_of(r.out);
        REQUIRE(out.size() == 10);
        CHECK(out[0] == (env / "bin" / "python").string());
        CHECK(out[1] == env.string());
        CHECK(out[2] == "(my env's) x$ ");
        CHECK(out[3] == "nohome");
        CHECK(out[4] == env.string());
        CHECK(out[5] == "unset");
        CHECK(out[6] == "x$ ");
        CHECK(out[7] == "/nowhere");
        CHECK(out[8] == "path-restored");
        CHECK(out[9] == "no-deactivate");
    }

    SECTION("activating another environment leaves the first one; VIRTUAL_ENV_DISABLE_PROMPT")
    {
        const std::string script =
            "PATH=/usr/bin:/bin; PS1='x$ '; before=\"$PATH\"; VIRTUAL_ENV_DISABLE_PROMPT=1\n"
            ". " + activate + " && . " + pkg::python::sh_quote((second / "bin" / "activate").string()) +
            " && echo \"$VIRTUAL_ENV\" && echo \"$PS1\" && echo \"$PATH\" && deactivate && "
            "[ \"$PATH\" = \"$before\" ] && echo path-restored\n";
        const auto r = run_process({"/bin/bash", "-c", script});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const auto out = lines_of(r.out);
        REQUIRE(out.size() == 4);
        CHECK(out[0] == second.string());
        CHECK(out[1] == "x$ ");
        CHECK(out[2] == (second / "bin").string() + ":/usr/bin:/bin");
        CHECK(out[3] == "path-restored");
    }
}

TEST_CASE("venv: bin/activate.fish works in fish", "[venv]")
{
    const auto python = test_python();
    const char* fish = ::access("/usr/bin/fish", X_OK) == 0 ? "/usr/bin/fish" : nullptr;
    if (python.empty() || fish == nullptr) {
        WARN("fish or python not installed: activate.fish not exercised");
        return;
    }
    const auto dir = fresh_dir("fish");
    const fs::path env = dir / "env";
    REQUIRE(pkg::create_venv(options_for(env, python)));
    const auto r = run_process({fish, "--no-config", "-c",
                                "source " + (env / "bin" / "activate.fish").string() +
                                    "; and command -v python; and echo $VIRTUAL_ENV; and deactivate; "
                                    "and set -q VIRTUAL_ENV; or echo unset"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == (env / "bin" / "python").string() + "\n" + env.string() + "\nunset\n");
}

TEST_CASE("venv: occupied targets, --clear, --seed, bad interpreters", "[venv]")
{
    const auto python = test_python();
    if (python.empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    const auto dir = fresh_dir("targets");

    SECTION("a non-empty directory that is not a venv is refused, even with clear")
    {
        fs::create_directories(dir / "work");
        std::ofstream(dir / "work" / "notes.txt") << "keep me";
        for (bool clear : {false, true}) {
            auto o = options_for(dir / "work", python);
            o.clear = clear;
            auto report = pkg::create_venv(o);
            REQUIRE_FALSE(report);
            CHECK(report.error().code == pkg::errc::venv_target_not_empty);
            CHECK(report.error().where == (dir / "work").string());
            CHECK_THAT(report.error().message, Catch::Contains("not a virtual environment"));
        }
        CHECK(read_file(dir / "work" / "notes.txt") == "keep me");
        CHECK_FALSE(has_leftovers(dir));
    }
    SECTION("a file in the way is refused")
    {
        std::ofstream(dir / "file") << "x";
        auto report = pkg::create_venv(options_for(dir / "file", python));
        REQUIRE_FALSE(report);
        CHECK(report.error().code == pkg::errc::venv_target_not_empty);
        CHECK(read_file(dir / "file") == "x");
    }
    SECTION("an empty directory is used; a relative path is taken against cwd")
    {
        fs::create_directories(dir / "empty");
        auto o = options_for("empty", python);
        o.cwd = dir;
        auto report = pkg::create_venv(o);
        REQUIRE(report);
        CHECK(report->path == dir / "empty");
        CHECK(fs::is_regular_file(dir / "empty" / "pyvenv.cfg"));
        CHECK_FALSE(has_leftovers(dir));
    }
    SECTION("missing parents are created")
    {
        auto report = pkg::create_venv(options_for(dir / "a" / "b" / "env", python));
        REQUIRE(report);
        CHECK(fs::is_regular_file(dir / "a" / "b" / "env" / "pyvenv.cfg"));
    }
    SECTION("an existing venv needs clear, which replaces it")
    {
        const fs::path env = dir / "env";
        REQUIRE(pkg::create_venv(options_for(env, python)));
        std::ofstream(env / "lib" / "old-marker") << "old";
        auto again = pkg::create_venv(options_for(env, python));
        REQUIRE_FALSE(again);
        CHECK(again.error().code == pkg::errc::venv_exists);
        CHECK_THAT(again.error().hint, Catch::Contains("--clear"));
        CHECK(fs::exists(env / "lib" / "old-marker"));

        auto o = options_for(env, python);
        o.clear = true;
        o.prompt = "shiny";
        auto replaced = pkg::create_venv(o);
        REQUIRE(replaced);
        CHECK(replaced->is_replaced);
        CHECK_FALSE(fs::exists(env / "lib" / "old-marker"));
        CHECK(read_cfg(env / "pyvenv.cfg").at("prompt") == "shiny");
        CHECK(read_file(env / "bin" / "activate").find("VIRTUAL_ENV_PROMPT='shiny'") != std::string::npos);
        CHECK_FALSE(has_leftovers(dir));
        const auto r = run_process({(env / "bin" / "python").string(), "-c", "import sys; print(sys.prefix)"});
        CHECK(r.out == env.string() + "\n");
    }
    SECTION("seed puts the bundled pip in with pkg's installer")
    {
        auto o = options_for(dir / "seeded", python);
        o.seed = true;
        auto report = pkg::create_venv(o);
        REQUIRE(report);
        REQUIRE_FALSE(report->seeded.empty());
        CHECK(report->seeded.front().rfind("pip==", 0) == 0);
        const auto env = dir / "seeded";
        // pip runs from the environment and sees itself installed by pkg.
        const auto r = run_process({(env / "bin" / "python").string(), "-m", "pip", "--version"});
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.out.find(env.string()) != std::string::npos);
        bool has_installer = false;
        for (const auto& entry : fs::directory_iterator(env / "lib")) {
            for (const auto& site : fs::directory_iterator(entry.path() / "site-packages")) {
                const auto name = site.path().filename().string();
                if (name.rfind("pip-", 0) == 0 && name.ends_with(".dist-info")) {
                    has_installer = read_file(site.path() / "INSTALLER") == "pkg\n";
                }
            }
        }
        CHECK(has_installer);
        CHECK_FALSE(has_leftovers(dir));
    }
    SECTION("an interpreter that is not there leaves nothing behind")
    {
        auto o = options_for(dir / "env", dir / "no-such-python");
        auto report = pkg::create_venv(o);
        REQUIRE_FALSE(report);
        CHECK(report.error().code == pkg::errc::interpreter_not_found);
        CHECK_FALSE(fs::exists(dir / "env"));
        CHECK_FALSE(has_leftovers(dir));

        o.python = "3.99";
        o.getenv = [](std::string_view name) -> std::optional<std::string> {
            if (name == "PATH") {
                return "/nonexistent-dir";
            }
            return std::nullopt;
        };
        report = pkg::create_venv(o);
        REQUIRE_FALSE(report);
        CHECK_THAT(report.error().message, Catch::Contains("python3.99"));
    }
    SECTION("a venv's python as the base is traced back to the real interpreter")
    {
        REQUIRE(pkg::create_venv(options_for(dir / "first", python)));
        auto report = pkg::create_venv(options_for(dir / "second", dir / "first" / "bin" / "python"));
        REQUIRE(report);
        CHECK(report->base_executable == fs::canonical(python));
        CHECK(fs::read_symlink(dir / "second" / "bin" / "python") == fs::canonical(python));
        const auto r = run_process({(dir / "second" / "bin" / "python").string(), "-c", "import sys; print(sys.prefix)"});
        CHECK(r.out == (dir / "second").string() + "\n");
    }
    SECTION("a wrapper script such as a pyenv shim is traced to the binary it runs")
    {
        const fs::path shim = dir / "shims" / "python3";
        fs::create_directories(shim.parent_path());
        std::ofstream(shim) << "#!/bin/sh\nexec " << python.string() << " \"$@\"\n";
        fs::permissions(shim, fs::perms::owner_all);
        auto report = pkg::create_venv(options_for(dir / "from-shim", shim));
        REQUIRE(report);
        CHECK(report->base_executable == fs::canonical(python));
        CHECK(fs::read_symlink(dir / "from-shim" / "bin" / "python3") == fs::canonical(python));
    }
    SECTION("the interpreter cache is used when given")
    {
        auto o = options_for(dir / "cached", python);
        o.interpreter_cache = dir / "cache" / "interpreter-v1";
        REQUIRE(pkg::create_venv(o));
        CHECK(fs::is_regular_file(o.interpreter_cache / pkg::python::cache_file_name(python)));
    }
}
