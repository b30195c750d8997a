// Download throughput of pkg's HTTP client: fetches a URL into a sink that only counts bytes
// (what a streaming unzip would see) and prints MB/s per run and the median.
//
//   bench_http <url> [runs=5] [ca-file]
//
// Compare with `curl -s -o /dev/null -w '%{speed_download}\n' [--cacert ca-file] <url>`.
// perf/results/http.md has the setup (nginx on loopback) and figures.

#include "http/http_client.hpp"

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

class counting_sink final : public pkg::io::body_sink {
public:
    pkg::io::task<pkg::result<void>> async_begin(const pkg::io::response_head&) override
    {
        co_return pkg::result<void>{};
    }
    pkg::io::task<pkg::result<void>> async_chunk(std::span<const std::byte> bytes) override
    {
        bytes_ += bytes.size();
        co_return pkg::result<void>{};
    }
    pkg::io::task<pkg::result<void>> async_end() override { co_return pkg::result<void>{}; }
    void reset() override { bytes_ = 0; }
    std::uint64_t bytes_received() const override { return bytes_; }

private:
    std::uint64_t bytes_ = 0;
};

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_http <url> [runs=5] [ca-file]\n");
        return 2;
    }
    const std::string url = argv[1];
    const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
    pkg::io::http_options options;
    options.user_agent = "pkg-bench";
    if (argc > 3) {
        options.ca_file = argv[3];
    }
    std::vector<double> rates;
    for (int i = 0; i < runs; ++i) {
        asio::io_context ctx;
        pkg::io::http_client client(ctx.get_executor(), options);
        counting_sink sink;
        pkg::result<pkg::io::response_head> outcome;
        const auto start = std::chrono::steady_clock::now();
        asio::co_spawn(ctx, client.async_fetch(pkg::io::http_request{"GET", url, {}, false}, sink),
                       [&](std::exception_ptr, pkg::result<pkg::io::response_head> r) {
                           outcome = std::move(r);
                       });
        ctx.run();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!outcome) {
            std::fprintf(stderr, "bench_http: %s\n", outcome.error().to_string().c_str());
            return 1;
        }
        const double rate = static_cast<double>(sink.bytes_received()) / seconds / 1e6;
        rates.push_back(rate);
        std::printf("run %d: %llu bytes in %.3f s = %.0f MB/s\n", i + 1,
                    static_cast<unsigned long long>(sink.bytes_received()), seconds, rate);
    }
    std::sort(rates.begin(), rates.end());
    std::printf("median: %.0f MB/s\n", rates[rates.size() / 2]);
    return 0;
}
