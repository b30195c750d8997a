#pragma once
/// \file
/// PEP 508 dependency specifiers: `name[extra1,extra2] (>=1.0,<2) ; marker` and
/// `name[extras] @ url ; marker`.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

#include "pep440/specifier.hpp"
#include "pep508/marker.hpp"

namespace pkg::pep508 {

struct requirement {
    std::string name;                    ///< as written, e.g. "Sphinx_RTD_theme"
    std::string normalized_name;         ///< PEP 503 form, e.g. "sphinx-rtd-theme"
    std::vector<std::string> extras;     ///< normalised, sorted, without duplicates
    pep440::specifier_set specifiers;    ///< empty for `name @ url` and bare names
    std::optional<std::string> url;      ///< for `name @ url`
    std::optional<marker> env_marker;    ///< after `;`

    /// Parses one requirement (no comments, no requirements-file options). Errors cite the text.
    static result<requirement> parse(std::string_view text);

    /// True when there is no marker or it evaluates true for `env` (and these extras).
    bool applies_to(const marker_environment& env, std::span<const std::string> extras = {}) const;

    /// Canonical text, e.g. `sphinx-rtd-theme[a]>=1.0 ; python_version < "3.12"`.
    std::string to_string() const;
};

}  // namespace pkg::pep508
