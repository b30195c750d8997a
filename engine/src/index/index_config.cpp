// resolve_index_config: where packages come from, from flags, lockfiles, PKG_*/PIP_* variables
// and pip's configuration files (read the way pip reads them, for the keys pkg needs).

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include <pkg/engine/errc.hpp>

#include "base/quote.hpp"
#include "cache/cache.hpp"
#include "cache/index_key.hpp"
#include "http/url.hpp"
#include "index/index_client.hpp"

namespace pkg::index {
namespace {

namespace stdfs = std::filesystem;

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::vector<std::string> split_whitespace(std::string_view s)
{
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) {
            ++i;
        }
        const std::size_t start = i;
        while (i < s.size() && !(s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) {
            ++i;
        }
        if (i > start) {
            out.emplace_back(s.substr(start, i - start));
        }
    }
    return out;
}

/// A value and where it came from ("--index-url", "PIP_INDEX_URL", "/etc/pip.conf [global]
/// index-url", "lock.txt"), for messages.
struct sourced {
    std::string value;
    std::string source;
};

/// pip's merged configuration: "section.key" → the value from the highest-priority file.
using pip_values = std::map<std::string, sourced, std::less<>>;

/// Reads one pip configuration file the way Python's configparser does for pip's purposes:
/// `[section]` headers, `key = value` / `key: value` (keys lower-cased, `_` read as `-`, a
/// leading `--` dropped), indented continuation lines, `#` / `;` comment lines. Later keys win.
/// A missing file is no error.
/// Errors: `std::errc::invalid_argument` citing file:line for a line that is none of these;
/// a file that exists but cannot be read.
result<void> load_pip_file(const stdfs::path& path, pip_values& into)
{
    std::error_code ec;
    if (!stdfs::exists(path, ec)) {
        return {};
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return fail(system_error(errno, "read pip configuration file", path.string()));
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string section;
    std::string key;  // the key the last value line set: continuation lines extend it
    std::string line;
    std::size_t line_number = 0;
    while (std::getline(text, line)) {
        ++line_number;
        const std::string_view stripped = trim(line);
        const std::string where = path.string() + ":" + std::to_string(line_number);
        if (stripped.empty() || stripped.front() == '#' || stripped.front() == ';') {
            continue;
        }
        if ((line.front() == ' ' || line.front() == '\t') && !key.empty()) {
            auto& v = into[section + "." + key];
            v.value += "\n";
            v.value += stripped;
            continue;
        }
        if (stripped.front() == '[') {
            if (stripped.back() != ']') {
                return fail(std::make_error_code(std::errc::invalid_argument),
                            "pip configuration: section header " + quote_for_message(stripped) +
                                " lacks its closing ']'",
                            where);
            }
            section = std::string(trim(stripped.substr(1, stripped.size() - 2)));
            key.clear();
            continue;
        }
        const auto delimiter = stripped.find_first_of("=:");
        if (delimiter == std::string_view::npos || delimiter == 0) {
            return fail(std::make_error_code(std::errc::invalid_argument),
                        "pip configuration: cannot read line " + quote_for_message(stripped) +
                            " (expected [section], key = value, or a comment)",
                        where);
        }
        if (section.empty()) {
            return fail(std::make_error_code(std::errc::invalid_argument),
                        "pip configuration: " + quote_for_message(stripped) +
                            " comes before any [section] header",
                        where);
        }
        std::string name = lower(trim(stripped.substr(0, delimiter)));
        std::replace(name.begin(), name.end(), '_', '-');
        if (name.starts_with("--")) {
            name.erase(0, 2);
        }
        key = name;
        into[section + "." + key] =
            sourced{std::string(trim(stripped.substr(delimiter + 1))),
                    path.string() + " [" + section + "] " + key};
    }
    return {};
}

/// `[install] key`, else `[global] key`, as pip orders sections for `pip install`.
const sourced* pip_value(const pip_values& values, std::string_view key)
{
    for (std::string_view section : {"install.", "global."}) {
        if (auto it = values.find(std::string(section) + std::string(key)); it != values.end()) {
            return &it->second;
        }
    }
    return nullptr;
}

/// pip's configuration files, lowest priority first (pip's own order: global, user, then the
/// file PIP_CONFIG_FILE names, which also suppresses the user files when it exists).
std::vector<stdfs::path>
pip_config_files(const std::function<std::optional<std::string>(std::string_view)>& env,
                 const stdfs::path& etc_dir, const stdfs::path& cwd)
{
    std::vector<stdfs::path> files;
    auto config_file = env("PIP_CONFIG_FILE");
    if (config_file && stdfs::path(*config_file).is_relative()) {
        config_file = (cwd / *config_file).string();
    }
    if (config_file && *config_file == "/dev/null") {
        return files;  // pip's documented way to load no configuration files at all
    }
    const std::string xdg_dirs = env("XDG_CONFIG_DIRS").value_or((etc_dir / "xdg").string());
    std::size_t pos = 0;
    while (pos <= xdg_dirs.size()) {
        const auto colon = xdg_dirs.find(':', pos);
        const std::string dir =
            xdg_dirs.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
        if (!dir.empty()) {
            files.push_back(stdfs::path(dir) / "pip" / "pip.conf");
        }
        if (colon == std::string::npos) {
            break;
        }
        pos = colon + 1;
    }
    files.push_back(etc_dir / "pip.conf");
    std::error_code ec;
    const bool has_env_file = config_file && stdfs::exists(*config_file, ec);
    if (!has_env_file) {
        if (const auto home = env("HOME")) {
            files.push_back(stdfs::path(*home) / ".pip" / "pip.conf");
            if (const auto xdg = env("XDG_CONFIG_HOME")) {
                files.push_back(stdfs::path(*xdg) / "pip" / "pip.conf");
            } else {
                files.push_back(stdfs::path(*home) / ".config" / "pip" / "pip.conf");
            }
        } else if (const auto xdg = env("XDG_CONFIG_HOME")) {
            files.push_back(stdfs::path(*xdg) / "pip" / "pip.conf");
        }
    }
    if (config_file) {
        files.push_back(*config_file);
    }
    return files;
}

/// pip's strtobool. Errors: `std::errc::invalid_argument` citing the value and its source.
result<bool> parse_truthy(const sourced& s)
{
    const std::string v = lower(trim(s.value));
    if (v == "y" || v == "yes" || v == "t" || v == "true" || v == "on" || v == "1") {
        return true;
    }
    if (v == "n" || v == "no" || v == "f" || v == "false" || v == "off" || v == "0") {
        return false;
    }
    return fail(std::make_error_code(std::errc::invalid_argument),
                s.source + " is " + quote_for_message(s.value) +
                    ", which is not a yes/no value (1/0, true/false, yes/no, on/off)",
                s.source);
}

/// An index URL checked to be an absolute http(s) URL, trailing whitespace removed.
result<std::string> checked_index_url(const sourced& s)
{
    const std::string text(trim(s.value));
    auto parsed = io::url::parse(text);
    if (!parsed) {
        return fail(errc::invalid_url,
                    "index URL " + quote_for_message(io::redact_url(text)) + " (from " + s.source +
                        ") is not an absolute http(s) URL: " + parsed.error().message,
                    s.source,
                    "an index URL looks like https://host/simple/; for a local directory of "
                    "wheels use --find-links DIR");
    }
    return text;
}

/// A find-links location: http(s) URLs as they are, `file:` URLs and paths as absolute paths
/// (relative ones against `cwd`).
result<std::string> checked_find_links(const sourced& s, const stdfs::path& cwd)
{
    const std::string text(trim(s.value));
    const std::string head = lower(text.substr(0, std::min<std::size_t>(text.size(), 8)));
    if (head.starts_with("http://") || head.starts_with("https://")) {
        if (auto parsed = io::url::parse(text); !parsed) {
            return fail(errc::invalid_url,
                        "find-links URL " + quote_for_message(io::redact_url(text)) + " (from " +
                            s.source + ") is not a valid URL: " + parsed.error().message,
                        s.source);
        }
        return text;
    }
    stdfs::path path;
    if (head.starts_with("file:")) {
        auto parsed = io::url::parse_reference(text);
        if (!parsed || parsed->path.empty() ||
            !(parsed->host.empty() || parsed->host == "localhost")) {
            return fail(errc::invalid_url,
                        "find-links URL " + quote_for_message(text) + " (from " + s.source +
                            ") is not a local file: URL (file:///absolute/dir)",
                        s.source);
        }
        path = io::percent_decode(parsed->path);
    } else if (text.find("://") != std::string::npos) {
        return fail(errc::invalid_url,
                    "find-links location " + quote_for_message(io::redact_url(text)) + " (from " +
                        s.source + ") has a scheme pkg cannot read (http, https, file or a path)",
                    s.source);
    } else {
        path = text;
    }
    if (path.is_relative()) {
        path = cwd / path;
    }
    return path.lexically_normal().string();
}

}  // namespace

result<index_config>
resolve_index_config(const pkg::index_options& flags,
                     const std::vector<const lockfile::requirements_file*>& files,
                     const std::function<std::optional<std::string>(std::string_view)>& getenv,
                     const std::filesystem::path& cwd, bool need_index,
                     const std::filesystem::path& etc_dir)
{
    const auto process = cache::process_environment();
    // Empty variables count as unset: `PIP_INDEX_URL= pkg install` should not be an error.
    auto env = [&](std::string_view name) -> std::optional<std::string> {
        auto v = getenv ? getenv(name) : process(name);
        if (v && trim(*v).empty()) {
            return std::nullopt;
        }
        return v;
    };
    const stdfs::path base = cwd.empty() ? stdfs::current_path() : cwd;

    pip_values pip;
    for (const auto& file : pip_config_files(env, etc_dir, base)) {
        if (auto ok = load_pip_file(file, pip); !ok) {
            return fail(ok.error());
        }
    }

    // The primary index: the first source that names one.
    std::optional<sourced> primary;
    if (flags.index_url) {
        primary = sourced{*flags.index_url, "--index-url"};
    } else {
        for (const auto* file : files) {
            if (file != nullptr && file->index_url) {
                primary = sourced{*file->index_url, "a requirements file's --index-url"};
            }
        }
    }
    if (!primary) {
        if (auto v = env("PKG_INDEX_URL")) {
            primary = sourced{*v, "PKG_INDEX_URL"};
        } else if (auto w = env("PIP_INDEX_URL")) {
            primary = sourced{*w, "PIP_INDEX_URL"};
        } else if (const auto* p = pip_value(pip, "index-url")) {
            primary = *p;
        }
    }

    // Extras and find-links: every source, in priority order.
    std::vector<sourced> extras;
    std::vector<sourced> links;
    for (const auto& u : flags.extra_index_urls) {
        extras.push_back({u, "--extra-index-url"});
    }
    for (const auto& l : flags.find_links) {
        links.push_back({l, "--find-links"});
    }
    for (const auto* file : files) {
        if (file == nullptr) {
            continue;
        }
        for (const auto& u : file->extra_index_urls) {
            extras.push_back({u, "a requirements file's --extra-index-url"});
        }
        for (const auto& l : file->find_links) {
            links.push_back({l, "a requirements file's --find-links"});
        }
    }
    for (std::string_view var : {"PKG_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL"}) {
        if (auto v = env(var)) {
            for (auto& u : split_whitespace(*v)) {
                extras.push_back({std::move(u), std::string(var)});
            }
        }
    }
    if (const auto* p = pip_value(pip, "extra-index-url")) {
        for (auto& u : split_whitespace(p->value)) {
            extras.push_back({std::move(u), p->source});
        }
    }
    for (std::string_view var : {"PKG_FIND_LINKS", "PIP_FIND_LINKS"}) {
        if (auto v = env(var)) {
            for (auto& l : split_whitespace(*v)) {
                links.push_back({std::move(l), std::string(var)});
            }
        }
    }
    if (const auto* p = pip_value(pip, "find-links")) {
        for (auto& l : split_whitespace(p->value)) {
            links.push_back({std::move(l), p->source});
        }
    }

    index_config out;
    out.no_index = flags.no_index;
    for (const auto* file : files) {
        out.no_index = out.no_index || (file != nullptr && file->no_index);
    }
    for (std::string_view var : {"PKG_NO_INDEX", "PIP_NO_INDEX"}) {
        if (auto v = env(var)) {
            auto truthy = parse_truthy(sourced{*v, std::string(var)});
            if (!truthy) {
                return fail(truthy.error());
            }
            out.no_index = out.no_index || *truthy;
        }
    }
    if (const auto* p = pip_value(pip, "no-index")) {
        auto truthy = parse_truthy(*p);
        if (!truthy) {
            return fail(truthy.error());
        }
        out.no_index = out.no_index || *truthy;
    }

    std::set<std::string> seen_links;
    for (const auto& l : links) {
        auto checked = checked_find_links(l, base);
        if (!checked) {
            return fail(checked.error());
        }
        if (seen_links.insert(*checked).second) {
            out.find_links.push_back(std::move(*checked));
        }
    }
    if (!out.no_index) {
        std::set<std::string> seen;
        std::vector<sourced> all;
        if (primary) {
            all.push_back(*primary);
        }
        all.insert(all.end(), extras.begin(), extras.end());
        for (const auto& u : all) {
            auto checked = checked_index_url(u);
            if (!checked) {
                return fail(checked.error());
            }
            if (seen.insert(cache::canonical_index_url(*checked)).second) {
                out.index_urls.push_back(std::move(*checked));
            }
        }
    }
    if (need_index && out.index_urls.empty() && out.find_links.empty()) {
        if (out.no_index) {
            return fail(errc::no_index_configured,
                        "--no-index is in effect and no --find-links location is configured: "
                        "there is nowhere to look for packages",
                        {},
                        "pass --find-links DIR (a directory of wheels), or drop --no-index "
                        "(PKG_NO_INDEX, PIP_NO_INDEX, no-index in pip.conf or the lockfile)");
        }
        return fail(errc::no_index_configured, "no package index configured", {},
                    "pass --index-url URL, or set PKG_INDEX_URL or PIP_INDEX_URL, or index-url "
                    "in pip.conf (or --find-links DIR with --no-index)");
    }
    return out;
}

}  // namespace pkg::index
