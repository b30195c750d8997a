#pragma once
/// \file
/// PEP 440 version specifiers (`~=`, `==`, `!=`, `<=`, `>=`, `<`, `>`, `===`, `==1.2.*`, `!=1.2.*`)
/// and comma-separated specifier sets, with `contains` following the spec and the reference
/// implementation (`packaging.specifiers`), including its pre-release rules.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

#include "pep440/version.hpp"

namespace pkg::pep440 {

enum class op : std::uint8_t {
    compatible,     ///< `~=`
    equal,          ///< `==` (also `==X.*` with `is_wildcard()`)
    not_equal,      ///< `!=` (also `!=X.*`)
    less_equal,     ///< `<=`
    greater_equal,  ///< `>=`
    less,           ///< `<`
    greater,        ///< `>`
    arbitrary,      ///< `===` (string equality, case-insensitive)
};

/// One clause such as `>=1.2` or `==3.*`.
class specifier {
public:
    /// Parses one clause; whitespace around and between operator and version is allowed.
    /// Rejects what PEP 440 forbids (e.g. `~=1`, `<=1.*`, local labels with ordered operators).
    static result<specifier> parse(std::string_view text);

    op oper() const noexcept { return op_; }
    /// The version operand (for `===`, a best-effort parse, possibly absent).
    const std::optional<version>& operand() const noexcept { return version_; }
    bool is_wildcard() const noexcept { return wildcard_; }
    /// For `===`: the literal text after the operator.
    const std::string& arbitrary_text() const noexcept { return text_; }

    /// Whether `v` satisfies this clause, ignoring pre-release policy (see specifier_set).
    bool matches(const version& v) const;
    /// Whether the clause itself names a pre-release (then pre-releases are allowed).
    bool mentions_prerelease() const noexcept;

    /// Normal form: `>=1.2`, `==3.*`, `===foo`.
    std::string to_string() const;

private:
    op op_ = op::equal;
    std::optional<version> version_;
    bool wildcard_ = false;
    std::string text_;
};

/// A comma-separated set of clauses; empty means "any version".
class specifier_set {
public:
    /// Parses `>=1.0, <2` (also the empty string). Errors cite the offending clause.
    static result<specifier_set> parse(std::string_view text);

    std::span<const specifier> clauses() const noexcept { return clauses_; }
    bool empty() const noexcept { return clauses_.empty(); }

    /// Whether `v` satisfies every clause. Pre-releases: if `prereleases` is given it decides;
    /// otherwise they are allowed only when some clause mentions a pre-release (as `packaging`).
    bool contains(const version& v, std::optional<bool> prereleases = std::nullopt) const;

    /// Clauses joined with "," in the order written.
    std::string to_string() const;

private:
    std::vector<specifier> clauses_;
};

}  // namespace pkg::pep440
