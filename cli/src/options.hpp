#pragma once
/// \file
/// The flags the environment commands share (install, sync, uninstall, list, freeze), bound to
/// CLI11, each with its `PKG_*` environment variable, and their translation into the engine's
/// option structs.
///
/// Boolean variables take what CLI11 accepts for flags: 1/true/yes/on/enable (and t, y, +, or a
/// positive number) turn a flag on; 0/false/no/off/disable (f, n, -) leave it off; anything else
/// is a usage error naming the flag.

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <pkg/engine/install.hpp>
#include <pkg/io/error.hpp>

namespace pkg::cli {

/// How much a command prints (see progress.hpp for where it goes).
struct output_flags {
    bool is_quiet = false;    ///< -q: errors only
    bool is_verbose = false;  ///< -v: phases, cached packages, skipped requirements
    bool is_json = false;     ///< --json: one JSON document on stdout
};

/// Flags of every command that works on an environment. Bound to CLI11 by address: an
/// instance must stay where it was constructed.
struct environment_flags {
    std::optional<std::string> python;
    bool no_cache = false;
    output_flags output;

    environment_flags() = default;
    environment_flags(const environment_flags&) = delete;
    environment_flags& operator=(const environment_flags&) = delete;

    /// Adds --python, --no-cache, -q, -v and (when `with_json`) --json to `sub`.
    void register_on(CLI::App& sub, bool with_json);

    /// The engine's options: `cache_dir` is the global --cache-dir ("" when not given); the
    /// process environment and current directory are used. Pure apart from reading nothing.
    [[nodiscard]] pkg::environment_options to_options(const std::string& cache_dir) const;
};

/// The flags of `install` and `sync` on top of environment_flags.
struct install_flags : environment_flags {
    std::vector<std::string> requirements;
    std::optional<std::string> index_url;
    std::vector<std::string> extra_index_urls;
    std::vector<std::string> find_links;
    bool no_index = false;
    bool require_hashes = false;
    std::optional<std::string> link_mode;
    bool reinstall = false;
    bool offline = false;
    bool refresh = false;
    bool dry_run = false;
    bool compile_bytecode = false;
    std::optional<unsigned> concurrent_downloads;

    /// Adds every install flag to `sub`. For `sync`, lockfiles are positional (FILE…) and
    /// `-r FILE` works too; for `install`, `-r FILE` is required (like pip).
    void register_on(CLI::App& sub, bool is_sync);

    /// The engine's install options. `getenv` reads the process environment (PKG_FIND_LINKS is
    /// read here when no --find-links is given). Errors: an invalid --link-mode/PKG_LINK_MODE
    /// (`std::errc::invalid_argument`, listing the valid names), no lockfile given.
    [[nodiscard]] pkg::result<pkg::install_options> to_options(const std::string& cache_dir,
                                                               bool is_sync) const;

private:
    std::vector<std::string> positional_requirements_;
};

}  // namespace pkg::cli
