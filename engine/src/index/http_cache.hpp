#pragma once
/// \file
/// A private HTTP cache for index responses (project pages, find-links pages), one file per
/// response, in the cache's `simple-v1` bucket. The index client decides the file names
/// (`simple-v1/<index_key>/<name>.http`); this file decides what is in them and when they may be
/// used without asking the server.
///
/// Entry format, version 1 (text head, then the body bytes verbatim):
///
///     pkg-http-cache 1\n
///     status: 200\n                  200, or 404 / 410: "the index does not have it"
///     url: https://host/simple/x/\n  the final URL (after redirects), without credentials
///     content-type: text/html\n      as served (may be empty)
///     etag: "abc"\n                  validator for If-None-Match (may be empty)
///     last-modified: <HTTP-date>\n   validator for If-Modified-Since (may be empty)
///     cache-control: max-age=600\n   as served (may be empty)
///     age: 0\n                       the Age header when received, seconds
///     received: 1763750000\n         when it was received (or last revalidated), Unix seconds
///     body-bytes: 1234\n             exact length of what follows the blank line
///     \n
///     <body-bytes bytes>
///
/// Every key is required, exactly once, in this order; values are single-line (no CR, LF or
/// NUL); numbers are plain decimal digits (at most 19); the file ends exactly after the body.
/// Anything else (a truncated file, garbage, another version line) is a corrupt entry: it is
/// deleted and the response fetched again. A new layout gets a new version line, never a
/// reinterpretation of this one. Files are replaced atomically (temp file + rename), so a reader
/// sees a whole old or a whole new entry.
///
/// Freshness (our choice, documented): an entry is fresh while `age + (now - received)` is below
/// `max-age`, unless Cache-Control says `no-cache` or `no-store`. Without `max-age` an entry is
/// stale: there is no heuristic freshness, so a server that sends no caching headers is asked
/// again every run — cheaply, with If-None-Match / If-Modified-Since when it gave validators.
/// `Expires` and `s-maxage` are not read (a private cache; indexes send `max-age`).
/// A 404/410 is recorded without caching headers: online it is always asked again; offline it
/// means "not on this index" so the next index may be used.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

#include "http/http_client.hpp"
#include "runtime/task.hpp"

namespace pkg::index {

/// The first line of a version-1 entry (without its newline).
inline constexpr std::string_view http_cache_magic = "pkg-http-cache 1";

/// The directives of a Cache-Control header this cache acts on.
struct cache_control {
    /// `max-age` in seconds; nullopt when absent. A malformed or repeated `max-age` reads as 0
    /// (stale), as RFC 9111 §4.2.1 asks for invalid freshness information.
    std::optional<std::uint64_t> max_age_seconds;
    bool is_no_cache = false;  ///< `no-cache` (with or without a field list): always revalidate
    bool is_no_store = false;  ///< `no-store`: never written
};

/// Parses a Cache-Control value: comma-separated directives, names case-insensitive, values
/// plain or quoted; unknown directives ignored. Never fails. Pure.
[[nodiscard]] cache_control parse_cache_control(std::string_view value);

/// One stored response (see the file comment for the format).
struct http_cache_entry {
    int status = 200;
    std::string url;
    std::string content_type;
    std::string etag;
    std::string last_modified;
    std::string cache_control;
    std::uint64_t age_seconds = 0;
    std::int64_t received_unix_seconds = 0;
    std::string body;

    friend bool operator==(const http_cache_entry&, const http_cache_entry&) = default;
};

/// The entry as file bytes. Header values holding CR, LF or NUL are written empty (they cannot
/// come from a parsed HTTP head; this keeps every serialized entry parseable). Pure.
[[nodiscard]] std::string serialize_http_cache_entry(const http_cache_entry& entry);

/// Parses file bytes strictly (see the file comment). `where` (the file path) goes into errors.
/// Errors: `errc::corrupt_cache_entry` saying what is wrong, quoting the offending line.
/// Pure; thread-safe.
[[nodiscard]] result<http_cache_entry> parse_http_cache_entry(std::string bytes,
                                                              std::string_view where);

/// True when `entry` may be used without asking the server at `now` (see the file comment).
/// Pure.
[[nodiscard]] bool is_fresh(const http_cache_entry& entry,
                            std::chrono::system_clock::time_point now);

/// How a response was obtained.
enum class cache_outcome {
    fresh,        ///< a fresh entry, no request
    offline,      ///< an entry (fresh or stale) used because the network is off limits
    revalidated,  ///< a conditional request answered 304: the entry was reused
    fetched,      ///< a full response from the server (200, or 404/410)
};

/// A response and where it came from.
struct cached_response {
    http_cache_entry entry;  ///< `status` 200 with the body, or 404/410 without
    cache_outcome outcome = cache_outcome::fetched;
    /// Things a user may want to know that did not stop the fetch: a corrupt entry discarded,
    /// an entry that could not be written or removed. Each names the file.
    std::vector<std::string> warnings;
};

struct cached_get_options {
    bool offline = false;  ///< never send a request; a miss is `errc::offline_miss`
    bool refresh = false;  ///< treat every entry as stale (revalidate it)
    std::size_t max_body_bytes = 64u << 20;
    std::string accept;    ///< Accept header to send ("" sends none)
    /// Names what is fetched, for the offline-miss message ("project 'x' from index U").
    std::string subject;
};

/// GETs `url` through the entry file `entry_path`: a fresh entry (unless `refresh`) is
/// returned without a request; a stale one is revalidated (If-None-Match / If-Modified-Since;
/// 304 → the entry with its time, Age, Cache-Control and validators updated and rewritten); a
/// 200 is stored unless it says `no-store` (then an existing entry is removed); a 404/410 is
/// stored as such and returned with that status (it is not an error here). A corrupt entry is
/// removed with a warning and treated as absent. Writing failures become warnings: the
/// response is still returned. `offline`: the entry is used whatever its age.
/// Errors: `errc::offline_miss` naming `subject` and the entry (offline, no usable entry); the
/// HTTP client's errors (credentials redacted); `http_errc::bad_response` for a 304 to an
/// unconditional request. Runs on the HTTP client's thread; file reads and writes are
/// synchronous (entries are small).
[[nodiscard]] io::task<result<cached_response>>
async_cached_get(io::http_client& http, std::filesystem::path entry_path, std::string url,
                 cached_get_options options);

/// `text` (a URL) without its userinfo (`user:pass@` or the redacted `***@`): the form that may
/// be written to disk and compared across runs. Text that does not parse is returned with its
/// credentials redacted. Pure.
[[nodiscard]] std::string strip_url_credentials(std::string_view text);

}  // namespace pkg::index
