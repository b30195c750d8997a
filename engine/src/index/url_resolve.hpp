#pragma once
/// \file
/// Just enough RFC 3986 for index pages: split a URL reference into its five components, resolve
/// a link against the page (or `<base>`) URL (§5.2, with dot-segment removal), percent-decode,
/// and redact credentials for messages. Written for http, https and file URLs; the algorithm is
/// the generic one, so other schemes resolve the same way (the downloader decides what it
/// fetches). A fuller URL type lives in io's HTTP client; this one has no dependency on it.

#include <optional>
#include <string>
#include <string_view>

#include <pkg/io/error.hpp>

namespace pkg::index {

/// The five components of a URI reference (RFC 3986 appendix B). Views into the text that was
/// split. An absent component differs from an empty one: `file:///x` has an empty authority,
/// `mailto:x` none; `a?` has an empty query, `a` none.
struct url_reference {
    std::optional<std::string_view> scheme;    ///< without the `:`
    std::optional<std::string_view> authority; ///< without the leading `//`
    std::string_view path;
    std::optional<std::string_view> query;    ///< without the `?`
    std::optional<std::string_view> fragment; ///< without the `#`
};

/// Splits `text` into its components. Never fails: every string is some reference (a scheme is
/// recognised only as `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"`, so `c:/x` has scheme
/// `c` and `1x:y` is a relative path). Pure; the result views `text`.
url_reference split_url(std::string_view text) noexcept;

/// Resolves `reference` against the absolute URL `base` (RFC 3986 §5.2.2 with §5.2.4's
/// dot-segment removal, so `../x`, `//host/x`, `?q`, `#f`, `/abs` and absolute URLs all work).
/// As browsers do for `href` values, ASCII tab, CR and LF are removed anywhere and leading and
/// trailing spaces and control characters are trimmed from both inputs. The result's scheme is
/// lower case; an http(s) URL with an authority and an empty path gets `/`; bytes not allowed in
/// a URL (space, controls, non-ASCII, `"<>\^`{|}`) are percent-encoded, existing `%XX` escapes
/// are kept as written. The base's fragment is ignored; the reference's is kept. Unlike the
/// RFC's letter, a reference with an empty path also removes dot segments from the base path
/// (as browsers do), so resolving a result again returns it unchanged.
/// Errors (`errc::invalid_url`): `base` has no scheme (it must be absolute), or is empty.
/// Pure function; thread-safe.
result<std::string> resolve_url(std::string_view base, std::string_view reference);

/// `url` without its `#fragment` (the whole text when there is none).
std::string_view without_fragment(std::string_view url) noexcept;

/// The last segment of the URL's path, percent-decoded (`…/black-24.1.0-py3-none-any.whl?x#y`
/// gives the filename); empty when the path ends in `/` or is empty.
std::string last_path_segment(std::string_view url);

/// Decodes `%XX` escapes (either case); a `%` not followed by two hex digits is kept literally.
/// `+` is not a space here (that is form encoding, not URL paths).
std::string percent_decode(std::string_view text);

/// `url` with the password of its userinfo replaced by `***` (`https://u:***@host/x`), for error
/// messages and logs; a userinfo without `:` (a token) is replaced whole. Other URLs unchanged.
std::string redact_url(std::string_view url);

} // namespace pkg::index
