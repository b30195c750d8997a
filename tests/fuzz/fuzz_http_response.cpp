// libFuzzer target: arbitrary bytes as a server's response through the client's llhttp-based
// response parser (fed in pieces whose sizes come from the input, as reads would deliver them),
// then the same bytes as URL text through parse, resolve and redaction.
//
// Input layout: byte 0 picks the piece size (1..64, or all at once) and HEAD vs GET; the rest is
// the response. The parser must never crash, hang, or report body bytes beyond its input.

#include "http/response_parser.hpp"
#include "http/url.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    const std::uint8_t control = data[0];
    const auto* bytes = reinterpret_cast<const std::byte*>(data + 1);
    const std::size_t length = size - 1;
    const std::size_t piece = (control & 0x3f) == 0 ? length : (control & 0x3f);
    const bool is_head = (control & 0x40) != 0;

    pkg::io::response_parser parser;
    parser.begin(is_head);
    std::size_t offset = 0;
    std::uint64_t body_bytes = 0;
    bool is_malformed = false;
    while (offset < length) {
        const std::size_t n = piece == 0 ? length : std::min(piece, length - offset);
        auto step = parser.feed(std::span<const std::byte>(bytes + offset, n));
        if (!step) {
            is_malformed = true;  // body seen in the failing call is never handed out
            break;
        }
        if (step->consumed_bytes > n) {
            std::abort();
        }
        for (const auto& b : step->body) {
            if (b.data() < bytes + offset || b.data() + b.size() > bytes + offset + n) {
                std::abort();  // a body span outside the bytes just fed
            }
            body_bytes += b.size();
        }
        if (step->reached == pkg::io::response_parser::state::message_complete) {
            break;
        }
        offset += n;
    }
    if (!is_malformed && body_bytes != parser.body_bytes()) {
        std::abort();
    }
    (void)parser.finish();
    if (parser.has_head()) {
        (void)parser.head().header("content-length");
        (void)parser.should_keep_alive();
    }

    const std::string_view text(reinterpret_cast<const char*>(data + 1), length);
    (void)pkg::io::redact_url(text);
    (void)pkg::io::percent_decode(text);
    const auto split = text.find('\n');
    auto base = pkg::io::url::parse(text.substr(0, split));
    if (base) {
        (void)base->redacted();
        (void)base->origin();
        (void)base->request_target();
        (void)base->host_port();
        if (split != std::string_view::npos) {
            auto resolved = pkg::io::resolve(*base, text.substr(split + 1));
            if (resolved) {
                // Resolution against an absolute base always yields an absolute URL again.
                if (resolved->scheme.empty()) {
                    std::abort();
                }
                (void)resolved->to_string();
            }
        }
        // Printing and parsing again is stable.
        auto again = pkg::io::url::parse(base->to_string());
        if (!again || again->to_string() != base->to_string()) {
            std::abort();
        }
    }
    return 0;
}
