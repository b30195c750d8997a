#include "cache/gc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "cache/digest.hpp"
#include "fs/remove_tree.hpp"
#include "fs/symlink_swap.hpp"
#include "pep508/name.hpp"

namespace stdfs = std::filesystem;

namespace pkg::cache {
namespace {

// Deeper trees are not ours (wheels nest a few levels); also bounds the recursion.
constexpr int max_depth = 256;

// Counts allocated and apparent bytes of trees, each hardlinked inode once.
class usage_counter {
public:
    result<void> add(const stdfs::path& path)
    {
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) {
            return errno == ENOENT ? result<void>{}
                                   : tl::unexpected(system_error(errno, "stat", path.native()));
        }
        count(st);
        if (!S_ISDIR(st.st_mode)) {
            return {};
        }
        const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            return errno == ENOENT ? result<void>{}
                                   : tl::unexpected(system_error(errno, "opening", path.native()));
        }
        return walk(fd, path, 0);
    }

    [[nodiscard]] const cache_size_report& totals() const noexcept { return totals_; }

private:
    void count(const struct stat& st)
    {
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 &&
            !seen_.emplace(st.st_dev, st.st_ino).second) {
            return;
        }
        totals_.allocated_bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;
        if (S_ISREG(st.st_mode)) {
            totals_.apparent_bytes += static_cast<std::uint64_t>(st.st_size);
            ++totals_.files;
        }
    }

    // Takes ownership of `fd`.
    result<void> walk(int fd, const stdfs::path& path, int depth)
    {
        if (depth > max_depth) {
            ::close(fd);
            return tl::unexpected(system_error(ELOOP, "walking (too deep)", path.native()));
        }
        DIR* dir = ::fdopendir(fd);
        if (dir == nullptr) {
            const int e = errno;
            ::close(fd);
            return tl::unexpected(system_error(e, "listing", path.native()));
        }
        result<void> outcome;
        while (outcome) {
            errno = 0;
            const dirent* entry = ::readdir(dir);
            if (entry == nullptr) {
                if (errno != 0) {
                    outcome = tl::unexpected(system_error(errno, "listing", path.native()));
                }
                break;
            }
            const std::string_view name = entry->d_name;
            if (name == "." || name == "..") {
                continue;
            }
            struct stat st {};
            if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                if (errno != ENOENT) {
                    outcome = tl::unexpected(system_error(errno, "stat", (path / name).native()));
                }
                continue;
            }
            count(st);
            if (S_ISDIR(st.st_mode)) {
                const int child = ::openat(::dirfd(dir), entry->d_name,
                                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (child < 0) {
                    if (errno != ENOENT) {
                        outcome =
                            tl::unexpected(system_error(errno, "opening", (path / name).native()));
                    }
                    continue;
                }
                outcome = walk(child, path / name, depth + 1);
            }
        }
        ::closedir(dir);
        return outcome;
    }

    std::set<std::pair<dev_t, ino_t>> seen_;
    cache_size_report totals_;
};

// Names in `dir`, sorted (reports and tests read better); a missing directory is empty.
result<std::vector<std::string>> list_names(const stdfs::path& dir)
{
    std::vector<std::string> names;
    DIR* handle = ::opendir(dir.c_str());
    if (handle == nullptr) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return names;
        }
        return tl::unexpected(system_error(errno, "listing", dir.native()));
    }
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(handle);
        if (entry == nullptr) {
            const int e = errno;
            ::closedir(handle);
            if (e != 0) {
                return tl::unexpected(system_error(e, "listing", dir.native()));
            }
            break;
        }
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..") {
            names.emplace_back(name);
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

bool is_real_directory(const stdfs::path& path) noexcept
{
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Builds the report while removing.
class remover {
public:
    explicit remover(const cache& c) : root_(c.root()) { report_.cache_dir = root_.string(); }

    // Renames the entry aside and deletes it (trees), so its name never shows a partial tree.
    result<void> remove(const stdfs::path& path, cache_entry_kind kind)
    {
        const auto bytes = measure(path);
        if (auto ok = io::rename_aside_then_remove(path); !ok) {
            return ok;
        }
        record(path, kind, bytes);
        return {};
    }

    // A single symlink or file: unlink is already atomic.
    result<void> unlink(const stdfs::path& path, cache_entry_kind kind)
    {
        const auto bytes = measure(path);
        if (::unlink(path.c_str()) != 0) {
            if (errno == ENOENT) {
                return {};  // Someone else removed it (a forced concurrent clean).
            }
            return tl::unexpected(system_error(errno, "removing", path.native()));
        }
        record(path, kind, bytes);
        return {};
    }

    cache_removal_report take() { return std::move(report_); }

private:
    static std::uint64_t measure(const stdfs::path& path)
    {
        usage_counter counter;
        // Best effort: an entry we cannot measure is still removed; it then counts 0 bytes.
        (void)counter.add(path);
        return counter.totals().allocated_bytes;
    }

    void record(const stdfs::path& path, cache_entry_kind kind, std::uint64_t bytes)
    {
        report_.removed.push_back({path.lexically_relative(root_).generic_string(), kind, bytes});
        report_.freed_bytes += bytes;
    }

    stdfs::path root_;
    cache_removal_report report_;
};

// A symlink in wheels-v1/<key>/<name>/.
struct pointer_record {
    stdfs::path link;
    std::string name;  // the <name> directory it sits in
    std::string id;    // the archive id when the pointer is live, else empty
};

// Every pointer in the wheels bucket; `id` is set for live pointers (exact form link_wheel
// writes, archive directory present).
result<std::vector<pointer_record>> collect_pointers(const cache& c)
{
    std::vector<pointer_record> pointers;
    const auto wheels = c.bucket(wheels_bucket);
    auto keys = list_names(wheels);
    if (!keys) {
        return tl::unexpected(keys.error());
    }
    for (const auto& key : *keys) {
        auto names = list_names(wheels / key);
        if (!names) {
            return tl::unexpected(names.error());
        }
        for (const auto& name : *names) {
            auto files = list_names(wheels / key / name);
            if (!files) {
                return tl::unexpected(files.error());
            }
            for (const auto& file : *files) {
                const auto link = wheels / key / name / file;
                struct stat st {};
                if (::lstat(link.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
                    continue;  // Vanished, or not a pointer (kept: future metadata files).
                }
                pointer_record record{link, name, {}};
                if (auto text = io::read_pointer(link); text && *text) {
                    const std::string id = (*text)->filename().string();
                    if (is_sha256_hex(id) &&
                        **text == stdfs::path("..") / ".." / ".." / archive_bucket / id &&
                        is_real_directory(c.archive_path(id))) {
                        record.id = id;
                    }
                }
                pointers.push_back(std::move(record));
            }
        }
    }
    return pointers;
}

// Removes empty <key>/<name> and <key> directories of a bucket (best effort: a concurrent
// linker may have just created one; rmdir fails with ENOTEMPTY then, which is fine).
void remove_empty_dirs(const stdfs::path& bucket)
{
    auto keys = list_names(bucket);
    if (!keys) {
        return;
    }
    for (const auto& key : *keys) {
        if (auto names = list_names(bucket / key)) {
            for (const auto& name : *names) {
                ::rmdir((bucket / key / name).c_str());
            }
        }
        ::rmdir((bucket / key).c_str());
    }
}

bool is_known_top_level(std::string_view name)
{
    for (auto known : {archive_bucket, wheels_bucket, simple_bucket, interpreter_bucket, tmp_bucket,
                       lock_file_name, cachedir_tag_name}) {
        if (name == known) {
            return true;
        }
    }
    return name == ".lock.owner" || name == ".gitignore";
}

// `.<name>.removing.<pid>.<random>`: a tree rename_aside_then_remove renamed but did not finish
// deleting (the process died).
bool is_removal_leftover(std::string_view name)
{
    return name.starts_with('.') && name.find(".removing.") != std::string_view::npos;
}

// `archive-v0`, `simple-v24`: looks like a bucket of another format version.
bool looks_like_bucket(std::string_view name)
{
    const auto v = name.rfind("-v");
    return v != std::string_view::npos && v > 0 && v + 2 < name.size() &&
           name.find_first_not_of("0123456789", v + 2) == std::string_view::npos;
}

}  // namespace

result<cache_removal_report> prune(const cache& c, const prune_options& options)
{
    remover removing(c);

    auto top = list_names(c.root());
    if (!top) {
        return tl::unexpected(top.error());
    }
    for (const auto& name : *top) {
        if (!is_known_top_level(name)) {
            auto kind =
                looks_like_bucket(name) ? cache_entry_kind::bucket : cache_entry_kind::other;
            if (auto ok = removing.remove(c.root() / name, kind); !ok) {
                return tl::unexpected(ok.error());
            }
        }
    }

    const auto tmp = c.bucket(tmp_bucket);
    auto staging = list_names(tmp);
    if (!staging) {
        return tl::unexpected(staging.error());
    }
    const auto cutoff = options.now - options.staging_max_age;
    for (const auto& name : *staging) {
        struct stat st {};
        if (::lstat((tmp / name).c_str(), &st) != 0) {
            continue;  // Published or removed meanwhile.
        }
        const auto mtime = std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::seconds(st.st_mtim.tv_sec) +
                std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
        // Strictly older than the cutoff; a future mtime is never older.
        if (mtime < cutoff) {
            if (auto ok = removing.remove(tmp / name, cache_entry_kind::staging); !ok) {
                return tl::unexpected(ok.error());
            }
        }
    }

    // Leftovers of removals interrupted between their rename and their delete
    // (`.<name>.removing.<pid>.<random>`, see rename_aside_then_remove) inside the keyed buckets.
    for (auto bucket_name : {wheels_bucket, simple_bucket}) {
        const auto bucket = c.bucket(bucket_name);
        auto keys = list_names(bucket);
        if (!keys) {
            return tl::unexpected(keys.error());
        }
        std::vector<stdfs::path> parents = {bucket};
        for (const auto& key : *keys) {
            parents.push_back(bucket / key);
        }
        for (const auto& parent : parents) {
            auto entries = list_names(parent);
            if (!entries) {
                return tl::unexpected(entries.error());
            }
            for (const auto& name : *entries) {
                if (is_removal_leftover(name)) {
                    if (auto ok = removing.remove(parent / name, cache_entry_kind::other); !ok) {
                        return tl::unexpected(ok.error());
                    }
                }
            }
        }
    }

    auto pointers = collect_pointers(c);
    if (!pointers) {
        return tl::unexpected(pointers.error());
    }
    std::set<std::string> referenced;
    for (const auto& p : *pointers) {
        if (!p.id.empty()) {
            referenced.insert(p.id);
        } else if (auto ok = removing.unlink(p.link, cache_entry_kind::pointer); !ok) {
            return tl::unexpected(ok.error());
        }
    }
    remove_empty_dirs(c.bucket(wheels_bucket));

    const auto archives = c.bucket(archive_bucket);
    auto ids = list_names(archives);
    if (!ids) {
        return tl::unexpected(ids.error());
    }
    for (const auto& id : *ids) {
        const bool is_id = is_sha256_hex(id);
        if (is_id && referenced.contains(id)) {
            continue;
        }
        auto kind = is_id ? cache_entry_kind::archive : cache_entry_kind::other;
        if (auto ok = removing.remove(archives / id, kind); !ok) {
            return tl::unexpected(ok.error());
        }
    }
    return removing.take();
}

result<cache_removal_report> clean(const cache& c, std::span<const std::string> names)
{
    remover removing(c);
    if (names.empty()) {
        auto top = list_names(c.root());
        if (!top) {
            return tl::unexpected(top.error());
        }
        for (const auto& name : *top) {
            if (name == lock_file_name || name == ".lock.owner" || name == cachedir_tag_name ||
                name == ".gitignore") {
                continue;
            }
            auto kind = is_known_top_level(name) || looks_like_bucket(name)
                            ? cache_entry_kind::bucket
                            : cache_entry_kind::other;
            if (auto ok = removing.remove(c.root() / name, kind); !ok) {
                return tl::unexpected(ok.error());
            }
        }
        return removing.take();
    }

    std::set<std::string> projects;
    for (const auto& name : names) {
        auto normalized = pep508::parse_name(name);
        if (!normalized) {
            return tl::unexpected(normalized.error());
        }
        projects.insert(std::move(*normalized));
    }

    auto before = collect_pointers(c);
    if (!before) {
        return tl::unexpected(before.error());
    }
    std::set<std::string> candidates;
    for (const auto& p : *before) {
        if (!p.id.empty() && projects.contains(p.name)) {
            candidates.insert(p.id);
        }
    }

    for (const auto& [bucket, kind] :
         {std::pair{wheels_bucket, cache_entry_kind::pointer},
          std::pair{simple_bucket, cache_entry_kind::index_response}}) {
        const auto dir = c.bucket(bucket);
        auto keys = list_names(dir);
        if (!keys) {
            return tl::unexpected(keys.error());
        }
        for (const auto& key : *keys) {
            if (bucket == wheels_bucket) {
                for (const auto& project : projects) {
                    if (is_real_directory(dir / key / project)) {
                        if (auto ok = removing.remove(dir / key / project, kind); !ok) {
                            return tl::unexpected(ok.error());
                        }
                    }
                }
                continue;
            }
            auto files = list_names(dir / key);
            if (!files) {
                return tl::unexpected(files.error());
            }
            for (const auto& file : *files) {
                const auto dot = file.find('.');
                if (dot != std::string::npos && projects.contains(file.substr(0, dot))) {
                    if (auto ok = removing.remove(dir / key / file, kind); !ok) {
                        return tl::unexpected(ok.error());
                    }
                }
            }
        }
        remove_empty_dirs(dir);
    }

    auto after = collect_pointers(c);
    if (!after) {
        return tl::unexpected(after.error());
    }
    for (const auto& p : *after) {
        candidates.erase(p.id);
    }
    for (const auto& id : candidates) {
        if (auto ok = removing.remove(c.archive_path(id), cache_entry_kind::archive); !ok) {
            return tl::unexpected(ok.error());
        }
    }
    return removing.take();
}

result<cache_size_report> measure_size(const stdfs::path& root)
{
    usage_counter counter;
    if (auto ok = counter.add(root); !ok) {
        return tl::unexpected(ok.error());
    }
    cache_size_report report = counter.totals();
    report.cache_dir = root.string();
    return report;
}

}  // namespace pkg::cache
