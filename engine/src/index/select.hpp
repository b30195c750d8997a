#pragma once
/// \file
/// Choosing the file to install for one exact pin (`name==version` from a lockfile) from a
/// parsed project page: the best wheel for the interpreter's tags among the files of that
/// version that the pin's hashes, Requires-Python and yank state allow. When nothing fits, the
/// error says why for every file, so a user can act on it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

#include "index/project_page.hpp"
#include "pep440/version.hpp"
#include "wheel/tags.hpp"
#include "wheel/wheel_filename.hpp"

namespace pkg::index {

/// One hash a lockfile pins (`--hash=sha256:…`).
struct pinned_hash {
    std::string algorithm; ///< compared case-insensitively
    std::string hex;       ///< compared case-insensitively
};

struct select_options {
    /// The target interpreter's version (e.g. 3.11.7) for files' Requires-Python; when unset,
    /// Requires-Python is not checked.
    std::optional<pep440::version> python_version;
    /// The lockfile's hashes for this pin; empty = no hash pinning.
    std::vector<pinned_hash> hashes;
    /// PEP 592: a yanked file may be used for an exact pin, which every lockfile pin is; so the
    /// default is to allow it (with a warning carrying the reason). False rejects yanked files.
    bool allow_yanked = true;
};

/// Why a file on the page was not chosen.
enum class rejection_reason {
    not_a_wheel,       ///< a source distribution: pkg installs wheels only
    unknown_file_type, ///< neither a wheel nor a recognised sdist (`.exe`, `.egg`, …)
    invalid_filename,  ///< ends in `.whl` but is not a valid wheel filename
    different_project, ///< the filename's project name is not the pinned one
    wrong_version,     ///< another version than the pin
    yanked,            ///< yanked and `allow_yanked` is false
    requires_python,   ///< Requires-Python excludes the target interpreter
    hash_mismatch,     ///< the index's hash of the file matches none of the pinned ones
    incompatible_tags, ///< no tag of the wheel is supported by the interpreter
};

/// The short, stable words for a reason ("wrong version", "incompatible tags", …).
std::string_view to_string(rejection_reason reason) noexcept;

/// A file that was not chosen, and why.
struct rejected_file {
    std::string filename;
    rejection_reason reason = rejection_reason::wrong_version;
    /// Specifics for people: the file's version, its tags, the Requires-Python text, the hashes.
    std::string detail;
    /// The file's version when it could be read from the filename (wheels and sdists).
    std::optional<pep440::version> version;
};

/// The chosen file.
struct selection {
    index_file file;              ///< copied from the page
    std::size_t file_index = 0;   ///< position in `project_page::files`
    wheel::wheel_filename wheel;  ///< its parsed filename
    std::size_t tag_priority = 0; ///< 0 = the interpreter's most preferred tag
    /// True when the index stated a hash for the file in a pinned algorithm and it matched;
    /// false when the index gave none to compare (the download is still checked).
    bool is_hash_verified_by_index = false;
    /// Every other file and why it lost or was ineligible (losers that were eligible are not
    /// listed: they are simply worse by tag priority or build tag).
    std::vector<rejected_file> rejected;
    /// For the user: a yanked file chosen (with its reason), an invalid Requires-Python ignored,
    /// a local version label that differs from the pin.
    std::vector<std::string> warnings;
};

/// Chooses the wheel to install for `normalized_name==pinned` (PEP 503-normalised name; any
/// spelling is accepted and normalised here).
///
/// Eligible: files ending in `.whl` whose filename parses, whose normalised name equals
/// `normalized_name`, and whose version equals `pinned` under PEP 440 `==` (trailing zeros
/// ignored; local labels: a pin with a label, `1.0+cpu`, needs exactly that label; a pin
/// without one also matches labelled files, as `==1.0` does, but files without a label are
/// preferred, and choosing a labelled one adds a warning); not yanked unless `allow_yanked`;
/// whose Requires-Python (if any, and if `python_version` is set) contains the python version
/// (pre-releases allowed; an unparseable Requires-Python is ignored with a warning, as pip
/// does); whose index hashes, when pins are given and the index states a hash in a pinned
/// algorithm, match one pinned hash; and with a tag in `tags`.
///
/// Among eligible files, preferred in turn: an exact version match (no differing local label),
/// then the highest version (only local labels can differ), then a hash the index confirmed
/// over none stated, then not yanked (PEP 592), then `wheel::best_wheel` (best tag priority,
/// then highest build tag, then page order).
///
/// Errors: `errc::no_compatible_wheel` (where = the redacted page URL) when nothing is
/// eligible. The message lists every file of the pinned version with why it was rejected, and
/// other files too (up to 20 of them; past that they are counted and the versions with wheels
/// are named), then the interpreter's 5 most preferred tags; the hint says what to do.
/// Thread-safe (pure function).
result<selection> select_wheel(const project_page& page, std::string_view normalized_name,
                               const pep440::version& pinned, const wheel::tag_list& tags,
                               const select_options& options);

} // namespace pkg::index
