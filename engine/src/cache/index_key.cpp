#include "cache/index_key.hpp"

#include "cache/digest.hpp"

namespace pkg::cache {
namespace {

std::string lower(std::string_view text)
{
    std::string out(text);
    for (char& ch : out) {
        if (ch >= 'A' && ch <= 'Z') {
            ch = static_cast<char>(ch - 'A' + 'a');
        }
    }
    return out;
}

std::string_view strip_trailing_slashes(std::string_view text)
{
    while (!text.empty() && text.back() == '/') {
        text.remove_suffix(1);
    }
    return text;
}

}  // namespace

std::string canonical_index_url(std::string_view url)
{
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        return std::string(strip_trailing_slashes(url));
    }
    const std::string scheme = lower(url.substr(0, scheme_end));
    std::string_view rest = url.substr(scheme_end + 3);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
        rest = rest.substr(0, hash);
    }
    const auto authority_end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, authority_end);
    std::string_view path_and_query =
        authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
    // The last '@' ends the userinfo: passwords may contain '@' when not percent-encoded.
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        authority = authority.substr(at + 1);
    }
    std::string host = lower(authority);
    if ((scheme == "https" && host.ends_with(":443")) ||
        (scheme == "http" && host.ends_with(":80"))) {
        host.erase(host.rfind(':'));
    }
    std::string_view path = path_and_query;
    std::string_view query;
    if (const auto q = path_and_query.find('?'); q != std::string_view::npos) {
        path = path_and_query.substr(0, q);
        query = path_and_query.substr(q);
    }
    std::string out = scheme;
    out += "://";
    out += host;
    out += strip_trailing_slashes(path);
    out += query;
    return out;
}

std::string index_key(std::string_view url)
{
    return sha256_hex(canonical_index_url(url)).substr(0, 16);
}

}  // namespace pkg::cache
