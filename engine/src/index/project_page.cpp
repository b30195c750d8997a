#include "index/project_page.hpp"

#include <charconv>
#include <limits>

#include <pkg/engine/errc.hpp>

#include "index/page_support.hpp"
#include "http/url.hpp"
#include "wheel/tags.hpp"

namespace pkg::index {
namespace detail {

std::optional<std::string> lower_hex(std::string_view text)
{
    if (text.empty()) {
        return std::nullopt;
    }
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'F') {
            c = static_cast<char>(c - 'A' + 'a');
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return std::nullopt;
        }
    }
    return out;
}

std::optional<std::size_t> fragment_hash_length(std::string_view name) noexcept
{
    if (name == "sha256") {
        return 64;
    }
    if (name == "sha384") {
        return 96;
    }
    if (name == "sha512") {
        return 128;
    }
    if (name == "sha224") {
        return 56;
    }
    if (name == "sha1") {
        return 40;
    }
    if (name == "md5") {
        return 32;
    }
    return std::nullopt;
}

result<api_version> parse_api_version(std::string_view text, std::string_view source,
                                      std::string_view page_url)
{
    const auto unreadable = [&] {
        return fail(errc::unsupported_api_version,
                    "cannot read the simple API version " + pkg::quote_for_message(text) +
                        " in " + std::string(source) + " (expected <major>.<minor>, e.g. \"1.0\")",
                    io::redact_url(page_url));
    };
    const auto read_number = [](std::string_view digits) -> std::optional<unsigned> {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) {
            return std::nullopt;
        }
        return value;
    };
    std::string_view trimmed = text;
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) {
        trimmed.remove_prefix(1);
    }
    while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t')) {
        trimmed.remove_suffix(1);
    }
    const std::size_t dot = trimmed.find('.');
    const auto major = read_number(trimmed.substr(0, dot));
    const auto minor = dot == std::string_view::npos ? std::optional<unsigned>(0)
                                                     : read_number(trimmed.substr(dot + 1));
    if (!major || !minor) {
        return unreadable();
    }
    if (*major != 1) {
        return fail(errc::unsupported_api_version,
                    "the index serves simple API version " + std::to_string(*major) + "." +
                        std::to_string(*minor) + " (" + std::string(source) +
                        "); pkg understands major version 1 only",
                    io::redact_url(page_url),
                    "use an index that serves the PEP 503/691 simple API version 1, or a newer "
                    "pkg");
    }
    return api_version{*major, *minor};
}

std::optional<std::string> api_version_warning(const api_version& version,
                                               std::string_view page_url)
{
    if (version.minor <= known_api_minor) {
        return std::nullopt;
    }
    return io::redact_url(page_url) + ": the index serves simple API version 1." +
           std::to_string(version.minor) + ", newer than 1." + std::to_string(known_api_minor) +
           " which pkg knows; features added since are ignored";
}

tl::unexpected<error> page_error(std::string_view page_url, std::string message)
{
    return fail(errc::invalid_index_page, std::move(message), io::redact_url(page_url));
}

} // namespace detail

std::string_view project_page_accept_header() noexcept
{
    return "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
           "text/html;q=0.01";
}

result<project_page> parse_project_page(std::string_view content_type, std::string_view body,
                                        std::string_view page_url)
{
    // The media type is what precedes any ';' parameters, trimmed, compared case-insensitively.
    std::string media;
    for (const char c : content_type.substr(0, content_type.find(';'))) {
        if (c != ' ' && c != '\t') {
            media += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        }
    }
    if (media.empty()) {
        const std::size_t first = body.find_first_not_of(" \t\r\n\xef\xbb\xbf");
        if (first != std::string_view::npos && body[first] == '{') {
            return parse_simple_json(body, page_url);
        }
        return parse_simple_html(body, page_url);
    }
    if (media == json_media_type) {
        return parse_simple_json(body, page_url);
    }
    if (media == html_media_type || media == "text/html") {
        return parse_simple_html(body, page_url);
    }
    constexpr std::string_view versioned_prefix = "application/vnd.pypi.simple.";
    if (media.starts_with(versioned_prefix)) {
        return fail(errc::unsupported_api_version,
                    "the index answered with Content-Type " +
                        pkg::quote_for_message(content_type) +
                        "; pkg understands simple API version 1 only (" +
                        std::string(json_media_type) + " or " + std::string(html_media_type) + ")",
                    io::redact_url(page_url));
    }
    return fail(errc::invalid_index_page,
                "the index answered with Content-Type " + pkg::quote_for_message(content_type) +
                    ", which is not a project page (expected " + std::string(json_media_type) +
                    ", " + std::string(html_media_type) + " or text/html)",
                io::redact_url(page_url),
                "check that the index URL points at a PEP 503 \"simple\" index");
}

} // namespace pkg::index
