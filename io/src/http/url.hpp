#pragma once
/// \file
/// URLs as the HTTP client and the index parsers need them: RFC 3986 parsing of absolute URLs,
/// reference resolution (§5.2, one implementation for both the strict `url` type and the
/// lenient text form index pages need), percent-decoding and credential-free printing.

#include <pkg/io/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pkg::io {

/// A parsed URI reference. Components are kept as written (percent-encoding untouched) except
/// that scheme and reg-name hosts are lower-cased. `has_*` flags distinguish "absent" from
/// "empty", which §5.2 resolution needs (`http://h?` has an empty query, `http://h` none).
struct url {
    std::string scheme;    ///< "http", "https"; empty for a relative reference.
    std::string userinfo;  ///< "user:password" (percent-encoded) or empty.
    std::string host;      ///< "example.org", "127.0.0.1" or "[::1]" (brackets kept).
    std::string port;      ///< Digits as written, or empty for the scheme's default.
    std::string path;      ///< "/a/b" (may be empty).
    std::string query;     ///< Without the '?'.
    std::string fragment;  ///< Without the '#'.
    bool has_authority = false;
    bool has_userinfo = false;
    bool has_query = false;
    bool has_fragment = false;

    /// Parses a URI reference (absolute or relative). Rejects control characters, spaces,
    /// backslashes, a bad port (non-digits or > 65535) and an unterminated "[IPv6]".
    /// Errors: `http_errc::invalid_url` citing the text (credentials redacted).
    [[nodiscard]] static result<url> parse_reference(std::string_view text);

    /// Parses an absolute http or https URL with a non-empty host.
    /// Errors: `http_errc::invalid_url`, `http_errc::unsupported_scheme`.
    [[nodiscard]] static result<url> parse(std::string_view text);

    /// The port as a number: the explicit one or 80/443 by scheme (0 for other schemes).
    [[nodiscard]] std::uint16_t port_number() const;

    /// Host without IPv6 brackets, for DNS resolution, SNI and certificate checks.
    [[nodiscard]] std::string host_name() const;

    /// "host" or "host:port" when the port is not the scheme's default (Host header, CONNECT).
    [[nodiscard]] std::string host_port() const;

    /// "scheme://host:port" with the port always spelled out: the key of a connection pool.
    [[nodiscard]] std::string origin() const;

    /// Path and query as sent in an origin-form request line ("/" when the path is empty).
    [[nodiscard]] std::string request_target() const;

    /// The full text, credentials included. Never log this: use `redacted()`.
    [[nodiscard]] std::string to_string() const;

    /// The text with any userinfo replaced by "***" and the fragment dropped: safe for logs and
    /// error messages.
    [[nodiscard]] std::string redacted() const;
};

/// The five components of a URI reference (RFC 3986 appendix B), as views into the text that
/// was split. An absent component differs from an empty one: `file:///x` has an empty
/// authority, `mailto:x` none; `a?` has an empty query, `a` none.
struct url_reference {
    std::optional<std::string_view> scheme;     ///< Without the ':'.
    std::optional<std::string_view> authority;  ///< Without the leading "//".
    std::string_view path;
    std::optional<std::string_view> query;     ///< Without the '?'.
    std::optional<std::string_view> fragment;  ///< Without the '#'.
};

/// Splits `text` into its components. Never fails: every string is some reference (a scheme is
/// recognised only as `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"`, so `c:/x` has scheme
/// `c` and `1x:y` is a relative path). Nothing is validated or decoded. Pure; the result views
/// `text`.
[[nodiscard]] url_reference split_url(std::string_view text) noexcept;

/// Resolves `reference` against the absolute `base` (RFC 3986 §5.2.2, with §5.2.4
/// remove_dot_segments). The fragment of the result is the reference's. Two normalisations
/// beyond the RFC's letter, shared with `resolve_url`: an http(s) result with an authority and
/// an empty path gets "/" (`//g` gives `http://g/`), and a reference with an empty path also
/// removes dot segments from the base path (as browsers do), so resolving a result again
/// returns it unchanged. Pure; thread-safe.
[[nodiscard]] url resolve(const url& base, const url& reference);

/// Parses `reference` strictly (`url::parse_reference`: no spaces, controls or backslashes, as
/// a redirect's Location must be) and resolves it against `base`.
/// Errors: `http_errc::invalid_url` when `reference` does not parse.
[[nodiscard]] result<url> resolve(const url& base, std::string_view reference);

/// Resolves a link as it appears in an index page (`href`, `<base href>`, a JSON file `url`)
/// against the absolute URL `base`, with the same algorithm as `resolve` (so `../x`,
/// `//host/x`, `?q`, `#f`, `/abs` and absolute URLs of any scheme, `file:` included, work).
/// Lenient as browsers are with `href` values: ASCII tab, CR and LF are removed anywhere and
/// leading and trailing spaces and control characters are trimmed from both inputs; bytes not
/// allowed in a URL (space, controls, non-ASCII, `"<>\^`{|}`) are percent-encoded in the
/// result, existing `%XX` escapes are kept as written. The result's scheme is lower case. The
/// base's fragment is ignored; the reference's is kept.
/// Errors (`http_errc::invalid_url`, quoting both inputs, credentials redacted): `base` has no
/// scheme (it must be absolute), or is empty. Pure; thread-safe.
[[nodiscard]] result<std::string> resolve_url(std::string_view base, std::string_view reference);

/// `text` without its `#fragment` (the whole text when there is none).
[[nodiscard]] std::string_view without_fragment(std::string_view text) noexcept;

/// The last segment of the URL's path, percent-decoded (`…/black-24.1.0-py3-none-any.whl?x#y`
/// gives the filename); empty when the path ends in '/' or is empty.
[[nodiscard]] std::string last_path_segment(std::string_view text);

/// Redacts credentials in URL text that may not even parse: everything between "://" and the
/// last '@' of the authority becomes "***" (the user name too: it is often a token). Use for
/// every URL that reaches a message or log.
[[nodiscard]] std::string redact_url(std::string_view text);

/// Decodes %XX escapes of either case (invalid escapes are kept literally). '+' stays '+': that
/// is form encoding, not URL paths or userinfo.
[[nodiscard]] std::string percent_decode(std::string_view text);

}  // namespace pkg::io
