#include "pep508/marker.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <pkg/engine/errc.hpp>

#include "pep440/specifier.hpp"
#include "pep440/version.hpp"
#include "pep508/name.hpp"
#include "pep508/text.hpp"

namespace pkg::pep508 {
// Named (not anonymous) because marker::node, a class with external linkage, holds these.
namespace detail {

enum class variable : std::uint8_t {
    implementation_name,
    implementation_version,
    os_name,
    platform_machine,
    platform_python_implementation,
    platform_release,
    platform_system,
    platform_version,
    python_full_version,
    python_version,
    sys_platform,
    extra,
};

struct variable_spelling {
    std::string_view text;
    variable value;
};

// Every spelling the tokenizer of `packaging` accepts, legacy dotted forms included.
constexpr std::array<variable_spelling, 18> variable_spellings{{
    {"implementation_name", variable::implementation_name},
    {"implementation_version", variable::implementation_version},
    {"os_name", variable::os_name},
    {"os.name", variable::os_name},
    {"platform_machine", variable::platform_machine},
    {"platform.machine", variable::platform_machine},
    {"platform_python_implementation", variable::platform_python_implementation},
    {"platform.python_implementation", variable::platform_python_implementation},
    {"python_implementation", variable::platform_python_implementation},
    {"platform_release", variable::platform_release},
    {"platform_system", variable::platform_system},
    {"platform_version", variable::platform_version},
    {"platform.version", variable::platform_version},
    {"python_full_version", variable::python_full_version},
    {"python_version", variable::python_version},
    {"sys_platform", variable::sys_platform},
    {"sys.platform", variable::sys_platform},
    {"extra", variable::extra},
}};

inline std::string_view canonical_name(variable v) noexcept
{
    switch (v) {
    case variable::implementation_name: return "implementation_name";
    case variable::implementation_version: return "implementation_version";
    case variable::os_name: return "os_name";
    case variable::platform_machine: return "platform_machine";
    case variable::platform_python_implementation: return "platform_python_implementation";
    case variable::platform_release: return "platform_release";
    case variable::platform_system: return "platform_system";
    case variable::platform_version: return "platform_version";
    case variable::python_full_version: return "python_full_version";
    case variable::python_version: return "python_version";
    case variable::sys_platform: return "sys_platform";
    case variable::extra: return "extra";
    }
    return "extra";
}

enum class compare_op : std::uint8_t {
    less,
    less_equal,
    equal,
    not_equal,
    greater_equal,
    greater,
    compatible,
    arbitrary,
    in,
    not_in,
};

inline std::string_view op_text(compare_op op) noexcept
{
    switch (op) {
    case compare_op::less: return "<";
    case compare_op::less_equal: return "<=";
    case compare_op::equal: return "==";
    case compare_op::not_equal: return "!=";
    case compare_op::greater_equal: return ">=";
    case compare_op::greater: return ">";
    case compare_op::compatible: return "~=";
    case compare_op::arbitrary: return "===";
    case compare_op::in: return "in";
    case compare_op::not_in: return "not in";
    }
    return "==";
}

/// One side of a comparison: an environment variable or a literal string.
struct operand {
    bool is_variable = false;
    variable var = variable::extra;
    std::string literal;
};

}  // namespace detail

struct marker::node {
    enum class kind : std::uint8_t { compare, all_of, any_of };
    kind type = kind::compare;
    detail::operand lhs;
    detail::compare_op op = detail::compare_op::equal;
    detail::operand rhs;
    std::vector<node> children;  // for all_of / any_of: at least two, never of the same kind
};

namespace {

using node = marker::node;
using detail::canonical_name;
using detail::compare_op;
using detail::op_text;
using detail::operand;
using detail::variable;
using detail::variable_spellings;

// Deeper nesting than any real marker; the bound keeps recursion off the end of the stack.
constexpr int max_depth = 64;

constexpr std::string_view expected_operand =
    "expected a marker variable (python_version, python_full_version, sys_platform, "
    "platform_system, platform_machine, platform_release, platform_version, "
    "platform_python_implementation, implementation_name, implementation_version, os_name, "
    "extra) or a quoted string";

class marker_parser {
public:
    marker_parser(std::string_view text, std::size_t offset, std::error_code code)
        : in_{text, offset}, code_(code)
    {
    }

    result<node> parse_all()
    {
        auto tree = parse_or(0);
        if (!tree) {
            return tree;
        }
        in_.skip_space();
        if (!in_.at_input_end()) {
            if (in_.peek() == ')') {
                return fail_here("unmatched ')'");
            }
            return fail_here("expected 'and', 'or' or the end of the marker");
        }
        return tree;
    }

private:
    tl::unexpected<error> fail_here(std::string_view what) const { return fail_at(in_.pos, what); }
    tl::unexpected<error> fail_at(std::size_t pos, std::string_view what) const
    {
        return pkg::fail(detail::syntax_error(code_, in_.text, pos, what));
    }

    // Joins `items` into one node of `kind`, splicing children of nested nodes of the same kind
    // (from parentheses) so that `a and (b and c)` and `a and b and c` are the same tree.
    static node join(node::kind kind, std::vector<node> items)
    {
        if (items.size() == 1) {
            return std::move(items.front());
        }
        node out;
        out.type = kind;
        for (auto& item : items) {
            if (item.type == kind) {
                for (auto& child : item.children) {
                    out.children.push_back(std::move(child));
                }
            } else {
                out.children.push_back(std::move(item));
            }
        }
        return out;
    }

    result<node> parse_or(int depth)
    {
        std::vector<node> items;
        while (true) {
            auto item = parse_and(depth);
            if (!item) {
                return item;
            }
            items.push_back(std::move(*item));
            in_.skip_space();
            if (!in_.consume_keyword("or")) {
                break;
            }
        }
        return join(node::kind::any_of, std::move(items));
    }

    result<node> parse_and(int depth)
    {
        std::vector<node> items;
        while (true) {
            auto item = parse_atom(depth);
            if (!item) {
                return item;
            }
            items.push_back(std::move(*item));
            in_.skip_space();
            if (!in_.consume_keyword("and")) {
                break;
            }
        }
        return join(node::kind::all_of, std::move(items));
    }

    result<node> parse_atom(int depth)
    {
        in_.skip_space();
        if (in_.peek() != '(') {
            return parse_comparison();
        }
        if (depth >= max_depth) {
            return fail_here("parentheses nested more than 64 deep");
        }
        const std::size_t open = in_.pos;
        ++in_.pos;
        auto inner = parse_or(depth + 1);
        if (!inner) {
            return inner;
        }
        in_.skip_space();
        if (in_.peek() != ')') {
            return fail_here("expected 'and', 'or' or ')' (the '(' at column " +
                             std::to_string(open + 1) + " is not closed)");
        }
        ++in_.pos;
        return inner;
    }

    result<node> parse_comparison()
    {
        node out;
        auto lhs = parse_operand();
        if (!lhs) {
            return fail(std::move(lhs.error()));
        }
        out.lhs = std::move(*lhs);
        in_.skip_space();
        auto op = parse_op();
        if (!op) {
            return fail(std::move(op.error()));
        }
        out.op = *op;
        in_.skip_space();
        auto rhs = parse_operand();
        if (!rhs) {
            return fail(std::move(rhs.error()));
        }
        out.rhs = std::move(*rhs);
        // Extra names compare normalised (PEP 685); store the literal that way so the printed
        // form shows what is compared.
        if (out.lhs.is_variable && out.lhs.var == variable::extra && !out.rhs.is_variable) {
            out.rhs.literal = normalize_name(out.rhs.literal);
        } else if (out.rhs.is_variable && out.rhs.var == variable::extra &&
                   !out.lhs.is_variable) {
            out.lhs.literal = normalize_name(out.lhs.literal);
        }
        return out;
    }

    result<operand> parse_operand()
    {
        const char first = in_.peek();
        if (first == '"' || first == '\'') {
            const std::size_t open = in_.pos;
            const std::size_t close = in_.text.find(first, open + 1);
            if (close == std::string_view::npos) {
                return fail_at(open, first == '"'
                                         ? "unterminated string (no closing double quote)"
                                         : "unterminated string (no closing single quote)");
            }
            // packaging hands the string to Python's literal_eval: a NUL or line break in it
            // fails there, and a backslash starts an escape. PEP 508 allows none of them, and
            // guessing Python's escapes would compare against the wrong text: reject.
            for (std::size_t i = open + 1; i < close; ++i) {
                const char c = in_.text[i];
                if (c == '\\') {
                    return fail_at(i, "a backslash in a marker string (PEP 508 strings have no "
                                      "escapes)");
                }
                if (c == '\0' || c == '\n' || c == '\r') {
                    return fail_at(i, detail::describe_char(c) + " in a marker string");
                }
            }
            in_.pos = close + 1;
            return operand{false, variable::extra,
                           std::string(in_.text.substr(open + 1, close - open - 1))};
        }
        if (!detail::is_word_char(first)) {
            return fail_here(expected_operand);
        }
        const std::size_t start = in_.pos;
        std::size_t end = start;
        while (end < in_.text.size() &&
               (detail::is_word_char(in_.text[end]) || in_.text[end] == '.')) {
            ++end;
        }
        const std::string_view word = in_.text.substr(start, end - start);
        for (const auto& spelling : variable_spellings) {
            if (spelling.text == word) {
                in_.pos = end;
                return operand{true, spelling.value, {}};
            }
        }
        return fail_here("unknown marker variable " + detail::quote(word) + "; " +
                         std::string(expected_operand));
    }

    result<compare_op> parse_op()
    {
        if (in_.consume_keyword("in")) {
            return compare_op::in;
        }
        if (in_.consume_keyword("not")) {
            if (!detail::is_space(in_.peek())) {
                return fail_here("expected a space and 'in' after 'not'");
            }
            in_.skip_space();
            if (!in_.consume_keyword("in")) {
                return fail_here("expected 'in' after 'not'");
            }
            return compare_op::not_in;
        }
        // Longest match first, as the tokenizer's alternation does.
        static constexpr std::array<std::pair<std::string_view, compare_op>, 8> ops{{
            {"===", compare_op::arbitrary},
            {"==", compare_op::equal},
            {"~=", compare_op::compatible},
            {"!=", compare_op::not_equal},
            {"<=", compare_op::less_equal},
            {">=", compare_op::greater_equal},
            {"<", compare_op::less},
            {">", compare_op::greater},
        }};
        for (const auto& [spelling, op] : ops) {
            if (in_.text.substr(in_.pos, spelling.size()) == spelling) {
                in_.pos += spelling.size();
                return op;
            }
        }
        return fail_here(
            "expected a comparison operator (<, <=, ==, !=, >=, >, ~=, ===, in, not in)");
    }

    detail::cursor in_;
    std::error_code code_;
};

// --- evaluation ----------------------------------------------------------------------------------

bool is_version_op(compare_op op) noexcept
{
    return op != compare_op::in && op != compare_op::not_in;
}

bool compare_values(std::string_view lhs, compare_op op, std::string_view rhs)
{
    if (is_version_op(op)) {
        std::string spec_text(op_text(op));
        spec_text += rhs;
        if (auto spec = pep440::specifier::parse(spec_text)) {
            if (auto version = pep440::version::parse(lhs)) {
                return spec->matches(*version);
            }
        }
    }
    switch (op) {
    case compare_op::in: return rhs.find(lhs) != std::string_view::npos;
    case compare_op::not_in: return rhs.find(lhs) == std::string_view::npos;
    case compare_op::equal: return lhs == rhs;
    case compare_op::not_equal: return lhs != rhs;
    // string_view compares bytes as unsigned char: UTF-8 byte order is code point order,
    // which is how Python orders str.
    case compare_op::less: return lhs < rhs;
    case compare_op::less_equal: return lhs <= rhs;
    case compare_op::greater_equal: return lhs >= rhs;
    case compare_op::greater: return lhs > rhs;
    case compare_op::compatible:
    case compare_op::arbitrary: return false;  // no string meaning; packaging raises
    }
    return false;
}

struct evaluation {
    const marker_environment& env;
    std::string_view extra;  // already normalised
    std::string repaired_full_version;

    std::string_view value_of(const operand& side) const
    {
        if (!side.is_variable) {
            return side.literal;
        }
        if (side.var == variable::extra) {
            return extra;
        }
        if (side.var == variable::python_full_version && !repaired_full_version.empty()) {
            return repaired_full_version;
        }
        return env.get(canonical_name(side.var)).value_or(std::string_view{});
    }

    bool run(const node& n) const
    {
        switch (n.type) {
        case node::kind::all_of:
            for (const auto& child : n.children) {
                if (!run(child)) {
                    return false;
                }
            }
            return true;
        case node::kind::any_of:
            for (const auto& child : n.children) {
                if (run(child)) {
                    return true;
                }
            }
            return false;
        case node::kind::compare: break;
        }
        const bool about_extra = (n.lhs.is_variable && n.lhs.var == variable::extra) ||
                                 (n.rhs.is_variable && n.rhs.var == variable::extra);
        if (about_extra) {
            return compare_values(normalize_name(value_of(n.lhs)), n.op,
                                  normalize_name(value_of(n.rhs)));
        }
        return compare_values(value_of(n.lhs), n.op, value_of(n.rhs));
    }
};

// --- printing ------------------------------------------------------------------------------------

void print_operand(std::string& out, const operand& side)
{
    if (side.is_variable) {
        out += canonical_name(side.var);
        return;
    }
    // A string cannot hold both quote characters (there are no escapes), so one always works.
    const char quote = side.literal.find('"') == std::string::npos ? '"' : '\'';
    out.push_back(quote);
    out += side.literal;
    out.push_back(quote);
}

void print_node(std::string& out, const node& n, bool inside_and)
{
    switch (n.type) {
    case node::kind::compare:
        print_operand(out, n.lhs);
        out.push_back(' ');
        out += op_text(n.op);
        out.push_back(' ');
        print_operand(out, n.rhs);
        return;
    case node::kind::all_of:
        for (std::size_t i = 0; i < n.children.size(); ++i) {
            if (i != 0) {
                out += " and ";
            }
            print_node(out, n.children[i], true);
        }
        return;
    case node::kind::any_of:
        if (inside_and) {
            out.push_back('(');
        }
        for (std::size_t i = 0; i < n.children.size(); ++i) {
            if (i != 0) {
                out += " or ";
            }
            print_node(out, n.children[i], false);
        }
        if (inside_and) {
            out.push_back(')');
        }
        return;
    }
}

}  // namespace

std::optional<std::string_view> marker_environment::get(std::string_view name) const noexcept
{
    if (name == "implementation_name") return implementation_name;
    if (name == "implementation_version") return implementation_version;
    if (name == "os_name") return os_name;
    if (name == "platform_machine") return platform_machine;
    if (name == "platform_python_implementation") return platform_python_implementation;
    if (name == "platform_release") return platform_release;
    if (name == "platform_system") return platform_system;
    if (name == "platform_version") return platform_version;
    if (name == "python_full_version") return python_full_version;
    if (name == "python_version") return python_version;
    if (name == "sys_platform") return sys_platform;
    return std::nullopt;
}

result<marker> marker::parse(std::string_view text)
{
    return parse_within(text, 0, errc::invalid_marker);
}

result<marker> marker::parse_within(std::string_view text, std::size_t offset,
                                    std::error_code code)
{
    if (offset > text.size()) {
        offset = text.size();
    }
    marker_parser parser(text, offset, code);
    auto tree = parser.parse_all();
    if (!tree) {
        return fail(std::move(tree.error()));
    }
    marker out;
    out.root_ = std::make_shared<const node>(std::move(*tree));
    return out;
}

bool marker::evaluate(const marker_environment& env, std::span<const std::string> extras) const
{
    if (!root_) {
        return true;
    }
    evaluation eval{env, {}, {}};
    // Non-tagged CPython builds report "3.13.0+", which is not a version; packaging reads it
    // as a local version so that comparisons still work.
    if (!env.python_full_version.empty() && env.python_full_version.back() == '+') {
        eval.repaired_full_version = env.python_full_version + "local";
    }
    if (extras.empty()) {
        return eval.run(*root_);
    }
    for (const auto& extra : extras) {
        const std::string normalized = normalize_name(extra);
        eval.extra = normalized;
        if (eval.run(*root_)) {
            return true;
        }
    }
    return false;
}

std::string marker::to_string() const
{
    std::string out;
    if (root_) {
        print_node(out, *root_, false);
    }
    return out;
}

}  // namespace pkg::pep508
