// install_wheel: one archive tree into an environment (see install_wheel.hpp for the rules).
//
// Order of work, chosen so an interruption at any point leaves no `.dist-info` without its files:
//   1. plan (read WHEEL and entry_points.txt, map every manifest file to its destination) and
//      check every destination (collisions, a directory in the way) — nothing written yet;
//   2. claim the destinations in `file_owners`; a file another distribution owns (or claimed
//      first, installing at the same time) is shared: left alone and not in this RECORD;
//   3. move unowned files that are in the way aside, create directories, place the files;
//   4. build the `.dist-info` under a hidden sibling name (wheel files, INSTALLER, REQUESTED,
//      direct_url.json, RECORD last), then rename it to its real name: the commit.
// A failure in 3 or 4 undoes everything in reverse (placed files, staging tree, created
// directories, moved-aside files put back, claims released).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include <pkg/engine/errc.hpp>

#include "base/quote.hpp"
#include "fs/atomic_file.hpp"
#include "fs/publish.hpp"
#include "fs/remove_tree.hpp"
#include "install/entry_points.hpp"
#include "install/install_wheel.hpp"
#include "install/installed_record.hpp"
#include "pep508/name.hpp"

namespace pkg::installer {
namespace {

namespace stdfs = std::filesystem;

result<std::string> read_small_file(const stdfs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return fail(system_error(errno, "open for reading", path.native()));
    }
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) {
        return fail(system_error(errno, "read", path.native()));
    }
    return text;
}

// How one destination file is produced.
enum class action {
    link,           // linker.place from the archive
    write_content,  // `content` written (rewritten scripts, launchers, installer metadata)
};

struct planned_file {
    std::string source;     // archive-relative path; empty for generated files
    stdfs::path dest;       // final absolute path
    action what = action::link;
    std::string content;    // for write_content
    bool is_executable = false;
    std::string hash;       // RECORD hash of the bytes in place
    std::uint64_t size_bytes = 0;
    bool is_in_dist_info = false;  // placed under the staging .dist-info
    bool is_script = false;        // a .data/scripts file, rewritten on the fly if #!python
    bool is_archive_executable = false;  // the archive's copy has mode 0755
};

struct wheel_info {
    std::string dist_info;  // "demo-1.0.dist-info"
    std::string display_name;
    std::string version;
    bool is_purelib = true;
};

error invalid_wheel(const cache::archive_manifest& m, std::string why)
{
    return error{errc::invalid_wheel, fmt::format("{}: {}", m.wheel_filename, why),
                 m.wheel_filename, {}};
}

// The one top-level `*.dist-info` directory and its WHEEL file.
result<wheel_info> read_wheel_info(const install_request& request)
{
    const auto& m = *request.manifest;
    std::set<std::string> dist_infos;
    for (const auto& f : m.files) {
        const auto slash = f.path.find('/');
        if (slash == std::string::npos) {
            continue;
        }
        const std::string_view top(f.path.data(), slash);
        if (top.ends_with(".dist-info")) {
            dist_infos.insert(std::string(top));
        }
    }
    if (dist_infos.size() != 1) {
        std::string found;
        for (const auto& d : dist_infos) {
            found += (found.empty() ? "" : ", ") + quote_for_message(d);
        }
        return fail(invalid_wheel(
            m, dist_infos.empty()
                   ? std::string("no top-level <name>-<version>.dist-info directory")
                   : "more than one .dist-info directory (" + found + ")"));
    }
    wheel_info info;
    info.dist_info = *dist_infos.begin();
    const std::string stem = info.dist_info.substr(0, info.dist_info.size() - 10);
    const auto dash = stem.find('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 == stem.size()) {
        return fail(invalid_wheel(m, fmt::format("{} is not named <name>-<version>.dist-info",
                                                 quote_for_message(info.dist_info))));
    }
    info.display_name = stem.substr(0, dash);
    info.version = stem.substr(dash + 1);
    if (pep508::normalize_name(info.display_name) != m.name) {
        return fail(invalid_wheel(
            m, fmt::format("{} belongs to project {}, the wheel's file name says {}",
                           quote_for_message(info.dist_info),
                           quote_for_message(pep508::normalize_name(info.display_name)),
                           quote_for_message(m.name))));
    }
    const std::string wheel_path = info.dist_info + "/WHEEL";
    if (std::none_of(m.files.begin(), m.files.end(),
                     [&](const cache::manifest_file& f) { return f.path == wheel_path; })) {
        return fail(invalid_wheel(m, "no " + wheel_path));
    }
    auto text = read_small_file(request.archive_dir / wheel_path);
    if (!text) {
        return fail(std::move(text.error()));
    }
    std::optional<std::string> wheel_version;
    std::optional<std::string> root_is_purelib;
    std::size_t pos = 0;
    while (pos < text->size()) {
        auto end = text->find('\n', pos);
        std::string line = text->substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        pos = end == std::string::npos ? text->size() : end + 1;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        const auto colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        std::string key = line.substr(0, colon);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        value.erase(value.find_last_not_of(" \t") + 1);
        if (key == "Wheel-Version" && !wheel_version) {
            wheel_version = value;
        } else if (key == "Root-Is-Purelib" && !root_is_purelib) {
            root_is_purelib = value;
        }
    }
    if (!wheel_version) {
        return fail(invalid_wheel(m, wheel_path + " has no Wheel-Version"));
    }
    if (!wheel_version->starts_with("1.") && *wheel_version != "1") {
        return fail(invalid_wheel(
            m, fmt::format("{} says Wheel-Version {}; pkg installs version 1 wheels only",
                           wheel_path, quote_for_message(*wheel_version))));
    }
    if (!root_is_purelib) {
        return fail(invalid_wheel(m, wheel_path + " has no Root-Is-Purelib"));
    }
    std::string lower = *root_is_purelib;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower != "true" && lower != "false") {
        return fail(invalid_wheel(m, fmt::format("{} says Root-Is-Purelib {} (expected true or false)",
                                                 wheel_path, quote_for_message(*root_is_purelib))));
    }
    info.is_purelib = lower == "true";
    return info;
}

// What install_wheel writes and how to take it back.
class install_transaction {
public:
    install_transaction(file_owners& owners, std::string normalized_name)
        : owners_(owners), normalized_name_(std::move(normalized_name))
    {
    }
    install_transaction(const install_transaction&) = delete;
    install_transaction& operator=(const install_transaction&) = delete;

    ~install_transaction()
    {
        if (is_committed_) {
            return;
        }
        for (auto it = placed_.rbegin(); it != placed_.rend(); ++it) {
            ::unlink(it->c_str());
        }
        if (!staging_.empty()) {
            (void)io::remove_tree(staging_);
        }
        for (auto it = aside_.rbegin(); it != aside_.rend(); ++it) {
            ::rename(it->second.c_str(), it->first.c_str());
        }
        for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) {
            ::rmdir(it->c_str());  // fails harmlessly if something else put a file there
        }
        if (is_claimed_) {
            owners_.forget(normalized_name_);
        }
    }

    void set_claimed() { is_claimed_ = true; }
    void set_staging(stdfs::path p) { staging_ = std::move(p); }
    void add_placed(stdfs::path p) { placed_.push_back(std::move(p)); }
    void add_aside(stdfs::path original, stdfs::path aside)
    {
        aside_.emplace_back(std::move(original), std::move(aside));
    }

    // `mkdir -p` remembering what it created (for rollback) and what exists (to stat once).
    result<void> ensure_dir(const stdfs::path& dir)
    {
        // Another wheel's rollback may remove a directory this one saw (namespace packages
        // installed at once): creating below it then fails with ENOENT, and a fresh look helps.
        for (int attempt = 0;; ++attempt) {
            auto made = ensure_dir_once(dir);
            if (made || attempt == 3 || made.error().code != std::errc::no_such_file_or_directory) {
                return made;
            }
            for (stdfs::path q = dir; !q.empty() && q != q.parent_path(); q = q.parent_path()) {
                known_dirs_.erase(q.native());
            }
        }
    }

    result<void> ensure_dir_once(const stdfs::path& dir)
    {
        if (known_dirs_.contains(dir.native())) {
            return {};
        }
        std::vector<stdfs::path> missing;
        stdfs::path p = dir;
        while (!p.empty() && !known_dirs_.contains(p.native())) {
            struct stat st {};
            if (::lstat(p.c_str(), &st) == 0) {
                if (S_ISDIR(st.st_mode)) {
                    break;
                }
                if (S_ISLNK(st.st_mode) && ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
                    break;  // lib64 -> lib in a venv
                }
                return fail(errc::invalid_wheel,
                            fmt::format("cannot create directory {}: a file is in the way",
                                        p.native()),
                            p.native());
            }
            if (errno != ENOENT) {
                return fail(system_error(errno, "lstat", p.native()));
            }
            missing.push_back(p);
            if (p == p.parent_path()) {
                break;
            }
            p = p.parent_path();
        }
        for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
            // 0777 filtered by the umask, as pip creates directories.
            if (::mkdir(it->c_str(), 0777) != 0) {
                if (errno == EEXIST) {
                    continue;  // a concurrent install of another wheel made it: shared
                }
                return fail(system_error(errno, "create directory", it->native()));
            }
            created_dirs_.push_back(*it);
        }
        for (stdfs::path q = dir; !q.empty(); q = q.parent_path()) {
            if (!known_dirs_.insert(q.native()).second || q == q.parent_path()) {
                break;
            }
        }
        return {};
    }

    // st_dev of a directory made by ensure_dir (cached).
    result<::dev_t> device_of(const stdfs::path& dir)
    {
        auto it = devices_.find(dir.native());
        if (it != devices_.end()) {
            return it->second;
        }
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0) {
            return fail(system_error(errno, "stat directory", dir.native()));
        }
        devices_.emplace(dir.native(), st.st_dev);
        return st.st_dev;
    }

    // After the commit: the replaced files can go.
    std::vector<std::string> commit()
    {
        is_committed_ = true;
        std::vector<std::string> warnings;
        for (const auto& [original, aside] : aside_) {
            if (::unlink(aside.c_str()) != 0 && errno != ENOENT) {
                warnings.push_back(fmt::format("could not remove {} (the file {} replaced): {}",
                                               aside.native(), original.native(),
                                               std::generic_category().message(errno)));
            }
        }
        return warnings;
    }

private:
    file_owners& owners_;
    std::string normalized_name_;
    bool is_committed_ = false;
    bool is_claimed_ = false;
    stdfs::path staging_;
    std::vector<stdfs::path> placed_;
    std::vector<std::pair<stdfs::path, stdfs::path>> aside_;
    std::vector<stdfs::path> created_dirs_;
    std::set<std::string> known_dirs_;
    std::unordered_map<std::string, ::dev_t> devices_;
};

// Writes `content` as a new file `dest` (which must not exist) with `mode`.
result<void> write_new_file(const stdfs::path& dest, std::string_view content, ::mode_t mode)
{
    // atomic_write_file renames over the target; the target is known to be absent, so this is
    // a create whose file never shows partly written.
    return io::atomic_write_file(dest, content, io::atomic_write_options{.mode = mode});
}

// Names in the scripts directory that belong to the environment itself: a wheel replacing them
// would break the environment (its interpreter links, its activation scripts).
bool is_reserved_script_name(std::string_view name)
{
    if (name == "activate" || name == "activate.fish" || name == "activate.csh" ||
        name == "Activate.ps1" || name == "python" || name == "pythonw") {
        return true;
    }
    // python3, python3.11, pythonw3.11
    for (std::string_view stem : {"pythonw", "python"}) {
        if (name.starts_with(stem)) {
            std::string_view rest = name.substr(stem.size());
            return !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) {
                return (c >= '0' && c <= '9') || c == '.';
            }) && rest.front() != '.';
        }
    }
    return false;
}

std::string relative_record_path(const stdfs::path& file, const stdfs::path& base)
{
    return file.lexically_relative(base).generic_string();
}


// Where every file of the wheel goes, plus the launchers and installer metadata to write.
struct install_plan {
    std::vector<planned_file> files;
    std::vector<std::string> warnings;
};

result<install_plan> plan_files(const install_request& request, const target_scheme& scheme,
                                const wheel_info& info, const stdfs::path& archive,
                                const stdfs::path& root)
{
    const auto& m = *request.manifest;
    const stdfs::path final_dist_info = root / info.dist_info;
    const std::string prefix_dist_info = info.dist_info + "/";
    // Entry points first: their scripts shadow `.data/scripts` files of the same name.
    std::vector<entry_point> entry_points;
    const std::string entry_points_path = prefix_dist_info + "entry_points.txt";
    if (std::any_of(m.files.begin(), m.files.end(),
                    [&](const cache::manifest_file& f) { return f.path == entry_points_path; })) {
        auto text = read_small_file(archive / entry_points_path);
        if (!text) {
            return fail(std::move(text.error()));
        }
        auto parsed = parse_entry_points(*text, m.wheel_filename + "/" + entry_points_path);
        if (!parsed) {
            return fail(std::move(parsed.error()));
        }
        entry_points = apply_versioned_script_rule(std::move(*parsed), scheme.python_version);
    }
    std::set<std::string> launcher_names;
    for (const auto& ep : entry_points) {
        launcher_names.insert(ep.name);
    }

    install_plan out;
    std::vector<planned_file>& plan = out.files;
    plan.reserve(m.files.size() + entry_points.size() + 3);
    for (const auto& f : m.files) {
        planned_file p;
        p.source = f.path;
        p.hash = f.hash;
        p.size_bytes = f.size_bytes;
        p.is_executable = f.is_executable;
        p.is_archive_executable = f.is_executable;
        const auto slash = f.path.find('/');
        const std::string_view top =
            slash == std::string::npos ? std::string_view(f.path) : std::string_view(f.path).substr(0, slash);
        if (f.path.starts_with(prefix_dist_info)) {
            const std::string_view rel = std::string_view(f.path).substr(prefix_dist_info.size());
            // Regenerated below: the wheel's own copies (if any) describe its build, not this
            // installation.
            if (rel == "RECORD" || rel == "INSTALLER" || rel == "REQUESTED" ||
                rel == "direct_url.json") {
                continue;
            }
            p.dest = final_dist_info / rel;
            p.is_in_dist_info = true;
        } else if (slash != std::string::npos && top.ends_with(".data")) {
            const std::string_view rest = std::string_view(f.path).substr(slash + 1);
            const auto key_end = rest.find('/');
            if (key_end == std::string_view::npos || key_end + 1 == rest.size()) {
                return fail(invalid_wheel(
                    m, fmt::format("{} is not inside a scheme directory of {}/ (purelib, platlib, "
                                   "scripts, headers, data)",
                                   quote_for_message(f.path), top)));
            }
            const std::string_view key = rest.substr(0, key_end);
            const std::string_view sub = rest.substr(key_end + 1);
            if (key == "purelib") {
                p.dest = scheme.purelib / sub;
            } else if (key == "platlib") {
                p.dest = scheme.platlib / sub;
            } else if (key == "scripts") {
                if (launcher_names.contains(std::string(sub))) {
                    out.warnings.push_back(fmt::format(
                        "{}: {} is replaced by the entry point of the same name",
                        m.wheel_filename, quote_for_message(f.path)));
                    continue;
                }
                p.dest = scheme.scripts / sub;
                p.is_script = true;
                p.is_executable = true;
            } else if (key == "headers") {
                p.dest = scheme.include / info.display_name / sub;
            } else if (key == "data") {
                p.dest = scheme.data / sub;
            } else {
                return fail(invalid_wheel(
                    m, fmt::format("{} uses the unknown scheme key {} (expected purelib, platlib, "
                                   "scripts, headers or data)",
                                   quote_for_message(f.path), quote_for_message(key))));
            }
        } else {
            p.dest = root / f.path;
        }
        p.dest = p.dest.lexically_normal();
        plan.push_back(std::move(p));
    }
    for (const auto& ep : entry_points) {
        planned_file p;
        p.dest = (scheme.scripts / ep.name).lexically_normal();
        p.what = action::write_content;
        p.content = launcher_script(ep, scheme.python);
        p.is_executable = true;
        plan.push_back(std::move(p));
    }
    const auto add_metadata = [&](std::string name, std::string content) {
        planned_file p;
        p.dest = final_dist_info / name;
        p.what = action::write_content;
        p.content = std::move(content);
        p.is_in_dist_info = true;
        plan.push_back(std::move(p));
    };
    add_metadata("INSTALLER", "pkg\n");
    if (request.requested) {
        add_metadata("REQUESTED", "");
    }
    if (request.direct_url) {
        add_metadata("direct_url.json", *request.direct_url);
    }
    return out;
}

// Every destination once, inside the environment, none of the environment's own scripts.
result<void> check_plan(const std::vector<planned_file>& plan, const cache::archive_manifest& m,
                        const target_scheme& scheme)
{
    const stdfs::path prefix = scheme.prefix.lexically_normal();
    const auto is_inside = [&](const stdfs::path& p) {
        auto rel = p.lexically_relative(prefix);
        return !rel.empty() && *rel.begin() != "..";
    };
    std::map<std::string, const planned_file*> by_dest;
    const stdfs::path scripts_dir = scheme.scripts.lexically_normal();
    for (const auto& p : plan) {
        if (p.dest.parent_path() == scripts_dir && is_reserved_script_name(p.dest.filename().native())) {
            return fail(invalid_wheel(
                m, fmt::format("{} would replace the environment's own {}",
                               p.source.empty() ? "an entry point" : quote_for_message(p.source),
                               p.dest.native())));
        }
        if (!is_inside(p.dest)) {
            return fail(invalid_wheel(
                m, fmt::format("{} would be installed at {}, outside the environment {}",
                               quote_for_message(p.source.empty() ? p.dest.filename().native() : p.source),
                               p.dest.native(), prefix.native())));
        }
        auto [it, is_new] = by_dest.emplace(p.dest.native(), &p);
        if (!is_new) {
            const auto name = [](const planned_file* f) {
                return f->source.empty() ? std::string("a generated launcher") : quote_for_message(f->source);
            };
            return fail(invalid_wheel(m, fmt::format("{} and {} would both be installed at {}",
                                                     name(it->second), name(&p), p.dest.native())));
        }
    }
    return {};
}

// The existing files the plan would replace: nobody's (the claim took files that other
// distributions own out of the plan), never a directory.
result<std::vector<stdfs::path>> find_files_to_replace(const std::vector<planned_file>& plan,
                                                       const cache::archive_manifest& m,
                                                       const wheel_info& info)
{
    struct stat st {};
    std::vector<stdfs::path> to_replace;
    for (const auto& p : plan) {
        if (p.is_in_dist_info) {
            continue;  // the .dist-info is new (the caller checked)
        }
        if (::lstat(p.dest.c_str(), &st) != 0) {
            if (errno == ENOENT) {
                continue;
            }
            if (errno == ENOTDIR) {
                return fail(invalid_wheel(
                    m, fmt::format("cannot install {}: a parent of it in the environment is a file",
                                   p.dest.native())));
            }
            return fail(system_error(errno, "lstat", p.dest.native()));
        }
        if (S_ISDIR(st.st_mode)) {
            return fail(errc::file_collision,
                        fmt::format("{} {}: {} is a directory in the environment, the wheel "
                                    "installs a file there",
                                    info.display_name, info.version, p.dest.native()),
                        p.dest.native());
        }
        to_replace.push_back(p.dest);
    }
    return to_replace;
}

// Puts every planned file in place (the .dist-info's into `staging`), recording what it wrote in
// `tx`; fills in the RECORD hash and size of written files.
result<void> place_files(std::vector<planned_file>& plan, const wheel_info& info,
                         const target_scheme& scheme, const stdfs::path& archive,
                         const stdfs::path& final_dist_info, const stdfs::path& staging,
                         linker& links, install_transaction& tx)
{
    struct stat archive_st {};
    if (::stat(archive.c_str(), &archive_st) != 0) {
        return fail(system_error(errno, "stat archive", archive.native()));
    }
    // Dist-info files last, so the staging directory is the only thing left to do at the end.
    std::stable_partition(plan.begin(), plan.end(),
                          [](const planned_file& p) { return !p.is_in_dist_info; });
    for (auto& p : plan) {
        const stdfs::path where =
            p.is_in_dist_info ? staging / p.dest.lexically_relative(final_dist_info) : p.dest;
        const stdfs::path dir = where.parent_path();
        if (auto made = tx.ensure_dir(dir); !made) {
            return fail(std::move(made.error()));
        }
        if (p.is_script) {
            // Read to see the first line; scripts are small.
            auto text = read_small_file(archive / p.source);
            if (!text) {
                return fail(std::move(text.error()));
            }
            if (auto rewritten = rewrite_python_shebang(*text, scheme.python)) {
                p.what = action::write_content;
                p.content = std::move(*rewritten);
            } else if (!p.is_archive_executable) {
                // Not executable in the archive: a link would share the archive's mode, and the
                // archive is never modified, so the script gets its own 0755 copy.
                p.what = action::write_content;
                p.content = std::move(*text);
            }
        }
        if (p.what == action::link) {
            auto to_dev = tx.device_of(dir);
            if (!to_dev) {
                return fail(std::move(to_dev.error()));
            }
            if (auto placed = links.place(archive / p.source, where, archive_st.st_dev, *to_dev);
                !placed) {
                return fail(placed.error().with_context(fmt::format("{} {}", info.display_name, info.version)));
            }
        } else {
            p.hash = record_hash(p.content);
            p.size_bytes = p.content.size();
            if (auto written = write_new_file(where, p.content, p.is_executable ? 0755 : 0644);
                !written) {
                return fail(written.error().with_context(fmt::format("{} {}", info.display_name, info.version)));
            }
        }
        if (!p.is_in_dist_info) {
            tx.add_placed(where);
        }
    }
    return {};
}

}  // namespace

target_scheme make_target_scheme(const python::interpreter_facts& facts,
                                 const std::filesystem::path& python)
{
    target_scheme s;
    s.prefix = facts.prefix;
    s.purelib = facts.scheme.purelib;
    s.platlib = facts.scheme.platlib;
    s.scripts = facts.scheme.scripts;
    s.data = facts.scheme.data;
    s.include = facts.scheme.include;
    if (facts.is_virtual_environment()) {
        s.include = facts.prefix / "include" / "site" /
                    fmt::format("python{}.{}", facts.version.major, facts.version.minor);
    }
    s.python = python;
    s.python_version = fmt::format("{}.{}", facts.version.major, facts.version.minor);
    return s;
}

result<install_outcome> install_wheel(const install_request& request, const target_scheme& scheme,
                                      linker& links, file_owners& owners)
{
    if (!request.manifest) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "install_wheel: no manifest for " + request.archive_dir.native());
    }
    const auto& m = *request.manifest;
    auto info = read_wheel_info(request);
    if (!info) {
        return fail(std::move(info.error()));
    }
    const stdfs::path archive = stdfs::absolute(request.archive_dir).lexically_normal();
    const stdfs::path root = (info->is_purelib ? scheme.purelib : scheme.platlib).lexically_normal();
    const stdfs::path final_dist_info = root / info->dist_info;

    auto planned = plan_files(request, scheme, *info, archive, root);
    if (!planned) {
        return fail(std::move(planned.error()));
    }
    std::vector<planned_file>& plan = planned->files;
    install_outcome outcome;
    outcome.warnings = std::move(planned->warnings);
    if (auto checked = check_plan(plan, m, scheme); !checked) {
        return fail(std::move(checked.error()));
    }
    struct stat st {};
    if (::lstat(final_dist_info.c_str(), &st) == 0) {
        return fail(errc::file_collision,
                    fmt::format("{} {}: {} already exists; uninstall the installed distribution first",
                                info->display_name, info->version, final_dist_info.native()),
                    final_dist_info.native());
    }
    installed_dist dist;
    dist.name = info->display_name;
    dist.normalized_name = m.name;
    dist.version = info->version;
    dist.dist_info = final_dist_info;
    dist.installer = "pkg";
    std::vector<owned_file> claimed;
    claimed.reserve(plan.size() + 1);
    for (const auto& p : plan) {
        claimed.push_back(owned_file{p.dest, p.hash});
    }
    claimed.push_back(owned_file{(final_dist_info / "RECORD").lexically_normal(), {}});
    install_transaction tx(owners, m.name);
    const auto shared = owners.claim(dist, claimed);
    tx.set_claimed();
    if (!shared.empty()) {
        // Files another distribution owns (installed, or claimed first by one being installed
        // now) stay theirs: not written, not in this RECORD. One warning per other owner whose
        // copy may differ.
        std::set<std::string> shared_paths;
        std::map<std::string, std::pair<const file_claim_conflict*, std::size_t>> by_owner;
        for (const auto& c : shared) {
            shared_paths.insert(c.path.native());
            if (c.is_same_content) {
                continue;  // the same bytes either way (an empty py.typed of a namespace)
            }
            auto& [first, count] = by_owner[c.owner.name + " " + c.owner.version];
            if (first == nullptr) {
                first = &c;
            }
            ++count;
        }
        std::erase_if(plan, [&](const planned_file& p) {
            return !p.is_in_dist_info && shared_paths.contains(p.dest.native());
        });
        for (const auto& [owner, what] : by_owner) {
            outcome.warnings.push_back(fmt::format(
                "{} {} and {} both ship {}{}: kept {}'s copy (installed first); {}'s RECORD does "
                "not list it",
                info->display_name, info->version, owner, what.first->path.native(),
                what.second > 1 ? fmt::format(" and {} more files", what.second - 1) : "", owner,
                info->display_name));
        }
    }
    auto to_replace = find_files_to_replace(plan, m, *info);
    if (!to_replace) {
        return fail(std::move(to_replace.error()));
    }

    for (const auto& dest : *to_replace) {
        const stdfs::path aside =
            dest.parent_path() / io::unique_sibling_name(dest.filename().native(), "replaced");
        if (::rename(dest.c_str(), aside.c_str()) != 0) {
            return fail(system_error(errno, "move aside the unowned file", dest.native()));
        }
        tx.add_aside(dest, aside);
        outcome.warnings.push_back(
            fmt::format("{} {}: replaced {}, which no installed distribution's RECORD lists",
                        info->display_name, info->version, dest.native()));
    }

    const stdfs::path staging = root / io::unique_sibling_name(info->dist_info, "installing");
    if (auto made = tx.ensure_dir(root); !made) {
        return fail(std::move(made.error()));
    }
    if (::mkdir(staging.c_str(), 0777) != 0) {
        return fail(system_error(errno, "create directory", staging.native()));
    }
    tx.set_staging(staging);

    if (auto placed = place_files(plan, *info, scheme, archive, final_dist_info, staging, links, tx);
        !placed) {
        return fail(std::move(placed.error()));
    }
    std::vector<record_entry> record;
    record.reserve(plan.size() + 1);
    for (const auto& p : plan) {
        record.push_back(record_entry{relative_record_path(p.dest, root), p.hash, p.size_bytes,
                                      true});
        outcome.bytes += p.size_bytes;
    }
    record.push_back(record_entry{info->dist_info + "/RECORD", {}, 0, false});
    std::sort(record.begin(), record.end(),
              [](const record_entry& a, const record_entry& b) { return a.path < b.path; });
    const std::string record_text = format_record(record);
    if (auto written = write_new_file(staging / "RECORD", record_text, 0644); !written) {
        return fail(std::move(written.error()));
    }
    auto published = io::publish_directory(staging, final_dist_info);
    if (!published) {
        return fail(std::move(published.error()));
    }
    if (published->is_published_by_other) {
        // publish_directory removed our staging tree; someone installed the same dist meanwhile
        // (the caller's environment lock should make this impossible).
        tx.set_staging({});
        return fail(errc::file_collision,
                    fmt::format("{} {}: {} appeared while installing", info->display_name,
                                info->version, final_dist_info.native()),
                    final_dist_info.native());
    }
    for (auto& w : tx.commit()) {
        outcome.warnings.push_back(std::move(w));
    }
    outcome.dist = std::move(dist);
    outcome.files = record.size();
    return outcome;
}

}  // namespace pkg::installer
