#include "index/url_resolve.hpp"

#include <pkg/engine/errc.hpp>

#include "wheel/tags.hpp"

namespace pkg::index {
namespace {

bool is_alpha(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

int hex_value(char c) noexcept
{
    if (is_digit(c)) {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

char lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// What a browser does to an href before parsing it: tab/CR/LF vanish everywhere, and C0
// controls and spaces at either end are trimmed.
std::string cleaned(std::string_view text)
{
    std::size_t begin = 0;
    std::size_t end = text.size();
    while (begin < end && static_cast<unsigned char>(text[begin]) <= 0x20) {
        ++begin;
    }
    while (end > begin && static_cast<unsigned char>(text[end - 1]) <= 0x20) {
        --end;
    }
    const std::string_view kept = text.substr(begin, end - begin);
    if (kept.find_first_of("\t\n\r") == std::string_view::npos) {
        return std::string(kept);
    }
    std::string out;
    out.reserve(end - begin);
    for (std::size_t i = begin; i < end; ++i) {
        if (text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
            out += text[i];
        }
    }
    return out;
}

// RFC 3986 §5.2.4. `input` shrinks from the front; the two cases that "replace the prefix with
// '/'" when nothing follows point it at a literal "/" instead of rewriting a buffer.
std::string remove_dot_segments(std::string_view input)
{
    static constexpr std::string_view slash = "/";
    std::string output;
    output.reserve(input.size());
    const auto drop_last_segment = [&output] {
        const std::size_t last = output.rfind('/');
        output.erase(last == std::string::npos ? 0 : last);
    };
    while (!input.empty()) {
        if (input.starts_with("../")) {
            input.remove_prefix(3);
        } else if (input.starts_with("./")) {
            input.remove_prefix(2);
        } else if (input.starts_with("/./")) {
            input.remove_prefix(2);
        } else if (input == "/.") {
            input = slash;
        } else if (input.starts_with("/../")) {
            input.remove_prefix(3);
            drop_last_segment();
        } else if (input == "/..") {
            input = slash;
            drop_last_segment();
        } else if (input == "." || input == "..") {
            input = {};
        } else {
            const std::size_t next = input.find('/', 1);
            const std::size_t length = next == std::string_view::npos ? input.size() : next;
            output.append(input.substr(0, length));
            input.remove_prefix(length);
        }
    }
    return output;
}

// RFC 3986 §5.2.3.
std::string merge_paths(const url_reference& base, std::string_view reference_path)
{
    if (base.authority && base.path.empty()) {
        return "/" + std::string(reference_path);
    }
    const std::size_t last = base.path.rfind('/');
    if (last == std::string_view::npos) {
        return std::string(reference_path);
    }
    return std::string(base.path.substr(0, last + 1)) + std::string(reference_path);
}

bool needs_escape(unsigned char c) noexcept
{
    if (c <= 0x20 || c >= 0x7f) {
        return true;
    }
    switch (c) {
    case '"':
    case '<':
    case '>':
    case '\\':
    case '^':
    case '`':
    case '{':
    case '|':
    case '}':
        return true;
    default:
        return false;
    }
}

void append_escaped(std::string& out, std::string_view text)
{
    static constexpr char digits[] = "0123456789ABCDEF";
    // Copies runs of safe bytes at once: URLs rarely need any escaping.
    std::size_t run = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (needs_escape(c)) {
            out.append(text.substr(run, i - run));
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 0xf];
            run = i + 1;
        }
    }
    out.append(text.substr(run));
}

} // namespace

url_reference split_url(std::string_view text) noexcept
{
    url_reference out;
    // scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" before any of "/?#".
    if (!text.empty() && is_alpha(text.front())) {
        std::size_t i = 1;
        while (i < text.size() && (is_alpha(text[i]) || is_digit(text[i]) || text[i] == '+' ||
                                   text[i] == '-' || text[i] == '.')) {
            ++i;
        }
        if (i < text.size() && text[i] == ':') {
            out.scheme = text.substr(0, i);
            text.remove_prefix(i + 1);
        }
    }
    if (const std::size_t hash = text.find('#'); hash != std::string_view::npos) {
        out.fragment = text.substr(hash + 1);
        text = text.substr(0, hash);
    }
    if (const std::size_t question = text.find('?'); question != std::string_view::npos) {
        out.query = text.substr(question + 1);
        text = text.substr(0, question);
    }
    if (text.starts_with("//")) {
        const std::size_t end = text.find('/', 2);
        const std::size_t length = end == std::string_view::npos ? text.size() : end;
        out.authority = text.substr(2, length - 2);
        text.remove_prefix(length);
    }
    out.path = text;
    return out;
}

result<std::string> resolve_url(std::string_view base_text, std::string_view reference_text)
{
    const std::string base_clean = cleaned(base_text);
    const std::string reference_clean = cleaned(reference_text);
    const url_reference base = split_url(base_clean);
    if (!base.scheme) {
        return fail(errc::invalid_url,
                    "cannot resolve " + pkg::quote_for_message(reference_clean) + " against " +
                        pkg::quote_for_message(redact_url(base_clean)) +
                        ": the base URL has no scheme (expected an absolute URL such as "
                        "https://host/simple/name/ or file:///path/)");
    }
    const url_reference reference = split_url(reference_clean);

    std::string_view scheme;
    std::optional<std::string_view> authority;
    std::string path;
    std::optional<std::string_view> query;
    if (reference.scheme) {
        scheme = *reference.scheme;
        authority = reference.authority;
        path = remove_dot_segments(reference.path);
        query = reference.query;
    } else {
        scheme = *base.scheme;
        if (reference.authority) {
            authority = reference.authority;
            path = remove_dot_segments(reference.path);
            query = reference.query;
        } else {
            authority = base.authority;
            if (reference.path.empty()) {
                // RFC 3986 keeps the base path as is here; removing its dot segments too
                // (as browsers do) makes resolving a result again a no-op.
                path = remove_dot_segments(base.path);
                query = reference.query ? reference.query : base.query;
            } else {
                path = reference.path.front() == '/'
                           ? remove_dot_segments(reference.path)
                           : remove_dot_segments(merge_paths(base, reference.path));
                query = reference.query;
            }
        }
    }

    std::string lowered_scheme;
    for (const char c : scheme) {
        lowered_scheme += lower(c);
    }
    if (authority && path.empty() && (lowered_scheme == "http" || lowered_scheme == "https")) {
        path = "/";
    }
    // Without an authority a path starting "//" would read back as one; "/." keeps it a path.
    if (!authority && path.starts_with("//")) {
        path.insert(0, "/.");
    }

    std::string out = lowered_scheme;
    out += ':';
    if (authority) {
        out += "//";
        append_escaped(out, *authority);
    }
    append_escaped(out, path);
    if (query) {
        out += '?';
        append_escaped(out, *query);
    }
    if (reference.fragment) {
        out += '#';
        append_escaped(out, *reference.fragment);
    }
    return out;
}

std::string_view without_fragment(std::string_view url) noexcept
{
    return url.substr(0, url.find('#'));
}

std::string last_path_segment(std::string_view url)
{
    const url_reference parts = split_url(url);
    const std::size_t slash = parts.path.rfind('/');
    return percent_decode(slash == std::string_view::npos ? parts.path
                                                          : parts.path.substr(slash + 1));
}

std::string percent_decode(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
            hex_value(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::string redact_url(std::string_view url)
{
    const url_reference parts = split_url(url);
    if (!parts.authority) {
        return std::string(url);
    }
    const std::size_t at = parts.authority->rfind('@');
    if (at == std::string_view::npos) {
        return std::string(url);
    }
    const std::string_view userinfo = parts.authority->substr(0, at);
    const std::size_t colon = userinfo.find(':');
    const std::string redacted =
        colon == std::string_view::npos ? "***" : std::string(userinfo.substr(0, colon)) + ":***";
    // The views point into `url`, so offsets give the text around the userinfo.
    const auto begin = static_cast<std::size_t>(userinfo.data() - url.data());
    return std::string(url.substr(0, begin)) + redacted + std::string(url.substr(begin + at));
}

} // namespace pkg::index
