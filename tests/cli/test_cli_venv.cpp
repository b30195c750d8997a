// `pkg venv` as a user runs it: a real process per case.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "support/files.hpp"
#include "support/process.hpp"

namespace fs = std::filesystem;
using pkg::test::run_process;
using pkg::test::test_python;

namespace {

fs::path fresh_cli_dir(const std::string& name)
{
    return pkg::test::fresh_dir("cli-venv-tests", name);
}

std::string slurp(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("cli: pkg venv creates, refuses, and replaces with --clear", "[cli]")
{
    const auto python = test_python();
    if (python.empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    const auto dir = fresh_cli_dir("basic");
    const std::string env = (dir / "env").string();

    auto r = run_process({PKG_TEST_CLI, "venv", env, "--python", python.string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("Created virtual environment at " + env) != std::string::npos);
    CHECK(r.err.find("Activate with: . " + env + "/bin/activate") != std::string::npos);
    const auto cfg = slurp(dir / "env" / "pyvenv.cfg");
    CHECK(cfg.find("command = " PKG_TEST_CLI " venv " + env + " --python " + python.string()) != std::string::npos);
    const auto inside = run_process({env + "/bin/python", "-c", "import sys; print(sys.prefix)"});
    CHECK(inside.out == env + "\n");

    r = run_process({PKG_TEST_CLI, "venv", env, "-p", python.string()});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("already") != std::string::npos);
    CHECK(r.err.find("--clear") != std::string::npos);

    r = run_process({PKG_TEST_CLI, "venv", env, "--python", python.string(), "--clear", "--prompt", "demo"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("Replaced virtual environment") != std::string::npos);
    CHECK(slurp(dir / "env" / "pyvenv.cfg").find("prompt = demo") != std::string::npos);
}

TEST_CASE("cli: pkg venv defaults to .venv in the current directory", "[cli]")
{
    const auto python = test_python();
    if (python.empty()) {
        WARN("no /usr/bin/python3 or pyenv 3.11.7: skipped");
        return;
    }
    const auto dir = fresh_cli_dir("default");
    const auto r = run_process({"/bin/sh", "-c",
                                "cd '" + dir.string() + "' && exec " PKG_TEST_CLI " venv --python " +
                                    python.string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(fs::is_regular_file(dir / ".venv" / "pyvenv.cfg"));
    CHECK(fs::is_symlink(dir / ".venv" / "bin" / "python"));
}

TEST_CASE("cli: pkg venv errors and exit codes", "[cli]")
{
    const auto dir = fresh_cli_dir("errors");
    fs::create_directories(dir / "occupied");
    std::ofstream(dir / "occupied" / "data.txt") << "mine";

    auto r = run_process({PKG_TEST_CLI, "venv", (dir / "occupied").string(), "--clear"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("not a virtual environment") != std::string::npos);
    CHECK(slurp(dir / "occupied" / "data.txt") == "mine");

    r = run_process({PKG_TEST_CLI, "venv", (dir / "seeded").string(), "--seed", "--python",
                     "/usr/bin/python3"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("Seeded pip==") != std::string::npos);
    CHECK(fs::exists(dir / "seeded" / "bin" / "pip"));

    r = run_process({PKG_TEST_CLI, "venv", (dir / "env").string(), "--python",
                     (dir / "no-such-python").string()});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("no-such-python") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "env"));

    r = run_process({PKG_TEST_CLI, "venv", "--no-such-flag"});
    CHECK(r.exit_code == 2);
}
