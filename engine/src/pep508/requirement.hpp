#pragma once
/// \file
/// PEP 508 dependency specifiers: `name[extra1,extra2] (>=1.0,<2) ; marker` and
/// `name[extras] @ url ; marker`.
///
/// The grammar is PEP 508's as `packaging` (pip) reads it: spaces and tabs anywhere between
/// parts; `name (>=1.0)` parenthesised specifiers; whitespace between an operator and its version
/// (`>= 1.0`); a trailing comma after the last clause (`black>=1,`), which `packaging` accepts;
/// `name@url` without spaces, but a space is required between a URL and `;` (a URL runs to the
/// next space). Names and extras must be valid project names (`packaging` also accepts a
/// trailing `_`, the spec does not). URLs are not checked beyond being non-empty.

#include <optional>
#include <span>
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

    /// Parses one requirement (no comments, no requirements-file options, no line
    /// continuations). Errors are `errc::invalid_requirement` (also for a bad marker or version
    /// inside it); the message names what was expected, the column and quotes the text, e.g.
    /// `expected a version after '>=' at column 9 in "black >= ; python_version"`.
    static result<requirement> parse(std::string_view text);

    /// True when there is no marker or it evaluates true for `env` and the extras being
    /// installed (see `marker::evaluate`). Thread-safe for concurrent readers.
    bool applies_to(const marker_environment& env,
                    std::span<const std::string> requested_extras = {}) const;

    /// Canonical text, e.g. `sphinx-rtd-theme[a]>=1.0 ; python_version < "3.12"`: the
    /// normalised name, sorted extras, clauses as `specifier_set::to_string` prints them (or
    /// ` @ url`), then ` ; ` and the marker's canonical text. Parsing it gives the same text.
    std::string to_string() const;
};

}  // namespace pkg::pep508
