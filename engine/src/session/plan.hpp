#pragma once
/// \file
/// From lockfiles and an environment's contents to a plan: which pins apply to the target
/// (markers), which are already satisfied, which must be installed or replaced, and which
/// installed distributions `sync` removes. Pure functions over values, so the rules are tested
/// without an interpreter or a filesystem.
///
/// Rules:
/// - Every requirement is an exact pin: one `==V` clause (no wildcard) or one `===V` clause
///   whose text is a PEP 440 version; anything else (ranges, bare names, URLs, several clauses)
///   is `errc::requirement_not_pinned` citing `file:line` and the requirement.
/// - Hash-checking mode (`--require-hashes` given, or in a file, or any requirement carries a
///   `--hash`): every applicable pin needs a sha256 hash (`errc::missing_hash` citing
///   `file:line`). Only sha256 can be checked (the pipeline hashes with SHA-256): a pin whose
///   hashes are all of other algorithms is `errc::unsupported`.
/// - Markers are evaluated against the target's marker environment (no extras); pins whose
///   markers are false are skipped. Two applicable pins of one project with different versions
///   are `errc::invalid_requirements_file` citing both places.
/// - unchanged: exactly one installed distribution of the same normalized name, whose version
///   the pin matches as PEP 440 `==` does (`1.0` == `1.0.0`; a pin without a local label
///   accepts any label; `===`: the same text, case-insensitively), unless `reinstall`.
///   install: nothing of that name is installed. replace: anything else (every installed
///   distribution of that name is removed first).
/// - remove (sync only): installed distributions no applicable pin names, except pip,
///   setuptools and wheel unless `remove_seed_packages`; `.egg-info` distributions are never
///   removed or replaced (pkg only uninstalls by RECORD): removing one is skipped with a
///   warning, replacing one is `errc::unsupported`.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <pkg/io/error.hpp>

#include "install/install_wheel.hpp"
#include "lockfile/requirements_txt.hpp"
#include "pep440/version.hpp"
#include "pep508/marker.hpp"

namespace pkg::session {

/// One applicable exact pin.
struct pin {
    std::string name;          ///< PEP 503-normalized
    std::string display_name;  ///< as written in the lockfile
    pep440::version version;
    std::string version_text;  ///< the operand as written (`===` compares this)
    bool is_arbitrary = false; ///< `===`
    /// Lower-case hex sha256 digests of the pin's `--hash` options (every acceptable file).
    std::vector<std::string> sha256;
    lockfile::source_location location;

    /// "name==version" (or "name===version").
    [[nodiscard]] std::string to_string() const;
};

/// What the lockfiles ask for on this target.
struct pin_set {
    std::vector<pin> pins;             ///< applicable pins, sorted by name, one per project
    std::vector<std::string> skipped;  ///< requirements whose markers are false (canonical text)
    bool is_hash_checking = false;     ///< hash-checking mode is on (see the file comment)
};

/// Applies the rules of the file comment to parsed lockfiles. `require_hashes` is the caller's
/// `--require-hashes`. Errors: see the file comment. Pure; thread-safe.
[[nodiscard]] result<pin_set> select_pins(const std::vector<lockfile::requirements_file>& files,
                                          bool require_hashes,
                                          const pep508::marker_environment& target);

/// How to plan.
struct plan_options {
    bool sync = false;
    bool remove_seed_packages = false;
    bool reinstall = false;
};

/// A pin to install, with what it replaces (empty: a new install).
struct planned_install {
    pin wanted;
    std::vector<installer::installed_dist> previous;
};

/// A pin already satisfied.
struct planned_unchanged {
    pin wanted;
    installer::installed_dist dist;
};

/// The plan. Lists are sorted by name.
struct plan {
    std::vector<planned_unchanged> unchanged;
    std::vector<planned_install> installs;  ///< new installs and replacements
    std::vector<installer::installed_dist> removals;
    std::vector<std::string> warnings;

    /// Packages that change: installs (incl. replacements) plus removals.
    [[nodiscard]] std::size_t change_count() const { return installs.size() + removals.size(); }
};

/// True for pip, setuptools and wheel (normalized names), which `sync` keeps by default.
[[nodiscard]] bool is_seed_package(std::string_view normalized_name) noexcept;

/// True when `dist` is an `.egg-info` (not uninstallable by RECORD).
[[nodiscard]] bool is_egg_info(const installer::installed_dist& dist);

/// Plans `pins` against `installed` (see the file comment). Errors: `errc::unsupported` for
/// an `.egg-info` that would have to be replaced. Pure; thread-safe.
[[nodiscard]] result<plan> make_plan(const std::vector<pin>& pins,
                                     const std::vector<installer::installed_dist>& installed,
                                     const plan_options& options);

}  // namespace pkg::session
