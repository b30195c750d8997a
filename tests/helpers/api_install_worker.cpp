// A process that installs a lockfile through the public API (pkg/engine/install.hpp), for the
// kill -9 test of installs (tests/engine/test_install_kill.cpp).
//
//   api_install_worker <venv> <cache_dir> <find_links_dir> <lockfile> <lock_timeout_ms>
//
// Installs <lockfile> into <venv> with <cache_dir> as the cache and <find_links_dir> as the only
// source (--find-links, --no-index), hermetically (no PIP_*/PKG_* variables of the caller).
// Prints, each line flushed at once (the test reads them while the worker runs or after it was
// killed):
//   ready                           just before pkg::install is called
//   event <phase> <package> <action>   every progress event ("-" for an empty field); the
//                                   environment lock is held from the "planning" event on
//   done <us> installed <n> replaced <r> unchanged <u>
//                                   on success, <us> the microseconds from "ready" to the end
//                                   of the call (the test kills inside that window)
// Exit 0: installed; 1: the install failed (stderr says why); 2: usage.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <pkg/engine/install.hpp>

int main(int argc, char** argv)
{
    if (argc != 6) {
        std::fprintf(stderr, "usage: api_install_worker VENV CACHE_DIR FIND_LINKS_DIR LOCKFILE "
                             "LOCK_TIMEOUT_MS\n");
        return 2;
    }
    const std::filesystem::path venv = argv[1];
    const std::string home = venv.parent_path().string();

    pkg::install_options options;
    options.python = venv.string();
    options.cache.cache_dir = argv[2];
    options.getenv = [home](std::string_view name) -> std::optional<std::string> {
        if (name == "PATH") {
            return std::string("/usr/bin:/bin");
        }
        if (name == "HOME") {
            return home;
        }
        if (name == "PIP_CONFIG_FILE") {
            return std::string("/dev/null");
        }
        return std::nullopt;
    };
    options.cache.getenv = options.getenv;
    options.cwd = venv.parent_path();
    options.index.find_links = {argv[3]};
    options.index.no_index = true;
    options.requirements = {argv[4]};
    options.lock_timeout = std::chrono::milliseconds(std::atoll(argv[5]));
    options.on_progress = [](const pkg::progress_event& e) {
        std::printf("event %s %s %s\n", pkg::to_string(e.phase),
                    e.package.empty() ? "-" : e.package.c_str(),
                    e.action.empty() ? "-" : e.action.c_str());
        std::fflush(stdout);
    };

    std::printf("ready\n");
    std::fflush(stdout);
    const auto started = std::chrono::steady_clock::now();
    const auto outcome = pkg::install(options);
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    if (!outcome) {
        std::fprintf(stderr, "install failed: %s\n", outcome.error().to_string().c_str());
        return 1;
    }
    std::printf("done %lld installed %zu replaced %zu unchanged %zu\n",
                static_cast<long long>(elapsed.count()), outcome->installed.size(),
                outcome->replaced.size(), outcome->unchanged.size());
    std::fflush(stdout);
    return 0;
}
