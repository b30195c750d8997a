#include "pep440/specifier.hpp"

#include <algorithm>

#include <pkg/engine/errc.hpp>

#include "base/quote.hpp"

// Semantics follow `packaging.specifiers` (24.1), applied to the parsed operand rather than to
// its spelling: packaging builds the `~=` prefix from the text as written, so odd spellings such
// as `~=1.0.pre1` get a different prefix there than `~=1.0rc1`; here both mean `>=1.0rc1, ==1.*`,
// which is what PEP 440 says.

namespace pkg::pep440 {
namespace {

bool is_space(char c) noexcept
{
    // The same set as version.cpp: Python's `\s` restricted to ASCII.
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

std::string_view trim(std::string_view text) noexcept
{
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

std::string quote(std::string_view text) { return quote_verbatim(text); }

struct op_spelling {
    std::string_view text;
    op oper;
};
// `===` before `==` and two-character operators before `<`/`>`: the longest spelling wins, which
// is what packaging's pattern ends up choosing (no version can start with `=`).
constexpr op_spelling spellings[] = {
    {"===", op::arbitrary}, {"~=", op::compatible},    {"==", op::equal}, {"!=", op::not_equal},
    {"<=", op::less_equal}, {">=", op::greater_equal}, {"<", op::less},   {">", op::greater},
};

std::string_view spelling_of(op o) noexcept
{
    for (const auto& s : spellings) {
        if (s.oper == o) {
            return s.text;
        }
    }
    return "?";
}

/// Epoch and release equal, with implicit zero padding (`1.0` and `1` share a base).
bool same_base(const version& a, const version& b) noexcept
{
    if (a.epoch() != b.epoch()) {
        return false;
    }
    const auto x = a.release();
    const auto y = b.release();
    const std::size_t n = std::max(x.size(), y.size());
    for (std::size_t i = 0; i < n; ++i) {
        if ((i < x.size() ? x[i] : 0) != (i < y.size() ? y[i] : 0)) {
            return false;
        }
    }
    return true;
}

/// `==E!P.*`: same epoch, and `v`'s release (zero-padded) starts with `prefix`. Pre, post, dev
/// and local parts of `v` do not matter.
bool has_prefix(const version& v, std::uint64_t epoch,
                std::span<const std::uint64_t> prefix) noexcept
{
    if (v.epoch() != epoch) {
        return false;
    }
    const auto release = v.release();
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if ((i < release.size() ? release[i] : 0) != prefix[i]) {
            return false;
        }
    }
    return true;
}

bool iequals_lowered(std::string_view text, std::string_view lower) noexcept
{
    if (text.size() != lower.size()) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
        if (c != lower[i]) {
            return false;
        }
    }
    return true;
}

} // namespace

result<specifier> specifier::parse(std::string_view text)
{
    auto invalid = [&](std::string why) {
        return fail(errc::invalid_specifier,
                    "invalid version specifier " + quote(text) + ": " + std::move(why), {},
                    "specifiers look like >=1.2, ==1.4.*, ~=2.0, !=1.5.1 or ===legacy-text");
    };

    const std::string_view body = trim(text);
    if (body.empty()) {
        return invalid("it is empty");
    }

    specifier spec;
    std::string_view rest;
    bool found = false;
    for (const auto& s : spellings) {
        if (body.starts_with(s.text)) {
            spec.op_ = s.oper;
            rest = trim(body.substr(s.text.size()));
            found = true;
            break;
        }
    }
    if (!found) {
        return invalid("it must start with an operator (~=, ==, !=, <=, >=, <, >, ===)");
    }

    const bool has_space = std::any_of(rest.begin(), rest.end(), is_space);

    if (spec.op_ == op::arbitrary) {
        // Anything without whitespace, ';' or ')' (those end a specifier inside a requirement);
        // even the empty string, as packaging allows.
        if (has_space || rest.find_first_of(";)") != std::string_view::npos) {
            return invalid("the === operand cannot contain whitespace, \";\" or \")\"");
        }
        spec.text_ = std::string(rest);
        if (auto parsed = version::parse(rest)) {
            spec.version_ = std::move(*parsed);
        }
        return spec;
    }

    if (rest.empty()) {
        return invalid("a version must follow the operator");
    }
    if (has_space) {
        return invalid("the version cannot contain whitespace");
    }

    std::string_view operand = rest;
    if (operand.ends_with(".*")) {
        if (spec.op_ != op::equal && spec.op_ != op::not_equal) {
            return invalid("prefix matching (\".*\") is only allowed with == and !=");
        }
        spec.wildcard_ = true;
        operand.remove_suffix(2);
    }

    auto parsed = version::parse(operand);
    if (!parsed) {
        return invalid(std::move(parsed.error().message));
    }
    spec.version_ = std::move(*parsed);
    const version& ver = *spec.version_;

    if (spec.wildcard_ && (ver.pre() || ver.post() || ver.dev() || ver.has_local())) {
        return invalid("prefix matching needs a plain release before \".*\" (such as ==1.4.*)");
    }
    if (ver.has_local() && spec.op_ != op::equal && spec.op_ != op::not_equal) {
        return invalid("a local version label (\"+...\") is only allowed with == and !=");
    }
    if (spec.op_ == op::compatible && ver.release().size() < 2) {
        return invalid("~= needs at least two release numbers (such as ~=1.4)");
    }
    return spec;
}

bool specifier::matches(const version& v) const
{
    if (op_ == op::arbitrary) {
        return iequals_lowered(text_, v.to_string());
    }

    if (!version_) {
        return false; // a default-constructed clause; parse() always sets the operand
    }
    const version& spec = *version_;
    switch (op_) {
    case op::compatible: {
        // ~=X.Y.Z means >=X.Y.Z and ==X.Y.* (pre/post/dev of the operand dropped first).
        const auto release = spec.release();
        return compare_public(v, spec) >= 0 &&
               has_prefix(v, spec.epoch(), release.first(release.size() - 1));
    }
    case op::equal:
    case op::not_equal: {
        bool equal = false;
        if (wildcard_) {
            equal = has_prefix(v, spec.epoch(), spec.release());
        } else if (spec.has_local()) {
            equal = v == spec;
        } else {
            // No local label in the specifier: any local label of `v` is ignored.
            equal = compare_public(v, spec) == 0;
        }
        return op_ == op::equal ? equal : !equal;
    }
    case op::less_equal:
        return compare_public(v, spec) <= 0;
    case op::greater_equal:
        return compare_public(v, spec) >= 0;
    case op::less:
        // <V excludes pre-releases of V itself unless V is one (<3.1 rejects 3.1.dev0).
        if (!(v < spec)) {
            return false;
        }
        return spec.is_prerelease() || !v.is_prerelease() || !same_base(v, spec);
    case op::greater:
        // >V excludes post-releases of V unless V is one, and local versions of V's release.
        if (!(v > spec)) {
            return false;
        }
        if (!spec.is_postrelease() && v.is_postrelease() && same_base(v, spec)) {
            return false;
        }
        return !(v.has_local() && same_base(v, spec));
    case op::arbitrary:
        break;
    }
    return false;
}

bool specifier::mentions_prerelease() const noexcept
{
    switch (op_) {
    case op::equal:
    case op::greater_equal:
    case op::less_equal:
    case op::compatible:
    case op::arbitrary:
        return version_.has_value() && version_->is_prerelease();
    case op::not_equal:
    case op::less:
    case op::greater:
        return false;
    }
    return false;
}

std::string specifier::to_string() const
{
    std::string out(spelling_of(op_));
    if (op_ == op::arbitrary) {
        out.append(text_);
        return out;
    }
    out.append(version_ ? version_->to_string() : std::string("0"));
    if (wildcard_) {
        out.append(".*");
    }
    return out;
}

result<specifier_set> specifier_set::parse(std::string_view text)
{
    specifier_set set;
    // Empty clauses (",", ">=1,,<2", trailing commas) are skipped, as packaging does.
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = text.find(',', start);
        const std::string_view clause = trim(text.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (!clause.empty()) {
            auto parsed = specifier::parse(clause);
            if (!parsed) {
                error e = std::move(parsed.error());
                if (trim(text) != clause) {
                    e.message = "in " + quote(trim(text)) + ": " + e.message;
                }
                return fail(std::move(e));
            }
            set.clauses_.push_back(std::move(*parsed));
        }
        if (comma == std::string_view::npos) {
            break;
        }
        start = comma + 1;
    }
    return set;
}

bool specifier_set::contains(const version& v, std::optional<bool> prereleases) const
{
    const bool allow_pre =
        prereleases.value_or(std::any_of(clauses_.begin(), clauses_.end(), [](const specifier& s) {
            return s.mentions_prerelease();
        }));
    if (!allow_pre && v.is_prerelease()) {
        return false;
    }
    return std::all_of(clauses_.begin(), clauses_.end(),
                       [&](const specifier& s) { return s.matches(v); });
}

std::string specifier_set::to_string() const
{
    std::string out;
    for (const auto& clause : clauses_) {
        if (!out.empty()) {
            out.push_back(',');
        }
        out.append(clause.to_string());
    }
    return out;
}

} // namespace pkg::pep440
