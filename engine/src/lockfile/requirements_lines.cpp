#include "lockfile/requirements_lines.hpp"

#include <algorithm>
#include <array>

#include <pkg/engine/errc.hpp>

namespace pkg::lockfile::lines {
namespace {

/// Python's `str.isspace()` restricted to ASCII, which is what `\s` and `strip()` see in the
/// ASCII range. (Non-ASCII spaces such as U+00A0 are left alone; no lockfile tool writes them.)
bool is_space(char c) noexcept
{
    switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case '\x1c':
    case '\x1d':
    case '\x1e':
    case '\x1f': return true;
    default: return false;
    }
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

bool is_env_name_char(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_hex(char c) noexcept
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char to_lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), to_lower);
    return out;
}

/// A value quoted for a message: credentials hidden, shortened so long lines do not drown the
/// reason.
std::string quote_text(std::string_view s)
{
    constexpr std::size_t max_chars = 120;
    const std::string safe = redact_credentials(s);
    std::string out = "'";
    if (safe.size() > max_chars) {
        out.append(safe, 0, max_chars);
        out += "…";
    } else {
        out += safe;
    }
    out += '\'';
    return out;
}

struct option_spec {
    option_kind kind;
    char short_name;  // '\0' when the option has no short form
    std::array<std::string_view, 2> long_names;
    bool takes_value;
};

// pip's SUPPORTED_OPTIONS plus SUPPORTED_OPTIONS_REQ (req_file.py), with their cmdoptions spellings.
constexpr std::array<option_spec, 17> option_specs = {{
    {option_kind::index_url, 'i', {"--index-url", "--pypi-url"}, true},
    {option_kind::extra_index_url, '\0', {"--extra-index-url", {}}, true},
    {option_kind::no_index, '\0', {"--no-index", {}}, false},
    {option_kind::constraint, 'c', {"--constraint", {}}, true},
    {option_kind::requirement, 'r', {"--requirement", {}}, true},
    {option_kind::editable, 'e', {"--editable", {}}, true},
    {option_kind::find_links, 'f', {"--find-links", {}}, true},
    {option_kind::no_binary, '\0', {"--no-binary", {}}, true},
    {option_kind::only_binary, '\0', {"--only-binary", {}}, true},
    {option_kind::prefer_binary, '\0', {"--prefer-binary", {}}, false},
    {option_kind::require_hashes, '\0', {"--require-hashes", {}}, false},
    {option_kind::pre, '\0', {"--pre", {}}, false},
    {option_kind::trusted_host, '\0', {"--trusted-host", {}}, true},
    {option_kind::use_feature, '\0', {"--use-feature", {}}, true},
    {option_kind::global_option, '\0', {"--global-option", {}}, true},
    {option_kind::hash, '\0', {"--hash", {}}, true},
    {option_kind::config_settings, 'C', {"--config-settings", {}}, true},
}};

const option_spec& spec_of(option_kind kind) noexcept
{
    for (const auto& spec : option_specs) {
        if (spec.kind == kind) {
            return spec;
        }
    }
    return option_specs.front();  // unreachable: every kind has a spec
}

/// Resolves a long option the way optparse's `_match_abbrev` does: an exact name, else the one
/// name it is a prefix of.
result<const option_spec*> resolve_long(std::string_view name)
{
    std::vector<std::pair<std::string_view, const option_spec*>> prefixed;
    for (const auto& spec : option_specs) {
        for (std::string_view long_name : spec.long_names) {
            if (long_name.empty()) {
                continue;
            }
            if (long_name == name) {
                return &spec;
            }
            if (long_name.starts_with(name)) {
                prefixed.emplace_back(long_name, &spec);
            }
        }
    }
    if (prefixed.size() == 1) {
        return prefixed.front().second;
    }
    if (prefixed.empty()) {
        return fail(errc::invalid_requirements_file,
                    "unknown option " + quote_text(name) + " in a requirements file");
    }
    std::sort(prefixed.begin(), prefixed.end());
    std::string candidates;
    for (const auto& [long_name, spec] : prefixed) {
        candidates += candidates.empty() ? "" : ", ";
        candidates += long_name;
    }
    return fail(errc::invalid_requirements_file,
                "option " + quote_text(name) + " is ambiguous (it could be " + candidates + ")");
}

}  // namespace

std::string redact_credentials(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t scheme_end = text.find("://", i);
        if (scheme_end == std::string_view::npos) {
            break;
        }
        const std::size_t authority = scheme_end + 3;
        std::size_t end = authority;
        while (end < text.size() && std::string_view("/?# \t'\"").find(text[end]) == std::string_view::npos) {
            ++end;
        }
        const std::size_t at = text.substr(authority, end - authority).rfind('@');
        out.append(text.substr(i, authority - i));
        if (at != std::string_view::npos) {
            out += "****";
            out.append(text.substr(authority + at, end - authority - at));
        } else {
            out.append(text.substr(authority, end - authority));
        }
        i = end;
    }
    out.append(text.substr(std::min(i, text.size())));
    return out;
}

std::vector<numbered_line> split_physical_lines(std::string_view text)
{
    std::vector<numbered_line> out;
    std::uint32_t number = 1;
    std::size_t start = 0;
    std::size_t i = 0;
    auto finish = [&](std::size_t end, std::size_t terminator_size) {
        out.push_back({number++, std::string(text.substr(start, end - start))});
        i = end + terminator_size;
        start = i;
    };
    // Bytes that may start a line terminator; everything else is skipped in one scan.
    static constexpr auto may_end_line = [] {
        std::array<bool, 256> table{};
        for (const unsigned char c : {'\n', '\r', '\v', '\f', '\x1c', '\x1d', '\x1e', '\xc2', '\xe2'}) {
            table[c] = true;
        }
        return table;
    }();
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (!may_end_line[c]) {
            ++i;
        } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            finish(i, 2);
        } else if (c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0x1c || c == 0x1d ||
                   c == 0x1e) {
            finish(i, 1);
        } else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x85) {
            finish(i, 2);  // U+0085 NEXT LINE
        } else if (c == 0xe2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
                   (static_cast<unsigned char>(text[i + 2]) == 0xa8 ||
                    static_cast<unsigned char>(text[i + 2]) == 0xa9)) {
            finish(i, 3);  // U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR
        } else {
            ++i;
        }
    }
    if (start < text.size()) {
        out.push_back({number, std::string(text.substr(start))});
    }
    return out;
}

bool is_comment_line(std::string_view line) noexcept
{
    const auto first = std::find_if(line.begin(), line.end(), [](char c) { return !is_space(c); });
    return first != line.end() && *first == '#';
}

std::vector<numbered_line> join_continuations(std::vector<numbered_line> lines)
{
    std::vector<numbered_line> out;
    out.reserve(lines.size());
    std::optional<numbered_line> pending;  // a continued line being assembled
    for (auto& line : lines) {
        const bool is_comment = is_comment_line(line.text);
        if (!line.text.ends_with('\\') || is_comment) {
            if (is_comment) {
                // pip prefixes a space so that a comment ending a continuation stays a comment
                // once it is glued to the text before it.
                line.text.insert(line.text.begin(), ' ');
            }
            if (pending) {
                pending->text += line.text;
                out.push_back(std::move(*pending));
                pending.reset();
            } else {
                out.push_back(std::move(line));
            }
            continue;
        }
        // pip uses str.strip("\\"): every backslash at either end goes, not just the last one.
        std::string_view body = line.text;
        while (!body.empty() && body.front() == '\\') {
            body.remove_prefix(1);
        }
        while (!body.empty() && body.back() == '\\') {
            body.remove_suffix(1);
        }
        if (!pending) {
            pending = numbered_line{line.number, {}};
        }
        pending->text += body;
    }
    if (pending) {
        out.push_back(std::move(*pending));
    }
    return out;
}

std::string strip_comment(std::string_view line)
{
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '#' && (i == 0 || is_space(line[i - 1]))) {
            line = line.substr(0, i);
            break;
        }
    }
    return std::string(trim(line));
}

std::vector<numbered_line> logical_lines(std::string_view text)
{
    std::vector<numbered_line> out;
    for (auto& line : join_continuations(split_physical_lines(text))) {
        std::string stripped = strip_comment(line.text);
        if (!stripped.empty()) {
            out.push_back({line.number, std::move(stripped)});
        }
    }
    return out;
}

std::string expand_env_vars(std::string_view line, const getenv_function& getenv)
{
    if (line.find("${") == std::string_view::npos) {
        return std::string(line);  // the common case: nothing to look up
    }
    std::string out;
    out.reserve(line.size());
    std::size_t i = 0;
    while (i < line.size()) {
        if (line[i] == '$' && i + 1 < line.size() && line[i + 1] == '{') {
            std::size_t end = i + 2;
            while (end < line.size() && is_env_name_char(line[end])) {
                ++end;
            }
            if (end > i + 2 && end < line.size() && line[end] == '}') {
                const std::string_view name = line.substr(i + 2, end - i - 2);
                const std::optional<std::string> value = getenv ? getenv(name) : std::nullopt;
                if (value && !value->empty()) {
                    out += *value;
                } else {
                    out.append(line.substr(i, end + 1 - i));  // unset or empty: as written
                }
                i = end + 1;
                continue;
            }
        }
        out += line[i++];
    }
    return out;
}

args_and_options break_args_options(std::string_view line)
{
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
            ++i;
        }
        if (i < line.size() && line[i] == '-') {
            std::string_view args = line.substr(0, i);
            while (!args.empty() && (args.back() == ' ' || args.back() == '\t')) {
                args.remove_suffix(1);
            }
            return {std::string(args), std::string(line.substr(i))};
        }
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
            ++i;
        }
    }
    return {std::string(line), {}};
}

result<std::vector<std::string>> shell_split(std::string_view text)
{
    std::vector<std::string> tokens;
    std::string token;
    bool in_token = false;
    std::size_t i = 0;
    auto is_shell_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (i < text.size()) {
        const char c = text[i];
        if (is_shell_space(c)) {
            if (in_token) {
                tokens.push_back(std::move(token));
                token.clear();
                in_token = false;
            }
            ++i;
        } else if (c == '\\') {
            if (i + 1 >= text.size()) {
                return fail(errc::invalid_requirements_file,
                            "cannot split options " + quote_text(text) + ": it ends with a lone '\\'");
            }
            token += text[i + 1];
            in_token = true;
            i += 2;
        } else if (c == '\'' || c == '"') {
            const std::size_t open = i++;
            in_token = true;
            for (;;) {
                if (i >= text.size()) {
                    return fail(errc::invalid_requirements_file,
                                "cannot split options " + quote_text(text) + ": the quote at column " +
                                    std::to_string(open + 1) + " is never closed");
                }
                const char q = text[i];
                if (q == c) {
                    ++i;
                    break;
                }
                // In double quotes shlex lets `\` escape only `"` and `\` itself.
                if (c == '"' && q == '\\' && i + 1 < text.size() &&
                    (text[i + 1] == '"' || text[i + 1] == '\\')) {
                    token += text[i + 1];
                    i += 2;
                    continue;
                }
                token += q;
                ++i;
            }
        } else {
            // Copy the run of ordinary characters at once (hash tokens are 70+ characters).
            std::size_t end = i;
            while (end < text.size() && !is_shell_space(text[end]) && text[end] != '\\' && text[end] != '\'' &&
                   text[end] != '"') {
                ++end;
            }
            token.append(text.substr(i, end - i));
            in_token = true;
            i = end;
        }
    }
    if (in_token) {
        tokens.push_back(std::move(token));
    }
    return tokens;
}

result<parsed_options> parse_line_options(const std::vector<std::string>& tokens)
{
    parsed_options out;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const std::string& token = tokens[i];
        if (token == "--") {
            out.extra_args.insert(out.extra_args.end(), tokens.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                  tokens.end());
            break;
        }
        if (token.starts_with("--")) {
            const std::size_t eq = token.find('=');
            const std::string_view name = std::string_view(token).substr(0, eq);
            auto spec = resolve_long(name);
            if (!spec) {
                return fail(spec.error());
            }
            line_option option{(*spec)->kind, std::string(name), {}};
            if ((*spec)->takes_value) {
                if (eq != std::string::npos) {
                    option.value = token.substr(eq + 1);
                } else if (i + 1 < tokens.size()) {
                    option.value = tokens[++i];
                } else {
                    return fail(errc::invalid_requirements_file,
                                "option " + quote_text(name) + " needs a value");
                }
            } else if (eq != std::string::npos) {
                return fail(errc::invalid_requirements_file,
                            "option " + quote_text(name) + " takes no value (got " + quote_text(token) + ")");
            }
            out.options.push_back(std::move(option));
        } else if (token.size() > 1 && token.front() == '-') {
            const option_spec* found = nullptr;
            for (const auto& spec : option_specs) {
                if (spec.short_name != '\0' && spec.short_name == token[1]) {
                    found = &spec;
                }
            }
            if (found == nullptr) {
                return fail(errc::invalid_requirements_file,
                            "unknown option " + quote_text(token.substr(0, 2)) + " in a requirements file");
            }
            // Every short option pip allows here takes a value: `-rfile` or `-r file`.
            line_option option{found->kind, token.substr(0, 2), {}};
            if (token.size() > 2) {
                option.value = token.substr(2);
            } else if (i + 1 < tokens.size()) {
                option.value = tokens[++i];
            } else {
                return fail(errc::invalid_requirements_file,
                            "option " + quote_text(option.spelling) + " needs a value");
            }
            out.options.push_back(std::move(option));
        } else {
            out.extra_args.push_back(token);
        }
    }
    return out;
}

std::string_view option_name(option_kind kind) noexcept
{
    return spec_of(kind).long_names.front();
}

std::size_t hash_hex_length(std::string_view lower_case_algorithm) noexcept
{
    if (lower_case_algorithm == "sha256") {
        return 64;
    }
    if (lower_case_algorithm == "sha384") {
        return 96;
    }
    if (lower_case_algorithm == "sha512") {
        return 128;
    }
    return 0;
}

result<hash_digest> parse_hash(std::string_view value)
{
    const std::size_t colon = value.find(':');
    if (colon == std::string_view::npos) {
        return fail(errc::invalid_requirements_file,
                    "hash " + quote_text(value) + " is not algorithm:hex-digest (e.g. --hash=sha256:…)");
    }
    hash_digest out{lower(value.substr(0, colon)), lower(value.substr(colon + 1))};
    const std::size_t expected = hash_hex_length(out.algorithm);
    if (expected == 0) {
        return fail(errc::invalid_requirements_file,
                    "hash algorithm " + quote_text(value.substr(0, colon)) + " in " + quote_text(value) +
                        " is not allowed; use sha256, sha384 or sha512 (as pip does)");
    }
    const auto bad = std::find_if(out.digest.begin(), out.digest.end(), [](char c) { return !is_hex(c); });
    if (bad != out.digest.end()) {
        return fail(errc::invalid_requirements_file,
                    "hash " + quote_text(value) + " has a character that is not a hex digit: " +
                        quote_text(std::string_view(&*bad, 1)));
    }
    if (out.digest.size() != expected) {
        return fail(errc::invalid_requirements_file,
                    "hash " + quote_text(value) + " has " + std::to_string(out.digest.size()) + " hex digits; " +
                        out.algorithm + " needs " + std::to_string(expected));
    }
    return out;
}

}  // namespace pkg::lockfile::lines
