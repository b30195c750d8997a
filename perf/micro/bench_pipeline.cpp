// Throughput of the wheel pipeline writing files (zip reader + inflate + CRC + RECORD check +
// file writes + publish) on real wheels, against Info-ZIP's `unzip -q` extracting the same wheels.
//
//   bench_pipeline [--dir DIR] [--rounds N] [wheel...]
//       DIR     where the fresh trees go (default /tmp; use a tmpfs such as /dev/shm to take the
//               disk out); every round writes under a new name (the ext4 here is mounted with
//               `discard`, so reusing freed blocks is itself a cost) and is removed untimed.
//       N       rounds (default 3); the median is printed.
//       wheels  default: Debian's /usr/share/python-wheels/*.whl and the wheels bundled with
//               pyenv's Pythons (ensurepip/_bundled), one copy per filename.
//
// Rows (wall time per round, all wheels; MB = 10^6 bytes of uncompressed output):
//   pkg, all wheels at once     async_unpack_local_wheel for every wheel concurrently into one
//                               fresh cache (2 CPU threads for inflate, 4 unzip slots, the
//                               default file backend) — what a cold install does
//   pkg, one wheel at a time    the same, awaiting each wheel before the next
//   unzip -q, sequential        `unzip -q -o W -d fresh/` per wheel, one after the other
//   unzip -q, xargs -P2         the same, two at a time
// `sync` runs before every timed section (untimed) so one mode's writeback does not land in the
// next; the timed sections themselves end when the files are in the page cache, as both tools'
// do. pkg does more per file than unzip (sha256 of the wheel, RECORD hashes, a manifest, a
// rename and a symlink); that is part of what is measured.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <glob.h>
#include <unistd.h>

#include "cache/cache.hpp"
#include "fs/file_backend.hpp"
#include "http/http_client.hpp"
#include "pipeline/fetch_wheel.hpp"
#include "runtime/fan_out.hpp"
#include "runtime/runtime.hpp"
#include "runtime/slots.hpp"

namespace {

namespace stdfs = std::filesystem;
using clock_type = std::chrono::steady_clock;

std::vector<std::string> default_wheels()
{
    std::map<std::string, std::string> by_name; // one copy of each wheel filename
    for (const char* pattern : {"/usr/share/python-wheels/*.whl",
                                "/root/.pyenv/versions/*/lib/python3*/ensurepip/_bundled/*.whl"}) {
        glob_t g{};
        if (glob(pattern, 0, nullptr, &g) == 0) {
            for (std::size_t i = 0; i < g.gl_pathc; ++i) {
                const std::string path = g.gl_pathv[i];
                by_name.emplace(stdfs::path(path).filename().string(), path);
            }
        }
        globfree(&g);
    }
    std::vector<std::string> out;
    for (const auto& [name, path] : by_name) {
        out.push_back(path);
    }
    return out;
}

std::string shell_quote(const std::string& text)
{
    std::string out = "'";
    for (const char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

struct tree_size {
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
};

tree_size measure_tree(const stdfs::path& root)
{
    tree_size out;
    for (const auto& e : stdfs::recursive_directory_iterator(root)) {
        if (e.is_regular_file() && !e.is_symlink()) {
            ++out.files;
            out.bytes += e.file_size();
        }
    }
    return out;
}

double seconds_since(clock_type::time_point start)
{
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

void run_shell(const std::string& command)
{
    if (std::system(command.c_str()) != 0) {
        std::fprintf(stderr, "bench_pipeline: command failed: %s\n", command.c_str());
        std::exit(1);
    }
}

pkg::io::task<int> async_unpack_all(std::shared_ptr<pkg::pipeline::pipeline_context> ctx,
                                    std::vector<std::string> wheels, bool is_sequential)
{
    int failures = 0;
    auto report = [&failures](const pkg::result<pkg::pipeline::archive_ref>& outcome) {
        if (!outcome) {
            std::fprintf(stderr, "bench_pipeline: %s\n", outcome.error().to_string().c_str());
            ++failures;
        }
    };
    // Arguments as named objects, not temporaries converted at the call: GCC 12 mishandles
    // the lifetime of such temporaries in a coroutine call (a double free here).
    const pkg::pipeline::wheel_request request;
    if (is_sequential) {
        for (const std::string& w : wheels) {
            const std::filesystem::path path(w);
            report(co_await pkg::pipeline::async_unpack_local_wheel(ctx, path, request));
        }
        co_return failures;
    }
    std::vector<pkg::io::task<pkg::result<pkg::pipeline::archive_ref>>> jobs;
    for (const std::string& w : wheels) {
        const std::filesystem::path path(w);
        jobs.push_back(pkg::pipeline::async_unpack_local_wheel(ctx, path, request));
    }
    for (const auto& outcome : co_await pkg::io::async_collect(std::move(jobs), wheels.size())) {
        report(outcome);
    }
    co_return failures;
}

/// One pkg round into the fresh cache `root`: seconds of the unpacking alone (the cache, runtime
/// and backend are set up before the clock starts).
double pkg_round(const stdfs::path& root, const std::vector<std::string>& wheels,
                 bool is_sequential)
{
    auto opened = pkg::cache::cache::open(root);
    if (!opened) {
        std::fprintf(stderr, "bench_pipeline: %s\n", opened.error().to_string().c_str());
        std::exit(1);
    }
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 2});
    auto files = pkg::io::make_file_backend(rt.executor());
    if (!files) {
        std::fprintf(stderr, "bench_pipeline: %s\n", files.error().to_string().c_str());
        std::exit(1);
    }
    double seconds = 0;
    {
        pkg::io::http_client http(rt.executor(), pkg::io::http_options{});
        pkg::io::slots unzip(rt.executor(), 4, "unzip_slots");
        auto ctx = std::make_shared<pkg::pipeline::pipeline_context>(rt.cpu_executor(), http,
                                                                     **files, *opened, unzip);
        const auto start = clock_type::now();
        const int failures = rt.run(async_unpack_all(ctx, wheels, is_sequential));
        seconds = seconds_since(start);
        if (failures != 0) {
            std::exit(1);
        }
    }
    return seconds;
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

} // namespace

int main(int argc, char** argv)
{
    stdfs::path dir = "/tmp";
    int rounds = 3;
    std::vector<std::string> wheels;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--dir" && i + 1 < argc) {
            dir = argv[++i];
        } else if (arg == "--rounds" && i + 1 < argc) {
            rounds = std::max(1, std::atoi(argv[++i]));
        } else if (arg.starts_with("--")) {
            std::fprintf(stderr, "usage: bench_pipeline [--dir DIR] [--rounds N] [wheel...]\n");
            return 2;
        } else {
            wheels.push_back(stdfs::absolute(arg).string());
        }
    }
    if (wheels.empty()) {
        wheels = default_wheels();
    }
    if (wheels.empty()) {
        std::fprintf(stderr, "bench_pipeline: no wheels found; pass some\n");
        return 2;
    }
    const stdfs::path base = dir / ("pkg-bench-pipeline-" + std::to_string(::getpid()));
    stdfs::create_directories(base);

    std::uint64_t compressed = 0;
    for (const std::string& w : wheels) {
        compressed += stdfs::file_size(w);
    }

    // The output's size, from one untimed unzip (the reference extraction).
    tree_size output;
    {
        const stdfs::path probe = base / "probe";
        stdfs::create_directories(probe); // unzip -d makes one level only
        std::string command;
        for (std::size_t i = 0; i < wheels.size(); ++i) {
            command += "unzip -q -o " + shell_quote(wheels[i]) + " -d " +
                       shell_quote((probe / std::to_string(i)).string()) + " && ";
        }
        run_shell(command + "true");
        output = measure_tree(probe);
        stdfs::remove_all(probe);
    }
    std::printf("%zu wheels, %.1f MB compressed, %llu files, %.1f MB uncompressed; into %s; "
                "%d rounds\n",
                wheels.size(), static_cast<double>(compressed) / 1e6,
                static_cast<unsigned long long>(output.files),
                static_cast<double>(output.bytes) / 1e6, dir.c_str(), rounds);

    struct mode {
        const char* name;
        std::vector<double> seconds;
    };
    std::vector<mode> modes = {{"pkg, all wheels at once", {}},
                               {"pkg, one wheel at a time", {}},
                               {"unzip -q, sequential", {}},
                               {"unzip -q, xargs -P2", {}}};
    std::string wheel_lines;
    for (const std::string& w : wheels) {
        wheel_lines += w + "\n";
    }
    const stdfs::path list = base / "wheels.txt";
    {
        std::FILE* f = std::fopen(list.c_str(), "w");
        std::fputs(wheel_lines.c_str(), f);
        std::fclose(f);
    }

    for (int r = 0; r < rounds; ++r) {
        for (std::size_t m = 0; m < modes.size(); ++m) {
            const stdfs::path fresh = base / ("r" + std::to_string(r) + "-m" + std::to_string(m));
            run_shell("sync");
            double seconds = 0;
            if (m < 2) {
                seconds = pkg_round(fresh, wheels, m == 1);
                const tree_size written = measure_tree(fresh / "archive-v1");
                if (written.files < output.files) {
                    std::fprintf(stderr, "bench_pipeline: pkg wrote %llu files, unzip %llu\n",
                                 static_cast<unsigned long long>(written.files),
                                 static_cast<unsigned long long>(output.files));
                    return 1;
                }
            } else {
                stdfs::create_directories(fresh); // unzip -d makes one level only
                std::string command;
                if (m == 2) {
                    for (std::size_t i = 0; i < wheels.size(); ++i) {
                        command += "unzip -q -o " + shell_quote(wheels[i]) + " -d " +
                                   shell_quote((fresh / std::to_string(i)).string()) + " && ";
                    }
                    command += "true";
                } else {
                    command = "xargs -P2 -I{} sh -c "
                              "'unzip -q -o \"$1\" -d \"$2/$(basename \"$1\")\"' _ {} " +
                              shell_quote(fresh.string()) + " < " + shell_quote(list.string());
                }
                const auto start = clock_type::now();
                run_shell(command);
                seconds = seconds_since(start);
            }
            modes[m].seconds.push_back(seconds);
            stdfs::remove_all(fresh);
        }
    }

    std::printf("%-26s %10s %10s %12s   %s\n", "", "median s", "MB/s", "files/s", "all rounds (s)");
    for (const mode& m : modes) {
        const double s = median(m.seconds);
        std::string all;
        for (const double x : m.seconds) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%s%.3f", all.empty() ? "" : " ", x);
            all += buf;
        }
        std::printf("%-26s %10.3f %10.1f %12.0f   %s\n", m.name, s,
                    static_cast<double>(output.bytes) / 1e6 / s,
                    static_cast<double>(output.files) / s, all.c_str());
    }
    stdfs::remove_all(base);
    return 0;
}
