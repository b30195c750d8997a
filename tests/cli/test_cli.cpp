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

TEST_CASE("cli: --help lists every command and marks planned ones", "[cli]")
{
    const auto r = run_process({PKG_TEST_CLI, "--help"});
    CHECK(r.exit_code == 0);
    for (const char* cmd : {"install", "sync", "uninstall", "list", "freeze", "venv", "cache"}) {
        INFO(cmd);
        CHECK(r.out.find(cmd) != std::string::npos);
    }
    CHECK(r.out.find("[not implemented yet]") != std::string::npos);
}

TEST_CASE("cli: a planned command says so and exits 3", "[cli]")
{
    const auto r = run_process({PKG_TEST_CLI, "install", "-r", "lock.txt"});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("not implemented yet") != std::string::npos);
    CHECK(r.out.empty());
}

TEST_CASE("cli: an unknown command or option is a usage error (exit 2)", "[cli]")
{
    CHECK(run_process({PKG_TEST_CLI, "frobnicate"}).exit_code == 2);
    CHECK(run_process({PKG_TEST_CLI, "--no-such-flag"}).exit_code == 2);
}
