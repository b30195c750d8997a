// Time to fetch many small index pages with pkg's HTTP client, with pooled keep-alive
// connections against a new connection per request (`http_options::keep_alive = false`, which
// sends "Connection: close"), at several concurrencies. Starts no server: run
// perf/micro/index_pages_server.sh first (perf/results/index-pages.md has the commands).
//
//   bench_index_pages <base-url> [--pages 300] [--concurrency 8,1] [--rounds 5] [--ca-file F]
//                     [--status URL]
//
// Fetches <base-url>p0/ … p<pages-1>/ (async_get_string, gzip off) with at most N requests in
// flight (async_collect over N, and the client's max_concurrent = per_host = N). Every round uses
// a new client, so the first connections are part of each round as in a cold `pkg install`.
// Prints per (keep-alive, N): the median wall time of a round, pages/s, and with --status (an
// nginx stub_status URL) the TCP connections nginx accepted during the last round, which shows
// that each mode does what it says (keep-alive: at most N; new each: one per page).

#include <algorithm>
#include <optional>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "http/http_client.hpp"
#include "runtime/fan_out.hpp"
#include "runtime/runtime.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct round_result {
    double seconds = 0;
    std::size_t failures = 0;
    std::uint64_t body_bytes = 0;
};

pkg::io::task<round_result> async_fetch_pages(pkg::io::http_client& client, std::string base,
                                              std::size_t pages, std::size_t concurrency)
{
    std::vector<pkg::io::task<pkg::result<pkg::io::text_response>>> jobs;
    jobs.reserve(pages);
    for (std::size_t i = 0; i < pages; ++i) {
        jobs.push_back(client.async_get_string(base + "p" + std::to_string(i) + "/"));
    }
    round_result out;
    const auto start = clock_type::now();
    auto outcomes = co_await pkg::io::async_collect(std::move(jobs), concurrency);
    out.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    for (const auto& o : outcomes) {
        if (!o) {
            if (out.failures == 0) {
                std::fprintf(stderr, "bench_index_pages: %s\n", o.error().to_string().c_str());
            }
            ++out.failures;
        } else {
            out.body_bytes += o->body.size();
        }
    }
    co_return out;
}

// nginx's "accepts" counter from stub_status ("Active connections: 1\nserver accepts handled
// requests\n 12 12 40\n...").
std::optional<std::uint64_t> accepted_connections(pkg::io::runtime& rt, const std::string& url)
{
    pkg::io::http_options options;
    options.keep_alive = false;
    pkg::io::http_client client(rt.executor(), options);
    auto response = rt.run(client.async_get_string(url));
    if (!response) {
        std::fprintf(stderr, "bench_index_pages: %s\n", response.error().to_string().c_str());
        return std::nullopt;
    }
    const std::size_t line = response->body.find("requests\n");
    if (line == std::string::npos) {
        return std::nullopt;
    }
    return std::strtoull(response->body.c_str() + line + 9, nullptr, 10);
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::vector<std::size_t> parse_list(const std::string& text)
{
    std::vector<std::size_t> out;
    std::istringstream in(text);
    for (std::string item; std::getline(in, item, ',');) {
        const long n = std::atol(item.c_str());
        if (n > 0) {
            out.push_back(static_cast<std::size_t>(n));
        }
    }
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2 || std::string(argv[1]).starts_with("--")) {
        std::fprintf(stderr, "usage: bench_index_pages <base-url> [--pages 300] "
                             "[--concurrency 8,1] [--rounds 5] [--ca-file F]\n");
        return 2;
    }
    std::string base = argv[1];
    if (!base.ends_with("/")) {
        base += "/";
    }
    std::size_t pages = 300;
    std::vector<std::size_t> concurrencies = {8, 1};
    int rounds = 5;
    std::string ca_file;
    std::string status_url;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const std::string value = argv[i + 1];
        if (flag == "--pages") {
            pages = static_cast<std::size_t>(std::max(1L, std::atol(value.c_str())));
        } else if (flag == "--concurrency") {
            concurrencies = parse_list(value);
        } else if (flag == "--rounds") {
            rounds = std::max(1, std::atoi(value.c_str()));
        } else if (flag == "--status") {
            status_url = value;
        } else if (flag == "--ca-file") {
            ca_file = value;
        } else {
            std::fprintf(stderr, "bench_index_pages: unknown option %s\n", flag.c_str());
            return 2;
        }
    }

    std::printf("%zu pages from %s, %d rounds each, median per round\n", pages, base.c_str(),
                rounds);
    std::printf("%-12s %5s %12s %10s %12s %8s   %s\n", "connections", "N", "median ms",
                "pages/s", "bytes/page", "accepts", "all rounds (ms)");
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 1});
    for (const std::size_t n : concurrencies) {
        for (const bool keep_alive : {true, false}) {
            pkg::io::http_options options;
            options.user_agent = "pkg-bench";
            options.ca_file = ca_file;
            options.keep_alive = keep_alive;
            options.max_concurrent = n;
            options.per_host = n;
            options.max_idle_per_host = n;
            options.retries = 0; // a failure is a result here, not something to hide
            std::vector<double> ms;
            std::uint64_t bytes = 0;
            std::optional<std::uint64_t> accepts_before;
            std::optional<std::uint64_t> accepts_after;
            for (int r = 0; r < rounds; ++r) {
                if (!status_url.empty() && r == rounds - 1) {
                    accepts_before = accepted_connections(rt, status_url);
                }
                round_result result;
                {
                    pkg::io::http_client client(rt.executor(), options);
                    result = rt.run(async_fetch_pages(client, base, pages, n));
                }
                if (result.failures != 0) {
                    std::fprintf(stderr, "bench_index_pages: %zu of %zu fetches failed\n",
                                 result.failures, pages);
                    return 1;
                }
                ms.push_back(result.seconds * 1e3);
                bytes = result.body_bytes;
                if (!status_url.empty() && r == rounds - 1) {
                    accepts_after = accepted_connections(rt, status_url);
                }
            }
            // The second status request's own connection is counted in `accepts_after`.
            std::string accepts = "-";
            if (accepts_before && accepts_after) {
                accepts = std::to_string(*accepts_after - *accepts_before - 1);
            }
            std::string all;
            for (const double x : ms) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%s%.1f", all.empty() ? "" : " ", x);
                all += buf;
            }
            const double m = median(ms);
            std::printf("%-12s %5zu %12.1f %10.0f %12llu %8s   %s\n",
                        keep_alive ? "keep-alive" : "new each", n, m,
                        static_cast<double>(pages) / (m / 1e3),
                        static_cast<unsigned long long>(bytes / pages), accepts.c_str(),
                        all.c_str());
        }
    }
    return 0;
}
