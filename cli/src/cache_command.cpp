#include "cache_command.hpp"

#include <cstdio>

#include <fmt/core.h>

#include <pkg/engine/cache.hpp>

#include "exit_codes.hpp"

namespace pkg::cli {
namespace {

cache_options options_for(const std::string& cache_dir)
{
    cache_options options;
    if (!cache_dir.empty()) {
        options.cache_dir = cache_dir;
    }
    return options;
}

int report_error(std::string_view command, const pkg::error& e)
{
    fmt::print(stderr, "pkg cache {}: {}\n", command, e.to_string());
    return exit_code::failure;
}

// Told once when the lock is busy, before waiting: people see why nothing happens.
void tell_waiting(const std::optional<cache_lock_holder>& holder)
{
    if (holder) {
        fmt::print(stderr, "pkg: waiting for the cache lock held by pid {}{}...\n", holder->pid,
                   holder->description.empty() ? std::string{} : " (" + holder->description + ")");
    } else {
        fmt::print(stderr, "pkg: waiting for running pkg processes to release the cache lock "
                           "(PKG_LOCK_TIMEOUT seconds, default 300; --force skips the lock)...\n");
    }
    std::fflush(stderr);
}

void print_removal(const cache_removal_report& report)
{
    for (const auto& entry : report.removed) {
        fmt::print("removed {} {} ({})\n", to_string(entry.kind), entry.path,
                   format_bytes(entry.bytes));
    }
    if (report.removed.empty()) {
        fmt::print("nothing to remove in {}\n", report.cache_dir);
    } else {
        fmt::print("removed {} {} from {}, freed {}\n", report.removed.size(),
                   report.removed.size() == 1 ? "entry" : "entries", report.cache_dir,
                   format_bytes(report.freed_bytes));
    }
}

}  // namespace

cache_command::cache_command(CLI::App& app, const std::string& cache_dir) : cache_dir_(cache_dir)
{
    cache_ = app.add_subcommand("cache", "Inspect and clean the cache (dir, size, clean, prune)");
    cache_->require_subcommand(1);
    // Global options such as --cache-dir may also follow the subcommand.
    cache_->fallthrough();
    dir_ = cache_->add_subcommand("dir", "Print the cache directory");
    size_ = cache_->add_subcommand("size", "Print the cache's disk usage in bytes");
    size_->add_flag("-H,--human", is_human_, "Print a human-readable size (e.g. 1.2 MiB)");
    clean_ = cache_->add_subcommand(
        "clean", "Remove everything from the cache, or only the given projects' entries");
    clean_->add_option("NAME", names_, "Project names to remove (default: everything)");
    clean_->add_flag("--force", is_forced_,
                     "Do not wait for the cache lock (unsafe while other pkg processes run)");
    prune_ = cache_->add_subcommand(
        "prune", "Remove unreferenced archives, abandoned staging trees and old cache versions");
    prune_->add_flag("--force", is_forced_,
                     "Do not wait for the cache lock (unsafe while other pkg processes run)");
    for (auto* sub : {dir_, size_, clean_, prune_}) {
        sub->fallthrough();
    }
}

bool cache_command::is_selected() const
{
    return cache_->parsed();
}

int cache_command::run() const
{
    const auto options = options_for(cache_dir_);
    if (dir_->parsed()) {
        auto dir = cache_dir(options);
        if (!dir) {
            return report_error("dir", dir.error());
        }
        fmt::print("{}\n", *dir);
        return exit_code::success;
    }
    if (size_->parsed()) {
        auto size = cache_size(options);
        if (!size) {
            return report_error("size", size.error());
        }
        if (is_human_) {
            fmt::print("{}\n", format_bytes(size->allocated_bytes));
        } else {
            fmt::print("{}\n", size->allocated_bytes);
        }
        return exit_code::success;
    }
    if (clean_->parsed()) {
        auto report = cache_clean(options, names_, is_forced_, tell_waiting);
        if (!report) {
            return report_error("clean", report.error());
        }
        print_removal(*report);
        return exit_code::success;
    }
    auto report = cache_prune(options, is_forced_, tell_waiting);
    if (!report) {
        return report_error("prune", report.error());
    }
    print_removal(*report);
    return exit_code::success;
}

}  // namespace pkg::cli
