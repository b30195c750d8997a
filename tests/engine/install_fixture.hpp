#pragma once
// Shared by the end-to-end install tests ([install], [api]): generated wheels, Debian's real
// wheels, a PEP 503 index of them served by nginx, a fresh venv, a hermetic environment for the
// engine, and a check that an environment is consistent (every .dist-info's RECORD files exist).

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <pkg/engine/install.hpp>
#include <pkg/engine/venv.hpp>

#include "cache/digest.hpp"
#include "pipeline/record.hpp"
#include "support/files.hpp"
#include "support/nginx_fixture.hpp"
#include "support/process.hpp"
#include "support/zip_writer.hpp"

namespace pkg::test::install_fixture {

namespace stdfs = std::filesystem;

/// A wheel's bytes, name and sha256.
struct wheel_file {
    std::string project;   ///< normalized name
    std::string version;
    std::string filename;
    std::string bytes;
    std::string sha256;    ///< lower-case hex
};

inline std::string record_hash(const std::string& bytes)
{
    const std::string hex = pkg::cache::sha256_hex(bytes);
    std::string raw;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    return "sha256=" + pkg::pipeline::base64_urlsafe_nopad(raw);
}

/// The wheel `<name>-<version>-py3-none-any.whl` holding `files` (path, content) plus the RECORD
/// listing them (the .dist-info among `files` must be `<name>-<version>.dist-info`).
inline wheel_file wheel_of(const std::string& name, const std::string& version,
                           const std::vector<std::pair<std::string, std::string>>& files)
{
    const std::string dist_info = name + "-" + version + ".dist-info";
    std::string record;
    std::vector<pkg::test::zip_writer_entry> entries;
    for (const auto& [path, content] : files) {
        record += path + "," + record_hash(content) + "," + std::to_string(content.size()) + "\n";
        pkg::test::zip_writer_entry e;
        e.name = path;
        e.content = content;
        entries.push_back(std::move(e));
    }
    record += dist_info + "/RECORD,,\n";
    pkg::test::zip_writer_entry r;
    r.name = dist_info + "/RECORD";
    r.content = record;
    entries.push_back(std::move(r));
    wheel_file w;
    w.project = name;
    w.version = version;
    w.filename = name + "-" + version + "-py3-none-any.whl";
    w.bytes = pkg::test::write_zip(entries);
    w.sha256 = pkg::cache::sha256_hex(w.bytes);
    return w;
}

/// The `.dist-info` files of a pure-Python test wheel (METADATA, WHEEL, and entry_points.txt
/// with a console script `<name>-cli` calling `<name>:main`); RECORD is added by `wheel_of`.
inline std::vector<std::pair<std::string, std::string>> dist_info_files(const std::string& name,
                                                                        const std::string& version)
{
    const std::string dist_info = name + "-" + version + ".dist-info";
    return {
        {dist_info + "/METADATA",
         "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"},
        {dist_info + "/WHEEL",
         "Wheel-Version: 1.0\nGenerator: pkg-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
        {dist_info + "/entry_points.txt",
         "[console_scripts]\n" + name + "-cli = " + name + ":main\n"},
    };
}

/// A pure-Python wheel `<name>-<version>-py3-none-any.whl` with a package `<name>` whose
/// `VERSION` is the version, a `main()` printing "<name> <version>", and a console script
/// `<name>-cli` calling it.
inline wheel_file make_wheel(const std::string& name, const std::string& version,
                             const std::string& extra_module = {})
{
    std::vector<std::pair<std::string, std::string>> files{
        {name + "/__init__.py",
         "VERSION = \"" + version + "\"\n\ndef main():\n    print(\"" + name + " " + version +
             "\")\n    return 0\n"},
    };
    for (auto& f : dist_info_files(name, version)) {
        files.push_back(std::move(f));
    }
    if (!extra_module.empty()) {
        files.emplace_back(name + "/" + extra_module + ".py", "X = 1\n");
    }
    return wheel_of(name, version, files);
}

/// Debian's wheel of `project` from /usr/share/python-wheels (pip, setuptools, wheel).
inline std::optional<wheel_file> debian_wheel(const std::string& project)
{
    const stdfs::path dir = "/usr/share/python-wheels";
    std::error_code ec;
    for (const auto& entry : stdfs::directory_iterator(dir, ec)) {
        const std::string file = entry.path().filename().string();
        if (file.starts_with(project + "-") && file.ends_with("-py3-none-any.whl")) {
            wheel_file w;
            w.project = project;
            w.version = file.substr(project.size() + 1,
                                    file.find('-', project.size() + 1) - project.size() - 1);
            w.filename = file;
            std::ifstream in(entry.path(), std::ios::binary);
            std::ostringstream s;
            s << in.rdbuf();
            w.bytes = s.str();
            w.sha256 = pkg::cache::sha256_hex(w.bytes);
            return w;
        }
    }
    return std::nullopt;
}

/// Debian's pip, setuptools and wheel (tests WARN and skip their part when one is missing).
inline std::vector<wheel_file> debian_wheels()
{
    std::vector<wheel_file> out;
    for (const char* name : {"pip", "setuptools", "wheel"}) {
        if (auto w = debian_wheel(name)) {
            out.push_back(std::move(*w));
        }
    }
    return out;
}

/// A link on an index page: the wheel, optionally at another URL (absolute) and without hash.
struct index_link {
    wheel_file wheel;
    std::string url;        ///< empty: `../../files/<filename>` on the same server
    bool has_hash = true;
    std::optional<std::string> yanked;  ///< PEP 592 `data-yanked` with this reason
};

/// The nginx document tree of a PEP 503 index: `simple/<name>/index.html` linking
/// `files/<filename>#sha256=…`.
inline std::vector<std::pair<std::string, std::string>> index_tree(
    const std::vector<index_link>& links)
{
    std::map<std::string, std::string> pages;
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& l : links) {
        const std::string href =
            (l.url.empty() ? "../../files/" + l.wheel.filename : l.url) +
            (l.has_hash ? "#sha256=" + l.wheel.sha256 : std::string());
        const std::string yank = l.yanked ? " data-yanked=\"" + *l.yanked + "\"" : std::string();
        pages[l.wheel.project] +=
            "<a href=\"" + href + "\"" + yank + ">" + l.wheel.filename + "</a>\n";
        if (l.url.empty()) {
            out.emplace_back("files/" + l.wheel.filename, l.wheel.bytes);
        }
    }
    for (const auto& [name, anchors] : pages) {
        out.emplace_back("simple/" + name + "/index.html",
                         "<!DOCTYPE html>\n<html><body>\n" + anchors + "</body></html>\n");
    }
    return out;
}

inline std::vector<index_link> links_of(const std::vector<wheel_file>& wheels)
{
    std::vector<index_link> out;
    for (const auto& w : wheels) {
        out.push_back(index_link{w, {}, true, std::nullopt});
    }
    return out;
}

/// The generated test wheels: alpha 1.0 and 2.0, beta 1.0.
struct test_wheels {
    wheel_file alpha1 = make_wheel("alpha", "1.0");
    wheel_file alpha2 = make_wheel("alpha", "2.0", "added_in_two");
    wheel_file beta1 = make_wheel("beta", "1.0");
    std::vector<wheel_file> debian = debian_wheels();

    std::vector<wheel_file> all() const
    {
        std::vector<wheel_file> out{alpha1, alpha2, beta1};
        out.insert(out.end(), debian.begin(), debian.end());
        return out;
    }
};

/// A lockfile line `name==version` (with `--hash` when `with_hash`).
inline std::string pin_line(const wheel_file& w, bool with_hash = true)
{
    return w.project + "==" + w.version +
           (with_hash ? " --hash=sha256:" + w.sha256 : std::string()) + "\n";
}

/// A scratch area with a venv, a cache directory and lockfiles.
struct workspace {
    explicit workspace(std::string_view tag) : dir("install", tag) {}

    pkg::test::scratch_dir dir;

    stdfs::path cache() const { return dir.path / "cache"; }

    /// A fresh venv `<dir>/<name>` made natively from /usr/bin/python3.
    stdfs::path make_venv(const std::string& name = "venv") const
    {
        pkg::venv_options options;
        options.path = dir.path / name;
        options.python = "/usr/bin/python3";
        options.getenv = [](std::string_view) { return std::optional<std::string>(); };
        auto made = pkg::create_venv(options);
        REQUIRE(made);
        return made->path;
    }

    /// Writes `text` to `<dir>/<name>` and returns its path.
    stdfs::path lockfile(const std::string& name, const std::string& text) const
    {
        pkg::test::write_text(dir.path / name, text);
        return dir.path / name;
    }

    /// Hermetic engine options: this venv, this cache, `index` as the index, no PIP_*/PKG_*
    /// variables from the test's process.
    pkg::install_options options(const stdfs::path& venv, const std::string& index,
                                 std::vector<stdfs::path> lockfiles) const
    {
        pkg::install_options o;
        o.python = venv.string();
        o.cache.cache_dir = cache().string();
        const std::string home = dir.path.string();
        auto env = [home](std::string_view name) -> std::optional<std::string> {
            if (name == "PATH") {
                return std::string("/usr/bin:/bin");
            }
            if (name == "HOME") {
                return home;
            }
            if (name == "PIP_CONFIG_FILE") {
                return std::string("/dev/null");
            }
            return std::nullopt;
        };
        o.getenv = env;
        o.cache.getenv = env;
        o.cwd = dir.path;
        o.lock_timeout = std::chrono::seconds(30);
        o.index.index_url = index;
        o.requirements = std::move(lockfiles);
        return o;
    }
};

/// `<venv>/bin/python -c <code>`.
inline pkg::test::process_result run_python(const stdfs::path& venv, const std::string& code)
{
    return pkg::test::run_process({(venv / "bin" / "python").string(), "-c", code});
}

/// site-packages of a venv made from /usr/bin/python3.
inline stdfs::path site_packages(const stdfs::path& venv)
{
    for (const auto& entry : stdfs::directory_iterator(venv / "lib")) {
        if (entry.path().filename().string().starts_with("python3")) {
            return entry.path() / "site-packages";
        }
    }
    FAIL("no lib/python3.X in " << venv);
    return {};
}

/// name → version of every .dist-info in the venv.
inline std::map<std::string, std::string> dist_infos(const stdfs::path& venv)
{
    std::map<std::string, std::string> out;
    for (const auto& entry : stdfs::directory_iterator(site_packages(venv))) {
        const std::string file = entry.path().filename().string();
        if (file.ends_with(".dist-info")) {
            const std::string stem = file.substr(0, file.size() - 10);
            const auto dash = stem.find('-');
            out[stem.substr(0, dash)] = stem.substr(dash + 1);
        }
    }
    return out;
}

/// Every file every .dist-info's RECORD lists exists (the "no half-installed package" rule),
/// and no hidden staging directory was left behind. Returns the number of RECORDs checked.
inline std::size_t check_consistent(const stdfs::path& venv)
{
    const auto site = site_packages(venv);
    std::size_t records = 0;
    for (const auto& entry : stdfs::directory_iterator(site)) {
        const std::string file = entry.path().filename().string();
        if (!file.ends_with(".dist-info")) {
            continue;
        }
        INFO(file);
        REQUIRE(pkg::test::path_exists(entry.path() / "RECORD"));
        ++records;
        std::istringstream lines(pkg::test::read_text(entry.path() / "RECORD"));
        std::string line;
        while (std::getline(lines, line)) {
            if (line.empty()) {
                continue;
            }
            std::string path = line.front() == '"' ? line.substr(1, line.find('"', 1) - 1)
                                                   : line.substr(0, line.find(','));
            INFO(path);
            CHECK(pkg::test::path_exists(site / path));
        }
    }
    return records;
}

inline std::vector<std::string> names_of(const std::vector<pkg::package_report>& v)
{
    std::vector<std::string> out;
    for (const auto& p : v) {
        out.push_back(p.name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace pkg::test::install_fixture
