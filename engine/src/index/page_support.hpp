#pragma once
/// \file
/// Pieces the HTML and JSON project page parsers share (private to engine/src/index).

#include <optional>
#include <string>
#include <string_view>

#include <pkg/io/error.hpp>

#include "index/project_page.hpp"

namespace pkg::index::detail {

/// `text` lower-cased when it is a non-empty run of hex digits; nullopt otherwise.
std::optional<std::string> lower_hex(std::string_view text);

/// The digest length in hex digits of the hash algorithms a Python index may name in URL
/// fragments (those `hashlib` guarantees and pip accepts: md5, sha1, sha224, sha256, sha384,
/// sha512), or nullopt for any other name. `name` must already be lower case.
std::optional<std::size_t> fragment_hash_length(std::string_view name) noexcept;

/// Parses a PEP 629 api-version (`1.0`; a bare `1` is read as 1.0). Errors
/// (`errc::unsupported_api_version`, where = the redacted page URL): not `<digits>[.<digits>]`,
/// or a major other than 1. `source` says where the text came from, for the message.
result<api_version> parse_api_version(std::string_view text, std::string_view source,
                                      std::string_view page_url);

/// A warning for a page whose minor version is newer than `known_api_minor`, or nullopt.
std::optional<std::string> api_version_warning(const api_version& version,
                                               std::string_view page_url);

/// Builds the error for a malformed page: `where` is the redacted page URL.
tl::unexpected<error> page_error(std::string_view page_url, std::string message);

} // namespace pkg::index::detail
