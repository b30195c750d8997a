#pragma once
/// \file
/// The package index client: which indexes to ask (configuration from flags, lockfiles, the
/// environment and pip's config files), fetching project pages (PEP 503 HTML / PEP 691 JSON,
/// negotiated with Accept) through an HTTP cache in the cache's `simple-v1` bucket, `--find-links`
/// locations, and choosing the wheel for a pin.
///
/// HTTP cache: one entry per (index, project) at `simple-v1/<index_key>/<name>.<ext>` holding the
/// response body, its Content-Type, the final URL, ETag, Last-Modified, Cache-Control and the time
/// it was received; written atomically (temp file + rename). A fresh entry (max-age not yet
/// passed, no `no-cache`) is used without the network; a stale one is revalidated with
/// If-None-Match / If-Modified-Since (304 → reused and its time refreshed); `no-store` is never
/// written; a corrupt entry is discarded and refetched. `refresh` revalidates every entry once per
/// run; `offline` never touches the network and fails with `errc::offline_miss` on a miss
/// (a stale entry is used offline).
///
/// Everything here runs on the io_context thread (the HTTP client's).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/engine/install.hpp>
#include <pkg/io/error.hpp>

#include "cache/cache.hpp"
#include "http/http_client.hpp"
#include "index/project_page.hpp"
#include "index/select.hpp"
#include "lockfile/requirements_txt.hpp"
#include "pep440/version.hpp"
#include "runtime/once_map.hpp"
#include "runtime/task.hpp"
#include "wheel/tags.hpp"

namespace pkg::index {

/// The resolved list of places to look, in order.
struct index_config {
    /// Index base URLs (`…/simple/`), primary first, then extras; duplicates removed (by
    /// canonical form). Empty with `no_index`.
    std::vector<std::string> index_urls;
    /// find-links locations: absolute local directories or http(s) URLs of HTML pages.
    std::vector<std::string> find_links;
    bool no_index = false;
};

/// Resolves the configuration: `flags.index_url`, else the last `-i` of `files`, else
/// `PKG_INDEX_URL`, else `PIP_INDEX_URL`, else pip.conf `index-url`. pip.conf is read as pip
/// reads it, lowest priority first: `$XDG_CONFIG_DIRS/pip/pip.conf` (default
/// `<etc_dir>/xdg/pip/pip.conf`), `<etc_dir>/pip.conf`, `~/.pip/pip.conf`,
/// `$XDG_CONFIG_HOME/pip/pip.conf` (default `~/.config/pip/pip.conf`), then the file
/// `PIP_CONFIG_FILE` names (which, when it exists, suppresses the two user files; the value
/// `/dev/null` loads no file at all); later files win per key, and `[install]` beats `[global]`
/// whatever file each is in. Keys: `index-url`, `extra-index-url` and `find-links`
/// (whitespace-separated, multi-line allowed), `no-index`; `_` reads as `-`.
/// Extras: flags + files + `PKG_EXTRA_INDEX_URL` + `PIP_EXTRA_INDEX_URL` (space-separated) +
/// pip.conf, all of them, in that order. find-links: flags + files (already resolved against
/// their file) + `PKG_FIND_LINKS` + `PIP_FIND_LINKS` + pip.conf; relative paths and `file:`
/// URLs become absolute paths (against `cwd`; empty = the current directory). no-index: flag,
/// file, `PKG_NO_INDEX`/`PIP_NO_INDEX`, pip.conf (yes/no values as pip: 1/0, true/false, yes/no,
/// on/off, y/n, t/f). Empty variables count as unset. `getenv` empty → the process environment.
/// `etc_dir` is `/etc` except in tests (this machine's own pip.conf must not leak into them).
/// Errors: `errc::no_index_configured` when `need_index` and there is neither an index nor a
/// find-links location — the message says "no package index configured" and the hint lists
/// `--index-url`, `PKG_INDEX_URL`, `PIP_INDEX_URL`, pip.conf and `--find-links` with
/// `--no-index`; `errc::invalid_url` citing a malformed (or non-http(s)) index URL or
/// find-links URL and where it came from; `std::errc::invalid_argument` for a pip.conf line that
/// does not parse (file:line) or a no-index value that is not yes/no; a pip.conf that exists but
/// cannot be read. Blocking (reads files); thread-safe.
[[nodiscard]] result<index_config>
resolve_index_config(const pkg::index_options& flags,
                     const std::vector<const lockfile::requirements_file*>& files,
                     const std::function<std::optional<std::string>(std::string_view)>& getenv,
                     const std::filesystem::path& cwd, bool need_index = true,
                     const std::filesystem::path& etc_dir = "/etc");

/// The wheel chosen for one pin and where it lives.
struct located_wheel {
    selection chosen;                        ///< file (URL, hashes), parsed filename, warnings
    std::string index_url;                   ///< the index it came from; "" for find-links
    std::optional<std::filesystem::path> local_path;  ///< set for local find-links files
};

/// Counters for tests and reports.
struct index_stats {
    std::atomic<std::uint64_t> pages_fetched{0};      ///< 200 responses
    std::atomic<std::uint64_t> pages_revalidated{0};  ///< 304 responses
    std::atomic<std::uint64_t> pages_from_cache{0};   ///< fresh entries used without a request
                                                      ///< (and any entry used offline)
    std::atomic<std::uint64_t> pages_not_found{0};    ///< 404/410 responses
};

/// Fetches and caches project pages. One per operation; use from the io_context thread only.
class index_client {
public:
    struct options {
        bool offline = false;
        bool refresh = false;
        /// Largest index page accepted (bytes, decoded).
        std::size_t max_page_bytes = 64u << 20;
    };

    /// `http` and `wheel_cache` must outlive the client.
    index_client(io::http_client& http, const cache::cache& wheel_cache, index_config config,
                 options opts);
    ~index_client();
    index_client(const index_client&) = delete;
    index_client& operator=(const index_client&) = delete;

    /// The project's page from the first index (in order) that has it: 404/410 moves on to the
    /// next index; any other error stops (no silent fall-through to a later index on a 500 or a
    /// TLS error — that is how dependency confusion happens). Fetched once per (index, project)
    /// per client however many callers ask at once (OnceMap).
    /// `normalized_name` may be any valid spelling (it is normalized here). The returned string
    /// is the index URL as configured.
    /// Errors: `errc::project_not_found` listing the indexes asked; HTTP errors naming the URL
    /// (credentials redacted); `errc::invalid_index_page` (the entry is then dropped from the
    /// cache); `errc::offline_miss` naming the project and index; `errc::invalid_name`.
    [[nodiscard]] io::task<result<std::pair<std::string, std::shared_ptr<const project_page>>>>
    async_project_page(std::string normalized_name);

    /// The best wheel for `normalized_name == version`: find-links locations first (local
    /// directories listed once per client; HTML pages fetched like index pages), then the first
    /// index that has the project. With no compatible file: `errc::no_compatible_wheel` whose
    /// message lists every file seen with the reason it was rejected and the interpreter's top
    /// tags (`select_wheel` does most of this).
    [[nodiscard]] io::task<result<located_wheel>>
    async_find_wheel(std::string normalized_name, pep440::version version,
                     const wheel::tag_list& tags, select_options select);

    [[nodiscard]] const index_stats& stats() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace pkg::index
