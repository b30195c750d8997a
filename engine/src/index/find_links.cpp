#include "index/find_links.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "pep508/name.hpp"

namespace pkg::index {

result<local_wheel_directory> list_wheel_directory(const std::filesystem::path& dir)
{
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        error e = system_error(errno, "list find-links directory", dir.string());
        if (e.hint.empty()) {
            e.hint = "a --find-links location (flag, lockfile, PKG_FIND_LINKS/PIP_FIND_LINKS or "
                     "pip.conf) names this directory";
        }
        return fail(std::move(e));
    }
    std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
    local_wheel_directory out;
    out.dir = dir;
    for (;;) {
        errno = 0;  // readdir reports errors only through errno; fstatat below may set it too
        const dirent* entry = ::readdir(d);
        if (entry == nullptr) {
            break;
        }
        const std::string_view name(entry->d_name);
        if (name.size() <= 4 || !name.ends_with(".whl")) {
            continue;
        }
        struct stat st {};
        // Follow links: a directory of symlinks to wheels elsewhere is a normal setup.
        if (::fstatat(::dirfd(d), entry->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        out.filenames.emplace_back(name);
    }
    if (errno != 0) {
        return fail(system_error(errno, "read find-links directory", dir.string()));
    }
    std::sort(out.filenames.begin(), out.filenames.end());
    return out;
}

std::string filename_project(std::string_view filename)
{
    return pep508::normalize_name(filename.substr(0, filename.find('-')));
}

project_page local_project_page(const local_wheel_directory& listing,
                                std::string_view normalized_name)
{
    project_page page;
    page.url = listing.dir.string();
    for (const auto& filename : listing.filenames) {
        if (filename_project(filename) != normalized_name) {
            continue;
        }
        index_file file;
        file.filename = filename;
        file.url = (listing.dir / filename).string();
        page.files.push_back(std::move(file));
    }
    return page;
}

project_page filter_project_files(const project_page& page, std::string_view normalized_name)
{
    project_page out;
    out.url = page.url;
    out.api = page.api;
    out.warnings = page.warnings;
    for (const auto& file : page.files) {
        if (filename_project(file.filename) == normalized_name) {
            out.files.push_back(file);
        }
    }
    return out;
}

}  // namespace pkg::index
