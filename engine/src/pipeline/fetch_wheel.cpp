#include "pipeline/fetch_wheel.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pkg/engine/errc.hpp>

#include "cache/digest.hpp"
#include "fs/blocking_ops.hpp"
#include "fs/remove_tree.hpp"
#include "http/url.hpp"
#include "pep508/name.hpp"
#include "pipeline/record.hpp"
#include "runtime/fan_out.hpp"
#include "runtime/runtime.hpp"
#include "wheel/wheel_filename.hpp"
#include "zip/inflate.hpp"

namespace pkg::pipeline {

namespace {

/// Bytes read from a local wheel per step: large enough that syscalls do not dominate, small
/// enough that a big wheel is never held whole.
constexpr std::size_t local_chunk_bytes = 256 * 1024;

struct evp_deleter {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using evp_ptr = std::unique_ptr<EVP_MD_CTX, evp_deleter>;

std::string to_hex(const unsigned char* bytes, std::size_t n)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[bytes[i] >> 4];
        out += digits[bytes[i] & 15];
    }
    return out;
}

/// SHA-256 of `bytes` as RECORD writes it.
std::string sha256_b64(std::span<const std::byte> bytes)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) !=
        1) {
        throw std::runtime_error("OpenSSL EVP_Digest(sha256) failed");
    }
    return base64_urlsafe_nopad(
        std::string_view(reinterpret_cast<const char*>(digest.data()), length));
}

std::string join(const std::vector<std::string>& parts, char sep)
{
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) {
            out += sep;
        }
        out += p;
    }
    return out;
}

/// The last path segment of a URL, query and fragment removed, %XX decoded (`+` of local
/// versions arrives as %2B).
std::string filename_from_url(std::string_view url)
{
    url = url.substr(0, url.find_first_of("?#"));
    std::string_view last = url.substr(url.rfind('/') + 1);
    std::string out;
    for (std::size_t i = 0; i < last.size(); ++i) {
        auto hex_value = [](char c) -> int {
            if (c >= '0' && c <= '9')
                return c - '0';
            if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
            if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
            return -1;
        };
        if (last[i] == '%' && i + 2 < last.size() && hex_value(last[i + 1]) >= 0 &&
            hex_value(last[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(last[i + 1]) * 16 + hex_value(last[i + 2]));
            i += 2;
        } else {
            out += last[i];
        }
    }
    return out;
}

/// Who and where, for messages and the manifest.
struct wheel_identity {
    std::string filename;
    wheel::wheel_filename parsed;
    std::string version_text; ///< as written in the filename
    std::string tags_text;    ///< compressed tag triple, lower case
    std::string label;        ///< "pip 23.0.1: <redacted URL or path>"
};

result<wheel_identity> identify(std::string filename, std::string_view source)
{
    auto parsed = wheel::wheel_filename::parse(filename);
    if (!parsed) {
        return fail(parsed.error().with_context(source));
    }
    wheel_identity id;
    id.filename = std::move(filename);
    id.parsed = std::move(*parsed);
    const std::size_t first_dash = id.filename.find('-');
    const std::size_t second_dash = id.filename.find('-', first_dash + 1);
    id.version_text = id.filename.substr(first_dash + 1, second_dash - first_dash - 1);
    id.tags_text = join(id.parsed.python_tags, '.') + "-" + join(id.parsed.abi_tags, '.') + "-" +
                   join(id.parsed.platform_tags, '.');
    id.label = fmt::format("{} {}: {}", id.parsed.distribution, id.version_text, source);
    return id;
}

/// The hash to check the stream against: the lockfile's pin, else the index's; lower-cased.
result<std::string> expected_hash(const wheel_request& request, std::string_view label)
{
    std::string h = request.pinned_sha256.empty() ? request.index_sha256 : request.pinned_sha256;
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!h.empty() && !cache::is_sha256_hex(h)) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    fmt::format("expected sha256 '{}' is not 64 hex digits", h),
                    std::string(label));
    }
    return h;
}

archive_ref to_ref(cache::archive_entry entry, bool is_from_cache)
{
    archive_ref ref;
    ref.sha256 = entry.manifest.sha256;
    ref.dir = std::move(entry.dir);
    ref.manifest = std::make_shared<const cache::archive_manifest>(std::move(entry.manifest));
    ref.is_from_cache = is_from_cache;
    return ref;
}

/// The warm path: the archive named by the expected hash, else the pointer's archive (whose
/// hash must be the expected one when there is one).
std::optional<archive_ref> lookup_cached(const pipeline_context& ctx, const wheel_request& request,
                                         const wheel_identity& id, const std::string& expected)
{
    if (!expected.empty()) {
        if (auto hit = ctx.cache.lookup_by_hash(expected)) {
            // A process killed between publishing an archive and writing its pointer leaves an
            // archive nothing points to, which `cache prune` would delete under later installs:
            // (re)point it. Best effort: the archive itself is valid either way, and a pointer
            // that cannot be written now fails the same way on the next fetch that needs it.
            if (!request.index_url.empty()) {
                (void)ctx.cache.link_wheel(request.index_url, id.parsed.normalized_name,
                                           id.filename, expected);
            }
            return to_ref(std::move(*hit), true);
        }
        return std::nullopt;
    }
    if (!request.index_url.empty()) {
        if (auto hit =
                ctx.cache.lookup_wheel(request.index_url, id.parsed.normalized_name, id.filename)) {
            return to_ref(std::move(*hit), true);
        }
    }
    return std::nullopt;
}

/// True for `<something>.dist-info/RECORD` at the top level.
bool is_record_path(std::string_view name)
{
    constexpr std::string_view suffix = ".dist-info/RECORD";
    return name.size() > suffix.size() && name.ends_with(suffix) &&
           name.find('/') == name.size() - std::string_view("RECORD").size() - 1;
}

/// Streams one wheel into a staging tree and publishes it. Owns the staging tree: unless
/// published, the destructor removes it (errors, cancellation, frame destruction alike).
/// Used on the io_context thread only; entry work hops to the CPU pool and back.
class unpacker {
public:
    unpacker(std::shared_ptr<pipeline_context> ctx, wheel_identity id,
             std::filesystem::path staging)
        : ctx_(std::move(ctx)), id_(std::move(id)), staging_(std::move(staging))
    {
        restart();
    }
    unpacker(const unpacker&) = delete;
    unpacker& operator=(const unpacker&) = delete;
    ~unpacker()
    {
        if (!is_published_) {
            (void)io::remove_tree(staging_);
        }
    }

    [[nodiscard]] const wheel_identity& id() const { return id_; }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

    /// Forgets everything received and empties the staging tree (a retried body).
    void reset()
    {
        files_.clear();
        records_.clear();
        dirs_made_.clear();
        bytes_ = 0;
        if (auto removed = io::remove_tree(staging_); !removed) {
            pending_error_ = removed.error();
            return;
        }
        std::error_code ec;
        std::filesystem::create_directory(staging_, ec);
        if (ec) {
            pending_error_ = system_error(ec.value(), "mkdir", staging_.string());
            return;
        }
        restart();
    }

    /// Hashes and parses `bytes`, then inflates and writes every entry they completed. The
    /// span is consumed before the first suspension.
    io::task<result<void>> async_feed(std::span<const std::byte> bytes)
    {
        if (pending_error_) {
            co_return fail(*pending_error_);
        }
        if (EVP_DigestUpdate(hasher_.get(), bytes.data(), bytes.size()) != 1) {
            throw std::runtime_error("OpenSSL EVP_DigestUpdate failed");
        }
        bytes_ += bytes.size();
        if (auto fed = reader_->feed(bytes); !fed) {
            co_return fail(fed.error());
        }
        while (auto entry = reader_->next_entry()) {
            pending_bytes_ += entry->data.size();
            pending_.push_back(std::move(*entry));
        }
        // Entries are written in batches: one drain per network chunk would write a wheel of
        // many mid-sized files (Babel's locale data) one file at a time, each behind a round
        // trip to the CPU pool and the file backend, with the socket idle meanwhile.
        if (pending_.size() < batch_entries && pending_bytes_ < batch_bytes) {
            co_return result<void>{};
        }
        co_return co_await async_drain();
    }

    /// The end of the stream: validates everything and publishes (see the file comment).
    io::task<result<archive_ref>> async_finish(std::string expected, std::string index_url)
    {
        if (pending_error_) {
            co_return fail(*pending_error_);
        }
        auto summary = reader_->finish();
        if (!summary) {
            co_return fail(summary.error());
        }
        if (auto drained = co_await async_drain(); !drained) {
            co_return fail(drained.error());
        }
        std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
        unsigned int length = 0;
        if (EVP_DigestFinal_ex(hasher_.get(), digest.data(), &length) != 1) {
            throw std::runtime_error("OpenSSL EVP_DigestFinal_ex failed");
        }
        const std::string got = to_hex(digest.data(), length);
        if (!expected.empty() && got != expected) {
            co_return fail(errc::hash_mismatch,
                           fmt::format("sha256 mismatch for {} (expected {}, got {}; {} bytes)",
                                       id_.filename, expected, got, bytes_),
                           "", "the server sent different bytes than the lockfile or index pins");
        }
        auto record_path = choose_record();
        if (!record_path) {
            co_return fail(record_path.error());
        }
        auto lines = parse_record(records_.at(*record_path), *record_path);
        if (!lines) {
            co_return fail(lines.error());
        }
        auto unhashed = check_record(*lines, *record_path, files_);
        if (!unhashed) {
            co_return fail(unhashed.error());
        }
        const std::set<std::string> unhashed_set(unhashed->begin(), unhashed->end());

        cache::archive_manifest manifest;
        manifest.wheel_filename = id_.filename;
        manifest.name = id_.parsed.normalized_name;
        manifest.version = id_.version_text;
        manifest.tags = id_.tags_text;
        manifest.sha256 = got;
        manifest.wheel_size_bytes = bytes_;
        std::vector<std::filesystem::path> executables;
        for (const zip::zip_entry_info& entry : summary->entries) {
            if (entry.is_directory) {
                continue;
            }
            auto file = files_.find(entry.name);
            if (file == files_.end()) {
                // The reader hands out every entry it matched; this would be our bug.
                co_return fail(errc::invalid_zip,
                               fmt::format("entry '{}' was never unpacked", entry.name));
            }
            cache::manifest_file mf;
            mf.path = entry.name;
            mf.size_bytes = file->second.size_bytes;
            mf.hash = unhashed_set.contains(entry.name) ? std::string() : file->second.sha256_b64;
            mf.is_executable = entry.is_executable;
            manifest.unpacked_size_bytes += mf.size_bytes;
            manifest.files.push_back(std::move(mf));
            if (entry.is_executable) {
                executables.push_back(staging_ / entry.name);
            }
        }

        // Small synchronous filesystem steps, off the io_context thread.
        auto publish = [this, &manifest, &executables,
                        &index_url]() -> result<std::filesystem::path> {
            for (const auto& path : executables) {
                if (::chmod(path.c_str(), 0755) != 0) {
                    return fail(system_error(errno, "chmod", path.string()));
                }
            }
            if (auto written = cache::write_manifest(staging_, manifest); !written) {
                return fail(written.error());
            }
            auto published = ctx_->cache.publish_archive(staging_, manifest.sha256);
            if (!published) {
                return fail(published.error());
            }
            // Published, or a competitor's identical tree won and ours was removed.
            is_published_ = true;
            if (!index_url.empty()) {
                if (auto linked = ctx_->cache.link_wheel(index_url, manifest.name,
                                                         manifest.wheel_filename, manifest.sha256);
                    !linked) {
                    return fail(linked.error());
                }
            }
            return *published;
        };
        auto dir = co_await io::async_on_cpu(ctx_->cpu, std::move(publish));
        if (!dir) {
            co_return fail(dir.error());
        }
        archive_ref ref;
        ref.sha256 = got;
        ref.dir = std::move(*dir);
        ref.manifest = std::make_shared<const cache::archive_manifest>(std::move(manifest));
        co_return ref;
    }

private:
    struct inflated {
        std::vector<std::byte> bytes;  ///< empty once written by the job (unless RECORD)
        std::string sha256_b64;
        std::size_t size = 0;
    };

    void restart()
    {
        pending_error_.reset();
        pending_.clear();
        pending_bytes_ = 0;
        reader_.emplace(ctx_->limits);
        hasher_.reset(EVP_MD_CTX_new());
        if (!hasher_ || EVP_DigestInit_ex(hasher_.get(), EVP_sha256(), nullptr) != 1) {
            throw std::runtime_error("OpenSSL EVP_DigestInit_ex(sha256) failed");
        }
    }

    /// Inflates and writes every entry the reader completed, in parallel up to unzip_slots.
    io::task<result<void>> async_drain()
    {
        while (auto entry = reader_->next_entry()) {
            pending_.push_back(std::move(*entry));
        }
        std::vector<io::task<result<void>>> jobs;
        for (auto& entry : pending_) {
            // `this` outlives the jobs: async_collect returns only after every child ended.
            jobs.push_back(async_write_entry(std::move(entry)));
        }
        pending_.clear();
        pending_bytes_ = 0;
        if (jobs.empty()) {
            co_return result<void>{};
        }
        auto outcomes = co_await io::async_collect(std::move(jobs), ctx_->unzip_slots);
        for (auto& outcome : outcomes) {
            if (!outcome) {
                co_return fail(outcome.error());
            }
        }
        co_return result<void>{};
    }

    io::task<result<void>> async_write_entry(zip::zip_entry entry)
    {
        const std::filesystem::path target = staging_ / entry.name;
        if (entry.is_directory) {
            co_return co_await ctx_->files.async_create_directories(target);
        }
        if (entry.name == cache::manifest_file_name) {
            co_return fail(
                errc::unsafe_zip_path,
                fmt::format("entry '{}' would overwrite pkg's archive manifest", entry.name));
        }
        std::string name = entry.name;
        const std::filesystem::path parent = target.parent_path();
        if (ctx_->files.kind() == io::backend_kind::threads) {
            // With the thread backend, the job that inflates an entry also writes it: one
            // hand-off per file instead of three (to the pool, back, to the file threads, back),
            // which is most of the cost of a wheel of many small files.
            const bool is_record = is_record_path(name);
            auto work = [e = std::move(entry), target, parent, is_record]() -> result<inflated> {
                auto bytes = zip::inflate_entry(e);
                if (!bytes) {
                    return fail(bytes.error());
                }
                std::string b64 = sha256_b64(*bytes);
                const std::vector<std::span<const std::byte>> buffers{
                    std::span<const std::byte>(*bytes)};
                const io::write_options options{.mode = 0644};
                auto written = io::write_file_blocking(target, buffers, options);
                if (!written && written.error().code == std::errc::no_such_file_or_directory) {
                    // The first file of a directory: make it (and its parents), then write.
                    if (auto made = io::mkdirs_blocking(parent, 0755); !made) {
                        return fail(made.error());
                    }
                    written = io::write_file_blocking(target, buffers, options);
                }
                if (!written) {
                    return fail(written.error());
                }
                const std::size_t size = bytes->size();
                // Only RECORD's text is kept (parsed at the end); other bytes are freed here.
                return inflated{is_record ? std::move(*bytes) : std::vector<std::byte>{},
                                std::move(b64), size};
            };
            auto data = co_await io::async_on_cpu(ctx_->cpu, std::move(work));
            if (!data) {
                co_return fail(data.error());
            }
            if (is_record) {
                records_[name].assign(reinterpret_cast<const char*>(data->bytes.data()),
                                      data->bytes.size());
            }
            files_[name] = unpacked_file{data->size, std::move(data->sha256_b64)};
            co_return result<void>{};
        }
        auto work = [e = std::move(entry)]() -> result<inflated> {
            auto bytes = zip::inflate_entry(e);
            if (!bytes) {
                return fail(bytes.error());
            }
            std::string b64 = sha256_b64(*bytes);
            const std::size_t size = bytes->size();
            return inflated{std::move(*bytes), std::move(b64), size};
        };
        auto data = co_await io::async_on_cpu(ctx_->cpu, std::move(work));
        if (!data) {
            co_return fail(data.error());
        }
        if (!dirs_made_.contains(parent)) {
            if (auto made = co_await ctx_->files.async_create_directories(parent); !made) {
                co_return fail(made.error());
            }
            dirs_made_.insert(parent);
        }
        std::vector<std::span<const std::byte>> buffers{std::span<const std::byte>(data->bytes)};
        if (auto written = co_await ctx_->files.async_write_file(target, std::move(buffers),
                                                                 io::write_options{.mode = 0644});
            !written) {
            co_return fail(written.error());
        }
        if (is_record_path(name)) {
            records_[name].assign(reinterpret_cast<const char*>(data->bytes.data()),
                                  data->bytes.size());
        }
        files_[name] = unpacked_file{data->bytes.size(), std::move(data->sha256_b64)};
        co_return result<void>{};
    }

    /// The wheel's own `<name>-<version>.dist-info/RECORD`: the only one, or the one whose name
    /// part normalizes to the wheel's project name.
    result<std::string> choose_record() const
    {
        if (records_.empty()) {
            return fail(errc::invalid_wheel,
                        fmt::format("{} has no <name>.dist-info/RECORD", id_.filename), "",
                        "every wheel lists its files in RECORD (PEP 427)");
        }
        if (records_.size() == 1) {
            return records_.begin()->first;
        }
        std::vector<std::string> matching;
        std::string all;
        for (const auto& [path, text] : records_) {
            all += (all.empty() ? "" : ", ") + path;
            const std::string dir = path.substr(0, path.find(".dist-info/"));
            if (pep508::normalize_name(dir.substr(0, dir.find('-'))) ==
                id_.parsed.normalized_name) {
                matching.push_back(path);
            }
        }
        if (matching.size() != 1) {
            return fail(errc::invalid_wheel,
                        fmt::format("{} has {} RECORD files ({}) and {} of them belong to '{}'",
                                    id_.filename, records_.size(), all, matching.size(),
                                    id_.parsed.normalized_name));
        }
        return matching.front();
    }

    std::shared_ptr<pipeline_context> ctx_;
    wheel_identity id_;
    std::filesystem::path staging_;
    bool is_published_ = false;
    std::optional<error> pending_error_;
    // Entries the reader completed that wait for the next drain (at most a batch).
    static constexpr std::size_t batch_entries = 32;
    static constexpr std::uint64_t batch_bytes = 2u << 20;
    std::vector<zip::zip_entry> pending_;
    std::uint64_t pending_bytes_ = 0;
    evp_ptr hasher_;
    std::optional<zip::zip_stream_reader> reader_;
    std::uint64_t bytes_ = 0;
    std::map<std::string, unpacked_file> files_;
    std::map<std::string, std::string> records_; ///< candidate RECORD files' text
    std::set<std::filesystem::path> dirs_made_;
};

/// The HTTP body sink: every call goes to the unpacker.
class wheel_sink final : public io::body_sink {
public:
    explicit wheel_sink(unpacker& u) noexcept : unpacker_(u) {}

    io::task<result<void>> async_begin(const io::response_head& /*head*/) override
    {
        co_return result<void>{};
    }
    io::task<result<void>> async_chunk(std::span<const std::byte> bytes) override
    {
        return unpacker_.async_feed(bytes);
    }
    io::task<result<void>> async_end() override { co_return result<void>{}; }
    void reset() override { unpacker_.reset(); }
    [[nodiscard]] std::uint64_t bytes_received() const override { return unpacker_.bytes(); }

private:
    unpacker& unpacker_;
};

io::task<result<archive_ref>> async_download(std::shared_ptr<pipeline_context> ctx,
                                             wheel_request request, wheel_identity id,
                                             std::string expected)
{
    // Another process may have published it since the caller looked.
    if (auto hit = lookup_cached(*ctx, request, id, expected)) {
        co_return std::move(*hit);
    }
    auto staging = ctx->cache.create_staging();
    if (!staging) {
        co_return fail(staging.error());
    }
    unpacker u(ctx, id, std::move(*staging));
    wheel_sink sink(u);
    ctx->http_fetches.fetch_add(1, std::memory_order_relaxed);
    io::http_request http_request;
    http_request.url = request.url;
    auto head = co_await ctx->http.async_fetch(std::move(http_request), sink);
    if (!head) {
        co_return fail(head.error());
    }
    co_return co_await u.async_finish(std::move(expected), std::move(request.index_url));
}

io::task<result<archive_ref>> async_unpack_file(std::shared_ptr<pipeline_context> ctx,
                                                std::filesystem::path wheel, wheel_request request,
                                                wheel_identity id, std::string expected)
{
    if (auto hit = lookup_cached(*ctx, request, id, expected)) {
        co_return std::move(*hit);
    }
    const int fd = ::open(wheel.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        co_return fail(system_error(errno, "open", wheel.string()));
    }
    struct fd_closer {
        int fd;
        ~fd_closer() { ::close(fd); }
    } closer{fd};
    auto staging = ctx->cache.create_staging();
    if (!staging) {
        co_return fail(staging.error());
    }
    unpacker u(ctx, id, std::move(*staging));
    std::vector<std::byte> buffer(local_chunk_bytes);
    for (;;) {
        auto read_chunk = [fd, &buffer]() -> result<std::size_t> {
            for (;;) {
                const ssize_t n = ::read(fd, buffer.data(), buffer.size());
                if (n >= 0) {
                    return static_cast<std::size_t>(n);
                }
                if (errno != EINTR) {
                    return fail(system_error(errno, "read", ""));
                }
            }
        };
        auto n = co_await io::async_on_cpu(ctx->cpu, std::move(read_chunk));
        if (!n) {
            co_return fail(n.error().with_context(wheel.string()));
        }
        if (*n == 0) {
            break;
        }
        if (auto fed = co_await u.async_feed(std::span<const std::byte>(buffer.data(), *n)); !fed) {
            co_return fail(fed.error());
        }
    }
    co_return co_await u.async_finish(std::move(expected), std::move(request.index_url));
}

/// Every error of one wheel carries its label ("pip 23.0.1: <URL>").
result<archive_ref> labelled(result<archive_ref> r, const std::string& label)
{
    if (!r) {
        return fail(r.error().with_context(label));
    }
    return r;
}

} // namespace

io::task<result<archive_ref>> async_fetch_wheel(std::shared_ptr<pipeline_context> ctx,
                                                wheel_request request)
{
    const std::string source = io::redact_url(request.url);
    if (request.filename.empty()) {
        request.filename = filename_from_url(request.url);
    }
    auto id = identify(request.filename, source);
    if (!id) {
        co_return fail(id.error());
    }
    auto expected = expected_hash(request, id->label);
    if (!expected) {
        co_return fail(expected.error());
    }
    if (auto hit = lookup_cached(*ctx, request, *id, *expected)) {
        co_return std::move(*hit);
    }
    std::string key = expected->empty() ? request.url : *expected;
    const std::string label = id->label;
    auto producer = [ctx, request, id = *id,
                     expected = *expected]() -> io::task<result<archive_ref>> {
        return async_download(ctx, request, id, expected);
    };
    auto outcome = co_await ctx->fetches.async_get_or_run(std::move(key), std::move(producer));
    co_return labelled(std::move(outcome), label);
}

io::task<result<archive_ref>> async_unpack_local_wheel(std::shared_ptr<pipeline_context> ctx,
                                                       std::filesystem::path wheel,
                                                       wheel_request request)
{
    if (request.filename.empty()) {
        request.filename = wheel.filename().string();
    }
    auto id = identify(request.filename, wheel.string());
    if (!id) {
        co_return fail(id.error());
    }
    auto expected = expected_hash(request, id->label);
    if (!expected) {
        co_return fail(expected.error());
    }
    const std::string label = id->label;
    auto outcome = co_await async_unpack_file(ctx, std::move(wheel), std::move(request),
                                              std::move(*id), std::move(*expected));
    co_return labelled(std::move(outcome), label);
}

} // namespace pkg::pipeline
