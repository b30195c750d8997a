// Throughput of the streaming zip reader + inflate on real wheels, in memory (no file writes),
// against libdeflate alone on the same members (the floor).
//
//   bench_unzip [wheel...]     default: Debian's /usr/share/python-wheels/*.whl and the wheels
//                              bundled with pyenv's Pythons (ensurepip/_bundled)
//
// Columns (MB = 10^6 bytes of uncompressed output per second, single thread, best of 5 rounds):
//   pkg       zip_stream_reader fed 64 KiB chunks, every entry through inflate_entry_to (size and
//             CRC-32 checked), finish() (central directory validated)
//   parse     the same without inflating (the reader's own cost, copying included)
//   floor+crc libdeflate_deflate_decompress (memcpy for stored members) + libdeflate_crc32 on the
//             members' pre-extracted compressed bytes
//   floor     the same without the CRC

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <glob.h>
#include <libdeflate.h>

#include "zip/inflate.hpp"
#include "zip/zip_reader.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

std::vector<std::string> default_wheels()
{
    std::vector<std::string> out;
    std::map<std::string, std::string> by_name; // one copy of each wheel filename
    for (const char* pattern : {"/usr/share/python-wheels/*.whl",
                                "/root/.pyenv/versions/*/lib/python3*/ensurepip/_bundled/*.whl"}) {
        glob_t g{};
        if (glob(pattern, 0, nullptr, &g) == 0) {
            for (std::size_t i = 0; i < g.gl_pathc; ++i) {
                const std::string path = g.gl_pathv[i];
                by_name.emplace(std::filesystem::path(path).filename().string(), path);
            }
        }
        globfree(&g);
    }
    for (const auto& [name, path] : by_name) {
        out.push_back(path);
    }
    return out;
}

std::vector<std::byte> slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    const std::string text = s.str();
    const auto* b = reinterpret_cast<const std::byte*>(text.data());
    return {b, b + text.size()};
}

/// Seconds of the fastest of `rounds` rounds, each repeating `fn` until 0.2 s have passed.
template <class Fn> double best_seconds_per_call(Fn&& fn, int rounds = 5)
{
    double best = 1e30;
    for (int r = 0; r < rounds; ++r) {
        int calls = 0;
        const auto start = clock_type::now();
        double elapsed = 0;
        do {
            fn();
            ++calls;
            elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
        } while (elapsed < 0.2);
        best = std::min(best, elapsed / calls);
    }
    return best;
}

struct run_result {
    bool is_ok = true;
    std::string error;
    std::uint64_t output_bytes = 0;
};

run_result read_wheel(const std::vector<std::byte>& wheel, bool inflate,
                      std::vector<std::byte>& buffer)
{
    pkg::zip::zip_stream_reader reader;
    run_result result;
    const std::span<const std::byte> all(wheel);
    for (std::size_t at = 0; at < all.size(); at += 65536) {
        if (auto r = reader.feed(all.subspan(at, std::min<std::size_t>(65536, all.size() - at)));
            !r) {
            return {false, r.error().to_string(), 0};
        }
        while (auto e = reader.next_entry()) {
            result.output_bytes += e->uncompressed_size;
            if (inflate) {
                if (buffer.size() < e->uncompressed_size) {
                    buffer.resize(e->uncompressed_size);
                }
                auto r = pkg::zip::inflate_entry_to(
                    *e, std::span<std::byte>(buffer).first(e->uncompressed_size));
                if (!r) {
                    return {false, r.error().to_string(), 0};
                }
            }
        }
    }
    if (auto s = reader.finish(); !s) {
        return {false, s.error().to_string(), 0};
    }
    return result;
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> wheels;
    for (int i = 1; i < argc; ++i) {
        wheels.emplace_back(argv[i]);
    }
    if (wheels.empty()) {
        wheels = default_wheels();
    }
    if (wheels.empty()) {
        std::fprintf(stderr, "bench_unzip: no wheels found; pass paths\n");
        return 1;
    }
    libdeflate_decompressor* d = libdeflate_alloc_decompressor();
    std::printf("| wheel | entries | compressed MB | output MB | pkg MB/s | parse MB/s | "
                "floor+crc MB/s | floor MB/s | pkg/floor+crc |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    double sum_pkg_seconds = 0;
    double sum_floor_crc_seconds = 0;
    double sum_output = 0;
    for (const std::string& path : wheels) {
        const std::vector<std::byte> wheel = slurp(path);
        std::vector<std::byte> buffer;

        // Pre-extract the members once for the floor.
        std::vector<pkg::zip::zip_entry> entries;
        {
            pkg::zip::zip_stream_reader reader;
            if (auto r = reader.feed(wheel); !r) {
                std::fprintf(stderr, "%s: %s\n", path.c_str(), r.error().to_string().c_str());
                return 1;
            }
            while (auto e = reader.next_entry()) {
                entries.push_back(std::move(*e));
            }
            if (auto s = reader.finish(); !s) {
                std::fprintf(stderr, "%s: %s\n", path.c_str(), s.error().to_string().c_str());
                return 1;
            }
        }
        std::uint64_t output = 0;
        for (const auto& e : entries) {
            output += e.uncompressed_size;
        }
        buffer.resize(output); // large enough for any member

        const auto check = read_wheel(wheel, true, buffer);
        if (!check.is_ok) {
            std::fprintf(stderr, "%s: %s\n", path.c_str(), check.error.c_str());
            return 1;
        }
        const double pkg_s = best_seconds_per_call([&] { (void)read_wheel(wheel, true, buffer); });
        const double parse_s =
            best_seconds_per_call([&] { (void)read_wheel(wheel, false, buffer); });
        const auto floor = [&](bool with_crc) {
            std::uint32_t sink = 0;
            for (const auto& e : entries) {
                if (e.method == pkg::zip::method_stored) {
                    std::memcpy(buffer.data(), e.data.data(), e.data.size());
                } else if (e.uncompressed_size > 0) {
                    libdeflate_deflate_decompress(d, e.data.data(), e.data.size(), buffer.data(),
                                                  e.uncompressed_size, nullptr);
                }
                if (with_crc) {
                    sink ^= libdeflate_crc32(0, buffer.data(), e.uncompressed_size);
                }
            }
            return sink;
        };
        volatile std::uint32_t sink = 0;
        const double floor_crc_s = best_seconds_per_call([&] { sink = sink ^ floor(true); });
        const double floor_s = best_seconds_per_call([&] { sink = sink ^ floor(false); });

        std::uint64_t compressed = 0;
        for (const auto& e : entries) {
            compressed += e.compressed_size;
        }
        const double mb = static_cast<double>(output) / 1e6;
        std::printf("| %s | %zu | %.2f | %.2f | %.0f | %.0f | %.0f | %.0f | %.2f |\n",
                    std::filesystem::path(path).filename().c_str(), entries.size(),
                    static_cast<double>(compressed) / 1e6, mb, mb / pkg_s, mb / parse_s,
                    mb / floor_crc_s, mb / floor_s, floor_crc_s / pkg_s);
        sum_pkg_seconds += pkg_s;
        sum_floor_crc_seconds += floor_crc_s;
        sum_output += mb;
    }
    std::printf(
        "\nall wheels: pkg %.0f MB/s, floor+crc %.0f MB/s (pkg reaches %.0f%% of the floor)\n",
        sum_output / sum_pkg_seconds, sum_output / sum_floor_crc_seconds,
        100.0 * sum_floor_crc_seconds / sum_pkg_seconds);
    libdeflate_free_decompressor(d);
    return 0;
}
