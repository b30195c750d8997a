#pragma once
/// \file
/// PEP 440 version specifiers (`~=`, `==`, `!=`, `<=`, `>=`, `<`, `>`, `===`, `==1.2.*`, `!=1.2.*`)
/// and comma-separated specifier sets, with `contains` following the spec and the reference
/// implementation (`packaging.specifiers`), including its pre-release rules.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

#include "pep440/version.hpp"

namespace pkg::pep440 {

enum class op : std::uint8_t {
    compatible,    ///< `~=`
    equal,         ///< `==` (also `==X.*` with `is_wildcard()`)
    not_equal,     ///< `!=` (also `!=X.*`)
    less_equal,    ///< `<=`
    greater_equal, ///< `>=`
    less,          ///< `<`
    greater,       ///< `>`
    arbitrary,     ///< `===` (string equality, case-insensitive)
};

/// One clause such as `>=1.2` or `==3.*`. Regular value type; const members are thread-safe.
class specifier {
public:
    /// Parses one clause; whitespace around and between operator and version is allowed.
    /// Rejects what PEP 440 forbids (e.g. `~=1`, `<=1.*`, local labels with ordered operators,
    /// `==1.0a1.*`) with `errc::invalid_specifier`, the message quoting `text` and saying why.
    /// `===` takes any text without whitespace, `;` or `)`, even none (as packaging does).
    static result<specifier> parse(std::string_view text);

    /// The operator.
    op oper() const noexcept { return op_; }
    /// The version operand; always present except for `===` (a best-effort parse there).
    /// For wildcards it is the part before `.*` (a plain epoch + release).
    const std::optional<version>& operand() const noexcept { return version_; }
    /// True for `==X.*` / `!=X.*`.
    bool is_wildcard() const noexcept { return wildcard_; }
    /// For `===`: the literal text after the operator, as written; empty otherwise.
    const std::string& arbitrary_text() const noexcept { return text_; }

    /// Whether `v` satisfies this clause, ignoring pre-release policy (see specifier_set), with
    /// packaging's rules: `==`/`!=` without a local label ignore `v`'s; `X.*` matches by
    /// zero-padded release prefix; `<V` rejects pre-releases of V's release unless V is one;
    /// `>V` rejects post-releases of V's release unless V is one, and local versions of it;
    /// `===` compares `v.to_string()` with the text, ignoring ASCII case.
    bool matches(const version& v) const;
    /// Whether the clause itself names a pre-release (then pre-releases are allowed): only for
    /// `==`, `>=`, `<=`, `~=` and `===` with a pre-release (or dev) operand, as packaging.
    bool mentions_prerelease() const noexcept;

    /// Normal form: `>=1.2`, `==3.*`, `===foo` (the operand's normal form; `===` text verbatim).
    /// `parse(to_string())` gives the same clause.
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
    /// Parses `>=1.0, <2` (also the empty string). Empty clauses (`>=1,,<2`, a trailing comma)
    /// are skipped as packaging does. Errors (`errc::invalid_specifier`) cite the whole text and
    /// the offending clause. Duplicates are kept (packaging keeps a set; `contains` agrees).
    static result<specifier_set> parse(std::string_view text);

    /// The clauses in the order written.
    std::span<const specifier> clauses() const noexcept { return clauses_; }
    /// True when there is no clause (every final release matches).
    bool empty() const noexcept { return clauses_.empty(); }

    /// Whether `v` satisfies every clause. Pre-releases: if `prereleases` is given it decides;
    /// otherwise they are allowed only when some clause mentions a pre-release (as `packaging`);
    /// so the empty set rejects pre-releases unless `prereleases` is true. (packaging's `filter`
    /// fallback, "pre-releases if nothing else matches", is the resolver's business, not this.)
    bool contains(const version& v, std::optional<bool> prereleases = std::nullopt) const;

    /// Clauses joined with "," in the order written.
    std::string to_string() const;

private:
    std::vector<specifier> clauses_;
};

} // namespace pkg::pep440
