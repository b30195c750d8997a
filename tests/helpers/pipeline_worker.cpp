// A process for the cross-process and crash tests of engine/src/pipeline
// (tests/engine/test_pipeline.cpp). One mode per invocation.
//
//   fetch <cache_dir> <list_file>   holds the cache lock shared for the whole run (as installs do),
//                                   fetches every wheel of <list_file> (lines "<url> <sha256>",
//                                   sha256 may be "-" for none) concurrently through
//                                   async_fetch_wheel, then re-checks each returned archive against
//                                   its manifest while still holding the lock. Prints
//                                   "ready" (flushed) once it holds the lock and is about to
//                                   fetch, then "fetched <n> downloaded <m> in <t> us" on success,
//                                   <t> the microseconds from "ready" to the end of the checks
//                                   (the crash test kills inside that window).
//   gc <cache_dir> <stop_file>      until <stop_file> exists: cache_prune, then cache_clean,
//                                   through the public API (exclusive lock, waiting for installs); prints
//                                   "rounds <n> removed <m>".
// Exit 0: done and every check held; 1: an operation failed or a check broke (stderr says which);
// 2: usage.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <pkg/engine/cache.hpp>

#include "cache/cache.hpp"
#include "fs/file_backend.hpp"
#include "http/http_client.hpp"
#include "pipeline/fetch_wheel.hpp"
#include "pipeline/verify_archive.hpp"
#include "runtime/fan_out.hpp"
#include "runtime/runtime.hpp"
#include "runtime/slots.hpp"

namespace {

using namespace std::chrono_literals;

pkg::io::task<int> async_fetch_all(std::shared_ptr<pkg::pipeline::pipeline_context> ctx,
                                   std::vector<pkg::pipeline::wheel_request> requests)
{
    const auto started = std::chrono::steady_clock::now();
    std::printf("ready\n");
    std::fflush(stdout);
    std::vector<pkg::io::task<pkg::result<pkg::pipeline::archive_ref>>> jobs;
    for (auto& r : requests) {
        jobs.push_back(pkg::pipeline::async_fetch_wheel(ctx, r));
    }
    auto outcomes = co_await pkg::io::async_collect(std::move(jobs), std::size_t{8});
    int failures = 0;
    std::size_t downloaded = 0;
    for (auto& outcome : outcomes) {
        if (!outcome) {
            std::fprintf(stderr, "fetch failed: %s\n", outcome.error().to_string().c_str());
            ++failures;
            continue;
        }
        downloaded += outcome->is_from_cache ? 0 : 1;
        if (auto checked = pkg::pipeline::verify_archive(outcome->dir); !checked) {
            std::fprintf(stderr, "corrupt archive: %s\n", checked.error().to_string().c_str());
            ++failures;
        }
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    std::printf("fetched %zu downloaded %zu in %lld us\n", outcomes.size() - failures, downloaded,
                static_cast<long long>(elapsed.count()));
    co_return failures == 0 ? 0 : 1;
}

int fetch(const std::string& cache_dir, const std::string& list_file)
{
    std::vector<pkg::pipeline::wheel_request> requests;
    std::ifstream list(list_file);
    for (std::string line; std::getline(list, line);) {
        std::istringstream fields(line);
        pkg::pipeline::wheel_request r;
        std::string hash;
        if (!(fields >> r.url >> hash)) {
            continue;
        }
        r.index_url = "http://index.invalid/simple/";
        r.pinned_sha256 = hash == "-" ? "" : hash;
        requests.push_back(std::move(r));
    }
    auto c = pkg::cache::cache::open(cache_dir);
    if (!c) {
        std::fprintf(stderr, "open: %s\n", c.error().to_string().c_str());
        return 1;
    }
    auto lock = c->lock_shared(60s);
    if (!lock) {
        std::fprintf(stderr, "lock: %s\n", lock.error().to_string().c_str());
        return 1;
    }
    // A clean may have removed the buckets between opening and locking: open again (idempotent)
    // now that no clean can run until we let go.
    c = pkg::cache::cache::open(cache_dir);
    if (!c) {
        std::fprintf(stderr, "open: %s\n", c.error().to_string().c_str());
        return 1;
    }
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 2});
    auto files = pkg::io::make_file_backend(rt.executor());
    if (!files) {
        std::fprintf(stderr, "backend: %s\n", files.error().to_string().c_str());
        return 1;
    }
    pkg::io::http_options options;
    options.connect_timeout = 5s;
    options.read_timeout = 10s;
    options.backoff_base = 10ms;
    options.backoff_cap = 100ms;
    int code = 1;
    {
        pkg::io::http_client http(rt.executor(), options);
        pkg::io::slots unzip(rt.executor(), 4, "unzip_slots");
        auto ctx = std::make_shared<pkg::pipeline::pipeline_context>(rt.cpu_executor(), http,
                                                                     **files, *c, unzip);
        code = rt.run(async_fetch_all(ctx, std::move(requests)));
    }
    return code;
}

int gc(const std::string& cache_dir, const std::string& stop_file)
{
    pkg::cache_options options;
    options.cache_dir = cache_dir;
    options.lock_timeout = 60s;
    std::size_t rounds = 0;
    std::size_t removed = 0;
    while (!std::filesystem::exists(stop_file)) {
        auto pruned = pkg::cache_prune(options, false);
        if (!pruned) {
            std::fprintf(stderr, "prune: %s\n", pruned.error().to_string().c_str());
            return 1;
        }
        removed += pruned->removed.size();
        auto cleaned = pkg::cache_clean(options, {}, false);
        if (!cleaned) {
            std::fprintf(stderr, "clean: %s\n", cleaned.error().to_string().c_str());
            return 1;
        }
        removed += cleaned->removed.size();
        ++rounds;
        std::this_thread::sleep_for(5ms);
    }
    std::printf("rounds %zu removed %zu\n", rounds, removed);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 4 && std::string(argv[1]) == "fetch") {
        return fetch(argv[2], argv[3]);
    }
    if (argc == 4 && std::string(argv[1]) == "gc") {
        return gc(argv[2], argv[3]);
    }
    std::fprintf(stderr,
                 "usage: pipeline_worker fetch <cache_dir> <list> | gc <cache_dir> <stop>\n");
    return 2;
}
