#pragma once
/// \file
/// `pkg cache dir|size|clean|prune`: the cache commands over the engine's public cache API.

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace pkg::cli {

/// The `cache` subcommand tree. Register it before parsing, run it after.
class cache_command {
public:
    /// Adds `cache` and its subcommands to `app`. `cache_dir` is the global `--cache-dir`
    /// option's value (empty when not given); it must outlive this object.
    cache_command(CLI::App& app, const std::string& cache_dir);

    cache_command(const cache_command&) = delete;
    cache_command& operator=(const cache_command&) = delete;

    /// True if the command line selected `cache`.
    [[nodiscard]] bool is_selected() const;

    /// Runs the selected subcommand, printing results to stdout and errors to stderr.
    /// Returns the exit code (exit_code::success or exit_code::failure).
    [[nodiscard]] int run() const;

private:
    const std::string& cache_dir_;
    CLI::App* cache_ = nullptr;
    CLI::App* dir_ = nullptr;
    CLI::App* size_ = nullptr;
    CLI::App* clean_ = nullptr;
    CLI::App* prune_ = nullptr;
    bool is_human_ = false;
    bool is_forced_ = false;
    std::vector<std::string> names_;
};

}  // namespace pkg::cli
