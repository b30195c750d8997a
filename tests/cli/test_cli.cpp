// The pkg command as a user runs it: a real process per case.

#include <string>

#include <catch2/catch.hpp>

#include "support/process.hpp"

using pkg::test::run_process;

TEST_CASE("cli: --version prints the engine version", "[cli]")
{
    const auto r = run_process({PKG_TEST_CLI, "--version"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.rfind("pkg 0.", 0) == 0);
}

TEST_CASE("cli: --help lists every command, none of them planned", "[cli]")
{
    const auto r = run_process({PKG_TEST_CLI, "--help"});
    CHECK(r.exit_code == 0);
    for (const char* cmd : {"install", "sync", "uninstall", "list", "freeze", "venv", "cache"}) {
        INFO(cmd);
        CHECK(r.out.find(std::string("\n  ") + cmd + " ") != std::string::npos);
    }
    CHECK(r.out.find("not implemented") == std::string::npos);
    CHECK(r.out.find("Planned") == std::string::npos);
}

TEST_CASE("cli: no command prints the help and succeeds", "[cli]")
{
    const auto r = run_process({PKG_TEST_CLI});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("install") != std::string::npos);
    CHECK(r.out.find("Exit codes:") != std::string::npos);
}

TEST_CASE("cli: an unknown command or option is a usage error (exit 2)", "[cli]")
{
    CHECK(run_process({PKG_TEST_CLI, "frobnicate"}).exit_code == 2);
    CHECK(run_process({PKG_TEST_CLI, "--no-such-flag"}).exit_code == 2);
    CHECK(run_process({PKG_TEST_CLI, "install", "--no-such-flag"}).exit_code == 2);
}
