// The pkg command: a thin shell over the engine's public API. Parses arguments, runs one command,
// maps the outcome to an exit code (see exit_codes.hpp).

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <pkg/engine/build_info.hpp>

#include "cache_command.hpp"
#include "exit_codes.hpp"

namespace {

/// Commands that are planned but not built yet: listed under their own heading in --help, and
/// running one says so plainly and exits with exit_code::not_implemented.
struct planned_command {
    const char* name;
    const char* what;
};

constexpr planned_command planned[] = {
    {"install", "Install the pinned packages of requirements files (-r FILE) into an environment"},
    {"sync", "Make an environment contain exactly the packages of requirements files"},
    {"uninstall", "Remove installed packages"},
    {"list", "List the packages installed in an environment"},
    {"freeze", "Print the installed packages as requirements"},
    {"venv", "Create a virtual environment"},
};

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"pkg: install a lockfile's Python wheels into an environment, fast", "pkg"};
    app.set_version_flag("-V,--version", std::string("pkg ") + std::string(pkg::engine_version()));
    app.require_subcommand(0, 1);
    app.fallthrough(false);

    std::string cache_dir;
    app.add_option("--cache-dir", cache_dir, "The cache directory (default: ~/.cache/pkg)")
        ->envname("PKG_CACHE_DIR");
    const pkg::cli::cache_command cache(app, cache_dir);

    for (const auto& p : planned) {
        auto* sub = app.add_subcommand(p.name, std::string("[not implemented yet] ") + p.what);
        sub->group("Planned");
        sub->allow_extras();
        sub->prefix_command();
    }
    app.footer("Commands marked [not implemented yet] exit with code 3.");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? pkg::cli::exit_code::success : pkg::cli::exit_code::usage;
    }

    if (cache.is_selected()) {
        return cache.run();
    }
    for (const auto& p : planned) {
        if (app.got_subcommand(p.name)) {
            fmt::print(stderr, "pkg {}: not implemented yet in pkg {}\n", p.name,
                       pkg::engine_version());
            return pkg::cli::exit_code::not_implemented;
        }
    }
    fmt::print("{}", app.help());
    return pkg::cli::exit_code::success;
}
