#include "http/http_errc.hpp"

#include <string>

namespace pkg::io {
namespace {

class http_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "pkg.http"; }

    std::string message(int value) const override
    {
        switch (static_cast<http_errc>(value)) {
        case http_errc::invalid_url: return "invalid URL";
        case http_errc::unsupported_scheme: return "unsupported URL scheme";
        case http_errc::connect_failed: return "could not connect";
        case http_errc::connection_failed: return "connection failed";
        case http_errc::timed_out: return "timed out";
        case http_errc::tls_failed: return "TLS failure";
        case http_errc::bad_response: return "malformed HTTP response";
        case http_errc::body_truncated: return "response body cut short";
        case http_errc::http_status: return "HTTP error status";
        case http_errc::not_found: return "not found";
        case http_errc::too_many_redirects: return "too many redirects";
        case http_errc::redirect_loop: return "redirect loop";
        case http_errc::too_large: return "response too large";
        case http_errc::decode_failed: return "could not decode response body";
        case http_errc::proxy_failed: return "proxy failure";
        case http_errc::cancelled: return "cancelled";
        }
        return "unknown HTTP error";
    }
};

}  // namespace

const std::error_category& http_category() noexcept
{
    static const http_category_impl instance;
    return instance;
}

}  // namespace pkg::io
