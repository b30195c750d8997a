#include "options.hpp"

#include <cstdlib>
#include <sstream>
#include <system_error>

namespace pkg::cli {

void environment_flags::register_on(CLI::App& sub, bool with_json)
{
    // With a parse-complete callback, CLI11 reads a subcommand's environment variables only when
    // that subcommand is on the command line; without one it reads (and validates) them for every
    // subcommand, so a bad PKG_OFFLINE would break `pkg cache dir`.
    sub.parse_complete_callback([] {});
    sub.add_option("-p,--python", python,
                   "The target environment: a Python executable, a virtual environment directory, "
                   "a program on PATH or a version (3.11); default: $VIRTUAL_ENV, else ./.venv "
                   "(searched upwards), else python3 on PATH")
        ->envname("PKG_PYTHON");
    sub.add_flag("--no-cache", no_cache,
                 "Use a temporary cache, removed at the end, instead of the global one")
        ->envname("PKG_NO_CACHE");
    auto* quiet = sub.add_flag("-q,--quiet", output.is_quiet, "Print nothing but errors and warnings")
                      ->envname("PKG_QUIET");
    auto* verbose =
        sub.add_flag("-v,--verbose", output.is_verbose,
                     "Print more: phases, packages taken from the cache, skipped requirements")
            ->envname("PKG_VERBOSE");
    quiet->excludes(verbose);
    if (with_json) {
        sub.add_flag("--json", output.is_json,
                     "Print a JSON report on stdout (progress and diagnostics stay on stderr)")
            ->envname("PKG_JSON");
    }
}

pkg::environment_options environment_flags::to_options(const std::string& cache_dir) const
{
    pkg::environment_options options;
    options.python = python;
    if (!cache_dir.empty()) {
        options.cache.cache_dir = cache_dir;
    }
    options.no_cache = no_cache;
    return options;
}

void install_flags::register_on(CLI::App& sub, bool is_sync)
{
    auto* files = sub.add_option("-r,--requirement", requirements,
                                 "A lockfile: requirements.txt with every package pinned (==); "
                                 "repeatable")
                      ->type_name("FILE");
    if (is_sync) {
        sub.add_option("files", positional_requirements_, "Lockfiles (as with -r)")
            ->type_name("FILE");
    } else {
        files->required();
    }
    environment_flags::register_on(sub, true);
    sub.add_option("-i,--index-url", index_url,
                   "Base URL of the package index (PEP 503/691); default: the lockfiles' -i, "
                   "else $PKG_INDEX_URL, else $PIP_INDEX_URL, else pip.conf's index-url");
    sub.add_option("--extra-index-url", extra_index_urls,
                   "More indexes, after --index-url (the first index that has a project wins); "
                   "repeatable; also $PKG_EXTRA_INDEX_URL, $PIP_EXTRA_INDEX_URL (space-separated)")
        ->type_name("URL");
    sub.add_option("-f,--find-links", find_links,
                   "A directory of wheels or an HTML page listing them, searched before the "
                   "indexes; repeatable; $PKG_FIND_LINKS holds space-separated ones")
        ->type_name("PATH|URL");
    sub.add_flag("--no-index", no_index, "Use no index, only --find-links")->envname("PKG_NO_INDEX");
    sub.add_flag("--require-hashes", require_hashes,
                 "Every requirement must carry --hash (implied when any does)")
        ->envname("PKG_REQUIRE_HASHES");
    sub.add_option("--link-mode", link_mode,
                   "How files get into the environment: clone (reflink), hardlink (default), "
                   "copy or symlink")
        ->envname("PKG_LINK_MODE")
        ->type_name("MODE");
    sub.add_flag("--reinstall", reinstall, "Reinstall packages even when the version matches")
        ->envname("PKG_REINSTALL");
    sub.add_flag("--offline", offline, "Never use the network: index pages and wheels from the cache")
        ->envname("PKG_OFFLINE");
    sub.add_flag("--refresh", refresh, "Revalidate every cached index page")->envname("PKG_REFRESH");
    sub.add_flag("--dry-run", dry_run, "Plan and report, change nothing")->envname("PKG_DRY_RUN");
    sub.add_flag("--compile-bytecode", compile_bytecode,
                 "Byte-compile the installed Python files (parallel compileall)")
        ->envname("PKG_COMPILE_BYTECODE");
    sub.add_option("--concurrent-downloads", concurrent_downloads,
                   "How many downloads run at once (default: measured)")
        ->envname("PKG_CONCURRENT_DOWNLOADS")
        ->check(CLI::Range(1U, 256U))
        ->type_name("N");
}

pkg::result<pkg::install_options> install_flags::to_options(const std::string& cache_dir,
                                                            bool is_sync) const
{
    pkg::install_options options;
    static_cast<pkg::environment_options&>(options) = environment_flags::to_options(cache_dir);
    for (const auto& file : requirements) {
        options.requirements.emplace_back(file);
    }
    for (const auto& file : positional_requirements_) {
        options.requirements.emplace_back(file);
    }
    if (options.requirements.empty()) {
        return pkg::fail(std::make_error_code(std::errc::invalid_argument),
                         std::string("no lockfile given"), std::string{},
                         is_sync ? "usage: pkg sync FILE... (or -r FILE)"
                                 : "usage: pkg install -r FILE [-r FILE...]");
    }
    // The index URL and extra index URLs go through as given: when absent, the engine reads
    // PKG_INDEX_URL/PIP_INDEX_URL itself, after the lockfiles' own -i (reading the variable here
    // would wrongly rank it above the lockfile).
    options.index.index_url = index_url;
    options.index.extra_index_urls = extra_index_urls;
    options.index.find_links = find_links;
    if (find_links.empty()) {
        if (const char* env = std::getenv("PKG_FIND_LINKS"); env != nullptr) {
            std::istringstream words(env);
            for (std::string word; words >> word;) {
                options.index.find_links.push_back(word);
            }
        }
    }
    options.index.no_index = no_index;
    options.sync = is_sync;
    options.require_hashes = require_hashes;
    options.reinstall = reinstall;
    options.offline = offline;
    options.refresh = refresh;
    options.dry_run = dry_run;
    options.compile_bytecode = compile_bytecode;
    options.concurrent_downloads = concurrent_downloads;
    if (link_mode) {
        auto mode = pkg::parse_link_mode(*link_mode);
        if (!mode) {
            auto e = mode.error();
            e.where = "--link-mode (or PKG_LINK_MODE)";
            return pkg::fail(std::move(e));
        }
        options.link_mode = *mode;
    }
    return options;
}

}  // namespace pkg::cli
