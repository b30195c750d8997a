#pragma once
/// \file
/// URLs as the HTTP client and the index parser need them: RFC 3986 parsing of absolute URLs,
/// reference resolution (§5.2) and credential-free printing.

#include <pkg/io/error.hpp>

#include <cstdint>
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

/// Resolves `reference` against the absolute `base` (RFC 3986 §5.2.2, with §5.2.4
/// remove_dot_segments). The fragment of the result is the reference's.
[[nodiscard]] url resolve(const url& base, const url& reference);

/// Parses `reference` and resolves it against `base`.
/// Errors: `http_errc::invalid_url` when `reference` does not parse.
[[nodiscard]] result<url> resolve(const url& base, std::string_view reference);

/// Redacts credentials in URL text that may not even parse: everything between "://" and the
/// last '@' of the authority becomes "***". Use for every URL that reaches a message or log.
[[nodiscard]] std::string redact_url(std::string_view text);

/// Decodes %XX escapes (invalid escapes are kept literally), for userinfo → credentials.
[[nodiscard]] std::string percent_decode(std::string_view text);

}  // namespace pkg::io
