// uninstall_dist: removing an installed distribution by its RECORD (see install_wheel.hpp).

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include <fmt/format.h>

#include <pkg/engine/errc.hpp>

#include "fs/atomic_file.hpp"
#include "fs/remove_tree.hpp"
#include "install/install_wheel.hpp"
#include "install/installed_record.hpp"

namespace pkg::installer {
namespace {

namespace stdfs = std::filesystem;

bool is_inside(const stdfs::path& p, const stdfs::path& root)
{
    const stdfs::path rel = p.lexically_relative(root);
    return !rel.empty() && *rel.begin() != ".." && rel != ".";
}

// Removes `dir/__pycache__/<stem>.*.pyc` and the Python 2 style `<stem>.pyc`/`.pyo` beside
// the removed `dir/<stem>.py`, and adds the __pycache__ directory to `dirs` (pruned later).
void remove_bytecode_of(const stdfs::path& py_file, std::set<stdfs::path>& dirs)
{
    const stdfs::path dir = py_file.parent_path();
    const std::string stem = py_file.stem().native();
    for (const char* ext : {".pyc", ".pyo"}) {
        ::unlink((dir / (stem + ext)).c_str());
    }
    const stdfs::path cache = dir / "__pycache__";
    DIR* d = ::opendir(cache.c_str());
    if (d == nullptr) {
        return;
    }
    const std::string prefix = stem + ".";
    std::vector<std::string> doomed;
    while (const dirent* e = ::readdir(d)) {
        const std::string_view name(e->d_name);
        // "<stem>.<cache tag>[.opt-N].pyc"; no other module's file starts with "<stem>.".
        if (name.starts_with(prefix) && (name.ends_with(".pyc") || name.ends_with(".pyo"))) {
            doomed.emplace_back(name);
        }
    }
    ::closedir(d);
    for (const auto& name : doomed) {
        ::unlink((cache / name).c_str());
    }
    dirs.insert(cache);
}

}  // namespace

result<uninstall_outcome> uninstall_dist(const installed_dist& dist, const target_scheme& scheme)
{
    if (dist.dist_info.extension() != ".dist-info") {
        return fail(errc::unsupported,
                    fmt::format("{} {} was installed as {} (an .egg-info, without RECORD); pkg "
                                "does not uninstall those",
                                dist.name, dist.version, dist.dist_info.native()),
                    dist.dist_info.native(), "remove it with the tool that installed it");
    }
    auto files = read_installed_record(dist.dist_info);
    if (!files) {
        return fail(std::move(files.error()));
    }
    const stdfs::path prefix = scheme.prefix.lexically_normal();
    std::error_code ec;
    const stdfs::path real_prefix = stdfs::weakly_canonical(prefix, ec);
    if (ec) {
        return fail(system_error(ec.value(), "resolve", prefix.native()));
    }
    const stdfs::path record = dist.dist_info / "RECORD";
    const stdfs::path dist_info = dist.dist_info.lexically_normal();

    // Every path is checked before anything is removed.
    for (const auto& f : *files) {
        bool is_ok = is_inside(f.path, prefix);
        if (is_ok) {
            // Symlinked directories inside the prefix must not lead outside it either (the
            // venv's own lib64 -> lib resolves inside).
            const stdfs::path real_dir = stdfs::weakly_canonical(f.path.parent_path(), ec);
            is_ok = !ec && (real_dir == real_prefix || is_inside(real_dir, real_prefix));
        }
        if (!is_ok) {
            return fail(errc::invalid_record,
                        fmt::format("{} line {}: {} resolves to {}, outside the environment {}; "
                                    "nothing was removed",
                                    record.native(), f.line_number, f.text, f.path.native(),
                                    prefix.native()),
                        fmt::format("{}:{}", record.native(), f.line_number),
                        "the RECORD is corrupt or hostile; inspect it before removing anything");
        }
    }

    uninstall_outcome outcome;
    // The .dist-info goes first, atomically (renamed away, then deleted), so an interruption
    // leaves orphan files at worst, never a dist-info whose files are missing.
    const stdfs::path aside =
        dist_info.parent_path() / io::unique_sibling_name(dist_info.filename().native(), "removing");
    if (::rename(dist_info.c_str(), aside.c_str()) != 0) {
        return fail(system_error(errno, "rename away", dist_info.native()));
    }
    auto removed_tree = io::remove_tree(aside);

    std::set<stdfs::path> dirs;
    for (const auto& f : *files) {
        if (is_inside(f.path, dist_info)) {
            if (removed_tree) {
                ++outcome.files;
            }
            continue;
        }
        struct stat st {};
        if (::lstat(f.path.c_str(), &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) {
                outcome.warnings.push_back(
                    fmt::format("{} {}: {} (RECORD line {}) was already missing", dist.name,
                                dist.version, f.path.native(), f.line_number));
                continue;
            }
            return fail(system_error(errno, "lstat", f.path.native()));
        }
        if (S_ISDIR(st.st_mode)) {
            outcome.warnings.push_back(fmt::format(
                "{} {}: RECORD line {} names the directory {}; left in place", dist.name,
                dist.version, f.line_number, f.path.native()));
            continue;
        }
        if (::unlink(f.path.c_str()) != 0 && errno != ENOENT) {
            return fail(system_error(errno, "remove", f.path.native()));
        }
        ++outcome.files;
        dirs.insert(f.path.parent_path());
        if (f.path.extension() == ".py") {
            remove_bytecode_of(f.path, dirs);
        }
    }

    // Directories left empty, deepest first, never a scheme root or anything above the prefix.
    std::set<stdfs::path> roots{prefix};
    for (const auto* p : {&scheme.purelib, &scheme.platlib, &scheme.scripts, &scheme.data,
                          &scheme.include}) {
        if (!p->empty()) {
            roots.insert(p->lexically_normal());
        }
    }
    std::vector<stdfs::path> ordered(dirs.begin(), dirs.end());
    std::sort(ordered.begin(), ordered.end(), [](const stdfs::path& a, const stdfs::path& b) {
        return std::distance(a.begin(), a.end()) > std::distance(b.begin(), b.end());
    });
    for (stdfs::path dir : ordered) {
        while (is_inside(dir, prefix) && !roots.contains(dir)) {
            if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
                break;  // not empty (ENOTEMPTY/EEXIST) or not ours to remove
            }
            dir = dir.parent_path();
        }
    }
    if (!removed_tree) {
        return fail(std::move(removed_tree.error()));
    }
    return outcome;
}

}  // namespace pkg::installer
