// scan_site_packages: what is installed, from the .dist-info / .egg-info names; and removing
// what killed installs left behind.

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>

#include "fs/remove_tree.hpp"
#include "install/install_wheel.hpp"
#include "pep508/name.hpp"

namespace pkg::installer {
namespace {

namespace stdfs = std::filesystem;

std::string trimmed(std::string text)
{
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

std::string read_or_empty(const stdfs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return {};
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// METADATA's first `Name:` and `Version:` headers (the header block ends at a blank line).
std::pair<std::string, std::string> metadata_name_version(const stdfs::path& metadata)
{
    const std::string text = read_or_empty(metadata);
    std::string name;
    std::string version;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        pos = end == std::string::npos ? text.size() : end + 1;
        line = trimmed(std::move(line));
        if (line.empty()) {
            break;
        }
        if (name.empty() && line.starts_with("Name:")) {
            name = trimmed(line.substr(5));
        } else if (version.empty() && line.starts_with("Version:")) {
            version = trimmed(line.substr(8));
        }
    }
    return {name, version};
}

bool is_present(const stdfs::path& p)
{
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0;
}

// The names in `dir` that `keep` accepts; nullopt when `dir` does not exist.
template <class Predicate>
result<std::optional<std::vector<std::string>>> list_names(const stdfs::path& dir, Predicate keep)
{
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        if (errno == ENOENT) {
            return std::nullopt;
        }
        return fail(system_error(errno, "open directory", dir.native()));
    }
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
        const std::string_view name(e->d_name);
        if (keep(name)) {
            names.emplace_back(name);
        }
        errno = 0;
    }
    const int read_errno = errno;
    ::closedir(d);
    if (read_errno != 0) {
        return fail(system_error(read_errno, "read directory", dir.native()));
    }
    return names;
}

}  // namespace

result<std::vector<installed_dist>> scan_site_packages(const std::vector<stdfs::path>& site_dirs)
{
    std::vector<installed_dist> out;
    std::set<std::string> seen_dirs;
    for (const auto& site : site_dirs) {
        std::error_code ec;
        const stdfs::path real = stdfs::weakly_canonical(site, ec);
        if (!seen_dirs.insert((ec ? site.lexically_normal() : real).native()).second) {
            continue;  // purelib == platlib, or lib64 -> lib
        }
        auto names = list_names(site, [](std::string_view name) {
            return name.ends_with(".dist-info") || name.ends_with(".egg-info");
        });
        if (!names) {
            return fail(std::move(names.error()));
        }
        if (!*names) {
            continue;
        }
        for (const auto& name : **names) {
            const bool is_dist_info = name.ends_with(".dist-info");
            const stdfs::path path = site / name;
            if (name.starts_with(".")) {
                continue;  // pkg's own staging and removal names (".x.dist-info.installing.…")
            }
            if (is_dist_info && !is_present(path / "METADATA") && !is_present(path / "RECORD")) {
                continue;
            }
            const std::string stem = name.substr(0, name.size() - (is_dist_info ? 10 : 9));
            installed_dist dist;
            dist.dist_info = stdfs::absolute(path);
            const auto dash = stem.find('-');
            if (dash != std::string::npos && dash > 0) {
                dist.name = stem.substr(0, dash);
                dist.version = stem.substr(dash + 1);
                if (!is_dist_info) {
                    // "foo-1.0-py3.11.egg-info": the Python tag is not part of the version.
                    if (const auto py = dist.version.find("-py"); py != std::string::npos) {
                        dist.version.erase(py);
                    }
                }
            } else {
                // Not <name>-<version>: the metadata knows.
                const stdfs::path metadata = is_dist_info ? path / "METADATA" : path / "PKG-INFO";
                auto [n, v] = metadata_name_version(metadata);
                dist.name = n.empty() ? stem : n;
                dist.version = std::move(v);
            }
            dist.normalized_name = pep508::normalize_name(dist.name);
            if (is_dist_info) {
                dist.installer = trimmed(read_or_empty(path / "INSTALLER"));
            }
            out.push_back(std::move(dist));
        }
    }
    std::sort(out.begin(), out.end(), [](const installed_dist& a, const installed_dist& b) {
        return std::tie(a.normalized_name, a.version, a.dist_info) <
               std::tie(b.normalized_name, b.version, b.dist_info);
    });
    return out;
}

}  // namespace pkg::installer

namespace pkg::installer {

result<std::vector<stdfs::path>> remove_interrupted_leftovers(const std::vector<stdfs::path>& site_dirs)
{
    std::vector<stdfs::path> removed;
    std::set<std::string> seen_dirs;
    for (const auto& site : site_dirs) {
        if (!seen_dirs.insert(site.lexically_normal().native()).second) {
            continue;
        }
        auto candidates = list_names(site, [](std::string_view name) {
            return name.starts_with(".") && (name.find(".dist-info.installing.") != std::string_view::npos ||
                                             name.find(".dist-info.removing.") != std::string_view::npos);
        });
        if (!candidates) {
            return fail(std::move(candidates.error()));
        }
        if (!*candidates) {
            continue;
        }
        for (const auto& name : **candidates) {
            // ".<base>.<purpose>.<pid>.<16 hex>" (io::unique_sibling_name).
            const auto last_dot = name.rfind('.');
            const auto pid_dot = last_dot == std::string::npos || last_dot == 0
                                     ? std::string::npos
                                     : name.rfind('.', last_dot - 1);
            if (pid_dot == std::string::npos) {
                continue;
            }
            const std::string pid_text = name.substr(pid_dot + 1, last_dot - pid_dot - 1);
            if (pid_text.empty() || pid_text.size() > 9 ||
                !std::all_of(pid_text.begin(), pid_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
                continue;
            }
            const auto pid = static_cast<pid_t>(std::stol(pid_text));
            if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) {
                continue;  // still running (or not ours to judge)
            }
            const stdfs::path path = site / name;
            if (auto gone = io::remove_tree(path); !gone) {
                return fail(std::move(gone.error()));
            }
            removed.push_back(path);
        }
    }
    return removed;
}

}  // namespace pkg::installer
