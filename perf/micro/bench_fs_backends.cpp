// Micro-benchmark of the file backends against plain sequential syscalls, for the work an
// installer does: create many small files, hardlink many files, write a few large files.
//
//   bench_fs_backends [--reps N] [--files N] [--file-bytes N] [--large-count N] [--large-mib N]
//                     [--dir PATH] [--keep]
//
// Every measurement writes into fresh directory names (this machine's ext4 has no journal and is
// mounted with `discard`: deleting and recreating trees makes creation 10x slower for minutes, see
// research/toolchain.md §6), variants are interleaved round-robin within each repetition, and
// nothing is deleted until all repetitions are done. Prints the median and the minimum per variant.

#include "fs/file_backend.hpp"
#include "fs/thread_backend.hpp"
#include "fs/uring_backend.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace fs = std::filesystem;

namespace {

struct settings {
    int reps = 5;
    int files = 10'000;
    std::size_t file_bytes = 4096;
    int large_count = 4;
    std::size_t large_mib = 64;
    fs::path dir = "bench-fs-tmp";
    bool keep = false;
};

[[noreturn]] void die(const std::string& what)
{
    std::fprintf(stderr, "bench_fs_backends: %s\n", what.c_str());
    std::exit(1);
}

void check(const pkg::result<void>& r)
{
    if (!r) {
        die(r.error().to_string());
    }
}

// One way of doing the file work: a backend, or null for plain sequential syscalls.
struct variant {
    std::string name;
    std::unique_ptr<pkg::io::file_backend> backend;
};

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start)
{
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

// User + system CPU seconds of the whole process so far: every thread, including the pool's and
// io_uring's io-wq workers (they are threads of this process). Less sensitive than wall time to
// other load on a shared machine.
double cpu_seconds()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return secs(usage.ru_utime) + secs(usage.ru_stime);
}

// Wall and CPU seconds of one measurement.
struct cost {
    double wall = 0;
    double cpu = 0;
};

template <class Fn>
cost measure(Fn fn)
{
    const double cpu_before = cpu_seconds();
    const double wall = fn();
    return {wall, cpu_seconds() - cpu_before};
}

// Runs every task on the context until all are done; exits on any failure.
void run_all(asio::io_context& ctx, std::vector<pkg::io::task<pkg::result<void>>> tasks)
{
    std::size_t failed = 0;
    std::string first_error;
    for (auto& t : tasks) {
        asio::co_spawn(ctx, std::move(t), [&](std::exception_ptr e, pkg::result<void> r) {
            if (e || !r) {
                if (failed++ == 0) {
                    first_error = e ? "exception" : r.error().to_string();
                }
            }
        });
    }
    ctx.restart();
    ctx.run();
    if (failed != 0) {
        die(std::to_string(failed) + " operations failed, first: " + first_error);
    }
}

constexpr int files_per_dir = 100;

fs::path small_path(const fs::path& root, int i)
{
    // Appends instead of `"f" + ... + ".py"`: GCC 12 -O3 gives a false -Wrestrict on the latter.
    std::string name = std::to_string(i);
    name.insert(0, 1, 'f');
    name.append(".py");
    return root / std::to_string(i / files_per_dir) / name;
}

// mkdir of the subdirectories + create/write/close of `files` small files.
double bench_create(asio::io_context& ctx, variant& v, const fs::path& root, const settings& s,
                    const std::string& content)
{
    const int dirs = (s.files + files_per_dir - 1) / files_per_dir;
    const auto start = clock_type::now();
    if (!v.backend) {
        if (::mkdir(root.c_str(), 0755) != 0) {
            die("mkdir " + root.native() + ": " + std::strerror(errno));
        }
        for (int d = 0; d < dirs; ++d) {
            const auto sub = root / std::to_string(d);
            if (::mkdir(sub.c_str(), 0755) != 0) {
                die("mkdir " + sub.native() + ": " + std::strerror(errno));
            }
        }
        for (int i = 0; i < s.files; ++i) {
            const auto p = small_path(root, i);
            const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd < 0 || ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
                die("write " + p.native() + ": " + std::strerror(errno));
            }
            ::close(fd);
        }
        return seconds_since(start);
    }
    check([&] {
        pkg::result<void> out;
        asio::co_spawn(ctx, v.backend->async_create_directory(root, 0755),
                       [&](std::exception_ptr, pkg::result<void> r) { out = std::move(r); });
        ctx.restart();
        ctx.run();
        return out;
    }());
    std::vector<pkg::io::task<pkg::result<void>>> mkdirs;
    for (int d = 0; d < dirs; ++d) {
        mkdirs.push_back(v.backend->async_create_directory(root / std::to_string(d), 0755));
    }
    run_all(ctx, std::move(mkdirs));
    const auto bytes = std::as_bytes(std::span(content.data(), content.size()));
    std::vector<pkg::io::task<pkg::result<void>>> writes;
    writes.reserve(static_cast<std::size_t>(s.files));
    for (int i = 0; i < s.files; ++i) {
        writes.push_back(v.backend->async_write_file(small_path(root, i), {bytes}, {}));
    }
    run_all(ctx, std::move(writes));
    return seconds_since(start);
}

// mkdir of the subdirectories + one hardlink per file of `source` (a tree bench_create made).
double bench_link(asio::io_context& ctx, variant& v, const fs::path& source, const fs::path& root,
                  const settings& s)
{
    const int dirs = (s.files + files_per_dir - 1) / files_per_dir;
    const auto start = clock_type::now();
    if (!v.backend) {
        ::mkdir(root.c_str(), 0755);
        for (int d = 0; d < dirs; ++d) {
            ::mkdir((root / std::to_string(d)).c_str(), 0755);
        }
        for (int i = 0; i < s.files; ++i) {
            if (::link(small_path(source, i).c_str(), small_path(root, i).c_str()) != 0) {
                die("link " + small_path(root, i).native() + ": " + std::strerror(errno));
            }
        }
        return seconds_since(start);
    }
    std::vector<pkg::io::task<pkg::result<void>>> top;
    top.push_back(v.backend->async_create_directory(root, 0755));
    run_all(ctx, std::move(top));
    std::vector<pkg::io::task<pkg::result<void>>> mkdirs;
    for (int d = 0; d < dirs; ++d) {
        mkdirs.push_back(v.backend->async_create_directory(root / std::to_string(d), 0755));
    }
    run_all(ctx, std::move(mkdirs));
    std::vector<pkg::io::task<pkg::result<void>>> links;
    links.reserve(static_cast<std::size_t>(s.files));
    for (int i = 0; i < s.files; ++i) {
        links.push_back(v.backend->async_hardlink(small_path(source, i), small_path(root, i)));
    }
    run_all(ctx, std::move(links));
    return seconds_since(start);
}

// `large_count` files of `large_mib` MiB each, given as 1 MiB buffers (as an unpacker would).
double bench_large(asio::io_context& ctx, variant& v, const fs::path& root, const settings& s,
                   const std::vector<std::byte>& big)
{
    constexpr std::size_t chunk = 1 << 20;
    std::vector<std::span<const std::byte>> buffers;
    for (std::size_t off = 0; off < big.size(); off += chunk) {
        buffers.emplace_back(big.data() + off, std::min(chunk, big.size() - off));
    }
    if (::mkdir(root.c_str(), 0755) != 0) {
        die("mkdir " + root.native() + ": " + std::strerror(errno));
    }
    const auto start = clock_type::now();
    if (!v.backend) {
        for (int f = 0; f < s.large_count; ++f) {
            const auto p = root / ("big" + std::to_string(f));
            const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd < 0) {
                die("open " + p.native() + ": " + std::strerror(errno));
            }
            for (const auto& b : buffers) {
                if (::write(fd, b.data(), b.size()) != static_cast<ssize_t>(b.size())) {
                    die("write " + p.native() + ": " + std::strerror(errno));
                }
            }
            ::close(fd);
        }
        return seconds_since(start);
    }
    std::vector<pkg::io::task<pkg::result<void>>> writes;
    for (int f = 0; f < s.large_count; ++f) {
        writes.push_back(v.backend->async_write_file(root / ("big" + std::to_string(f)), buffers, {}));
    }
    run_all(ctx, std::move(writes));
    return seconds_since(start);
}

double median(std::vector<double> xs)
{
    std::sort(xs.begin(), xs.end());
    const auto n = xs.size();
    return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

settings parse(int argc, char** argv)
{
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                die("missing value after " + arg);
            }
            return argv[++i];
        };
        if (arg == "--reps") {
            s.reps = std::stoi(value());
        } else if (arg == "--files") {
            s.files = std::stoi(value());
        } else if (arg == "--file-bytes") {
            s.file_bytes = std::stoul(value());
        } else if (arg == "--large-count") {
            s.large_count = std::stoi(value());
        } else if (arg == "--large-mib") {
            s.large_mib = std::stoul(value());
        } else if (arg == "--dir") {
            s.dir = value();
        } else if (arg == "--keep") {
            s.keep = true;
        } else {
            die("unknown argument '" + arg + "'");
        }
    }
    return s;
}

}  // namespace

int main(int argc, char** argv)
{
    const settings s = parse(argc, argv);
    asio::io_context ctx;
    std::vector<variant> variants;
    variants.push_back({"plain (sequential syscalls)", nullptr});
    for (std::size_t threads : {2u, 4u}) {
        variants.push_back({"threads (" + std::to_string(threads) + " threads)",
                            std::make_unique<pkg::io::thread_backend>(threads)});
    }
    for (std::size_t in_flight : {32u, 128u}) {
        auto ring = pkg::io::uring_backend::create(ctx.get_executor(), in_flight);
        if (!ring) {
            std::fprintf(stderr, "io_uring unavailable, skipped: %s\n", ring.error().to_string().c_str());
            break;
        }
        variants.push_back({"uring (" + std::to_string(in_flight) + " in flight)", std::move(*ring)});
    }

    const auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
    const fs::path root = fs::absolute(s.dir) / ("run-" + std::to_string(stamp));
    fs::create_directories(root);
    const std::string content(s.file_bytes, 'x');
    std::vector<std::byte> big(s.large_mib << 20);
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<std::byte>(i * 131 + 7);  // touch every page before timing
    }

    std::map<std::string, std::vector<cost>> create_s;
    std::map<std::string, std::vector<cost>> link_s;
    std::map<std::string, std::vector<cost>> large_s;
    for (int rep = 0; rep < s.reps; ++rep) {
        for (std::size_t k = 0; k < variants.size(); ++k) {
            auto& v = variants[(k + static_cast<std::size_t>(rep)) % variants.size()];  // round-robin
            std::string tag = std::to_string(rep);
            tag.insert(0, 1, 'r');
            tag.append("-v").append(std::to_string((k + static_cast<std::size_t>(rep)) % variants.size()));
            const auto created = root / (tag + "-create");
            create_s[v.name].push_back(measure([&] { return bench_create(ctx, v, created, s, content); }));
            link_s[v.name].push_back(
                measure([&] { return bench_link(ctx, v, created, root / (tag + "-link"), s); }));
            large_s[v.name].push_back(
                measure([&] { return bench_large(ctx, v, root / (tag + "-large"), s, big); }));
            std::fprintf(stderr,
                         "rep %d %-28s create %.3f s (cpu %.3f)  link %.3f s (cpu %.3f)  "
                         "large %.3f s (cpu %.3f)\n",
                         rep, v.name.c_str(), create_s[v.name].back().wall, create_s[v.name].back().cpu,
                         link_s[v.name].back().wall, link_s[v.name].back().cpu,
                         large_s[v.name].back().wall, large_s[v.name].back().cpu);
        }
    }

    const double large_mb = static_cast<double>(s.large_count) * static_cast<double>(s.large_mib << 20) / 1e6;
    const auto walls = [](const std::vector<cost>& xs) {
        std::vector<double> out;
        for (const auto& x : xs) {
            out.push_back(x.wall);
        }
        return out;
    };
    const auto cpus = [](const std::vector<cost>& xs) {
        std::vector<double> out;
        for (const auto& x : xs) {
            out.push_back(x.cpu);
        }
        return out;
    };
    const auto lowest = [](const std::vector<double>& xs) { return *std::min_element(xs.begin(), xs.end()); };
    std::printf("files=%d file_bytes=%zu large=%dx%zu MiB reps=%d dir=%s\n", s.files, s.file_bytes,
                s.large_count, s.large_mib, s.reps, root.c_str());
    std::printf("| variant | create µs/file: median (min) | cpu µs/file | hardlink µs/file: median (min) "
                "| cpu µs/file | large MB/s: median (max) | cpu ms/MB |\n|---|---|---|---|---|---|---|\n");
    const double files = s.files;
    for (const auto& v : variants) {
        const auto c = walls(create_s[v.name]);
        const auto l = walls(link_s[v.name]);
        const auto g = walls(large_s[v.name]);
        std::printf("| %s | %.1f (%.1f) | %.1f | %.1f (%.1f) | %.1f | %.0f (%.0f) | %.2f |\n", v.name.c_str(),
                    median(c) * 1e6 / files, lowest(c) * 1e6 / files, median(cpus(create_s[v.name])) * 1e6 / files,
                    median(l) * 1e6 / files, lowest(l) * 1e6 / files, median(cpus(link_s[v.name])) * 1e6 / files,
                    large_mb / median(g), large_mb / lowest(g), median(cpus(large_s[v.name])) * 1e3 / large_mb);
    }
    variants.clear();
    if (!s.keep) {
        std::fprintf(stderr, "removing %s (slow on this ext4: ~100 µs per file)\n", root.c_str());
        std::error_code ignored;
        fs::remove_all(root, ignored);
    }
    return 0;
}
