#pragma once
/// \file
/// The streaming wheel pipeline: an HTTP body (or a local .whl) becomes a validated archive tree
/// in the cache without the wheel ever being stored whole.
///
///     body chunk ─┬─ SHA-256 of the whole stream (OpenSSL EVP)
///                 └─ zip_stream_reader ── complete entries ──► CPU pool (bounded by
///                    `unzip_slots`): inflate + CRC + SHA-256 of the bytes ──► file backend:
///                    write into a staging tree from `cache.create_staging()`
///     end of body ── central directory validated (finish) ── stream hash == expected ──
///                    RECORD == files written ── exec bits ── manifest ── publish_archive
///                    (a competitor first is success) ── wheels-v1 pointer
///
/// Executable bits are known only from the central directory, i.e. after the last entry was
/// written: files are created 0644 and `chmod`ed to 0755 after `finish()` validated the archive
/// (before publishing, so a published tree never changes).
///
/// On any failure nothing is published: the staging tree is removed (also when the coroutine is
/// cancelled or destroyed, by a guard), and the error names the package, the URL (credentials
/// redacted) or file, and what was expected vs found. A process killed mid-way leaves only its
/// staging tree in `tmp/`, which `cache prune` removes once it is an hour old.
///
/// Retries: the HTTP client calls `reset()` on the sink before restarting a body; the sink then
/// forgets the hash and the zip reader and empties the staging tree (no Range resume: the zip
/// reader's state is not worth snapshotting for the rare cut-short body).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include <pkg/io/error.hpp>

#include "cache/cache.hpp"
#include "cache/manifest.hpp"
#include "fs/file_backend.hpp"
#include "http/http_client.hpp"
#include "runtime/once_map.hpp"
#include "runtime/slots.hpp"
#include "runtime/task.hpp"
#include "zip/zip_reader.hpp"

namespace pkg::pipeline {

/// One wheel to fetch.
struct wheel_request {
    /// Absolute http(s) URL of the .whl (may carry credentials; never printed unredacted).
    std::string url;
    /// The wheel filename; empty: the last path segment of `url` (query and fragment removed).
    std::string filename;
    /// The index the wheel came from, for the `wheels-v1/<index-key>/...` pointer; empty: no
    /// pointer is written (`--find-links` files, direct URLs).
    std::string index_url;
    /// The lockfile's `--hash=sha256:` (64 hex digits), empty if none. Wins over `index_sha256`.
    std::string pinned_sha256;
    /// The index page's `#sha256=` / `hashes`, empty if none.
    std::string index_sha256;
};

/// A validated archive in the cache.
struct archive_ref {
    std::string sha256;        ///< archive id (lower-case hex of the .whl)
    std::filesystem::path dir; ///< `archive-v1/<sha256>`
    std::shared_ptr<const cache::archive_manifest> manifest;
    bool is_from_cache = false; ///< found in the cache without downloading
};

/// What the pipeline works with. Held in a shared_ptr by every operation; the referenced
/// objects must outlive every operation started with the context, and the context (its
/// once_map) must be destroyed before the runtime whose executors its waiters use. The HTTP client
/// is used from the io_context thread only (as it requires).
struct pipeline_context {
    pipeline_context(asio::thread_pool::executor_type cpu_executor, io::http_client& http_client,
                     io::file_backend& file_backend, const cache::cache& wheel_cache,
                     io::slots& unzip) noexcept
        : cpu(std::move(cpu_executor)), http(http_client), files(file_backend), cache(wheel_cache),
          unzip_slots(unzip)
    {
    }

    asio::thread_pool::executor_type cpu; ///< inflate and hashing run here
    io::http_client& http;
    io::file_backend& files;
    const cache::cache& cache;
    io::slots& unzip_slots; ///< entries being inflated + written at once, over all wheels
    zip::limits limits{};
    /// One download per wheel per process: key = pinned sha256, else the URL.
    io::once_map<std::string, archive_ref> fetches{"wheel downloads"};
    /// HTTP fetches started (tests and progress: a warm fetch must not add to it).
    std::atomic<std::uint64_t> http_fetches{0};
};

/// The archive of `request`'s wheel: from the cache when the expected hash (pinned, else the
/// index's) names a published archive, or when the wheels-v1 pointer for (index, filename)
/// leads to one whose hash is the expected one (or any, without an expected hash); otherwise
/// downloaded, unpacked and published (see the file comment), once per process per key however
/// many callers ask at once (concurrent callers await the same outcome).
/// Errors (every message starts with "<name> <version>: <redacted URL>"):
/// `errc::invalid_wheel_filename`; HTTP errors from the client; `errc::invalid_zip` /
/// `unsafe_zip_path` / `zip_limit_exceeded`; `errc::hash_mismatch` (expected vs got);
/// `errc::invalid_wheel` (no RECORD); `errc::record_mismatch`; cache and filesystem errors naming
/// paths. Thread-safety: call from the io_context thread (the HTTP client's).
[[nodiscard]] io::task<result<archive_ref>> async_fetch_wheel(std::shared_ptr<pipeline_context> ctx,
                                                              wheel_request request);

/// Unpacks the local wheel file `wheel` with the same validation and publishing (for
/// `--find-links` directories and tests); read in chunks, never whole. `request.url` is
/// ignored (messages name the path); `request.filename` defaults to the file's name; the
/// expected hash and pointer work as in `async_fetch_wheel`. Looks in the cache first as well.
/// Errors: as `async_fetch_wheel`, with read errors naming the path instead of HTTP errors.
[[nodiscard]] io::task<result<archive_ref>>
async_unpack_local_wheel(std::shared_ptr<pipeline_context> ctx, std::filesystem::path wheel,
                         wheel_request request);

} // namespace pkg::pipeline
