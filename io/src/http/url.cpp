#include "http/url.hpp"

#include "http/http_errc.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>

namespace pkg::io {
namespace {

char to_lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_scheme_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
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

bool iequals(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return to_lower(x) == to_lower(y);
           });
}

// User text in an error message: double-quoted, non-printable bytes as \xNN, cut at 200 bytes.
std::string quoted(std::string_view text)
{
    static constexpr char digits[] = "0123456789abcdef";
    constexpr std::size_t max_bytes = 200;
    const std::size_t shown = std::min(text.size(), max_bytes);
    std::string out = "\"";
    for (std::size_t i = 0; i < shown; ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte == '"' || byte == '\\') {
            out += '\\';
            out += static_cast<char>(byte);
        } else if (byte < 0x20 || byte >= 0x7f) {
            out += "\\x";
            out += digits[byte >> 4];
            out += digits[byte & 0xf];
        } else {
            out += static_cast<char>(byte);
        }
    }
    out += '"';
    if (shown < text.size()) {
        out += "...";
    }
    return out;
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
    out.reserve(kept.size());
    for (const char c : kept) {
        if (c != '\t' && c != '\n' && c != '\r') {
            out += c;
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

// The target of §5.2.2, minus what is copied verbatim from one input: which input gives the
// scheme and the authority, the merged path, and the query (a view into either input).
struct target_parts {
    bool is_scheme_from_reference = false;
    bool is_authority_from_reference = false;
    bool has_authority = false;
    std::string path;
    std::optional<std::string_view> query;
};

// The one implementation of reference resolution, for both `resolve` and `resolve_url`.
target_parts resolve_parts(const url_reference& base, const url_reference& reference)
{
    target_parts t;
    t.is_scheme_from_reference = reference.scheme.has_value();
    if (reference.scheme || reference.authority) {
        t.is_authority_from_reference = true;
        t.has_authority = reference.authority.has_value();
        t.path = remove_dot_segments(reference.path);
        t.query = reference.query;
    } else {
        t.has_authority = base.authority.has_value();
        if (reference.path.empty()) {
            // RFC 3986 keeps the base path as is here; removing its dot segments too (as
            // browsers do) makes resolving a result again a no-op.
            t.path = remove_dot_segments(base.path);
            t.query = reference.query ? reference.query : base.query;
        } else {
            t.path = reference.path.front() == '/'
                         ? remove_dot_segments(reference.path)
                         : remove_dot_segments(merge_paths(base, reference.path));
            t.query = reference.query;
        }
    }
    const std::string_view scheme =
        reference.scheme ? *reference.scheme : base.scheme.value_or(std::string_view());
    if (t.has_authority && t.path.empty() && (iequals(scheme, "http") || iequals(scheme, "https"))) {
        t.path = "/";
    }
    // Without an authority a path starting "//" would read back as one; "/." keeps it a path.
    if (!t.has_authority && t.path.starts_with("//")) {
        t.path.insert(0, "/.");
    }
    return t;
}

// A parsed url seen as its components. The authority's text is never read by resolve_parts
// (only whether there is one), so the host stands in for it.
url_reference as_reference(const url& u)
{
    url_reference r;
    if (!u.scheme.empty()) {
        r.scheme = u.scheme;
    }
    if (u.has_authority) {
        r.authority = std::string_view(u.host);
    }
    r.path = u.path;
    if (u.has_query) {
        r.query = std::string_view(u.query);
    }
    if (u.has_fragment) {
        r.fragment = std::string_view(u.fragment);
    }
    return r;
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

std::string_view default_port(std::string_view scheme)
{
    if (scheme == "http") {
        return "80";
    }
    if (scheme == "https") {
        return "443";
    }
    return {};
}

}  // namespace

std::string redact_url(std::string_view text)
{
    // Where the authority starts: split_url's view when the text splits into one (also for
    // scheme-relative "//user@host"), else after any "://" (text that does not split, such as
    // " https://u:p@h" with a leading space, still loses its credentials).
    std::size_t auth_begin = 0;
    if (const url_reference parts = split_url(text); parts.authority) {
        auth_begin = static_cast<std::size_t>(parts.authority->data() - text.data());
    } else if (const auto scheme_end = text.find("://"); scheme_end != std::string_view::npos) {
        auth_begin = scheme_end + 3;
    } else {
        return std::string(text);
    }
    auto auth_end = text.find_first_of("/?#", auth_begin);
    if (auth_end == std::string_view::npos) {
        auth_end = text.size();
    }
    const auto at = text.substr(auth_begin, auth_end - auth_begin).rfind('@');
    if (at == std::string_view::npos) {
        return std::string(text);
    }
    std::string out(text.substr(0, auth_begin));
    out += "***";
    out.append(text.substr(auth_begin + at));
    return out;
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

url_reference split_url(std::string_view text) noexcept
{
    url_reference out;
    // scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" before any of "/?#".
    if (!text.empty() && is_alpha(text.front())) {
        std::size_t i = 1;
        while (i < text.size() && is_scheme_char(text[i])) {
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

std::string_view without_fragment(std::string_view text) noexcept
{
    return text.substr(0, text.find('#'));
}

std::string last_path_segment(std::string_view text)
{
    const url_reference parts = split_url(text);
    const std::size_t slash = parts.path.rfind('/');
    return percent_decode(slash == std::string_view::npos ? parts.path
                                                          : parts.path.substr(slash + 1));
}

result<url> url::parse_reference(std::string_view text)
{
    auto bad = [&](std::string_view why) {
        return fail(http_errc::invalid_url,
                    "invalid URL '" + redact_url(text) + "': " + std::string(why));
    };
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '\\') {
            return bad("contains a space, backslash or control character");
        }
    }
    // Splitting is split_url's; what follows validates and normalises the authority.
    const url_reference parts = split_url(text);
    url out;
    if (parts.scheme) {
        out.scheme.resize(parts.scheme->size());
        std::transform(parts.scheme->begin(), parts.scheme->end(), out.scheme.begin(), to_lower);
    }
    if (parts.fragment) {
        out.has_fragment = true;
        out.fragment = std::string(*parts.fragment);
    }
    if (parts.query) {
        out.has_query = true;
        out.query = std::string(*parts.query);
    }
    if (parts.authority) {
        out.has_authority = true;
        std::string_view authority = *parts.authority;
        if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
            out.has_userinfo = true;
            out.userinfo = std::string(authority.substr(0, at));
            authority.remove_prefix(at + 1);
        }
        std::string_view port;
        if (authority.starts_with('[')) {
            const auto close = authority.find(']');
            if (close == std::string_view::npos) {
                return bad("unterminated '[' in the host");
            }
            const auto literal = authority.substr(1, close - 1);
            if (literal.empty() ||
                !std::all_of(literal.begin(), literal.end(), [](char c) {
                    return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' ||
                           c == '.';
                })) {
                return bad("the IPv6 literal '" + std::string(literal) + "' is not valid");
            }
            out.host = std::string(authority.substr(0, close + 1));
            std::transform(out.host.begin(), out.host.end(), out.host.begin(), to_lower);
            const auto after = authority.substr(close + 1);
            if (!after.empty()) {
                if (after.front() != ':') {
                    return bad("unexpected text after ']' in the host");
                }
                port = after.substr(1);
            }
        } else {
            const auto pc = authority.rfind(':');
            std::string_view host = authority.substr(0, pc);
            if (pc != std::string_view::npos) {
                port = authority.substr(pc + 1);
            }
            if (host.find_first_of("[]") != std::string_view::npos) {
                return bad("'[' or ']' outside an IPv6 literal");
            }
            if (host.find(':') != std::string_view::npos) {
                return bad("the host '" + std::string(host) + "' contains ':'");
            }
            out.host.resize(host.size());
            std::transform(host.begin(), host.end(), out.host.begin(), to_lower);
        }
        if (!port.empty()) {
            if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
                    return c >= '0' && c <= '9';
                })) {
                return bad("the port '" + std::string(port) + "' is not a number");
            }
            if (std::stoul(std::string(port)) > 65535) {
                return bad("the port '" + std::string(port) + "' is larger than 65535");
            }
            out.port = std::string(port);
        }
    }
    out.path = std::string(parts.path);
    return out;
}

result<url> url::parse(std::string_view text)
{
    auto parsed = parse_reference(text);
    if (!parsed) {
        return parsed;
    }
    if (parsed->scheme.empty()) {
        return fail(http_errc::invalid_url,
                    "invalid URL '" + redact_url(text) + "': not absolute (no scheme)");
    }
    if (parsed->scheme != "http" && parsed->scheme != "https") {
        return fail(http_errc::unsupported_scheme,
                    "unsupported URL scheme '" + parsed->scheme + "' in '" + redact_url(text) +
                        "'",
                    {}, "only http:// and https:// URLs can be fetched");
    }
    if (!parsed->has_authority || parsed->host.empty()) {
        return fail(http_errc::invalid_url,
                    "invalid URL '" + redact_url(text) + "': no host");
    }
    return parsed;
}

std::uint16_t url::port_number() const
{
    const std::string_view p = port.empty() ? default_port(scheme) : std::string_view(port);
    if (p.empty()) {
        return 0;
    }
    return static_cast<std::uint16_t>(std::stoul(std::string(p)));
}

std::string url::host_name() const
{
    if (host.size() >= 2 && host.front() == '[') {
        return host.substr(1, host.size() - 2);
    }
    return host;
}

std::string url::host_port() const
{
    if (port.empty() || port == default_port(scheme)) {
        return host;
    }
    return host + ":" + port;
}

std::string url::origin() const
{
    return scheme + "://" + host + ":" + std::to_string(port_number());
}

std::string url::request_target() const
{
    std::string out = path.empty() ? std::string("/") : path;
    if (has_query) {
        out += '?';
        out += query;
    }
    return out;
}

std::string url::to_string() const
{
    std::string out;
    if (!scheme.empty()) {
        out += scheme;
        out += ':';
    }
    if (has_authority) {
        out += "//";
        if (has_userinfo) {
            out += userinfo;
            out += '@';
        }
        out += host;
        if (!port.empty()) {
            out += ':';
            out += port;
        }
    }
    out += path;
    if (has_query) {
        out += '?';
        out += query;
    }
    if (has_fragment) {
        out += '#';
        out += fragment;
    }
    return out;
}

std::string url::redacted() const
{
    url copy = *this;
    if (copy.has_userinfo) {
        copy.userinfo = "***";
    }
    copy.has_fragment = false;
    copy.fragment.clear();
    return copy.to_string();
}

url resolve(const url& base, const url& reference)
{
    target_parts parts = resolve_parts(as_reference(base), as_reference(reference));
    url t;
    t.scheme = parts.is_scheme_from_reference ? reference.scheme : base.scheme;
    const url& authority = parts.is_authority_from_reference ? reference : base;
    t.has_authority = authority.has_authority;
    t.has_userinfo = authority.has_userinfo;
    t.userinfo = authority.userinfo;
    t.host = authority.host;
    t.port = authority.port;
    t.path = std::move(parts.path);
    if (parts.query) {
        t.has_query = true;
        t.query = std::string(*parts.query);
    }
    t.has_fragment = reference.has_fragment;
    t.fragment = reference.fragment;
    return t;
}

result<url> resolve(const url& base, std::string_view reference)
{
    auto ref = url::parse_reference(reference);
    if (!ref) {
        return fail(ref.error());
    }
    return resolve(base, *ref);
}

result<std::string> resolve_url(std::string_view base_text, std::string_view reference_text)
{
    const std::string base_clean = cleaned(base_text);
    const std::string reference_clean = cleaned(reference_text);
    const url_reference base = split_url(base_clean);
    if (!base.scheme) {
        return fail(http_errc::invalid_url,
                    "cannot resolve " + quoted(redact_url(reference_clean)) + " against " +
                        quoted(redact_url(base_clean)) +
                        ": the base URL has no scheme (expected an absolute URL such as "
                        "https://host/simple/name/ or file:///path/)");
    }
    const url_reference reference = split_url(reference_clean);
    const target_parts parts = resolve_parts(base, reference);

    const std::string_view scheme = parts.is_scheme_from_reference ? *reference.scheme : *base.scheme;
    std::string out;
    out.reserve(base_clean.size() + reference_clean.size() + 8);
    std::transform(scheme.begin(), scheme.end(), std::back_inserter(out), to_lower);
    out += ':';
    if (parts.has_authority) {
        out += "//";
        append_escaped(out, parts.is_authority_from_reference ? *reference.authority
                                                              : *base.authority);
    }
    append_escaped(out, parts.path);
    if (parts.query) {
        out += '?';
        append_escaped(out, *parts.query);
    }
    if (reference.fragment) {
        out += '#';
        append_escaped(out, *reference.fragment);
    }
    return out;
}

}  // namespace pkg::io
