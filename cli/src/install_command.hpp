#pragma once
/// \file
/// `pkg install -r FILE…` and `pkg sync FILE…`: install a lockfile's pins into an environment
/// (sync also removes what the lockfiles do not name) through the engine's `async_install`.

#include <string>

#include <CLI/CLI.hpp>

#include "options.hpp"

namespace pkg::cli {

/// The `install` or `sync` subcommand. Its flags are bound to CLI11 by address: an instance
/// must stay where it was constructed.
class install_command {
public:
    /// Adds `install` (or `sync` when `is_sync`) to `app`. `cache_dir` is the global
    /// --cache-dir value and must outlive this object. Thread-safety: setup, single-threaded.
    install_command(CLI::App& app, const std::string& cache_dir, bool is_sync);
    install_command(const install_command&) = delete;
    install_command& operator=(const install_command&) = delete;

    /// True when the parsed command line chose this subcommand.
    [[nodiscard]] bool is_selected() const;

    /// Runs it: progress and the summary on stderr (or the JSON report on stdout with --json),
    /// errors on stderr. Returns the exit code (exit_codes.hpp): success, failure, usage (a bad
    /// flag value) or 128 + the signal that cancelled it.
    [[nodiscard]] int run() const;

private:
    CLI::App* sub_;
    const std::string& cache_dir_;
    bool is_sync_;
    install_flags flags_;
};

}  // namespace pkg::cli
