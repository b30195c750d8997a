#pragma once
/// \file
/// `pkg uninstall NAME…`: remove installed packages by their RECORD through the engine's
/// `async_uninstall`. Never asks (`-y` is accepted for pip compatibility).

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "options.hpp"

namespace pkg::cli {

/// The `uninstall` subcommand. Bound to CLI11 by address: must stay where it was constructed.
class uninstall_command {
public:
    /// Adds `uninstall` to `app`; `cache_dir` (the global --cache-dir) must outlive this object.
    uninstall_command(CLI::App& app, const std::string& cache_dir);
    uninstall_command(const uninstall_command&) = delete;
    uninstall_command& operator=(const uninstall_command&) = delete;

    /// True when the parsed command line chose `uninstall`.
    [[nodiscard]] bool is_selected() const;

    /// Removes the packages; the summary on stderr (or JSON on stdout), errors on stderr.
    /// Returns exit_code::success, failure, or 128 + the signal that cancelled it.
    [[nodiscard]] int run() const;

private:
    CLI::App* sub_;
    const std::string& cache_dir_;
    environment_flags flags_;
    std::vector<std::string> names_;
    bool dry_run_ = false;
    bool is_yes_ = false;
};

}  // namespace pkg::cli
