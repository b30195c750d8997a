#pragma once
/// \file
/// An HTTP/1.1 client for pkg's downloads and index pages: Boost.Asio coroutines on the epoll
/// reactor, llhttp for parsing, OpenSSL 3 for TLS. Bodies stream into a `body_sink`; nothing is
/// buffered whole except in `async_get_string`, which is bounded.
///
/// Behaviour in one place:
/// - Connections are pooled per origin (and proxy) with keep-alive; a connection that saw any
///   error, or a response that did not end cleanly, is closed, never reused. Idle connections
///   older than `idle_timeout` are closed when the pool is next touched, or by `close_idle()`.
/// - Redirects 301/302/303/307/308 are followed up to `max_redirects`; a URL seen twice in one
///   chain is a `redirect_loop`. Crossing to another origin drops URL credentials and any
///   caller-supplied Authorization header.
/// - Transient failures are retried `retries` times with exponential backoff and jitter:
///   connect failures, resets, timeouts, 408, 429 (Retry-After seconds honoured up to
///   `retry_after_cap`), 5xx, bodies cut short. A body cut short after bytes reached the sink
///   resumes with `Range` + `If-Range` when the server advertised `Accept-Ranges: bytes` with a
///   validator and the sink `can_resume()`; otherwise the sink is `reset()` and the body restarts.
///   Never retried: TLS failures (certificate errors), other 4xx, malformed responses, sink
///   errors, cancellation. The final error lists every failure ("after 3 retries: …").
/// - Every connect, read and write has a timeout. Cancelling the calling coroutine (Asio
///   cancellation slot) aborts the operation and closes its connection.
/// - URL userinfo, then netrc, give Basic credentials; URLs in messages are always redacted.
/// - Retry-After is honoured in its delta-seconds form only; an HTTP-date falls back to backoff.
/// - `async_fetch` asks for `Accept-Encoding: identity`; a server that encodes anyway is passed
///   through as is (the head's Content-Encoding tells the sink).

#include "http/http_options.hpp"
#include "http/response_parser.hpp"
#include "http/url.hpp"
#include "runtime/task.hpp"

#include <pkg/io/error.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace pkg::io {

/// One request. Only GET and HEAD: pkg never uploads.
struct http_request {
    std::string method = "GET";  ///< "GET" or "HEAD".
    std::string url;             ///< Absolute http(s) URL; may carry "user:password@".
    std::vector<std::pair<std::string, std::string>> headers;  ///< e.g. Accept, If-None-Match.
    /// Ask for `Content-Encoding: gzip` (index pages through `async_get_string` only: gzip is
    /// decoded there, in memory). Otherwise `Accept-Encoding: identity` is sent.
    bool accept_gzip = false;
};

/// Where a body streams to. The client calls, per fetch: `async_begin` once per body start,
/// `async_chunk` for each piece in order, `async_end` after the last byte. Before a retry
/// restarts a body from zero it calls `reset()` and then `async_begin` again. An error result
/// from any of these aborts the fetch with that error (never retried).
class body_sink {
public:
    virtual ~body_sink() = default;
    /// The final 2xx head (content length, final URL after redirects).
    virtual task<result<void>> async_begin(const response_head& head) = 0;
    /// Next body bytes; the span is valid only during the call.
    virtual task<result<void>> async_chunk(std::span<const std::byte> bytes) = 0;
    /// The body is complete.
    virtual task<result<void>> async_end() = 0;
    /// Forget everything received: the body will start again from byte 0.
    virtual void reset() = 0;
    /// True when the sink can take the rest of an interrupted body after `bytes_received()`.
    [[nodiscard]] virtual bool can_resume() const { return false; }
    /// Body bytes taken since the last `async_begin`/`reset`.
    [[nodiscard]] virtual std::uint64_t bytes_received() const = 0;
};

/// A small body collected in memory.
struct text_response {
    response_head head;
    std::string body;  ///< gzip already decoded when the server used it.
};

/// The HTTP client. Use from one thread (its executor's); not thread-safe. The client must
/// outlive every operation started on it and every sink must outlive its fetch.
class http_client {
public:
    /// Creates a client on `executor`. CA problems (unreadable SSL_CERT_FILE) surface as
    /// `tls_failed` errors from the first https fetch, since a constructor cannot return them.
    http_client(asio::any_io_executor executor, http_options options);
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    /// Fetches `request` and streams a 2xx body into `sink` (see the file comment for
    /// redirects, retries and resume). Returns the head given to `sink.async_begin` (the final
    /// URL, redacted, in `final_url`); a 304 returns its head without touching the sink.
    /// Errors: `http_errc` values (`not_found` for 404/410, `http_status` for other final error
    /// statuses, `tls_failed`, `timed_out`, …, `cancelled`), or the sink's own error.
    task<result<response_head>> async_fetch(http_request request, body_sink& sink);

    /// Fetches a small body into memory, at most `max_bytes` (compressed and decoded), decoding
    /// `Content-Encoding: gzip`. Errors: as `async_fetch`, plus `too_large`, `decode_failed`.
    task<result<text_response>> async_get_string(http_request request,
                                                 std::size_t max_bytes = 64 * 1024 * 1024);

    /// Same for a plain GET of `url`.
    task<result<text_response>> async_get_string(std::string url,
                                                 std::size_t max_bytes = 64 * 1024 * 1024);

    /// Closes every idle pooled connection now.
    void close_idle();

    /// Number of idle pooled connections (tests check reuse and cleanup with it).
    [[nodiscard]] std::size_t idle_connections() const;

    /// The options in effect.
    [[nodiscard]] const http_options& options() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

/// "user:password" → "Basic dXNlcjpwYXNzd29yZA==".
[[nodiscard]] std::string basic_authorization(const credentials& creds);

}  // namespace pkg::io
