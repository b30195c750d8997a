// The pkg command: a thin shell over the engine's public API. Parses arguments, runs one command,
// maps the outcome to an exit code (see exit_codes.hpp).

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <pkg/engine/build_info.hpp>

#include "cache_command.hpp"
#include "exit_codes.hpp"
#include "install_command.hpp"
#include "list_command.hpp"
#include "uninstall_command.hpp"
#include "venv_command.hpp"

namespace {

constexpr const char* footer =
    "Every flag can also be set by an environment variable (see each command's --help), e.g.\n"
    "PKG_PYTHON, PKG_LINK_MODE, PKG_OFFLINE, PKG_NO_CACHE, PKG_CACHE_DIR; the index comes from\n"
    "--index-url, else the lockfiles' -i, PKG_INDEX_URL, PIP_INDEX_URL or pip.conf.\n"
    "Exit codes: 0 success (or nothing to do), 1 failure, 2 usage error, 3 not available yet,\n"
    "130 interrupted (Ctrl-C; 143 for SIGTERM).";

int run(int argc, char** argv)
{
    CLI::App app{"pkg: install a lockfile's Python wheels into an environment, fast", "pkg"};
    app.set_version_flag("-V,--version", std::string("pkg ") + std::string(pkg::engine_version()));
    app.require_subcommand(0, 1);
    app.fallthrough(false);
    app.footer(footer);

    std::string cache_dir;
    app.add_option("--cache-dir", cache_dir, "The cache directory (default: ~/.cache/pkg)")
        ->envname("PKG_CACHE_DIR");
    const pkg::cli::install_command install(app, cache_dir, false);
    const pkg::cli::install_command sync(app, cache_dir, true);
    const pkg::cli::uninstall_command uninstall(app, cache_dir);
    const pkg::cli::list_command list(app, cache_dir);
    pkg::cli::venv_command venv{app};
    const pkg::cli::cache_command cache(app, cache_dir);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr ||
            dynamic_cast<const CLI::ValidationError*>(&e) != nullptr) {
            std::fputs("hint: the value may come from the option's environment variable "
                       "(Env:PKG_... in the command's --help)\n",
                       stderr);
        }
        return rc == 0 ? pkg::cli::exit_code::success : pkg::cli::exit_code::usage;
    }

    if (install.is_selected()) {
        return install.run();
    }
    if (sync.is_selected()) {
        return sync.run();
    }
    if (uninstall.is_selected()) {
        return uninstall.run();
    }
    if (list.is_selected()) {
        return list.run();
    }
    if (cache.is_selected()) {
        return cache.run();
    }
    if (venv.is_selected()) {
        return venv.run(std::vector<std::string>(argv, argv + argc));
    }
    fmt::print("{}", app.help());
    return pkg::cli::exit_code::success;
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        // Only for what cannot be a result (out of memory, a failed pipe2): say it and fail.
        std::fprintf(stderr, "error: %s\n", e.what());
        return pkg::cli::exit_code::failure;
    }
}
