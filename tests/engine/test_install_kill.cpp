// Issue 6, "Proof: Interrupt": installs killed with SIGKILL at random moments never leave a
// half-installed package, and the next run ends with the environment a clean install makes.
//
// A helper process (tests/helpers/api_install_worker.cpp) installs a lockfile through the public API
// from a find-links directory of Debian's pip/setuptools/wheel plus generated wheels with many
// files. The test kills it at a random moment of its measured run window, over and over, keeping
// or replacing the cache and the environment between kills (cold and warm fetches, fresh and
// half-done environments, upgrades and downgrades), and after every kill checks:
//   - every real `.dist-info` (not a hidden staging/removal name) has a RECORD, and every file it
//     lists exists;
//   - what is left of pkg's staging is invisible as a package: no hidden name ends in
//     `.dist-info`, and Python's importlib.metadata sees exactly the real `.dist-info`s;
//   - the killed worker's environment lock is gone (OFD locks die with their process).
// At the end a worker runs to completion and the environment must equal a clean install of the
// same lockfile (same distributions, versions and RECORD paths; everything imports).

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <pkg/engine/install.hpp>

#include "fs/file_lock.hpp"
#include "install_fixture.hpp"

using namespace pkg::test::install_fixture;
using pkg::test::child;

namespace {

// `kgen<k>-<version>`: a package of `modules` modules (versions 1.0 and 2.0 share only part of
// them, so replacing one removes and adds files), a data file, and a console script.
wheel_file make_big_wheel(int k, const std::string& version)
{
    const std::string name = "kgen" + std::to_string(k);
    const int first = version == "1.0" ? 0 : 20;
    auto files = dist_info_files(name, version);
    files.emplace_back(name + "/__init__.py",
                       "VERSION = \"" + version + "\"\n\ndef main():\n    return 0\n");
    files.emplace_back(name + "-" + version + ".data/data/share/" + name + "/readme.txt",
                       name + " " + version);
    for (int m = first; m < first + 80; ++m) {
        files.emplace_back(name + "/mod_" + std::to_string(m) + ".py",
                           "# " + name + " " + version + "\nVALUE = " + std::to_string(m) + "\n" +
                               std::string(200 + 10 * m, '#') + "\n");
    }
    return wheel_of(name, version, files);
}

constexpr int generated_packages = 6;

child spawn_worker(const stdfs::path& venv, const stdfs::path& cache, const stdfs::path& links,
                   const stdfs::path& lock, const stdfs::path& log, int lock_timeout_ms = 30000)
{
    return pkg::test::spawn({PKG_TEST_HELPER_api_install_worker, venv.string(), cache.string(),
                             links.string(), lock.string(), std::to_string(lock_timeout_ms)},
                            log);
}

// Sleeps for `delay`, or less if `w` exits meanwhile (left unreaped for wait_exit).
void sleep_unless_exited(const child& w, std::chrono::microseconds delay)
{
    const auto until = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < until) {
        siginfo_t info{};
        REQUIRE(::waitid(P_PID, static_cast<id_t>(w.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0);
        if (info.si_pid == w.pid) {
            return;
        }
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            until - std::chrono::steady_clock::now(), std::chrono::milliseconds(1)));
    }
}

// The microseconds a finished worker reported ("done <us> …").
std::int64_t reported_micros(const std::string& output)
{
    const auto at = output.find("\ndone ");
    REQUIRE(at != std::string::npos);
    return std::stoll(output.substr(at + 6));
}

std::size_t count_of(const std::string& text, const std::string& needle)
{
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

// name → version of the distributions importlib.metadata finds in site-packages only.
std::map<std::string, std::string> python_sees(const stdfs::path& venv)
{
    const auto listed = pkg::test::run_process(
        {(venv / "bin" / "python").string(), "-c",
         "import importlib.metadata as m, sys\n"
         "for d in m.distributions(path=[sys.argv[1]]):\n"
         "    print(d.metadata['Name'].lower(), d.version)\n",
         site_packages(venv).string()});
    INFO(listed.err);
    REQUIRE(listed.exit_code == 0);
    std::map<std::string, std::string> seen;
    std::istringstream lines(listed.out);
    for (std::string name, version; lines >> name >> version;) {
        CHECK(seen.count(name) == 0);  // one distribution per name
        seen[name] = version;
    }
    return seen;
}

// The invariants that must hold at any moment; returns the hidden leftovers found.
std::size_t check_invariants(const stdfs::path& venv)
{
    check_consistent(venv);
    std::size_t hidden = 0;
    for (const auto& entry : stdfs::directory_iterator(site_packages(venv))) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with(".") && name.find(".dist-info") != std::string::npos) {
            INFO(name);
            CHECK_FALSE(name.ends_with(".dist-info"));
            ++hidden;
        }
    }
    // What Python sees is exactly the real .dist-info directories: staging leftovers and half
    // installed packages (files without a .dist-info) are not packages.
    std::map<std::string, std::string> real;
    for (const auto& [name, version] : dist_infos(venv)) {
        real[name] = version;
    }
    CHECK(python_sees(venv) == real);
    // The killed worker's environment lock died with it.
    auto lock = pkg::io::file_lock::try_lock(venv / ".pkg.lock", pkg::io::lock_kind::exclusive);
    REQUIRE(lock);
    CHECK(lock->has_value());
    return hidden;
}

// RECORD paths of every real .dist-info (hashes and sizes aside: launchers name the venv).
std::map<std::string, std::set<std::string>> record_paths(const stdfs::path& venv)
{
    std::map<std::string, std::set<std::string>> out;
    for (const auto& entry : stdfs::directory_iterator(site_packages(venv))) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with(".") || !name.ends_with(".dist-info")) {
            continue;
        }
        std::istringstream lines(pkg::test::read_text(entry.path() / "RECORD"));
        for (std::string line; std::getline(lines, line);) {
            if (!line.empty()) {
                out[name].insert(line.front() == '"' ? line.substr(1, line.find('"', 1) - 1)
                                                     : line.substr(0, line.find(',')));
            }
        }
    }
    return out;
}

// Files in site-packages that no RECORD lists (pyc caches and pkg's hidden names aside): what
// killed installs of a version that was not installed again leave behind.
std::size_t orphan_files(const stdfs::path& venv)
{
    const auto site = site_packages(venv);
    std::set<stdfs::path> listed;
    for (const auto& [dist_info, paths] : record_paths(venv)) {
        for (const auto& p : paths) {
            listed.insert((site / p).lexically_normal());
        }
    }
    std::size_t orphans = 0;
    for (auto it = stdfs::recursive_directory_iterator(site);
         it != stdfs::recursive_directory_iterator(); ++it) {
        const std::string name = it->path().filename().string();
        const bool is_skipped =
            name == "__pycache__" || (it.depth() == 0 && name.starts_with("."));
        if (it->is_directory() && is_skipped) {
            it.disable_recursion_pending();
            continue;
        }
        if (!it->is_directory() && !listed.contains(it->path().lexically_normal())) {
            ++orphans;
        }
    }
    return orphans;
}

}  // namespace

TEST_CASE("install: workers killed with SIGKILL at random moments never leave a half-installed "
          "package, and the next run completes the environment",
          "[install]")
{
    const auto debian = debian_wheels();
    if (debian.size() != 3) {
        WARN("skipped: Debian's pip/setuptools/wheel wheels are not in /usr/share/python-wheels");
        return;
    }
    workspace ws("kill");
    const stdfs::path links = ws.dir.path / "wheels";
    stdfs::create_directories(links);
    std::string lock1_text;
    std::string lock2_text;
    std::vector<wheel_file> expected1 = debian;
    for (const auto& d : debian) {
        lock1_text += pin_line(d, true);
        lock2_text += pin_line(d, false);
    }
    for (int k = 0; k < generated_packages; ++k) {
        const auto v1 = make_big_wheel(k, "1.0");
        const auto v2 = make_big_wheel(k, "2.0");
        pkg::test::write_text(links / v1.filename, v1.bytes);
        pkg::test::write_text(links / v2.filename, v2.bytes);
        lock1_text += pin_line(v1, true);  // hashed: the warm path skips the find-links lookup
        lock2_text += pin_line(v2, false); // unhashed: always through the find-links directory
        expected1.push_back(v1);
    }
    for (const auto& d : debian) {
        pkg::test::write_text(links / d.filename, d.bytes);
    }
    const std::array<stdfs::path, 2> locks{ws.lockfile("lock1.txt", lock1_text),
                                           ws.lockfile("lock2.txt", lock2_text)};
    const auto logs = ws.dir.path / "logs";
    stdfs::create_directories(logs);

    // The window: a cold run (fresh cache and venv) as the worker itself measures it here
    // (debug, sanitizers, load). A warm run is shorter, so its kills spread over all of it.
    std::int64_t window_us = 0;
    {
        child probe = spawn_worker(ws.make_venv("probe"), ws.dir.path / "probe-cache", links,
                                   locks[0], logs / "probe");
        INFO(pkg::test::output_of(probe));
        REQUIRE(pkg::test::wait_exit(probe) == 0);
        window_us = reported_micros(pkg::test::output_of(probe));
    }
    std::mt19937 random(std::random_device{}());
    // Per mode (below), the window shrinks to the run time of a worker that finished before its
    // kill: warm runs and runs over a half-done environment are shorter than the cold probe,
    // and kills after the end prove nothing.
    std::array<std::int64_t, 4> windows{window_us, window_us, window_us, window_us};

    constexpr int kills = 20;
    std::size_t finished = 0;       // the worker was done before the kill
    std::size_t mid_install = 0;    // killed after some package was installed, before the end
    std::size_t before_install = 0; // killed before any package was installed
    std::size_t hidden_leftovers = 0;
    stdfs::path venv;
    stdfs::path cache;
    for (int i = 0; i < kills; ++i) {
        // 0: cold cache, fresh venv; 1: both kept (the other lockfile: upgrades/downgrades over
        // a half-done environment); 2: warm cache, fresh venv; 3: cold cache, kept venv.
        const auto mode = static_cast<std::size_t>(i % 4);
        if (mode == 0 || mode == 3) {
            cache = ws.dir.path / ("cache" + std::to_string(i));
        }
        if (mode == 0 || mode == 2) {
            venv = ws.make_venv("venv" + std::to_string(i));
        }
        const auto& lock = locks[static_cast<std::size_t>(i % 2)];
        INFO("iteration " << i << ", mode " << mode << ", " << venv << ", " << lock.filename());
        child w = spawn_worker(venv, cache, links, lock, logs / ("killed" + std::to_string(i)));
        REQUIRE(pkg::test::wait_for_output(w, "ready"));
        std::uniform_int_distribution<std::int64_t> delay(0, windows[mode]);
        sleep_unless_exited(w, std::chrono::microseconds(delay(random)));
        ::kill(w.pid, SIGKILL);  // harmless on a worker that has exited (not reaped yet)
        const int code = pkg::test::wait_exit(w);
        const std::string output = pkg::test::output_of(w);
        INFO(output);
        CHECK((code == 128 + SIGKILL || code == 0));
        if (code == 0) {
            ++finished;
            windows[mode] = std::min(windows[mode], reported_micros(output));
        } else if (count_of(output, " installed\n") > 0) {
            ++mid_install;
        } else {
            ++before_install;
        }
        hidden_leftovers += check_invariants(venv);
    }

    // A worker killed while it holds the environment lock does not block the next one, which
    // must get the lock at once (a 1 s timeout, and no "waiting" event).
    {
        child holder = spawn_worker(venv, cache, links, locks[0], logs / "holder");
        const bool is_locked = pkg::test::wait_for_output(holder, "event planning");
        ::kill(holder.pid, SIGKILL);
        pkg::test::wait_exit(holder);
        INFO(pkg::test::output_of(holder));
        CHECK(is_locked);
    }
    child last = spawn_worker(venv, cache, links, locks[0], logs / "last", 1000);
    const int last_code = pkg::test::wait_exit(last);
    const std::string last_output = pkg::test::output_of(last);
    INFO(last_output);
    REQUIRE(last_code == 0);
    CHECK(last_output.find("waiting") == std::string::npos);
    const std::size_t hidden_after_last = check_invariants(venv);
    const std::size_t orphans_after_last = orphan_files(venv);

    // The same lockfile into a fresh venv with a fresh cache: the clean reference.
    const auto clean = ws.make_venv("clean");
    child reference = spawn_worker(clean, ws.dir.path / "clean-cache", links, locks[0],
                                   logs / "clean");
    INFO(pkg::test::output_of(reference));
    REQUIRE(pkg::test::wait_exit(reference) == 0);
    std::map<std::string, std::string> expected;
    for (const auto& w : expected1) {
        expected[w.project] = w.version;
    }
    CHECK(dist_infos(clean) == expected);
    CHECK(dist_infos(venv) == expected);
    CHECK(record_paths(venv) == record_paths(clean));
    std::string imports = "import setuptools, pip, wheel";
    std::string expected_versions;
    for (int k = 0; k < generated_packages; ++k) {
        imports += ", kgen" + std::to_string(k);
    }
    imports += "; print(";
    for (int k = 0; k < generated_packages; ++k) {
        imports += (k == 0 ? "" : ", ") + std::string("kgen") + std::to_string(k) + ".VERSION";
        expected_versions += (k == 0 ? "" : " ") + std::string("1.0");
    }
    imports += ")";
    const auto imported = run_python(venv, imports);
    INFO(imported.err);
    CHECK(imported.exit_code == 0);
    CHECK(imported.out == expected_versions + "\n");
    const auto script = pkg::test::run_process({(venv / "bin" / "kgen0-cli").string()});
    CHECK(script.exit_code == 0);

    INFO("kills: " << kills << ", finished before the kill: " << finished
                   << ", after some package was installed: " << mid_install
                   << ", before any was installed: " << before_install
                   << ", hidden staging leftovers seen: " << hidden_leftovers
                   << ", window " << window_us << " us; after the last run: "
                   << hidden_after_last << " hidden leftovers, " << orphans_after_last
                   << " files no RECORD lists (clean install: " << orphan_files(clean) << ")");
    // The kills really land inside the work: some while packages are being installed.
    CHECK(mid_install > 0);
    // A completed run under the environment lock removed every staging/removal tree the killed
    // runs left.
    CHECK(hidden_after_last == 0);
}
