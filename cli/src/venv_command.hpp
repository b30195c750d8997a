#pragma once
/// \file
/// `pkg venv [PATH] [--python X] [--clear] [--prompt P] [--seed]`: create a virtual environment.

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace pkg::cli {

/// The `venv` subcommand: its options live here, bound to CLI11 by address, so an instance
/// must stay where it was constructed (not copyable or movable).
class venv_command {
public:
    /// Adds the `venv` subcommand to `app`. Thread-safety: setup, single-threaded.
    explicit venv_command(CLI::App& app);
    venv_command(const venv_command&) = delete;
    venv_command& operator=(const venv_command&) = delete;

    /// True when the parsed command line chose `venv`.
    bool is_selected() const;

    /// Creates the environment; prints progress and errors to stderr. Returns the exit code
    /// (exit_codes.hpp): success, failure, or not_implemented for --seed.
    /// `argv` is the whole command line, recorded in pyvenv.cfg.
    int run(const std::vector<std::string>& argv) const;

private:
    CLI::App* sub_;
    std::string path_ = ".venv";
    std::optional<std::string> python_;
    std::optional<std::string> prompt_;
    bool clear_ = false;
    bool seed_ = false;
};

}  // namespace pkg::cli
