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

/// A build tag: leading digits plus the rest (`1`, `2b`); orders numerically, then by the suffix.
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

    /// Parses a filename (no directories). Errors cite the name (`errc::invalid_wheel_filename`).
    static result<wheel_filename> parse(std::string_view filename);

    /// Every tag the wheel declares (the product of the three compressed sets).
    std::vector<tag> tags() const;

    /// Best (lowest) priority of any of its tags in `supported`, or nullopt if incompatible.
    std::optional<std::size_t> priority(const tag_list& supported) const;

    /// The filename it was parsed from, re-assembled.
    std::string to_string() const;
};

/// Index of the best wheel among `candidates` for `supported`: the lowest tag priority, ties
/// broken by the higher build tag (no build tag sorts lowest), then by the first listed.
/// nullopt when none is compatible.
std::optional<std::size_t> best_wheel(std::span<const wheel_filename> candidates,
                                      const tag_list& supported);

}  // namespace pkg::wheel
