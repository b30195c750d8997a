#pragma once
/// \file
/// A sans-IO HTTP/1.x response parser over llhttp: bytes in, head and body spans out. The client
/// feeds it what it reads from a socket; the fuzzer feeds it arbitrary buffers.

#include <pkg/io/error.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pkg::io {

/// The status line and headers of one response, as the sink sees them.
struct response_head {
    int status = 0;                       ///< e.g. 200, 206, 404.
    std::string reason;                   ///< e.g. "OK" (may be empty).
    std::vector<std::pair<std::string, std::string>> headers;  ///< In order, names as sent.
    std::optional<std::uint64_t> content_length;  ///< Content-Length if sent (for HEAD: the GET's).
    std::string final_url;                ///< URL after redirects, credentials redacted.
    bool is_range_continuation = false;   ///< A 206 that continues an interrupted body.

    /// The first header named `name` (ASCII case-insensitive), or nullopt.
    [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

/// Incremental parser for one response at a time on a connection.
/// Not thread-safe; cheap to create. Body spans point into the buffer given to `feed` and are
/// valid until the next call.
class response_parser {
public:
    /// What the last `feed` reached.
    enum class state {
        need_more,         ///< All input consumed; message not complete.
        message_complete,  ///< The (final, non-1xx) response ended; `consumed` may be < input.
    };

    struct step {
        std::size_t consumed_bytes = 0;  ///< Input bytes used; the rest belongs to a later message.
        state reached = state::need_more;
        bool head_completed = false;     ///< The final head became available during this call.
        std::span<const std::span<const std::byte>> body;  ///< Body bytes found in this call.
    };

    response_parser();
    ~response_parser();
    response_parser(const response_parser&) = delete;
    response_parser& operator=(const response_parser&) = delete;

    /// Prepares for the response to a new request. `expect_no_body` for HEAD and CONNECT: the
    /// head is then the whole message whatever Content-Length says.
    void begin(bool expect_no_body);

    /// Parses `data`. 1xx interim responses are skipped. Errors: `http_errc::bad_response` naming
    /// llhttp's reason and the offending byte offset.
    [[nodiscard]] result<step> feed(std::span<const std::byte> data);

    /// Tells the parser the peer closed the connection. Returns true when that completes an
    /// EOF-delimited body (then the message is complete); false when the message was cut short.
    [[nodiscard]] bool finish();

    /// The head of the current response (valid once `head_completed` was reported).
    [[nodiscard]] const response_head& head() const;

    /// True once a final head was parsed.
    [[nodiscard]] bool has_head() const;

    /// True when the connection may carry another request after this complete message.
    [[nodiscard]] bool should_keep_alive() const;

    /// True when the body is delimited by the connection closing (no length, not chunked).
    [[nodiscard]] bool needs_eof() const;

    /// Total body bytes reported so far for this response.
    [[nodiscard]] std::uint64_t body_bytes() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace pkg::io
