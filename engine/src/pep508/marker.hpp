#pragma once
/// \file
/// PEP 508 environment markers: the full grammar (`and`/`or`, parentheses, every comparison
/// operator including `in`/`not in` and `===`, quoted strings either side, the legacy dotted
/// names `os.name`, `sys.platform`, `platform.version`, `platform.machine`,
/// `platform.python_implementation`, `python_implementation`) and evaluation against an
/// environment, with PEP 508's rule: when both sides parse as PEP 440 versions and the operator
/// is a version operator, compare as versions, otherwise as strings. `extra` compares with both
/// sides normalised as project names.
///
/// Where the spec leaves room, pkg follows `packaging` (pip's parser) and says so:
/// - Whitespace is spaces and tabs; `and`/`or`/`in`/`not` need no space next to quotes or
///   parentheses (`"3"and(...)`), but `not in` needs one between its words.
/// - Strings are taken literally: PEP 508 defines no escapes. `packaging` runs Python's
///   `literal_eval` on them, which interprets `\` escapes and fails on NUL and line breaks;
///   pkg rejects strings holding a backslash, NUL, CR or LF rather than guess.
/// - A comparison is a version comparison when the operator is a version operator, the right
///   side forms a valid PEP 440 specifier with it (`==3.*` works) and the left side parses as a
///   version; pre-releases always match (`contains(..., prereleases=True)`). Otherwise `==`,
///   `!=`, `<`, `<=`, `>`, `>=` compare the strings as Python does (code point order) and
///   `in`/`not in` test for a substring. `~=` and `===` have no string meaning: `packaging`
///   raises `UndefinedComparison`; here the clause is false. `packaging` 24 raises
///   `InvalidVersion` when the right side is a version and the left is not; here that falls back
///   to string comparison as the spec says (`packaging` PR #816 / issue #774).
/// - Both sides may be variables or both strings; each side is resolved on its own (`packaging`
///   mishandles these shapes; no real marker uses them).

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include <pkg/io/error.hpp>

namespace pkg::pep508 {

/// The values marker variables take for one interpreter (PEP 508 "Environment Markers").
struct marker_environment {
    std::string implementation_name;             ///< sys.implementation.name, e.g. "cpython"
    std::string implementation_version;          ///< e.g. "3.11.7"
    std::string os_name;                         ///< os.name, e.g. "posix"
    std::string platform_machine;                ///< platform.machine(), e.g. "x86_64"
    std::string platform_python_implementation;  ///< e.g. "CPython"
    std::string platform_release;                ///< platform.release()
    std::string platform_system;                 ///< platform.system(), e.g. "Linux"
    std::string platform_version;                ///< platform.version()
    std::string python_full_version;             ///< platform.python_version(), e.g. "3.11.7"
    std::string python_version;                  ///< "3.11"
    std::string sys_platform;                    ///< sys.platform, e.g. "linux"
    // `extra` is not here: it comes from the extras passed to `marker::evaluate`.

    /// The value of a canonical variable name (`python_version`, …); nullopt if unknown
    /// (including `extra` and the legacy dotted spellings, which the parser canonicalises).
    std::optional<std::string_view> get(std::string_view variable) const noexcept;
};

/// A parsed marker expression. Immutable; copies share the parsed tree. A default-constructed
/// marker is empty: it evaluates true and prints as "".
class marker {
public:
    /// Parses a whole marker expression (leading/trailing spaces allowed). Errors are
    /// `errc::invalid_marker` and cite the text, the column and what was expected.
    static result<marker> parse(std::string_view text);

    /// Parses `text.substr(offset)` as a marker that runs to the end of `text` (the part after
    /// `;` in a requirement). Errors carry `code` and count columns in the whole `text`, so a
    /// requirement's error points into the requirement the user wrote.
    static result<marker> parse_within(std::string_view text, std::size_t offset,
                                       std::error_code code);

    /// Evaluates against `env`. `extras` are the extras being installed (any spelling): an
    /// `extra == "x"` clause is true when "x" is one of them; with no extras it is false.
    /// As pip does, the marker is evaluated once per extra (with `extra` set to it, or to ""
    /// when there are none) and is true if any evaluation is; so `extra == "a" and
    /// extra == "b"` is false even with both extras. A `python_full_version` ending in `+`
    /// (non-tagged CPython builds) is read as `+local`, as `packaging` does. Never fails (see
    /// the file comment for undefined comparisons). Thread-safe: the tree is immutable.
    bool evaluate(const marker_environment& env, std::span<const std::string> extras = {}) const;

    /// Canonical text: variables in canonical names, strings double-quoted (single-quoted if
    /// they contain `"`), values compared with `extra` normalised, single spaces, `and`/`or`
    /// chains flattened and parentheses only around an `or` inside an `and`. Parsing the result
    /// gives the same tree (and text). Unlike `packaging`, parentheses the structure does not
    /// need are dropped.
    std::string to_string() const;

    struct node;  // defined in marker.cpp

private:
    std::shared_ptr<const node> root_;
};

}  // namespace pkg::pep508
