#pragma once
/// \file
/// Error codes of the HTTP client (`pkg::io::http_errc`), used in `pkg::error::code`.
/// io/ knows nothing of the engine's `pkg::errc`, so the HTTP layer has its own category.

#include <system_error>

namespace pkg::io {

/// Why an HTTP operation failed. Values are stable: programs may switch on them.
enum class http_errc {
    invalid_url = 1,     ///< Text is not an absolute http(s) URL, or a reference could not be resolved.
    unsupported_scheme,  ///< The URL's scheme is not http or https.
    connect_failed,      ///< Name resolution or TCP connect failed (retryable).
    connection_failed,   ///< The connection broke while sending or receiving (reset, EOF; retryable).
    timed_out,           ///< Connect or read exceeded its timeout (retryable).
    tls_failed,          ///< TLS handshake failed, e.g. certificate verification (never retried).
    bad_response,        ///< The server's bytes are not a valid HTTP/1.x response.
    body_truncated,      ///< The body ended before its Content-Length or last chunk (retryable).
    http_status,         ///< The final response has an error status (4xx/5xx); message says which.
    not_found,           ///< The final response is 404 or 410.
    too_many_redirects,  ///< More redirects than `http_options::max_redirects`.
    redirect_loop,       ///< A redirect led back to a URL already visited in this chain.
    too_large,           ///< A bounded body (`async_get_string`) exceeded its limit.
    decode_failed,       ///< A `Content-Encoding: gzip` body could not be decoded.
    proxy_failed,        ///< The proxy refused or broke the CONNECT tunnel.
    cancelled,           ///< The calling coroutine was cancelled.
};

/// The category of `http_errc` (name "pkg.http").
const std::error_category& http_category() noexcept;

inline std::error_code make_error_code(http_errc e) noexcept
{
    return {static_cast<int>(e), http_category()};
}

}  // namespace pkg::io

template <>
struct std::is_error_code_enum<pkg::io::http_errc> : std::true_type {};
