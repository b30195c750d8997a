#include "pep508/requirement.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include <pkg/engine/errc.hpp>

#include "pep508/name.hpp"
#include "pep508/text.hpp"

namespace pkg::pep508 {
namespace {

bool is_name_char(char c) noexcept
{
    return detail::is_ascii_alnum(c) || c == '-' || c == '_' || c == '.';
}

bool is_operator_start(char c) noexcept
{
    return c == '<' || c == '>' || c == '=' || c == '!' || c == '~';
}

// Bytes a non-`===` version can contain (PEP 440 letters, digits, separators, `!`, `+`, `*`).
// The run is handed to the PEP 440 parser whole, so `>=1.0abc` fails there with its reason.
bool is_version_char(char c) noexcept
{
    return detail::is_ascii_alnum(c) || c == '.' || c == '-' || c == '_' || c == '!' ||
           c == '+' || c == '*';
}

class requirement_parser {
public:
    explicit requirement_parser(std::string_view text) : in_{text, 0} {}

    result<requirement> parse()
    {
        requirement out;
        in_.skip_space();
        if (auto name = parse_name_token("a project name", "project name"); !name) {
            return fail(std::move(name.error()));
        } else {
            out.name = std::move(*name);
        }
        out.normalized_name = normalize_name(out.name);
        in_.skip_space();
        if (auto extras = parse_extras(); !extras) {
            return fail(std::move(extras.error()));
        } else {
            out.extras = std::move(*extras);
        }
        in_.skip_space();
        if (in_.peek() == '@') {
            ++in_.pos;
            in_.skip_space();
            const std::size_t start = in_.pos;
            while (!in_.at_end() && !detail::is_space(in_.peek())) {
                ++in_.pos;
            }
            if (in_.pos == start) {
                return fail_here("expected a URL after '@'");
            }
            out.url = std::string(in_.text.substr(start, in_.pos - start));
            in_.skip_space();
            if (in_.at_input_end()) {
                return out;
            }
            if (in_.peek() != ';') {
                return fail_here("expected ';' and a marker, or the end, after the URL");
            }
        } else {
            auto specifiers = parse_specifiers();
            if (!specifiers) {
                return fail(std::move(specifiers.error()));
            }
            out.specifiers = std::move(*specifiers);
            in_.skip_space();
            if (in_.at_input_end()) {
                return out;
            }
            if (in_.peek() != ';') {
                return fail_here(out.specifiers.empty() && !had_parenthesis_
                                     ? "expected a version specifier, '@ URL', ';' or the end"
                                     : "expected ',' and another version specifier, ';' or "
                                       "the end");
            }
        }
        ++in_.pos;  // the ';'
        auto env_marker = marker::parse_within(in_.text, in_.pos, errc::invalid_requirement);
        if (!env_marker) {
            return fail(std::move(env_marker.error()));
        }
        out.env_marker = std::move(*env_marker);
        return out;
    }

private:
    tl::unexpected<error> fail_here(std::string_view what) const { return fail_at(in_.pos, what); }
    tl::unexpected<error> fail_at(std::size_t pos, std::string_view what) const
    {
        return pkg::fail(detail::syntax_error(errc::invalid_requirement, in_.text, pos, what));
    }

    // A project or extra name: letters and digits with `-`, `_`, `.` inside.
    result<std::string> parse_name_token(std::string_view what, std::string_view label)
    {
        const std::size_t start = in_.pos;
        if (!detail::is_ascii_alnum(in_.peek())) {
            if (in_.at_end()) {
                return fail_here("expected " + std::string(what));
            }
            return fail_here("expected " + std::string(what) + ", found " +
                             detail::describe_char(in_.peek()));
        }
        while (is_name_char(in_.peek())) {
            ++in_.pos;
        }
        const std::string_view name = in_.text.substr(start, in_.pos - start);
        if (!is_valid_name(name)) {
            return fail_at(start, std::string(label) + " " + detail::quote(name) +
                                      " must end with a letter or digit");
        }
        return std::string(name);
    }

    result<std::vector<std::string>> parse_extras()
    {
        std::vector<std::string> extras;
        if (in_.peek() != '[') {
            return extras;
        }
        const std::size_t open = in_.pos;
        ++in_.pos;
        in_.skip_space();
        if (in_.peek() != ']') {
            while (true) {
                auto extra = parse_name_token("an extra name", "extra name");
                if (!extra) {
                    return fail(std::move(extra.error()));
                }
                extras.push_back(normalize_name(*extra));
                in_.skip_space();
                if (in_.peek() != ',') {
                    break;
                }
                ++in_.pos;
                in_.skip_space();
            }
        }
        if (in_.peek() != ']') {
            if (detail::is_ascii_alnum(in_.peek())) {
                return fail_here("expected ',' between extra names");
            }
            return fail_here("expected ',' or ']' (the '[' at column " +
                             std::to_string(open + 1) + " is not closed)");
        }
        ++in_.pos;
        std::sort(extras.begin(), extras.end());
        extras.erase(std::unique(extras.begin(), extras.end()), extras.end());
        return extras;
    }

    result<pep440::specifier_set> parse_specifiers()
    {
        std::size_t open = std::string_view::npos;
        if (in_.peek() == '(') {
            open = in_.pos;
            had_parenthesis_ = true;
            ++in_.pos;
        }
        in_.skip_space();
        std::string joined;  // clauses without spaces, joined by ","
        while (is_operator_start(in_.peek())) {
            auto clauses = parse_clause();
            if (!clauses) {
                return fail(std::move(clauses.error()));
            }
            for (const auto& clause : *clauses) {
                if (!joined.empty()) {
                    joined.push_back(',');
                }
                joined += clause;
            }
            in_.skip_space();
            if (in_.peek() != ',') {
                break;
            }
            // `packaging` accepts a trailing comma (`black>=1,`), so a comma not followed by
            // another clause ends the list rather than failing.
            ++in_.pos;
            in_.skip_space();
        }
        if (open != std::string_view::npos) {
            in_.skip_space();
            if (in_.peek() != ')') {
                return fail_here((joined.empty() ? "expected a version specifier or ')'"
                                                 : "expected ',' or ')'") +
                                 std::string(" (the '(' at column ") + std::to_string(open + 1) +
                                 " is not closed)");
            }
            ++in_.pos;
        }
        auto set = pep440::specifier_set::parse(joined);
        if (!set) {
            // Each clause parsed alone above, so this is a disagreement inside pep440.
            return fail_at(open == std::string_view::npos ? 0 : open,
                           "invalid version specifiers " + detail::quote(joined) + " (" +
                               set.error().message + ")");
        }
        return set;
    }

    // One `op version` clause, validated on its own so an error can point at it. `===` text runs to whitespace, `;` or `)`, commas included, and `packaging` then
    // splits the whole specifier string on commas: so `===a,>=1` is two clauses, `===a,,>=1`
    // too, and `===a, >=1` is an error (the space ends the run before `>=1`). Mirror that.
    result<std::vector<std::string>> parse_clause()
    {
        const std::size_t start = in_.pos;
        static constexpr std::array<std::string_view, 8> operators{
            "===", "==", "~=", "!=", "<=", ">=", "<", ">"};
        std::string_view op;
        for (auto candidate : operators) {
            if (in_.text.substr(in_.pos, candidate.size()) == candidate) {
                op = candidate;
                break;
            }
        }
        if (op.empty()) {
            return fail_here("expected a version operator (==, !=, <=, >=, <, >, ~=, ===), found " +
                             detail::describe_char(in_.peek()));
        }
        in_.pos += op.size();
        const std::size_t op_end = in_.pos;
        while (const std::size_t n = detail::python_space_length(in_.text, in_.pos)) {
            in_.pos += n;
        }
        const std::size_t version_start = in_.pos;
        const bool arbitrary = op == "===";
        if (arbitrary) {
            while (!in_.at_end() && in_.peek() != ';' && in_.peek() != ')' &&
                   detail::python_space_length(in_.text, in_.pos) == 0) {
                ++in_.pos;
            }
        } else {
            while (is_version_char(in_.peek())) {
                ++in_.pos;
            }
            // `packaging` accepts `===` with no text at all; other operators need a version.
            if (in_.pos == version_start) {
                return fail_at(op_end, "expected a version after '" + std::string(op) + "'");
            }
        }
        const std::string_view run = in_.text.substr(version_start, in_.pos - version_start);
        const std::size_t first_comma = arbitrary ? run.find(',') : std::string_view::npos;
        std::vector<std::string> clauses;
        if (auto first = checked_clause(std::string(op) + std::string(run.substr(0, first_comma)),
                                        start);
            first) {
            clauses.push_back(std::move(*first));
        } else {
            return fail(std::move(first.error()));
        }
        for (std::size_t piece_start = first_comma; piece_start != std::string_view::npos;) {
            const std::size_t next = run.find(',', piece_start + 1);
            const std::string_view piece = run.substr(
                piece_start + 1, next == std::string_view::npos ? next : next - piece_start - 1);
            if (!piece.empty()) {
                auto extra = checked_clause(std::string(piece), version_start + piece_start + 1);
                if (!extra) {
                    return fail(std::move(extra.error()));
                }
                clauses.push_back(std::move(*extra));
            }
            piece_start = next;
        }
        return clauses;
    }

    // `clause` if PEP 440 accepts it; else an error pointing at `pos`.
    result<std::string> checked_clause(std::string clause, std::size_t pos) const
    {
        if (auto parsed = pep440::specifier::parse(clause); !parsed) {
            return fail_at(pos, "invalid version specifier " + detail::quote(clause) + " (" +
                                    parsed.error().message + ")");
        }
        return clause;
    }

    detail::cursor in_;
    bool had_parenthesis_ = false;
};

}  // namespace

result<requirement> requirement::parse(std::string_view text)
{
    return requirement_parser(text).parse();
}

bool requirement::applies_to(const marker_environment& env,
                             std::span<const std::string> requested_extras) const
{
    return !env_marker || env_marker->evaluate(env, requested_extras);
}

std::string requirement::to_string() const
{
    std::string out = normalized_name;
    if (!extras.empty()) {
        out.push_back('[');
        for (std::size_t i = 0; i < extras.size(); ++i) {
            if (i != 0) {
                out.push_back(',');
            }
            out += extras[i];
        }
        out.push_back(']');
    }
    if (url) {
        out += " @ ";
        out += *url;
    } else {
        out += specifiers.to_string();
    }
    if (env_marker) {
        out += " ; ";
        out += env_marker->to_string();
    }
    return out;
}

}  // namespace pkg::pep508
