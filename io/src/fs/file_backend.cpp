#include "fs/file_backend.hpp"

#include "fs/thread_backend.hpp"
#include "fs/uring_backend.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>

namespace pkg::io {

std::string_view to_string(backend_kind kind) noexcept
{
    return kind == backend_kind::uring ? "uring" : "threads";
}

result<backend_choice> parse_backend_choice(std::string_view text)
{
    if (text.empty()) {
        return backend_choice::automatic;
    }
    if (text == "uring" || text == "io_uring") {
        return backend_choice::uring;
    }
    if (text == "threads" || text == "thread" || text == "pool") {
        return backend_choice::threads;
    }
    return fail(std::make_error_code(std::errc::invalid_argument),
                "unknown file backend '" + std::string(text) + "'", "PKG_IO_BACKEND",
                "use 'uring' or 'threads', or unset it to let pkg choose");
}

// mkdir -p through the backend's own operations: walk up until a mkdir succeeds or meets an
// existing directory, then create the missing components top-down. EEXIST on the way down means
// a concurrent caller made it, which is fine when it is a directory.
task<result<void>> file_backend::async_create_directories(std::filesystem::path path,
                                                          std::uint32_t mode)
{
    path = path.lexically_normal();
    if (!path.has_filename() && path.has_parent_path()) {
        path = path.parent_path();  // "a/b/" → "a/b"
    }
    std::vector<std::filesystem::path> missing;
    std::filesystem::path current = path;
    for (;;) {
        auto made = co_await async_create_directory(current, mode);
        if (made) {
            break;
        }
        if (made.error().code == std::errc::file_exists) {
            auto st = co_await async_stat(current, follow_symlinks::yes);
            if (st && st->type == file_type::directory) {
                break;
            }
            co_return fail(system_error(ENOTDIR, "mkdir -p (exists and is not a directory)",
                                        current.native()));
        }
        if (made.error().code != std::errc::no_such_file_or_directory) {
            co_return made;
        }
        auto parent = current.parent_path();
        if (parent.empty() || parent == current) {
            co_return made;
        }
        missing.push_back(std::move(current));
        current = std::move(parent);
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        auto made = co_await async_create_directory(*it, mode);
        if (!made && made.error().code == std::errc::file_exists) {
            auto st = co_await async_stat(*it, follow_symlinks::yes);
            if (st && st->type == file_type::directory) {
                continue;
            }
            co_return fail(system_error(ENOTDIR, "mkdir -p (exists and is not a directory)",
                                        it->native()));
        }
        if (!made) {
            co_return made;
        }
    }
    co_return result<void>{};
}

namespace {

// The measured default per workload: perf/micro/bench_fs_backends.cpp, full tables and the
// commands in perf/results/fs-backends.md. 2 vCPUs, kernel 6.18, ext4 without a journal.
//
// Quiet machine (load < 2.5), 3 runs of 5 interleaved repetitions, medians (run 1 / 2 / 3):
//   10,000 files of 4 KiB in 100 dirs; 2 x 64 MiB
//                        plain             threads(2)        threads(4)        uring(32)         uring(128)
//   create, us/file      24.9 / 30.3 / 32.6  18.9 / 24.3 / 24.8  17.0 / 22.2 / 24.3  24.6 / 25.0 / 27.7  21.4 / 25.2 / 34.1
//   hardlink, us/file    10.9 / 10.8 / 10.9  12.6 / 12.9 / 11.3  12.9 / 12.0 / 11.7  12.3 / 13.7 / 13.2  12.8 / 11.7 / 13.7
//   large writes, MB/s    390 /  399 /  379   562 /  766 /  748   569 /  578 /  758   398 /  395 /  750   406 /  551 /  620
//
// The thread pool (4 threads) is the fastest backend for creating files and for large writes and
// ties for hardlinks, so it is the default for both workloads. io_uring loses here because the
// kernel punts openat/linkat to io-wq workers (research/toolchain.md §4.2); it stays available
// (PKG_IO_BACKEND=uring, backend_choice::uring/prefer_uring) and tested. Runs taken earlier under
// load average 10-16 ranked io_uring first (overlap of blocked calls): measure on a quiet machine.
backend_kind measured_default(workload kind)
{
    switch (kind) {
    case workload::small_files:
        return backend_kind::threads;
    case workload::large_files:
        return backend_kind::threads;
    }
    return backend_kind::threads;
}

}  // namespace

result<std::unique_ptr<file_backend>> make_file_backend(asio::any_io_executor executor,
                                                        file_backend_options options)
{
    const auto log = [&options](std::string_view line) {
        if (options.log) {
            options.log(line);
        }
    };
    backend_choice choice = options.backend;
    std::string reason = "chosen by the caller";
    if (choice == backend_choice::automatic) {
        if (const char* env = std::getenv("PKG_IO_BACKEND"); env != nullptr && *env != '\0') {
            auto parsed = parse_backend_choice(env);
            if (!parsed) {
                return fail(std::move(parsed.error()));
            }
            choice = *parsed;
            reason = std::string("forced by PKG_IO_BACKEND=") + env;
        }
    }
    if (choice == backend_choice::automatic) {
        const auto best = measured_default(options.expected_workload);
        choice = best == backend_kind::uring ? backend_choice::prefer_uring : backend_choice::threads;
        reason = std::string("measured default for ") +
                 (options.expected_workload == workload::small_files ? "small files" : "large files");
    }
    const bool is_forced = choice == backend_choice::uring;
    if (choice == backend_choice::uring || choice == backend_choice::prefer_uring) {
        auto ring = uring_backend::create(executor, options.max_in_flight,
                                          options.simulated_uring_errno);
        if (ring) {
            log("file backend: uring (" + reason + ")");
            return std::unique_ptr<file_backend>(std::move(*ring));
        }
        if (is_forced) {
            auto e = std::move(ring.error());
            e.message = "io_uring file backend unavailable: " + e.message;
            e.hint = reason + "; unset PKG_IO_BACKEND or use 'threads'";
            return fail(std::move(e));
        }
        log("file backend: threads (io_uring unavailable: " + ring.error().to_string() + ")");
        return std::unique_ptr<file_backend>(std::make_unique<thread_backend>(options.thread_count));
    }
    log("file backend: threads (" + reason + ")");
    return std::unique_ptr<file_backend>(std::make_unique<thread_backend>(options.thread_count));
}

}  // namespace pkg::io
