#pragma once
/// \file
/// A package index's project page (`/simple/<name>/`) as data, and its two parsers: PEP 503 HTML
/// (with PEP 592 yanking, PEP 629 api-version, PEP 658/714 core metadata) and PEP 691 JSON (with
/// PEP 700's versions, size and upload-time). Both give the same `project_page`, with every file
/// URL absolute. Network-free: the caller fetches the body and passes its Content-Type.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

namespace pkg::index {

/// Hash algorithm name (lower case, e.g. "sha256") → digest as lower-case hex.
using hash_map = std::map<std::string, std::string, std::less<>>;

/// Whether the index serves the file's core metadata separately (PEP 658, renamed by PEP 714):
/// at `<file url>.metadata`, optionally with the hashes of that metadata file.
struct core_metadata_info {
    bool is_available = false;
    hash_map hashes; ///< hashes of the `.metadata` file, when the index gave them
};

/// One file listed on a project page.
struct index_file {
    /// The file's name: the anchor text in HTML (see `parse_simple_html` for a mismatch with the
    /// URL), the `filename` key in JSON.
    std::string filename;
    /// Absolute URL to download, resolved against the page URL (and `<base href>`), without the
    /// `#fragment` (HTML carries the hash there; a fragment is never sent to a server).
    std::string url;
    /// Hashes of the file as the index states them (HTML: the URL fragment `#sha256=…`; JSON:
    /// `hashes`). Only hex digests are kept; may be empty.
    hash_map hashes;
    /// The `Requires-Python` specifier text as served (entities decoded), empty when absent.
    /// Not validated here: `select_wheel` decides what an invalid one means.
    std::string requires_python;
    /// PEP 592: yanked files stay listed; installers use them only for exact pins.
    bool is_yanked = false;
    /// The reason the uploader gave (may be empty even when yanked).
    std::string yank_reason;
    core_metadata_info core_metadata;
    /// PEP 700 `size` (JSON only).
    std::optional<std::uint64_t> size_bytes;
    /// PEP 700 `upload-time` as served (ISO 8601 text; JSON only).
    std::optional<std::string> upload_time;
};

/// The simple API version a page declares (PEP 629); pages that declare none are 1.0.
struct api_version {
    unsigned major = 1;
    unsigned minor = 0;
};

/// The newest minor version of simple API 1.x whose additions pkg has considered: 1.1 (PEP 700:
/// versions, size, upload-time) is read; 1.2 (PEP 708: tracks, alternate-locations) and 1.3
/// (PEP 740: provenance) are deliberately ignored, they do not change which file an exact pin
/// installs. A page declaring a higher minor is parsed, with a warning.
inline constexpr unsigned known_api_minor = 3;

/// A parsed project page.
struct project_page {
    /// The URL the page was fetched from, as given by the caller.
    std::string url;
    /// The project name the page states (JSON `name`); empty for HTML, which states none.
    std::string name;
    api_version api;
    /// PEP 700 `versions` (JSON, API >= 1.1), as served; empty otherwise.
    std::vector<std::string> versions;
    /// Files in page order.
    std::vector<index_file> files;
    /// Things a user may want to know that did not stop parsing (a newer minor API version,
    /// an anchor without href, a filename that differs from its URL, a malformed hash). Each
    /// names the page or the file.
    std::vector<std::string> warnings;
};

/// Parses a PEP 503 HTML project page fetched from `page_url` (an absolute URL).
///
/// Tolerant, linear scan (no regex, no backtracking; O(n) in the body): tag and attribute names
/// in any case, attributes in any order, values in double, single or no quotes, entities decoded
/// in attribute values and text (`&amp; &lt; &gt; &quot; &apos;` and numeric `&#38;` / `&#x27;`;
/// other named entities are left as written). Reads `<a href>` anchors (text = filename; nested
/// tags inside the anchor are skipped, their text kept), the first `<base href>` (applies to
/// every link, as in browsers), and `<meta name="pypi:repository-version" content="1.x">`;
/// comments, `<!DOCTYPE>`, `<script>`/`<style>` bodies and everything else are ignored.
/// Per anchor: `data-requires-python`, `data-yanked` (present = yanked; value = reason),
/// `data-core-metadata` (PEP 714) or else `data-dist-info-metadata` (PEP 658), each `true` or
/// `<algorithm>=<hex>` (`false` = not available), and the hash in the URL fragment
/// (`#sha256=<hex>`, any of md5/sha1/sha224/sha256/sha384/sha512, several joined by `&`).
///
/// Filename vs URL: PEP 503 says the anchor text must equal the URL's last path segment. When
/// they differ (after percent-decoding the segment) and that segment ends in `.whl`, the
/// segment is used (it names what is downloaded, and pip and uv name files by their URL) and a
/// warning cites both; otherwise the anchor text is kept, also with a warning. An anchor whose
/// text and segment are both empty is skipped with a warning, as is an anchor without `href`.
///
/// Errors: `errc::invalid_index_page` for a tag left open at the end of the body or an `<a>`
/// never closed (a cut-off page must not pass for a shorter one), an href that cannot be
/// resolved, a `<base href>` longer than 2048 bytes (each link's URL would repeat it);
/// `errc::unsupported_api_version` for a major version other than 1 or an
/// unparseable version. Messages name the (credential-redacted) page URL and quote the text.
/// Thread-safe (pure function).
result<project_page> parse_simple_html(std::string_view body, std::string_view page_url);

/// Parses a PEP 691 JSON project page fetched from `page_url` (an absolute URL), with simdjson
/// On-Demand (the body is copied once into a padded buffer).
///
/// Reads `meta.api-version` (absent = 1.0), `name`, `versions` (PEP 700) and `files`; per file
/// `filename` and `url` (both required strings; `url` resolved against `page_url`), `hashes`
/// (object of strings; absent = none), `requires-python` (string or null), `yanked` (bool, or a
/// string = yanked with that reason), `core-metadata` or else `dist-info-metadata` (bool or an
/// object of hashes), `size` (unsigned integer), `upload-time` (string). Unknown keys are
/// ignored, as PEP 691 asks. A hash value that is not hex is dropped with a warning.
///
/// Errors: `errc::invalid_index_page` naming the page URL and what was malformed (not JSON,
/// trailing content, a wrong type with the key and file index, a missing `filename`/`url`);
/// `errc::unsupported_api_version` as for HTML. Thread-safe.
result<project_page> parse_simple_json(std::string_view body, std::string_view page_url);

/// The media types of the simple API.
inline constexpr std::string_view json_media_type = "application/vnd.pypi.simple.v1+json";
inline constexpr std::string_view html_media_type = "application/vnd.pypi.simple.v1+html";

/// The `Accept` header to send for project pages: JSON preferred, then the versioned HTML type,
/// then plain `text/html` (q-values 1, 0.2, 0.01).
std::string_view project_page_accept_header() noexcept;

/// Dispatches on the response's Content-Type (parameters such as `charset` and case ignored):
/// `application/vnd.pypi.simple.v1+json` → JSON; `application/vnd.pypi.simple.v1+html` or
/// `text/html` → HTML. An empty Content-Type (file:// pages, bare servers) is sniffed: a body
/// whose first non-space byte is `{` is JSON, anything else HTML.
/// Errors: `errc::unsupported_api_version` for `application/vnd.pypi.simple.vN+…` with N != 1;
/// `errc::invalid_index_page` for any other type (quoted, with the page URL), plus the parsers'.
result<project_page> parse_project_page(std::string_view content_type, std::string_view body,
                                        std::string_view page_url);

} // namespace pkg::index
