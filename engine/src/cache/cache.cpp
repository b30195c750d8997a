#include "cache/cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

#include <fmt/core.h>

#include <pkg/engine/errc.hpp>

#include "cache/digest.hpp"
#include "cache/index_key.hpp"
#include "fs/atomic_file.hpp"
#include "fs/publish.hpp"
#include "fs/remove_tree.hpp"
#include "fs/symlink_swap.hpp"
#include "pep508/name.hpp"
#include "wheel/wheel_filename.hpp"

namespace stdfs = std::filesystem;

namespace pkg::cache {
namespace {

constexpr std::string_view cachedir_tag_text =
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by pkg.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n";

constexpr std::chrono::seconds default_lock_timeout{300};

bool exists_no_follow(const stdfs::path& path) noexcept
{
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

result<void> ensure_directory(const stdfs::path& dir)
{
    if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
        return tl::unexpected(system_error(errno, "creating the cache directory", dir.native()));
    }
    return {};
}

// Written only when missing; atomic, so a concurrent opener sees no file or the whole one, and
// two openers racing both write the same bytes.
result<void> ensure_file(const stdfs::path& path, std::string_view contents)
{
    if (exists_no_follow(path)) {
        return {};
    }
    return io::atomic_write_file(path, contents);
}

result<void> create_base_files(const stdfs::path& root)
{
    std::error_code ec;
    stdfs::create_directories(root, ec);
    if (ec) {
        return fail(ec, "creating the cache directory failed: " + ec.message(), root.native(),
                    "choose another place with --cache-dir or PKG_CACHE_DIR");
    }
    if (auto ok = ensure_file(root / cachedir_tag_name, cachedir_tag_text); !ok) {
        return ok;
    }
    if (auto ok = ensure_file(root / ".gitignore", "*\n"); !ok) {
        return ok;
    }
    const auto lock = root / lock_file_name;
    if (!exists_no_follow(lock)) {
        // O_CREAT without O_EXCL: concurrent openers all succeed on the one file.
        const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) {
            return tl::unexpected(
                system_error(errno, "creating the cache lock file", lock.native()));
        }
        ::close(fd);
    }
    for (auto bucket :
         {archive_bucket, wheels_bucket, simple_bucket, interpreter_bucket, tmp_bucket}) {
        if (auto ok = ensure_directory(root / bucket); !ok) {
            return ok;
        }
    }
    return {};
}

std::optional<stdfs::path> absolute_of(const std::string& text)
{
    std::error_code ec;
    auto path = stdfs::absolute(text, ec);
    if (ec) {
        return std::nullopt;
    }
    return path;
}

}  // namespace

getenv_function process_environment()
{
    return [](std::string_view name) -> std::optional<std::string> {
        const std::string key(name);
        const char* value = std::getenv(key.c_str());
        if (value == nullptr) {
            return std::nullopt;
        }
        return std::string(value);
    };
}

result<stdfs::path> resolve_root(const std::optional<std::string>& explicit_dir,
                                 const getenv_function& getenv)
{
    const getenv_function& env = getenv ? getenv : process_environment();
    auto choose = [](const std::string& text, std::string_view source) -> result<stdfs::path> {
        if (auto path = absolute_of(text)) {
            return *path;
        }
        return fail(errc::no_cache_directory,
                    fmt::format("cannot make {} '{}' absolute", source, text));
    };
    if (explicit_dir && !explicit_dir->empty()) {
        return choose(*explicit_dir, "--cache-dir");
    }
    if (auto dir = env("PKG_CACHE_DIR"); dir && !dir->empty()) {
        return choose(*dir, "PKG_CACHE_DIR");
    }
    // XDG: "If an implementation encounters a relative path in any of these variables it should
    // consider the path invalid and ignore it."
    if (auto xdg = env("XDG_CACHE_HOME"); xdg && !xdg->empty() && xdg->front() == '/') {
        return stdfs::path(*xdg) / "pkg";
    }
    if (auto home = env("HOME"); home && !home->empty() && home->front() == '/') {
        return stdfs::path(*home) / ".cache" / "pkg";
    }
    return fail(errc::no_cache_directory,
                "no cache directory: --cache-dir, PKG_CACHE_DIR, an absolute XDG_CACHE_HOME and an "
                "absolute HOME are all unset",
                {}, "pass --cache-dir DIR or set PKG_CACHE_DIR");
}

result<std::chrono::milliseconds> lock_timeout_from_env(const getenv_function& getenv)
{
    const getenv_function& env = getenv ? getenv : process_environment();
    auto text = env("PKG_LOCK_TIMEOUT");
    if (!text || text->empty()) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(default_lock_timeout);
    }
    const bool is_digits =
        text->size() <= 10 && text->find_first_not_of("0123456789") == std::string::npos;
    if (!is_digits) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    fmt::format("PKG_LOCK_TIMEOUT '{}' is not a whole number of seconds", *text),
                    "PKG_LOCK_TIMEOUT", "use e.g. PKG_LOCK_TIMEOUT=300 (0 = do not wait)");
    }
    return std::chrono::milliseconds(std::stoll(*text) * 1000);
}

bool has_cachedir_tag(const stdfs::path& root)
{
    const int fd = ::open((root / cachedir_tag_name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    char buffer[64];
    const ssize_t n = ::read(fd, buffer, cachedir_signature.size());
    ::close(fd);
    return n == static_cast<ssize_t>(cachedir_signature.size()) &&
           std::string_view(buffer, cachedir_signature.size()) == cachedir_signature;
}

result<cache> cache::open(const stdfs::path& root)
{
    auto absolute = absolute_of(root.string());
    if (!absolute) {
        return fail(errc::no_cache_directory, "cannot make the cache path absolute", root.native());
    }
    if (auto ok = create_base_files(*absolute); !ok) {
        return tl::unexpected(ok.error());
    }
    return cache(std::move(*absolute), false);
}

result<cache> cache::open_temporary(const stdfs::path& near)
{
    std::string pattern = (near / ".pkg-cache-XXXXXX").native();
    if (::mkdtemp(pattern.data()) == nullptr) {
        return tl::unexpected(
            system_error(errno, "creating a temporary cache (--no-cache)", near.native()));
    }
    cache temporary(stdfs::path(pattern), true);  // From here on the destructor removes it.
    if (auto ok = create_base_files(temporary.root_); !ok) {
        return tl::unexpected(ok.error());
    }
    return temporary;
}

cache::cache(cache&& other) noexcept
    : root_(std::move(other.root_)), is_temporary_(std::exchange(other.is_temporary_, false))
{
}

cache& cache::operator=(cache&& other) noexcept
{
    if (this != &other) {
        if (is_temporary_) {
            (void)io::remove_tree(root_);
        }
        root_ = std::move(other.root_);
        is_temporary_ = std::exchange(other.is_temporary_, false);
    }
    return *this;
}

cache::~cache()
{
    if (is_temporary_) {
        (void)io::remove_tree(root_);
    }
}

result<stdfs::path> cache::create_staging() const
{
    const auto tmp = bucket(tmp_bucket);
    std::string pattern = (tmp / "staging.XXXXXX").native();
    if (::mkdtemp(pattern.data()) == nullptr) {
        return tl::unexpected(system_error(errno, "creating a staging directory", tmp.native()));
    }
    // mkdtemp makes 0700; archives are read by whoever installs from this cache.
    if (::chmod(pattern.c_str(), 0755) != 0) {
        const int e = errno;
        (void)io::remove_tree(pattern);
        return tl::unexpected(system_error(e, "chmod of the staging directory", pattern));
    }
    return stdfs::path(pattern);
}

stdfs::path cache::archive_path(std::string_view sha256) const
{
    return bucket(archive_bucket) / sha256;
}

bool cache::has_archive(std::string_view sha256) const
{
    if (!is_sha256_hex(sha256)) {
        return false;
    }
    struct stat st {};
    return ::lstat(archive_path(sha256).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

result<stdfs::path> cache::publish_archive(const stdfs::path& staging,
                                           std::string_view sha256) const
{
    if (!is_sha256_hex(sha256)) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    fmt::format("archive id '{}' is not 64 lower-case hex digits", sha256),
                    staging.native());
    }
    auto manifest = read_manifest(staging);
    if (!manifest) {
        return tl::unexpected(manifest.error().with_context("publishing " + staging.string()));
    }
    if (manifest->sha256 != sha256) {
        return fail(errc::corrupt_cache_entry,
                    fmt::format("staging manifest names sha256 {} but the archive id is {}",
                                manifest->sha256, sha256),
                    staging.native());
    }
    const auto target = archive_path(sha256);
    auto published = io::publish_directory(staging, target);
    if (!published) {
        return tl::unexpected(published.error());
    }
    return target;
}

result<void> cache::link_wheel(std::string_view index_url, std::string_view name,
                               std::string_view filename, std::string_view sha256) const
{
    auto normalized = pep508::parse_name(name);
    if (!normalized) {
        return tl::unexpected(normalized.error());
    }
    if (auto parsed = wheel::wheel_filename::parse(filename);
        !parsed || filename.find('/') != std::string_view::npos) {
        return fail(errc::invalid_wheel_filename,
                    fmt::format("cannot link '{}': not a wheel filename", filename));
    }
    if (!is_sha256_hex(sha256)) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    fmt::format("archive id '{}' is not 64 lower-case hex digits", sha256),
                    std::string(filename));
    }
    if (!has_archive(sha256)) {
        return fail(std::make_error_code(std::errc::no_such_file_or_directory),
                    fmt::format("cannot link {}: its archive is not published", filename),
                    archive_path(sha256).native());
    }
    const auto dir = bucket(wheels_bucket) / index_key(index_url) / *normalized;
    std::error_code ec;
    stdfs::create_directories(dir, ec);
    if (ec) {
        return fail(ec, "creating the pointer directory failed: " + ec.message(), dir.native());
    }
    // Relative, so the cache can be moved or mounted elsewhere as a whole.
    const stdfs::path target = stdfs::path("..") / ".." / ".." / archive_bucket / sha256;
    return io::replace_symlink(dir / filename, target);
}

std::optional<archive_entry> cache::load_archive(const stdfs::path& dir,
                                                 std::string_view sha256) const
{
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return std::nullopt;
    }
    auto manifest = read_manifest(dir);
    // A manifest written for other bytes would install the wrong files: corrupt, so a miss.
    // The wheel filename is not compared: identical bytes may be served under two names, and
    // the archive keeps the first publisher's manifest.
    if (!manifest || manifest->sha256 != sha256) {
        return std::nullopt;
    }
    return archive_entry{dir, std::move(*manifest)};
}

std::optional<archive_entry> cache::lookup_wheel(std::string_view index_url, std::string_view name,
                                                 std::string_view filename) const
{
    if (!pep508::is_valid_name(name) || filename.empty() ||
        filename.find('/') != std::string_view::npos || filename == "." || filename == "..") {
        return std::nullopt;
    }
    const auto link =
        bucket(wheels_bucket) / index_key(index_url) / pep508::normalize_name(name) / filename;
    auto text = io::read_pointer(link);
    if (!text || !*text) {
        return std::nullopt;
    }
    // Only the exact form link_wheel writes is trusted; anything else points outside the cache
    // or was not written by pkg.
    const auto& target = **text;
    const std::string id = target.filename().string();
    if (!is_sha256_hex(id) || target != stdfs::path("..") / ".." / ".." / archive_bucket / id) {
        return std::nullopt;
    }
    return load_archive(archive_path(id), id);
}

std::optional<archive_entry> cache::lookup_by_hash(std::string_view sha256) const
{
    if (!is_sha256_hex(sha256)) {
        return std::nullopt;
    }
    return load_archive(archive_path(sha256), sha256);
}

result<io::file_lock> cache::lock(io::lock_kind kind, std::chrono::milliseconds timeout,
                                  std::string_view description,
                                  const lock_wait_callback& on_wait) const
{
    const auto path = lock_path();
    // Trying first ourselves (rather than leaving it to lock_for) guarantees that a busy lock
    // is reported to `on_wait` even with a zero timeout, so the user learns who holds it.
    auto attempt = io::file_lock::try_lock(path, kind, description);
    if (!attempt) {
        return tl::unexpected(attempt.error());
    }
    if (*attempt) {
        return std::move(**attempt);
    }
    if (on_wait) {
        on_wait(io::read_lock_owner(path));
    }
    auto held = io::file_lock::lock_for(path, kind, timeout, description);
    if (held) {
        return held;
    }
    if (held.error().code != std::errc::timed_out) {
        return held;
    }
    std::string holder = "held by running pkg installs";
    if (auto owner = io::read_lock_owner(path)) {
        holder = fmt::format("held by pid {}", owner->pid);
        if (!owner->description.empty()) {
            holder += " (" + owner->description + ")";
        }
    }
    return fail(
        errc::cache_locked,
        fmt::format("cache {} is still locked after {:g} s, {}", root_.string(),
                    static_cast<double>(timeout.count()) / 1000.0, holder),
        path.native(),
        kind == io::lock_kind::exclusive
            ? "wait for it to finish, set PKG_LOCK_TIMEOUT (seconds) to wait longer, or pass "
              "--force if no pkg process really uses the cache"
            : "wait for `pkg cache clean/prune` to finish, or set PKG_LOCK_TIMEOUT (seconds)");
}

result<io::file_lock> cache::lock_shared(std::chrono::milliseconds timeout,
                                         const lock_wait_callback& on_wait) const
{
    auto held = lock(io::lock_kind::shared, timeout, {}, on_wait);
    if (!held) {
        return held;
    }
    // A `cache clean` that ran between open() and this lock removed the buckets. No cleaner can
    // run while we hold the lock, so making them again here closes that window for every caller.
    if (auto ok = create_base_files(root_); !ok) {
        return tl::unexpected(ok.error());
    }
    return held;
}

result<std::optional<io::file_lock>> cache::lock_exclusive(std::chrono::milliseconds timeout,
                                                           bool force, std::string_view description,
                                                           const lock_wait_callback& on_wait) const
{
    if (force) {
        return std::optional<io::file_lock>{};
    }
    auto held = lock(io::lock_kind::exclusive, timeout, description, on_wait);
    if (!held) {
        return tl::unexpected(held.error());
    }
    return std::optional<io::file_lock>(std::move(*held));
}

}  // namespace pkg::cache
