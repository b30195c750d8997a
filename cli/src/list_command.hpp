#pragma once
/// \file
/// `pkg list [--format columns|freeze|json]` and `pkg freeze`: what an environment holds, from
/// the engine's `async_list`. Output goes to stdout (it is the command's data).

#include <string>

#include <CLI/CLI.hpp>

#include "options.hpp"

namespace pkg::cli {

/// The `list` and `freeze` subcommands. Bound to CLI11 by address: must stay where it was
/// constructed.
class list_command {
public:
    /// Adds `list` and `freeze` to `app`; `cache_dir` (the global --cache-dir) must outlive
    /// this object.
    list_command(CLI::App& app, const std::string& cache_dir);
    list_command(const list_command&) = delete;
    list_command& operator=(const list_command&) = delete;

    /// True when the parsed command line chose `list` or `freeze`.
    [[nodiscard]] bool is_selected() const;

    /// Prints the listing on stdout, errors on stderr. Returns exit_code::success, failure or
    /// 128 + the signal that cancelled it.
    [[nodiscard]] int run() const;

private:
    CLI::App* list_;
    CLI::App* freeze_;
    const std::string& cache_dir_;
    environment_flags list_flags_;
    environment_flags freeze_flags_;
    std::string format_ = "columns";
};

}  // namespace pkg::cli
