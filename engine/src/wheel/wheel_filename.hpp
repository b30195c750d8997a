#pragma once
/// \file
/// PEP 427 wheel filenames: `{distribution}-{version}(-{build tag})?-{python}-{abi}-{platform}.whl`
/// with compressed tag sets (`py2.py3-none-any`), and choosing the best wheel for an interpreter.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

#include "pep440/version.hpp"
#include "wheel/tags.hpp"

namespace pkg::wheel {

/// A build tag: leading digits plus the rest (`1`, `2b`); orders numerically, then by the suffix
/// (byte-wise, as packaging compares its `(int, str)` tuples).
struct build_tag {
    std::uint64_t number = 0;
    std::string suffix;
    friend auto operator<=>(const build_tag&, const build_tag&) = default;
};

struct wheel_filename {
    std::string distribution;           ///< as written in the filename
    std::string normalized_name;        ///< PEP 503 form
    pep440::version version;
    std::optional<build_tag> build;
    std::vector<std::string> python_tags;    ///< split on '.'
    std::vector<std::string> abi_tags;
    std::vector<std::string> platform_tags;

    /// Parses a filename (no directories). Errors cite the name (`errc::invalid_wheel_filename`)
    /// and say which part is wrong: not ending in `.whl` (case-sensitive, as packaging), not 5
    /// or 6 `-`-separated parts, a name that is not a valid project name (`_` and `.` inside
    /// only; `__` is accepted although packaging 22+ refuses it), a version PEP 440 rejects, a
    /// build tag not starting with a digit (or its number over 64 bits, or a suffix outside
    /// letters/digits/`_`/`.`), an empty or non-`[A-Za-z0-9_]` tag set member, or more than 1024
    /// declared tags. Tags are stored lower case. Pure function.
    static result<wheel_filename> parse(std::string_view filename);

    /// Every tag the wheel declares (the product of the three compressed sets), python-major.
    std::vector<tag> tags() const;

    /// Best (lowest) priority of any of its tags in `supported`, or nullopt if incompatible.
    std::optional<std::size_t> priority(const tag_list& supported) const;

    /// The filename re-assembled: the distribution as written, the version in PEP 440 normal
    /// form, the build number without leading zeros, tags lower case. Equals the parsed text for
    /// names already in that form (as wheel builders write them); in every case `parse` of the
    /// result succeeds and compares equal.
    std::string to_string() const;

    /// Field-wise; versions compare by PEP 440 (`1.0` == `1.0.0`).
    friend bool operator==(const wheel_filename&, const wheel_filename&) = default;
};

/// Index of the best wheel among `candidates` for `supported`: the lowest tag priority, ties
/// broken by the higher build tag (no build tag sorts lowest), then by the first listed.
/// nullopt when none is compatible.
std::optional<std::size_t> best_wheel(std::span<const wheel_filename> candidates,
                                      const tag_list& supported);

}  // namespace pkg::wheel
