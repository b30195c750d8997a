#include "http/url.hpp"

#include "http/http_errc.hpp"

#include <algorithm>
#include <cctype>

namespace pkg::io {
namespace {

char to_lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool is_scheme_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
}

// RFC 3986 §5.2.4.
std::string remove_dot_segments(std::string_view in)
{
    std::string out;
    while (!in.empty()) {
        if (in.starts_with("../")) {
            in.remove_prefix(3);
        } else if (in.starts_with("./")) {
            in.remove_prefix(2);
        } else if (in.starts_with("/./")) {
            in.remove_prefix(2);
        } else if (in == "/.") {
            in = "/";
        } else if (in.starts_with("/../") || in == "/..") {
            in = in.size() == 3 ? std::string_view("/") : in.substr(3);
            const auto slash = out.rfind('/');
            out.erase(slash == std::string::npos ? 0 : slash);
        } else if (in == "." || in == "..") {
            in = {};
        } else {
            const auto next = in.find('/', in.front() == '/' ? 1 : 0);
            const auto len = next == std::string_view::npos ? in.size() : next;
            out.append(in.substr(0, len));
            in.remove_prefix(len);
        }
    }
    return out;
}

// RFC 3986 §5.2.3.
std::string merge_paths(const url& base, const std::string& ref_path)
{
    if (base.has_authority && base.path.empty()) {
        return "/" + ref_path;
    }
    const auto slash = base.path.rfind('/');
    if (slash == std::string::npos) {
        return ref_path;
    }
    return base.path.substr(0, slash + 1) + ref_path;
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
    const auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) {
        return std::string(text);
    }
    const auto auth_begin = scheme_end + 3;
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
        if (text[i] == '%' && i + 2 < text.size() &&
            std::isxdigit(static_cast<unsigned char>(text[i + 1])) != 0 &&
            std::isxdigit(static_cast<unsigned char>(text[i + 2])) != 0) {
            out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
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
    url out;
    std::string_view rest = text;
    // Scheme: letters up to the first ':' that comes before any '/', '?' or '#'.
    const auto colon = rest.find(':');
    const auto delim = rest.find_first_of("/?#");
    if (colon != std::string_view::npos && colon > 0 && (delim == std::string_view::npos || colon < delim) &&
        std::isalpha(static_cast<unsigned char>(rest.front())) != 0 &&
        std::all_of(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(colon), is_scheme_char)) {
        out.scheme.resize(colon);
        std::transform(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(colon),
                       out.scheme.begin(), to_lower);
        rest.remove_prefix(colon + 1);
    }
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
        out.has_fragment = true;
        out.fragment = std::string(rest.substr(hash + 1));
        rest = rest.substr(0, hash);
    }
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        out.has_query = true;
        out.query = std::string(rest.substr(q + 1));
        rest = rest.substr(0, q);
    }
    if (rest.starts_with("//")) {
        out.has_authority = true;
        rest.remove_prefix(2);
        const auto slash = rest.find('/');
        std::string_view authority = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
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
    out.path = std::string(rest);
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

url resolve(const url& base, const url& ref)
{
    url t;
    auto copy_authority = [&t](const url& from) {
        t.has_authority = from.has_authority;
        t.has_userinfo = from.has_userinfo;
        t.userinfo = from.userinfo;
        t.host = from.host;
        t.port = from.port;
    };
    if (!ref.scheme.empty()) {
        t.scheme = ref.scheme;
        copy_authority(ref);
        t.path = remove_dot_segments(ref.path);
        t.has_query = ref.has_query;
        t.query = ref.query;
    } else {
        if (ref.has_authority) {
            copy_authority(ref);
            t.path = remove_dot_segments(ref.path);
            t.has_query = ref.has_query;
            t.query = ref.query;
        } else {
            if (ref.path.empty()) {
                t.path = base.path;
                t.has_query = ref.has_query || base.has_query;
                t.query = ref.has_query ? ref.query : base.query;
            } else {
                if (ref.path.front() == '/') {
                    t.path = remove_dot_segments(ref.path);
                } else {
                    t.path = remove_dot_segments(merge_paths(base, ref.path));
                }
                t.has_query = ref.has_query;
                t.query = ref.query;
            }
            copy_authority(base);
        }
        t.scheme = base.scheme;
    }
    t.has_fragment = ref.has_fragment;
    t.fragment = ref.fragment;
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

}  // namespace pkg::io
