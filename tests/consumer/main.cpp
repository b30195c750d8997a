// pkg_consumer PYTHON WORKDIR
//
// Embeds pkg through its installed public API only (find_package(pkg) + pkg::engine; see
// CMakeLists.txt), the way a build system or IDE helper would: checks the library's version,
// queries and prunes a cache under WORKDIR, creates a virtual environment there with PYTHON,
// installs a lockfile of Debian's pip, setuptools and wheel wheels into it from their directory
// (/usr/share/python-wheels, as --find-links with --no-index: no server) with a progress callback,
// cancels an asynchronous install into a second environment from its progress callback and shows
// that environment stayed consistent (then finishes it), and prints what each call reported.
// Every call's result is checked, including the expected errors (which must arrive as values with
// pkg's error codes). Exit status 0 only if all checks pass.
//
// WORKDIR must not exist yet or be empty: the program owns it.

#include <pkg/engine/build_info.hpp>
#include <pkg/engine/cache.hpp>
#include <pkg/engine/errc.hpp>
#include <pkg/engine/install.hpp>
#include <pkg/engine/operation.hpp>
#include <pkg/engine/venv.hpp>
#include <pkg/io/error.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Counts failed checks; main's exit status.
class checker {
public:
    // Records `condition`; prints "ok" or "FAIL" with `what`.
    void expect(bool condition, std::string_view what)
    {
        std::printf("  %s: %.*s\n", condition ? "ok" : "FAIL", static_cast<int>(what.size()),
                    what.data());
        if (!condition) {
            ++failures_;
        }
    }

    // An unexpected error from the library: printed in full (where, message, hint).
    void unexpected_error(std::string_view call, const pkg::error& e)
    {
        std::printf("  FAIL: %.*s: %s (code %d, category %s)\n", static_cast<int>(call.size()),
                    call.data(), e.to_string().c_str(), e.code.value(), e.code.category().name());
        ++failures_;
    }

    [[nodiscard]] int failures() const { return failures_; }

private:
    int failures_ = 0;
};

void check_version(checker& check)
{
    std::printf("engine version\n");
    const std::string_view version = pkg::engine_version();
    std::printf("  pkg::engine_version() = %.*s\n", static_cast<int>(version.size()), version.data());
    check.expect(version == PKG_CONSUMER_EXPECTED_VERSION,
                 "the library is the version find_package found (" PKG_CONSUMER_EXPECTED_VERSION ")");
}

void check_cache(checker& check, const fs::path& workdir)
{
    std::printf("cache\n");
    pkg::cache_options options;
    options.cache_dir = (workdir / "cache").string();

    const auto dir = pkg::cache_dir(options);
    if (!dir) {
        check.unexpected_error("cache_dir", dir.error());
        return;
    }
    std::printf("  cache_dir = %s\n", dir->c_str());
    check.expect(fs::path(*dir) == workdir / "cache", "cache_dir is the directory given");

    const auto empty = pkg::cache_size(options);
    if (!empty) {
        check.unexpected_error("cache_size (missing directory)", empty.error());
        return;
    }
    check.expect(empty->files == 0 && empty->apparent_bytes == 0,
                 "a cache that does not exist yet is empty");

    const auto pruned = pkg::cache_prune(options, /*force=*/false);
    if (!pruned) {
        check.unexpected_error("cache_prune (missing directory)", pruned.error());
    } else {
        std::printf("  cache_prune: removed %zu entries, freed %s\n", pruned->removed.size(),
                    pkg::format_bytes(pruned->freed_bytes).c_str());
        check.expect(pruned->removed.empty(), "pruning a missing cache removes nothing");
    }

    // A directory that is not a pkg cache: its size is still reported, but pkg refuses to prune
    // it, and says so with an error value carrying pkg's own error code.
    fs::create_directories(workdir / "cache");
    {
        std::ofstream file(workdir / "cache" / "not-a-pkg-file", std::ios::binary);
        file << std::string(4096, 'x');
    }
    const auto size = pkg::cache_size(options);
    if (!size) {
        check.unexpected_error("cache_size", size.error());
    } else {
        std::printf("  cache_size: %llu files, %s apparent, %s allocated\n",
                    static_cast<unsigned long long>(size->files),
                    pkg::format_bytes(size->apparent_bytes).c_str(),
                    pkg::format_bytes(size->allocated_bytes).c_str());
        check.expect(size->files == 1 && size->apparent_bytes == 4096,
                     "cache_size counts the one 4096-byte file");
    }
    const auto refused = pkg::cache_prune(options, /*force=*/false);
    if (refused) {
        check.expect(false, "cache_prune refuses a directory without pkg's CACHEDIR.TAG");
    } else {
        std::printf("  cache_prune error (expected): %s\n", refused.error().to_string().c_str());
        check.expect(refused.error().code == pkg::errc::not_a_cache,
                     "the refusal is pkg::errc::not_a_cache");
        check.expect(std::string_view(refused.error().code.category().name()) == "pkg",
                     "its category is pkg's");
        check.expect(fs::exists(workdir / "cache" / "not-a-pkg-file"), "nothing was deleted");
    }
}

void check_install(checker& check, const std::string& python, const fs::path& workdir,
                   const fs::path& venv);

void check_venv(checker& check, const std::string& python, const fs::path& workdir)
{
    std::printf("venv\n");
    pkg::venv_options options;
    options.path = workdir / "env";
    options.python = python;
    options.command = {"pkg_consumer", python, workdir.string()};

    const auto created = pkg::create_venv(options);
    if (!created) {
        check.unexpected_error("create_venv", created.error());
        return;
    }
    std::printf("  created %s: Python %s, base %s\n", created->path.c_str(),
                created->python_version.c_str(), created->base_executable.c_str());
    check.expect(created->path == workdir / "env", "the environment is where it was asked for");
    check.expect(created->python_version.starts_with("3."), "the interpreter is a Python 3");
    check.expect(fs::exists(created->python), "its bin/python exists");
    check.expect(fs::is_regular_file(workdir / "env" / "pyvenv.cfg"), "pyvenv.cfg exists");
    check.expect(!created->is_replaced, "nothing was replaced");

    const auto again = pkg::create_venv(options);
    if (again) {
        check.expect(false, "a second create_venv without clear is refused");
    } else {
        std::printf("  create_venv again (expected error): %s\n",
                    again.error().to_string().c_str());
        check.expect(again.error().code == pkg::errc::venv_exists,
                     "the refusal is pkg::errc::venv_exists");
    }

    options.clear = true;
    const auto replaced = pkg::create_venv(options);
    if (!replaced) {
        check.unexpected_error("create_venv (clear)", replaced.error());
        return;
    }
    check.expect(replaced->is_replaced, "with clear the environment is replaced");
    check.expect(fs::exists(replaced->python), "the new bin/python exists");

    // Lockfile installs through the same environment (issue 8): see check_install below.
    check_install(check, python, workdir, replaced->path);
}

// ---- installing lockfiles ----------------------------------------------------------------------

// A wheel of Debian's python3-pip-whl / python3-setuptools-whl / python3-wheel-whl packages:
// a find-links directory that needs no server.
struct local_wheel {
    std::string name;
    std::string version;
    fs::path path;
};

const fs::path debian_wheel_dir = "/usr/share/python-wheels";

std::vector<local_wheel> debian_wheels()
{
    std::vector<local_wheel> out;
    for (const char* name : {"pip", "setuptools", "wheel"}) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(debian_wheel_dir, ec)) {
            const std::string file = entry.path().filename().string();
            const std::string prefix = std::string(name) + "-";
            if (file.starts_with(prefix) && file.ends_with("-py3-none-any.whl")) {
                const std::string rest = file.substr(prefix.size());
                out.push_back(local_wheel{name, rest.substr(0, rest.find('-')), entry.path()});
                break;
            }
        }
    }
    return out;
}

// <venv>/lib/python3.X/site-packages (empty if there is none).
fs::path site_packages(const fs::path& venv)
{
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(venv / "lib", ec)) {
        if (entry.path().filename().string().starts_with("python3")) {
            return entry.path() / "site-packages";
        }
    }
    return {};
}

// What a consistency check found in site-packages.
struct consistency {
    std::size_t dist_infos = 0;       // real (non-hidden) .dist-info directories
    std::size_t files_listed = 0;     // RECORD lines checked
    std::vector<std::string> missing; // "<dist-info>: <path>" for every listed file that is absent
    std::size_t hidden_leftovers = 0; // pkg's hidden staging/removal names (".x.dist-info.…")
};

// The "no half-installed package" rule, checked from outside: every file each .dist-info's
// RECORD lists exists.
consistency check_site_packages(const fs::path& site)
{
    consistency out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(site, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with(".")) {
            out.hidden_leftovers += name.find(".dist-info.") != std::string::npos ? 1 : 0;
            continue;
        }
        if (!name.ends_with(".dist-info")) {
            continue;
        }
        ++out.dist_infos;
        std::ifstream record(entry.path() / "RECORD");
        if (!record) {
            out.missing.push_back(name + ": RECORD");
            continue;
        }
        for (std::string line; std::getline(record, line);) {
            if (line.empty()) {
                continue;
            }
            // CSV: a quoted first field when the path has a comma or a quote.
            const std::string path = line.front() == '"' ? line.substr(1, line.find('"', 1) - 1)
                                                         : line.substr(0, line.find(','));
            ++out.files_listed;
            if (!fs::exists(fs::symlink_status(site / path, ec))) {
                out.missing.push_back(name + ": " + path);
            }
        }
    }
    return out;
}

void expect_consistent(checker& check, const fs::path& venv, std::size_t expected_dist_infos,
                       std::string_view when)
{
    const consistency c = check_site_packages(site_packages(venv));
    std::printf("  %.*s: %zu .dist-info, %zu RECORD entries, %zu missing, %zu hidden leftovers\n",
                static_cast<int>(when.size()), when.data(), c.dist_infos, c.files_listed,
                c.missing.size(), c.hidden_leftovers);
    for (std::size_t i = 0; i < c.missing.size() && i < 5; ++i) {
        std::printf("    missing %s\n", c.missing[i].c_str());
    }
    check.expect(c.missing.empty(), "every file every RECORD lists exists");
    check.expect(c.dist_infos == expected_dist_infos,
                 "as many .dist-info directories as packages installed (" +
                     std::to_string(expected_dist_infos) + ")");
}

// Records progress events and checks the order the API promises.
class progress_log {
public:
    void record(const pkg::progress_event& e)
    {
        std::lock_guard lock(mutex_);
        events_.push_back(e);
    }

    [[nodiscard]] std::vector<pkg::progress_event> events() const
    {
        std::lock_guard lock(mutex_);
        return events_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<pkg::progress_event> events_;
};

// Phases once each, in order; counters never go back; every package is fetched ("local",
// "cached" or "downloaded") before it is installed. Returns the packages reported installed.
std::set<std::string> check_progress(checker& check, const std::vector<pkg::progress_event>& events,
                                     bool expect_done)
{
    int last_phase = -1;
    bool phases_in_order = true;
    bool counters_monotonic = true;
    bool bytes_bounded = true;
    bool fetched_first = true;
    std::size_t done = 0;
    std::uint64_t bytes = 0;
    std::set<std::string> fetched;
    std::set<std::string> installed;
    for (const auto& e : events) {
        if (e.action.empty()) {
            phases_in_order = phases_in_order && static_cast<int>(e.phase) > last_phase;
            last_phase = static_cast<int>(e.phase);
        }
        counters_monotonic = counters_monotonic && e.packages_done >= done && e.bytes_done >= bytes;
        done = e.packages_done;
        bytes = e.bytes_done;
        bytes_bounded = bytes_bounded && e.bytes_done <= e.bytes_total;
        if (e.action == "local" || e.action == "cached" || e.action == "downloaded") {
            fetched.insert(e.package);
        } else if (e.action == "installed") {
            fetched_first = fetched_first && fetched.count(e.package) == 1;
            installed.insert(e.package);
        }
    }
    std::printf("  %zu progress events, %zu packages installed by them\n", events.size(),
                installed.size());
    check.expect(!events.empty() && events.front().phase == pkg::phase::preparing,
                 "the first event announces preparing");
    check.expect(phases_in_order, "each phase is announced once, in order");
    check.expect(counters_monotonic, "packages_done and bytes_done never go back");
    check.expect(bytes_bounded, "bytes_done <= bytes_total in every event");
    check.expect(fetched_first, "every package is fetched before it is installed");
    const bool ended_done = !events.empty() && events.back().phase == pkg::phase::done &&
                            events.back().action.empty();
    check.expect(ended_done == expect_done, expect_done ? "the last event announces done"
                                                        : "no done event for a cancelled install");
    return installed;
}

const char* source_name(pkg::package_source s)
{
    switch (s) {
    case pkg::package_source::cache: return "cache";
    case pkg::package_source::network: return "network";
    case pkg::package_source::local: return "local";
    }
    return "?";
}

void print_report(const pkg::install_report& r)
{
    std::printf("  report: %s (Python %s)\n", r.environment.c_str(), r.python_version.c_str());
    for (const auto& p : r.installed) {
        std::printf("    installed %s %s from %s (%s, %llu files)\n", p.name.c_str(),
                    p.version.c_str(), source_name(p.source), p.wheel.c_str(),
                    static_cast<unsigned long long>(p.files));
    }
    for (const auto& p : r.unchanged) {
        std::printf("    unchanged %s %s\n", p.name.c_str(), p.version.c_str());
    }
    for (const auto& w : r.warnings) {
        std::printf("    warning: %s\n", w.c_str());
    }
    std::printf("    elapsed %lld ms (fetching %lld ms, linking %lld ms), %s downloaded, %llu "
                "requests\n",
                static_cast<long long>(r.elapsed.count()),
                static_cast<long long>(r.fetch_time.count()),
                static_cast<long long>(r.install_time.count()),
                pkg::format_bytes(r.downloaded_bytes).c_str(),
                static_cast<unsigned long long>(r.network_requests));
}

// Runs `<venv>/bin/python -c <code>` and says whether it exited 0.
bool run_python(const fs::path& venv, const std::string& code)
{
    // -W ignore: Debian's setuptools warns that it replaces distutils; that is not our output.
    const std::string command =
        "'" + (venv / "bin" / "python").string() + "' -W ignore -c '" + code + "'";
    return std::system(command.c_str()) == 0;
}

void check_install(checker& check, const std::string& python, const fs::path& workdir,
                   const fs::path& venv)
{
    std::printf("install\n");
    const std::vector<local_wheel> wheels = debian_wheels();
    if (wheels.size() != 3) {
        check.expect(false, "Debian's pip, setuptools and wheel wheels are in " +
                                debian_wheel_dir.string() +
                                " (apt-get install python3-pip-whl python3-setuptools-whl "
                                "python3-wheel-whl)");
        return;
    }
    std::string lock_text = "# pinned, as pip-compile writes them\n";
    std::set<std::string> names;
    for (const auto& w : wheels) {
        lock_text += w.name + "==" + w.version + "\n";
        names.insert(w.name);
    }
    const fs::path lockfile = workdir / "requirements.txt";
    std::ofstream(lockfile) << lock_text;

    // Everything the engine may read comes from here: a hermetic environment (no PIP_* or
    // PKG_* variables of whoever runs this), a cache of our own, Debian's wheel directory as
    // the only source.
    const fs::path home = workdir;
    pkg::install_options options;
    options.python = venv.string();
    options.cache.cache_dir = (workdir / "install-cache").string();
    options.getenv = [home](std::string_view name) -> std::optional<std::string> {
        if (name == "PATH") {
            return std::string("/usr/bin:/bin");
        }
        if (name == "HOME") {
            return home.string();
        }
        if (name == "PIP_CONFIG_FILE") {
            return std::string("/dev/null");
        }
        return std::nullopt;
    };
    options.cache.getenv = options.getenv;
    options.cwd = workdir;
    options.requirements = {lockfile};
    options.index.find_links = {debian_wheel_dir.string()};
    options.index.no_index = true;
    options.lock_timeout = std::chrono::seconds(30);

    // 1. A blocking install with a progress callback.
    progress_log first_log;
    auto first_options = options;
    first_options.on_progress = [&first_log](const pkg::progress_event& e) { first_log.record(e); };
    const auto first = pkg::install(first_options);
    if (!first) {
        check.unexpected_error("install", first.error());
        return;
    }
    print_report(*first);
    const auto events = first_log.events();
    const auto announced = check_progress(check, events, /*expect_done=*/true);
    std::set<std::string> reported;
    for (const auto& p : first->installed) {
        reported.insert(p.name);
    }
    check.expect(reported == names, "pip, setuptools and wheel were installed");
    check.expect(announced == names, "and each was announced \"installed\" by a progress event");
    check.expect(!events.empty() && events.back().packages_done == names.size() &&
                     events.back().packages_total == names.size(),
                 "the last event counts 3 of 3 packages");
    bool versions_match = first->installed.size() == wheels.size();
    for (const auto& p : first->installed) {
        for (const auto& w : wheels) {
            if (w.name == p.name) {
                versions_match = versions_match && w.version == p.version &&
                                 p.wheel == w.path.filename().string() &&
                                 p.source == pkg::package_source::local && p.files > 0;
            }
        }
    }
    check.expect(versions_match, "each at the pinned version, from its local wheel file");
    check.expect(first->network_requests == 0 && first->downloaded_bytes == 0,
                 "no network was used");
    expect_consistent(check, venv, wheels.size(), "after the install");
    // Debian's setuptools must be imported before pip (its distutils hack): the same holds in
    // a `python3 -m venv` environment seeded from these wheels.
    check.expect(run_python(venv, "import setuptools, pip, wheel"),
                 "setuptools, pip and wheel import in the environment's python");

    const auto listing = pkg::list(options);
    if (!listing) {
        check.unexpected_error("list", listing.error());
    } else {
        std::set<std::string> listed;
        for (const auto& p : listing->packages) {
            std::printf("    list: %s %s (installer %s)\n", p.name.c_str(), p.version.c_str(),
                        p.installer.c_str());
            if (p.installer == "pkg") {
                listed.insert(p.normalized_name);
            }
        }
        check.expect(listed == names, "list shows the three, installed by pkg");
    }

    const auto again = pkg::install(options);
    if (!again) {
        check.unexpected_error("install (again)", again.error());
    } else {
        check.expect(again->installed.empty() && again->unchanged.size() == names.size(),
                     "installing the same lockfile again changes nothing");
    }

    // 2. A lockfile whose hash no file has: an error value, and nothing installed.
    {
        const auto bad_venv = workdir / "env-bad-hash";
        pkg::venv_options venv_options;
        venv_options.path = bad_venv;
        venv_options.python = python;
        const auto made = pkg::create_venv(venv_options);
        if (!made) {
            check.unexpected_error("create_venv (bad hash)", made.error());
        } else {
            const fs::path bad_lock = workdir / "bad-hash.txt";
            std::ofstream(bad_lock) << wheels.front().name << "==" << wheels.front().version
                                    << " --hash=sha256:" << std::string(64, '0') << "\n";
            auto bad_options = options;
            bad_options.python = bad_venv.string();
            bad_options.requirements = {bad_lock};
            const auto refused = pkg::install(bad_options);
            if (refused) {
                check.expect(false, "a lockfile pinning a hash no wheel has is refused");
            } else {
                std::printf("  install with a wrong hash (expected error): %s\n",
                            refused.error().to_string().c_str());
                check.expect(refused.error().code == pkg::errc::hash_mismatch,
                             "the refusal is pkg::errc::hash_mismatch");
                expect_consistent(check, bad_venv, 0, "after the refused install");
            }
        }
    }

    // 3. A second environment that already has `wheel` (installed by pkg), then an asynchronous
    //    install of the whole lockfile into it, cancelled from the progress callback at the
    //    first package event of the fetching phase. That is deterministic: nothing of pip or
    //    setuptools has been linked yet when the cancellation is requested, and at most the
    //    package that announced itself may still be linked (installs are never interrupted
    //    halfway), so the run cannot complete. What was there before must be intact.
    std::printf("cancelled install\n");
    pkg::venv_options second_venv_options;
    second_venv_options.path = workdir / "env-cancelled";
    second_venv_options.python = python;
    const auto second_venv = pkg::create_venv(second_venv_options);
    if (!second_venv) {
        check.unexpected_error("create_venv (second)", second_venv.error());
        return;
    }
    const local_wheel& seeded = wheels.back();  // "wheel" (debian_wheels' order)
    const fs::path seed_lock = workdir / "seed.txt";
    std::ofstream(seed_lock) << seeded.name << "==" << seeded.version << "\n";
    auto seed_options = options;
    seed_options.python = second_venv->path.string();
    seed_options.requirements = {seed_lock};
    const auto seeded_report = pkg::install(seed_options);
    if (!seeded_report) {
        check.unexpected_error("install (seed)", seeded_report.error());
        return;
    }
    check.expect(seeded_report->installed.size() == 1 &&
                     seeded_report->installed.front().name == seeded.name,
                 "the second environment starts with " + seeded.name + " installed");

    auto cancel_options = options;
    cancel_options.python = second_venv->path.string();
    progress_log cancel_log;
    std::mutex op_mutex;  // the callback may run before async_install has returned the handle
    pkg::operation op;
    bool is_cancel_sent = false;
    cancel_options.on_progress = [&](const pkg::progress_event& e) {
        cancel_log.record(e);
        if (e.phase == pkg::phase::fetching && !e.action.empty()) {
            std::lock_guard lock(op_mutex);
            if (!is_cancel_sent) {
                is_cancel_sent = true;
                op.cancel();
            }
        }
    };
    std::mutex done_mutex;
    std::optional<pkg::result<pkg::install_report>> outcome;
    int done_calls = 0;
    {
        std::lock_guard lock(op_mutex);
        op = pkg::async_install(cancel_options, [&](pkg::result<pkg::install_report> r) {
            std::lock_guard done_lock(done_mutex);
            outcome.emplace(std::move(r));
            ++done_calls;
        });
    }
    op.wait();
    std::lock_guard done_lock(done_mutex);
    check.expect(done_calls == 1, "on_done was called exactly once");
    check.expect(is_cancel_sent, "the callback saw the fetching phase and cancelled");
    if (!outcome) {
        return;
    }
    if (*outcome) {
        check.expect(false, "the cancelled install fails (it completed instead)");
        print_report(**outcome);
        return;
    }
    std::printf("  outcome (expected error): %s\n", outcome->error().to_string().c_str());
    check.expect(outcome->error().code == std::errc::operation_canceled,
                 "the outcome is std::errc::operation_canceled");
    const auto partly = check_progress(check, cancel_log.events(), /*expect_done=*/false);
    check.expect(partly.size() < names.size() - 1,
                 "it stopped before installing everything (" + std::to_string(partly.size()) +
                     " of the 2 missing were installed)");
    expect_consistent(check, second_venv->path, 1 + partly.size(), "after the cancellation");
    check.expect(fs::is_directory(site_packages(second_venv->path) /
                                  (seeded.name + "-" + seeded.version + ".dist-info")),
                 seeded.name + " is still installed");

    // The interrupted environment is fine to continue: the same install finishes the job.
    auto finish_options = options;
    finish_options.python = second_venv->path.string();
    const auto finished = pkg::install(finish_options);
    if (!finished) {
        check.unexpected_error("install (after the cancellation)", finished.error());
        return;
    }
    print_report(*finished);
    check.expect(finished->installed.size() + finished->unchanged.size() == names.size() &&
                     finished->unchanged.size() == 1 + partly.size(),
                 "installing again adds exactly what the cancelled run had not done");
    expect_consistent(check, second_venv->path, names.size(), "after finishing");
    check.expect(run_python(second_venv->path, "import setuptools, pip, wheel"),
                 "the three import in the second environment");
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s PYTHON WORKDIR\n", argc > 0 ? argv[0] : "pkg_consumer");
        return 2;
    }
    const std::string python = argv[1];
    std::error_code ec;
    const fs::path workdir = fs::absolute(argv[2], ec);
    if (ec || (fs::exists(workdir) && !fs::is_empty(workdir))) {
        std::fprintf(stderr, "pkg_consumer: %s: WORKDIR must be a new or empty directory\n", argv[2]);
        return 2;
    }
    fs::create_directories(workdir, ec);
    if (ec) {
        std::fprintf(stderr, "pkg_consumer: cannot create %s: %s\n", workdir.c_str(),
                     ec.message().c_str());
        return 2;
    }

    checker check;
    check_version(check);
    check_cache(check, workdir);
    check_venv(check, python, workdir);

    if (check.failures() != 0) {
        std::printf("pkg_consumer: %d check(s) FAILED\n", check.failures());
        return 1;
    }
    std::printf("pkg_consumer: all checks passed\n");
    return 0;
}
