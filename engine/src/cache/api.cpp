// The public, blocking cache API (pkg/engine/cache.hpp) over the internal cache and gc code.

#include <sys/stat.h>

#include <cerrno>
#include <cmath>

#include <fmt/core.h>

#include <pkg/engine/cache.hpp>
#include <pkg/engine/errc.hpp>

#include "cache/cache.hpp"
#include "cache/gc.hpp"
#include "pep508/name.hpp"

namespace stdfs = std::filesystem;

namespace pkg {
namespace {

cache::getenv_function environment_of(const cache_options& options)
{
    return options.getenv ? cache::getenv_function(options.getenv) : cache::process_environment();
}

// Opens the cache for a destructive operation: nullopt when the directory does not exist
// (nothing to remove), an error when it is not a pkg cache.
result<std::optional<cache::cache>> open_for_removal(const stdfs::path& root)
{
    struct stat st {};
    if (::lstat(root.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return std::optional<cache::cache>{};
        }
        return tl::unexpected(system_error(errno, "stat of the cache directory", root.native()));
    }
    if (!cache::has_cachedir_tag(root)) {
        std::error_code ec;
        const bool is_empty = stdfs::is_empty(root, ec);
        if (ec || !is_empty) {
            return fail(
                errc::not_a_cache,
                "refusing to remove anything: the directory is not empty and has no "
                "pkg CACHEDIR.TAG",
                root.native(),
                "check --cache-dir / PKG_CACHE_DIR; pkg only cleans directories it created");
        }
    }
    auto opened = cache::cache::open(root);
    if (!opened) {
        return tl::unexpected(opened.error());
    }
    return std::optional<cache::cache>(std::move(*opened));
}

struct locked_cache {
    std::optional<cache::cache> cache;
    std::optional<io::file_lock> lock;
};

result<locked_cache> lock_for_removal(const cache_options& options, bool force,
                                      std::string_view description,
                                      const cache_wait_callback& on_wait)
{
    const auto env = environment_of(options);
    auto root = cache::resolve_root(options.cache_dir, env);
    if (!root) {
        return tl::unexpected(root.error());
    }
    std::chrono::milliseconds timeout{0};
    if (options.lock_timeout) {
        timeout = *options.lock_timeout;
    } else {
        auto from_env = cache::lock_timeout_from_env(env);
        if (!from_env) {
            return tl::unexpected(from_env.error());
        }
        timeout = *from_env;
    }
    auto opened = open_for_removal(*root);
    if (!opened) {
        return tl::unexpected(opened.error());
    }
    locked_cache out;
    out.cache = std::move(*opened);
    if (!out.cache) {
        return out;
    }
    auto adapter = [&on_wait](const std::optional<io::lock_owner>& owner) {
        if (!on_wait) {
            return;
        }
        if (owner) {
            on_wait(cache_lock_holder{owner->pid, owner->description});
        } else {
            on_wait(std::nullopt);
        }
    };
    auto lock = out.cache->lock_exclusive(timeout, force, description, adapter);
    if (!lock) {
        return tl::unexpected(lock.error());
    }
    out.lock = std::move(*lock);
    return out;
}

}  // namespace

const char* to_string(cache_entry_kind kind) noexcept
{
    switch (kind) {
    case cache_entry_kind::archive:
        return "archive";
    case cache_entry_kind::pointer:
        return "pointer";
    case cache_entry_kind::staging:
        return "staging";
    case cache_entry_kind::index_response:
        return "index response";
    case cache_entry_kind::bucket:
        return "bucket";
    case cache_entry_kind::other:
        return "other";
    }
    return "other";
}

result<std::string> cache_dir(const cache_options& options)
{
    auto root = cache::resolve_root(options.cache_dir, environment_of(options));
    if (!root) {
        return tl::unexpected(root.error());
    }
    return root->string();
}

result<cache_size_report> cache_size(const cache_options& options)
{
    auto root = cache::resolve_root(options.cache_dir, environment_of(options));
    if (!root) {
        return tl::unexpected(root.error());
    }
    return cache::measure_size(*root);
}

result<cache_removal_report> cache_clean(const cache_options& options,
                                         std::span<const std::string> names, bool force,
                                         const cache_wait_callback& on_wait)
{
    // Names first: a typo must not wait for a lock only to fail afterwards.
    for (const auto& name : names) {
        if (!pep508::is_valid_name(name)) {
            return fail(errc::invalid_name, fmt::format("'{}' is not a valid project name", name),
                        {}, "project names use letters, digits, '.', '-' and '_'");
        }
    }
    auto locked = lock_for_removal(options, force, "pkg cache clean", on_wait);
    if (!locked) {
        return tl::unexpected(locked.error());
    }
    if (!locked->cache) {
        cache_removal_report empty;
        empty.cache_dir = cache::resolve_root(options.cache_dir, environment_of(options))->string();
        return empty;
    }
    return cache::clean(*locked->cache, names);
}

result<cache_removal_report> cache_prune(const cache_options& options, bool force,
                                         const cache_wait_callback& on_wait)
{
    auto locked = lock_for_removal(options, force, "pkg cache prune", on_wait);
    if (!locked) {
        return tl::unexpected(locked.error());
    }
    if (!locked->cache) {
        cache_removal_report empty;
        empty.cache_dir = cache::resolve_root(options.cache_dir, environment_of(options))->string();
        return empty;
    }
    return cache::prune(*locked->cache);
}

std::string format_bytes(std::uint64_t bytes)
{
    if (bytes < 1024) {
        return fmt::format("{} B", bytes);
    }
    static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double value = static_cast<double>(bytes) / 1024.0;
    std::size_t unit = 0;
    // Switch units before the rounded text would read "1024.0 KiB".
    while (value >= 1023.95 && unit + 1 < std::size(units)) {
        value /= 1024.0;
        ++unit;
    }
    return fmt::format("{:.1f} {}", value, units[unit]);
}

}  // namespace pkg
