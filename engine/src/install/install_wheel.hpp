#pragma once
/// \file
/// Installing one unpacked wheel (an archive tree of the cache, with its manifest) into an
/// environment, uninstalling an installed distribution by its RECORD, and scanning what is
/// installed. Blocking functions: the orchestrator runs them on the CPU pool, several wheels at
/// once (their targets are disjoint unless two wheels collide, which is detected).
///
/// The wheel spec (PEP 427/491, the binary distribution format spec), fully:
/// - Root-Is-Purelib (WHEEL) picks purelib or platlib for the tree's root;
///   `<name>-<ver>.data/{purelib,platlib,scripts,headers,data}/…` go to their scheme paths
///   (headers: `<scheme.include>/<project name>/…`, as pip does in a venv).
/// - Scripts from `.data/scripts` whose first line is `#!python` / `#!pythonw` get the
///   environment's interpreter as shebang; console_scripts and gui_scripts of
///   `entry_points.txt` become launcher scripts (`#!<python>` + the standard import-and-call
///   body; a `/bin/sh` trampoline `#!/bin/sh\n'''exec' '<python>' "$0" "$@"\n' '''` when the
///   interpreter path is longer than 127 bytes or contains spaces). Executables get 0755, and
///   so does every script (pip keeps a `.data/scripts` file's zip mode, leaving scripts built
///   without the bit unrunnable; pkg does as uv does). pip's rule for its own versioned
///   launchers applies (`pip3.<minor>` of the target interpreter, see `python_version`).
/// - `INSTALLER` ("pkg\n"), `REQUESTED` (empty, when `requested`), `direct_url.json` (when
///   given) are added to the .dist-info; RECORD is rewritten (atomically: temp file + rename)
///   listing every installed file with the sha256 and size of the bytes actually in place,
///   paths relative to the .dist-info's parent directory (`../../../bin/x` for scripts), RECORD
///   itself without hash.
/// - Invariant: the `.dist-info` directory appears (one rename of a completed hidden directory)
///   only after every other file is in place; on any failure everything written is removed
///   again and the error says what failed. A process killed half-way leaves files no RECORD
///   lists (the next install replaces them as unowned) and hidden `.<dist-info>.installing.*`
///   / `.<file>.replaced.*` entries, which scans ignore; `remove_interrupted_leftovers` removes
///   the `.dist-info` ones.
/// - Collisions: a destination that already exists and is listed in the RECORD of another
///   installed distribution is `errc::file_collision` naming both packages and the path (nothing
///   of the new wheel stays). Existing files owned by nobody are replaced (with a warning;
///   moved aside first and put back if the install fails).
///   Directories are shared freely (namespace packages).
///
/// Uninstall removes the `.dist-info` first (renamed away, then deleted), then every file its
/// RECORD lists (paths must resolve inside the environment's prefix — otherwise
/// `errc::invalid_record` and nothing is removed), `__pycache__/*.pyc` of removed `.py` files,
/// and directories left empty, bottom-up up to (never including) the scheme roots.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pkg/engine/install.hpp>
#include <pkg/io/error.hpp>

#include "cache/manifest.hpp"
#include "python/interpreter.hpp"

namespace pkg::installer {

/// Where an environment's files go (absolute paths, from the interpreter's install scheme).
struct target_scheme {
    std::filesystem::path prefix;   ///< sys.prefix: nothing is written or removed outside it
    std::filesystem::path purelib;
    std::filesystem::path platlib;
    std::filesystem::path scripts;
    std::filesystem::path data;
    std::filesystem::path include;  ///< headers go to `<include>/<project name>/`
    /// The interpreter written into shebangs and launchers (the environment's `bin/python`,
    /// not the resolved base interpreter, so the scripts run inside the environment).
    std::filesystem::path python;
    /// "X.Y" of that interpreter: pip's and setuptools' versioned launchers (`pip3.11`,
    /// `easy_install-3.11`) are made for it, as pip does. Empty: entry points taken verbatim.
    std::string python_version;
};

/// The scheme pip uses for the interpreter described by `facts`, with `python` as the
/// interpreter for scripts: the interpreter's install scheme, except that inside a virtual
/// environment headers go to `<prefix>/include/site/pythonX.Y` (the interpreter's own `include`
/// there is the base installation's, outside the environment). Pure.
[[nodiscard]] target_scheme make_target_scheme(const python::interpreter_facts& facts,
                                               const std::filesystem::path& python);

/// Puts files from archive trees into the environment with one link mode, probing once per
/// (source filesystem, target filesystem) pair whether the mode works (EXDEV, EPERM,
/// EOPNOTSUPP…) and falling back — clone → hardlink → copy, hardlink → copy — remembering the
/// outcome and recording one warning that names `PKG_LINK_MODE`. Thread-safe (the probe cache is
/// guarded); share one per operation.
class linker {
public:
    explicit linker(link_mode requested);
    ~linker();
    linker(const linker&) = delete;
    linker& operator=(const linker&) = delete;

    /// Makes `to` (which must not exist; parent directories must exist) a copy/link of `from`.
    /// Symlink mode makes `to` a symbolic link to `from` (pass an absolute `from`); where the
    /// filesystem refuses symlinks (EPERM, EOPNOTSUPP) it copies, with one warning.
    /// Errors: `pkg::system_error` naming both paths.
    [[nodiscard]] result<void> place(const std::filesystem::path& from,
                                     const std::filesystem::path& to);
    /// Same, with the `st_dev` of `from` and of `to`'s directory already known (a tree's files
    /// share them: saves two stats per file).
    [[nodiscard]] result<void> place(const std::filesystem::path& from,
                                     const std::filesystem::path& to, ::dev_t from_device,
                                     ::dev_t to_device);
    /// The mode asked for (the one tried first for every new pair of filesystems).
    [[nodiscard]] link_mode requested() const noexcept;
    /// The fallback warnings recorded so far (at most one per fallback kind).
    [[nodiscard]] std::vector<std::string> warnings() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// One wheel to install.
struct install_request {
    std::filesystem::path archive_dir;  ///< `archive-v1/<sha256>` (read-only; never modified)
    std::shared_ptr<const cache::archive_manifest> manifest;
    bool requested = true;                  ///< write REQUESTED
    std::optional<std::string> direct_url;  ///< direct_url.json content, for URL/path installs
};

/// One installed distribution (scan result; also what `install_wheel` produced).
struct installed_dist {
    std::string name;             ///< display name from the .dist-info directory name
    std::string normalized_name;  ///< PEP 503
    std::string version;          ///< from the .dist-info directory name
    std::filesystem::path dist_info;  ///< absolute
    std::string installer;        ///< INSTALLER content, trimmed; "" if absent
};

/// What `install_wheel` did.
struct install_outcome {
    installed_dist dist;
    std::uint64_t files = 0;   ///< files written (RECORD lines)
    std::uint64_t bytes = 0;
    std::vector<std::string> warnings;  ///< e.g. an unowned file replaced
};

/// Installs `request` into `scheme` (see the file comment). The caller has removed any previous
/// version of the same project first (`uninstall_dist`, then `owners.forget`) and holds the
/// environment lock. `owners` answers "which installed distribution's RECORD lists this
/// absolute path?" (build it with `file_owners::build`); the new wheel's files are claimed in it
/// before anything is written and released again if the install fails.
/// Shared files: a file another distribution owns (installed, or being installed at the same
/// time and claimed first) is left as it is, not written, and not listed in this wheel's RECORD,
/// with a warning naming both unless both RECORD hashes say the content is the same (real lockfiles have such pairs, e.g. mlflow-skinny and
/// mlflow-tracing both ship `mlflow/__init__.py`; pip and uv overwrite it with whichever
/// installs last). Every RECORD keeps describing the bytes in place, and uninstalling one of the
/// two never removes the other's file.
/// Errors: `errc::invalid_wheel` (no/several .dist-info, no/malformed WHEEL, unknown
/// `.data/<key>`, two files for one destination, a file outside the prefix, a script that
/// would replace the environment's `python*` or `activate*`, a file where the environment has
/// a directory), `errc::invalid_entry_point`, `errc::file_collision` (this `.dist-info`
/// already present, a directory where the wheel has a file), filesystem errors naming paths
/// (e.g. ENOENT for an archive file that vanished from the cache).
/// Thread-safety: safe to call concurrently for different wheels with shared `links` and
/// `owners`.
class file_owners;
[[nodiscard]] result<install_outcome> install_wheel(const install_request& request,
                                                    const target_scheme& scheme, linker& links,
                                                    file_owners& owners);

/// A file a distribution installs: where, and its RECORD hash ("" when not known yet).
struct owned_file {
    std::filesystem::path path;  ///< absolute, lexically normal
    std::string sha256;          ///< urlsafe base64, no padding
};

/// A path that `file_owners::claim` found owned already.
struct file_claim_conflict {
    std::filesystem::path path;
    installed_dist owner;
    bool is_same_content = false;  ///< both hashes known and equal
};

/// Index from absolute installed path to owning distribution, built from the RECORDs of
/// `dists` at once. Every member is thread-safe (a shared mutex guards the index); pointers
/// returned by `owner_of` stay valid for the object's lifetime (also after `forget`).
class file_owners {
public:
    /// Reads the RECORD of every `.dist-info` in `dists` (`.egg-info` and dists without RECORD
    /// own nothing). Errors: `errc::invalid_record` naming the RECORD and line.
    [[nodiscard]] static result<file_owners> build(const std::vector<installed_dist>& dists);
    file_owners();
    ~file_owners();
    file_owners(file_owners&&) noexcept;
    file_owners& operator=(file_owners&&) noexcept;
    /// The owner of `path` (absolute, lexically normal), or nullptr.
    [[nodiscard]] const installed_dist* owner_of(const std::filesystem::path& path) const;
    /// Records every file of `files` that has no owner yet as owned by `dist`, at once; returns
    /// the ones another distribution owns already (they stay its).
    [[nodiscard]] std::vector<file_claim_conflict> claim(const installed_dist& dist,
                                                         const std::vector<owned_file>& files);
    /// Forget `dist`'s files (after it was uninstalled, or its install failed).
    void forget(const std::string& normalized_name);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// What `uninstall_dist` removed.
struct uninstall_outcome {
    std::uint64_t files = 0;
    std::vector<std::string> warnings;  ///< e.g. a RECORD file already missing
};

/// Uninstalls `dist` by its RECORD (see the file comment). RECORD paths are relative to the
/// `.dist-info`'s parent (absolute ones are accepted); every one must lie inside
/// `scheme.prefix`, lexically and after resolving symlinks in its directory, before anything is
/// removed. Files already missing are warnings; a RECORD entry that is a directory is skipped
/// with a warning.
/// Errors: `errc::invalid_record` (no RECORD, malformed, or a path outside the prefix — naming
/// the RECORD, line and path), `errc::unsupported` for an `.egg-info` dist, filesystem errors
/// naming paths. Thread-safety: safe for different dists at once.
[[nodiscard]] result<uninstall_outcome> uninstall_dist(const installed_dist& dist,
                                                       const target_scheme& scheme);

/// The distributions installed in `site_dirs` (purelib and platlib, deduplicated): every
/// `<name>-<version>.dist-info` directory with a METADATA or RECORD file (`.egg-info` is listed
/// with installer "" too, and never touched by uninstall). Name and version come from the
/// directory name (METADATA's `Name`/`Version` when the name has no `-`). Read sequentially:
/// one readdir per directory plus one small INSTALLER read per dist is cheap next to anything
/// else an install does. Sorted by normalized name. A missing directory is empty.
/// Errors: readdir errors naming the directory.
[[nodiscard]] result<std::vector<installed_dist>>
scan_site_packages(const std::vector<std::filesystem::path>& site_dirs);

/// Removes what killed installs and uninstalls left in `site_dirs`: the hidden staging trees
/// `.<name>.dist-info.installing.<pid>.<hex>` and removal trees `.<name>.dist-info.removing.
/// <pid>.<hex>` whose process no longer runs (a live or unknown pid is left alone). Returns the
/// paths removed. Files a killed install had already placed stay (no RECORD lists them; the
/// next install of the package replaces them).
/// Errors: readdir and removal errors naming the path. Call with the environment lock held,
/// before installing. Thread-safety: safe (removal tolerates concurrent removers).
[[nodiscard]] result<std::vector<std::filesystem::path>>
remove_interrupted_leftovers(const std::vector<std::filesystem::path>& site_dirs);

}  // namespace pkg::installer
