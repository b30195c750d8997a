#include "lockfile/requirements_txt.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include <pkg/engine/errc.hpp>

#include "lockfile/requirements_lines.hpp"
#include "pep508/name.hpp"
#include "wheel/wheel_filename.hpp"

namespace pkg::lockfile {
namespace {

namespace fs = std::filesystem;
using lines::line_option;
using lines::option_kind;

/// Includes nest at most this deep; cycles are caught earlier, this only bounds recursion.
constexpr std::size_t max_include_depth = 64;
/// At most this many includes in all: files that include the next one twice, 30 deep, are not
/// a cycle but would be read 2^30 times.
constexpr std::size_t max_includes = 4096;

char to_lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), to_lower);
    return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_lower(x) == to_lower(y); });
}

bool iends_with(std::string_view s, std::string_view suffix) noexcept
{
    return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

std::string_view trim(std::string_view s) noexcept
{
    auto space = [](char c) { return c == ' ' || c == '\t'; };
    while (!s.empty() && space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

/// Text quoted for a message: credentials hidden (`${TOKEN}` often lands in index URLs),
/// shortened so a huge line does not drown the reason.
std::string quote_text(std::string_view s)
{
    constexpr std::size_t max_chars = 160;
    const std::string safe = lines::redact_credentials(s);
    std::string out = "'";
    if (safe.size() > max_chars) {
        out.append(safe, 0, max_chars);
        out += "…";
    } else {
        out += safe;
    }
    out += '\'';
    return out;
}

std::string location_text(const source_location& where)
{
    return where.file + ":" + std::to_string(where.line);
}

// ---- reading ------------------------------------------------------------------------------------

struct file_closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

result<std::string> read_from_disk(const fs::path& path)
{
    std::unique_ptr<std::FILE, file_closer> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        return fail(system_error(errno, "open", path.string()));
    }
    std::string data;
    char buffer[1 << 16];
    for (;;) {
        const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
        data.append(buffer, n);
        if (n < sizeof buffer) {
            break;
        }
    }
    if (std::ferror(file.get()) != 0) {
        return fail(system_error(errno, "read", path.string()));
    }
    return data;
}

std::optional<std::string> getenv_from_process(std::string_view name)
{
    const std::string key(name);
    const char* value = std::getenv(key.c_str());
    if (value == nullptr) {
        return std::nullopt;
    }
    return std::string(value);
}

/// Offset of the first byte that is not part of well-formed UTF-8, or npos.
std::size_t invalid_utf8_offset(std::string_view s) noexcept
{
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t extra = 0;
        unsigned min_second = 0x80;
        unsigned max_second = 0xbf;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            min_second = c == 0xe0 ? 0xa0 : 0x80;  // no overlong forms
            max_second = c == 0xed ? 0x9f : 0xbf;  // no surrogates
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            min_second = c == 0xf0 ? 0x90 : 0x80;
            max_second = c == 0xf4 ? 0x8f : 0xbf;
        } else {
            return i;
        }
        if (i + extra >= s.size()) {
            return i;
        }
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            const unsigned lo = k == 1 ? min_second : 0x80;
            const unsigned hi = k == 1 ? max_second : 0xbf;
            if (d < lo || d > hi) {
                return i;
            }
        }
        i += extra + 1;
    }
    return std::string_view::npos;
}

// ---- URLs and paths -----------------------------------------------------------------------------

/// The scheme of `text` when it starts like a URL (`scheme://`, or `file:`), lower case.
std::optional<std::string> url_scheme(std::string_view text)
{
    std::size_t i = 0;
    while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) != 0 || text[i] == '+' ||
                               text[i] == '-' || text[i] == '.')) {
        ++i;
    }
    if (i == 0 || std::isalpha(static_cast<unsigned char>(text[0])) == 0 || i >= text.size() || text[i] != ':') {
        return std::nullopt;
    }
    std::string scheme = lower(text.substr(0, i));
    if (text.substr(i + 1).starts_with("//") || scheme == "file") {
        return scheme;
    }
    return std::nullopt;
}

bool is_vcs_scheme(std::string_view scheme) noexcept
{
    for (std::string_view vcs : {"git", "hg", "svn", "bzr"}) {
        if (scheme == vcs || (scheme.starts_with(vcs) && scheme.size() > vcs.size() && scheme[vcs.size()] == '+')) {
            return true;
        }
    }
    return false;
}

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = to_lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

std::string percent_decode(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
            hex_value(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

/// `file://` URL of an absolute path, quoting like Python's `pathname2url` (safe: `/`, letters,
/// digits, `_.-~`).
std::string file_url(const fs::path& absolute)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out = "file://";
    for (const char ch : absolute.generic_string()) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) != 0 || ch == '/' || ch == '_' || ch == '.' || ch == '-' || ch == '~') {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    return out;
}

struct url_parts {
    std::string path;      ///< without query and fragment, still percent-encoded
    std::string fragment;  ///< after '#', may be empty
};

url_parts split_url(std::string_view url)
{
    url_parts out;
    const std::size_t hash = url.find('#');
    if (hash != std::string_view::npos) {
        out.fragment = std::string(url.substr(hash + 1));
        url = url.substr(0, hash);
    }
    const std::size_t query = url.find('?');
    out.path = std::string(url.substr(0, query));
    return out;
}

/// pip's archive extensions (utils/filetypes.py); `.whl` is among them.
bool is_archive_name(std::string_view name) noexcept
{
    for (std::string_view ext : {".whl", ".zip", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tlz", ".tar.lz",
                                 ".tar.lzma", ".tar.gz", ".tgz", ".tar"}) {
        if (iends_with(name, ext)) {
            return true;
        }
    }
    return false;
}

/// The project a wheel filename names (PEP 427), or why it is not a wheel filename.
result<wheel::wheel_filename> parse_wheel_name(std::string_view filename)
{
    auto parsed = wheel::wheel_filename::parse(filename);
    if (!parsed) {
        return fail(errc::invalid_requirements_file,
                    quote_text(filename) + " is not a valid wheel filename: " + parsed.error().message);
    }
    return parsed;
}

/// The last segment of a URL's path, percent-decoded.
std::string last_segment(std::string_view url_path)
{
    const std::size_t slash = url_path.rfind('/');
    return percent_decode(slash == std::string_view::npos ? url_path : url_path.substr(slash + 1));
}

/// The `file://` URL of a wheel path written in the file at `including`: relative paths are
/// resolved against that file's directory (not the working directory, as pip would), so a
/// lockfile means the same wherever it is used from.
std::string path_to_file_url(std::string_view written, const fs::path& including)
{
    fs::path file{std::string(written)};
    if (file.is_relative()) {
        file = including.parent_path() / file;
    }
    std::error_code ec;
    fs::path absolute = fs::absolute(file, ec);
    return file_url((ec ? file : absolute).lexically_normal());
}

// ---- the parser ---------------------------------------------------------------------------------

/// A requirement line after its text was understood.
struct parsed_requirement {
    pep508::requirement requirement;
    std::vector<hash_digest> url_hashes;  ///< from a `#sha256=…` URL fragment
};

void add_unique(std::vector<std::string>& list, std::string value)
{
    if (std::find(list.begin(), list.end(), value) == list.end()) {
        list.push_back(std::move(value));
    }
}

void add_unique_hash(std::vector<hash_digest>& list, hash_digest value)
{
    if (std::find(list.begin(), list.end(), value) == list.end()) {
        list.push_back(std::move(value));
    }
}

class requirements_parser {
public:
    explicit requirements_parser(const parse_options& options)
        : getenv_(options.getenv ? options.getenv : lines::getenv_function(getenv_from_process)),
          read_file_(options.read_file ? options.read_file
                                       : std::function<result<std::string>(const fs::path&)>(read_from_disk)),
          reads_disk_(!options.read_file)
    {
    }

    result<requirements_file> parse_root(std::string_view text, const fs::path& path, std::string display)
    {
        if (auto done = parse_file(text, path, std::move(display), false); !done) {
            return fail(std::move(done.error()));
        }
        if (auto ok = check_unambiguous(out_.requirements, "requirement"); !ok) {
            return fail(std::move(ok.error()));
        }
        if (auto ok = check_unambiguous(out_.constraints, "constraint"); !ok) {
            return fail(std::move(ok.error()));
        }
        return std::move(out_);
    }

    result<std::string> read(const fs::path& path) { return read_file_(path); }

private:
    struct open_file {
        std::string key;      // identity for cycle detection
        std::string display;  // as shown in messages
    };

    /// Identity of a file for cycle detection: the canonical path on disk (symlinks resolved);
    /// for in-memory readers, the absolute lexical path.
    std::string file_key(const fs::path& path) const
    {
        std::error_code ec;
        fs::path absolute = fs::absolute(path, ec);
        if (ec) {
            absolute = path;
        }
        if (reads_disk_) {
            fs::path canonical = fs::weakly_canonical(absolute, ec);
            if (!ec) {
                return canonical.string();
            }
        }
        return absolute.lexically_normal().string();
    }

    result<void> parse_file(std::string_view text, const fs::path& path, std::string display, bool constraint)
    {
        stack_.push_back({file_key(path), display});
        auto done = parse_lines(text, path, display, constraint);
        stack_.pop_back();
        return done;
    }

    result<void> parse_lines(std::string_view text, const fs::path& path, const std::string& display,
                             bool constraint)
    {
        if (text.starts_with("\xef\xbb\xbf")) {
            text.remove_prefix(3);  // UTF-8 byte-order mark
        } else if (text.starts_with("\xff\xfe") || text.starts_with("\xfe\xff") ||
                   text.starts_with(std::string_view("\x00\x00\xfe\xff", 4))) {
            return fail(errc::unsupported,
                        "the file is UTF-16 or UTF-32 encoded (it starts with a byte-order mark); "
                        "only UTF-8 requirements files are supported",
                        display, "save it as UTF-8");
        }
        auto physical = lines::split_physical_lines(text);
        for (const auto& line : physical) {
            if (const std::size_t bad = invalid_utf8_offset(line.text); bad != std::string_view::npos) {
                return fail(errc::invalid_requirements_file,
                            "line is not valid UTF-8 (byte " + std::to_string(bad + 1) + "): " +
                                quote_text(line.text.substr(0, bad)) + " followed by an invalid byte",
                            display + ":" + std::to_string(line.number));
            }
        }
        for (auto& line : lines::join_continuations(std::move(physical))) {
            std::string stripped = lines::strip_comment(line.text);
            if (stripped.empty()) {
                continue;
            }
            const source_location where{display, line.number};
            if (auto ok = parse_line(lines::expand_env_vars(stripped, getenv_), path, where, constraint); !ok) {
                return ok;
            }
        }
        return {};
    }

    result<void> parse_line(const std::string& text, const fs::path& path, const source_location& where,
                            bool constraint)
    {
        const std::string at = location_text(where);
        const auto parts = lines::break_args_options(text);
        auto tokens = lines::shell_split(parts.options);
        if (!tokens) {
            return fail(std::move(tokens.error()).with_context(at));
        }
        auto parsed = lines::parse_line_options(*tokens);
        if (!parsed) {
            auto e = std::move(parsed.error());
            e.message += " (line " + quote_text(text) + ")";
            return fail(std::move(e).with_context(at));
        }
        for (const auto& option : parsed->options) {
            if (option.kind == option_kind::editable) {
                return fail(errc::unsupported,
                            "editable requirement " + quote_text(option.spelling + " " + option.value) +
                                " is not supported: pkg installs pinned wheels, it does not build projects",
                            at);
            }
        }
        if (!parsed->extra_args.empty()) {
            return fail(errc::invalid_requirements_file,
                        "unexpected " + quote_text(parsed->extra_args.front()) + " after the options in " +
                            quote_text(text) + "; a requirement goes first on its line, one per line",
                        at);
        }
        if (!parts.args.empty()) {
            return add_requirement(parts.args, parsed->options, path, where, constraint);
        }
        return apply_options(parsed->options, path, where);
    }

    void warn(const source_location& where, std::string text)
    {
        out_.warnings.push_back(location_text(where) + ": " + std::move(text));
    }

    result<void> add_requirement(const std::string& text, const std::vector<line_option>& options,
                                 const fs::path& path, const source_location& where, bool constraint)
    {
        const std::string at = location_text(where);
        requirement_entry entry;
        entry.location = where;
        for (const auto& option : options) {
            switch (option.kind) {
            case option_kind::hash: {
                auto digest = lines::parse_hash(option.value);
                if (!digest) {
                    return fail(std::move(digest.error()).with_context(at));
                }
                add_unique_hash(entry.hashes, std::move(*digest));
                break;
            }
            case option_kind::global_option:
            case option_kind::config_settings:
                warn(where, "ignored " + quote_text(option.spelling + " " + option.value) +
                                ": it configures source builds, and pkg installs wheels only");
                break;
            default:
                warn(where, "ignored " + quote_text(option.spelling) +
                                ": it has no effect on a requirement line (pip ignores it there too)");
                break;
            }
        }
        auto parsed = parse_requirement_text(text, path, where);
        if (!parsed) {
            return fail(std::move(parsed.error()));
        }
        for (auto& digest : parsed->url_hashes) {
            add_unique_hash(entry.hashes, std::move(digest));
        }
        entry.requirement = std::move(parsed->requirement);
        if (constraint) {
            if (!entry.requirement.extras.empty()) {
                return fail(errc::invalid_requirements_file,
                            "constraint " + quote_text(text) + " has extras; constraints cannot (pip refuses them too)",
                            at, "drop the [extras] part");
            }
            out_.constraints.push_back(std::move(entry));
        } else {
            out_.requirements.push_back(std::move(entry));
        }
        return {};
    }

    /// Understands the requirement part of a line: a PEP 508 requirement, or a bare wheel URL or
    /// path (pip's `parse_req_from_line` decides the same way: a URL scheme, or something that
    /// looks like a path before any `@`, or an archive name without `@`).
    result<parsed_requirement> parse_requirement_text(std::string_view text, const fs::path& path,
                                                      const source_location& where)
    {
        const std::string at = location_text(where);
        if (auto scheme = url_scheme(text)) {
            // For URLs the marker separator needs whitespace after the ';', as in pip: URLs may
            // contain ';' themselves.
            std::size_t sep = std::string_view::npos;
            for (std::size_t i = 0; i + 1 < text.size(); ++i) {
                if (text[i] == ';' && (text[i + 1] == ' ' || text[i + 1] == '\t')) {
                    sep = i;
                    break;
                }
            }
            const std::string_view url = trim(text.substr(0, sep));
            const std::string_view marker = sep == std::string_view::npos ? std::string_view{} : text.substr(sep + 1);
            return bare_requirement(std::string(url), *scheme, {}, marker, text, where);
        }
        const std::size_t at_sign = text.find('@');
        const std::string_view head = trim(text.substr(0, at_sign));
        const bool looks_like_path = head.find('/') != std::string_view::npos ||
                                     head.find('\\') != std::string_view::npos || head.starts_with('.');
        const std::size_t semicolon = text.find(';');
        std::string_view target = trim(text.substr(0, semicolon));
        std::string_view extras;
        if (target.ends_with(']')) {
            const std::size_t open = target.rfind('[');
            if (open != std::string_view::npos && open > 0 && open + 2 < target.size() &&
                target.substr(open + 1, target.size() - open - 2).find(']') == std::string_view::npos) {
                extras = target.substr(open + 1, target.size() - open - 2);
                target = target.substr(0, open);
            }
        }
        if (looks_like_path || (at_sign == std::string_view::npos && is_archive_name(target))) {
            const std::string_view marker =
                semicolon == std::string_view::npos ? std::string_view{} : text.substr(semicolon + 1);
            return bare_requirement(path_to_file_url(target, path), "file", extras, marker, text, where);
        }

        auto requirement = pep508::requirement::parse(text);
        if (!requirement) {
            return fail(errc::invalid_requirements_file,
                        "invalid requirement " + quote_text(text) + ": " + requirement.error().message, at);
        }
        parsed_requirement out{std::move(*requirement), {}};
        if (out.requirement.url) {
            std::string url = *out.requirement.url;
            auto scheme = url_scheme(url);
            if (!scheme) {
                // `name @ ./dist/x.whl`: a path, resolved like bare paths.
                url = path_to_file_url(url, path);
                scheme = "file";
            }
            auto checked = check_url(url, *scheme, text, where);
            if (!checked) {
                return fail(std::move(checked.error()));
            }
            out.url_hashes = std::move(checked->hashes);
            const auto& wheel = checked->wheel;
            if (wheel.normalized_name != out.requirement.normalized_name) {
                return fail(errc::invalid_requirements_file,
                            "requirement " + quote_text(text) + " names " + quote_text(out.requirement.name) +
                                " but its wheel is for " + quote_text(wheel.distribution),
                            at);
            }
            out.requirement.url = std::move(url);
        }
        return out;
    }

    /// A wheel URL that passed `check_url`.
    struct checked_url {
        wheel::wheel_filename wheel;
        std::vector<hash_digest> hashes;  ///< from `#sha256=…` in the fragment
    };

    /// Checks that `url` points at a wheel pkg can install; returns its parsed filename and the
    /// hashes its fragment gives.
    result<checked_url> check_url(const std::string& url, const std::string& scheme, std::string_view text,
                                  const source_location& where)
    {
        const std::string at = location_text(where);
        if (is_vcs_scheme(scheme)) {
            return fail(errc::unsupported,
                        "VCS requirement " + quote_text(text) +
                            " is not supported: pkg installs pinned wheels, it does not check out and build projects",
                        at);
        }
        if (scheme != "http" && scheme != "https" && scheme != "file") {
            return fail(errc::unsupported,
                        "URL scheme " + quote_text(scheme) + " in " + quote_text(text) +
                            " is not supported (only http, https and file)",
                        at);
        }
        const url_parts parts = split_url(url);
        const std::string filename = last_segment(parts.path);
        if (!iends_with(filename, ".whl")) {
            if (is_archive_name(filename)) {
                return fail(errc::unsupported,
                            quote_text(filename) + " in " + quote_text(text) +
                                " is a source distribution; pkg installs wheels only",
                            at, "build a wheel and point the lockfile at it");
            }
            return fail(errc::unsupported,
                        quote_text(text) + " does not point at a wheel (.whl) file; local directories and other "
                                       "files need a build, which pkg does not do",
                        at);
        }
        auto wheel = parse_wheel_name(filename);
        if (!wheel) {
            auto e = std::move(wheel.error());
            e.message += " (in " + quote_text(text) + ")";
            return fail(std::move(e).with_context(at));
        }
        checked_url out{std::move(*wheel), {}};
        // `#sha256=…&egg=…`: pip checks hashes given in the URL fragment too.
        std::string_view fragment = parts.fragment;
        while (!fragment.empty()) {
            const std::size_t amp = fragment.find('&');
            const std::string_view item = fragment.substr(0, amp);
            fragment = amp == std::string_view::npos ? std::string_view{} : fragment.substr(amp + 1);
            const std::size_t eq = item.find('=');
            if (eq == std::string_view::npos) {
                continue;
            }
            const std::string key = lower(item.substr(0, eq));
            if (lines::hash_hex_length(key) != 0) {
                auto digest = lines::parse_hash(key + ":" + std::string(item.substr(eq + 1)));
                if (!digest) {
                    return fail(std::move(digest.error()).with_context(at));
                }
                add_unique_hash(out.hashes, std::move(*digest));
            } else if (key == "md5" || key == "sha1" || key == "sha224") {
                warn(where, "ignored the weak " + key + " hash in the URL of " + quote_text(text) +
                                "; add --hash=sha256:… to check the download");
            }
        }
        return out;
    }

    result<parsed_requirement> bare_requirement(std::string url, const std::string& scheme, std::string_view extras,
                                                std::string_view marker, std::string_view text,
                                                const source_location& where)
    {
        const std::string at = location_text(where);
        parsed_requirement out;
        auto checked = check_url(url, scheme, text, where);
        if (!checked) {
            return fail(std::move(checked.error()));
        }
        out.url_hashes = std::move(checked->hashes);
        out.requirement.name = std::move(checked->wheel.distribution);
        out.requirement.normalized_name = std::move(checked->wheel.normalized_name);
        std::set<std::string> extra_names;
        while (!extras.empty()) {
            const std::size_t comma = extras.find(',');
            const std::string_view extra = trim(extras.substr(0, comma));
            extras = comma == std::string_view::npos ? std::string_view{} : extras.substr(comma + 1);
            if (!pep508::is_valid_name(extra)) {
                return fail(errc::invalid_requirements_file,
                            "invalid extra " + quote_text(extra) + " in " + quote_text(text), at);
            }
            extra_names.insert(pep508::normalize_name(extra));
        }
        out.requirement.extras.assign(extra_names.begin(), extra_names.end());
        out.requirement.url = std::move(url);
        if (!trim(marker).empty()) {
            auto parsed = pep508::marker::parse(trim(marker));
            if (!parsed) {
                return fail(errc::invalid_requirements_file,
                            "invalid marker in " + quote_text(text) + ": " + parsed.error().message, at);
            }
            out.requirement.env_marker = std::move(*parsed);
        }
        return out;
    }

    result<void> apply_options(const std::vector<line_option>& options, const fs::path& path,
                               const source_location& where)
    {
        const std::string at = location_text(where);
        for (const auto& option : options) {
            switch (option.kind) {
            case option_kind::index_url: out_.index_url = option.value; break;
            case option_kind::extra_index_url: add_unique(out_.extra_index_urls, option.value); break;
            case option_kind::no_index: out_.no_index = true; break;
            case option_kind::prefer_binary: out_.prefer_binary = true; break;
            case option_kind::require_hashes: out_.require_hashes = true; break;
            case option_kind::pre: out_.pre = true; break;
            case option_kind::trusted_host: add_unique(out_.trusted_hosts, option.value); break;
            case option_kind::find_links: add_unique(out_.find_links, resolve_find_links(option.value, path)); break;
            case option_kind::requirement:
            case option_kind::constraint:
                if (auto ok = include(option, path, where); !ok) {
                    return ok;
                }
                break;
            case option_kind::no_binary:
            case option_kind::only_binary:
                if (auto ok = apply_format_control(option, at); !ok) {
                    return ok;
                }
                break;
            case option_kind::hash:
                warn(where, "ignored " + quote_text(option.spelling + " " + option.value) +
                                ": there is no requirement on this line to check it against");
                break;
            case option_kind::use_feature:
            case option_kind::global_option:
            case option_kind::config_settings:
                warn(where, "ignored " + quote_text(option.spelling + " " + option.value) +
                                ": it configures pip itself or source builds, not which wheels to install");
                break;
            case option_kind::editable: break;  // refused before options are applied
            }
        }
        return {};
    }

    static std::string resolve_find_links(const std::string& value, const fs::path& path)
    {
        if (url_scheme(value)) {
            return value;
        }
        fs::path target(value);
        if (target.is_relative()) {
            target = path.parent_path() / target;
        }
        return target.lexically_normal().generic_string();
    }

    /// `--only-binary`/`--no-binary`, with pip's FormatControl rules: `:all:` replaces both sets'
    /// contents, `:none:` empties the option's set, a name moves from the other set to this one.
    result<void> apply_format_control(const line_option& option, const std::string& at)
    {
        const bool only = option.kind == option_kind::only_binary;
        auto& target = only ? out_.only_binary : out_.no_binary;
        auto& other = only ? out_.no_binary : out_.only_binary;
        if (option.value.empty() || option.value.starts_with('-')) {
            return fail(errc::invalid_requirements_file,
                        "option " + quote_text(option.spelling) + " needs :all:, :none: or package names, got " +
                            quote_text(option.value),
                        at);
        }
        std::string_view rest = option.value;
        while (true) {
            const std::size_t comma = rest.find(',');
            const std::string_view item = rest.substr(0, comma);
            if (item == ":all:") {
                other.clear();
                target.assign({":all:"});
                // As pip: names after ":all:" only count when a ":none:" follows to reopen the set.
                if (comma == std::string_view::npos ||
                    (',' + std::string(rest.substr(comma)) + ',').find(",:none:,") == std::string::npos) {
                    break;
                }
            } else if (item == ":none:") {
                target.clear();
            } else if (!item.empty()) {
                if (!pep508::is_valid_name(item)) {
                    return fail(errc::invalid_requirements_file,
                                "option " + quote_text(option.spelling) + " names " + quote_text(item) +
                                    ", which is not a valid project name",
                                at);
                }
                std::string name = pep508::normalize_name(item);
                std::erase(other, name);
                add_unique(target, std::move(name));
            }
            if (comma == std::string_view::npos) {
                break;
            }
            rest = rest.substr(comma + 1);
        }
        return {};
    }

    /// `file:` URL → local path; nullopt for a host other than localhost.
    static std::optional<std::string> file_url_path(std::string_view url)
    {
        std::string_view rest = url.substr(5);  // after "file:"
        if (rest.starts_with("//")) {
            rest.remove_prefix(2);
            const std::size_t slash = rest.find('/');
            const std::string_view host = rest.substr(0, slash);
            if (!host.empty() && !iequals(host, "localhost")) {
                return std::nullopt;
            }
            rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
        }
        return percent_decode(split_url(rest).path);
    }

    result<void> include(const line_option& option, const fs::path& path, const source_location& where)
    {
        const std::string at = location_text(where);
        const bool nested_constraint = option.kind == option_kind::constraint;
        const std::string shown = option.spelling + " " + option.value;
        std::string target = option.value;
        if (target.empty()) {
            return fail(errc::invalid_requirements_file, quote_text(shown) + " names no file", at);
        }
        if (auto scheme = url_scheme(target)) {
            std::optional<std::string> local = *scheme == "file" ? file_url_path(target) : std::nullopt;
            if (!local || local->empty()) {
                return fail(errc::unsupported,
                            "cannot include " + quote_text(target) + " (from " + quote_text(shown) +
                                "): pkg reads requirements files from local paths only, never over the network",
                            at, "download the file and include it by path");
            }
            target = std::move(*local);
        }
        fs::path file(target);
        const bool relative = file.is_relative();
        if (relative) {
            file = path.parent_path() / file;
        }
        std::string display = relative ? (fs::path(stack_.back().display).parent_path() / target)
                                             .lexically_normal()
                                             .generic_string()
                                       : fs::path(target).lexically_normal().generic_string();
        const std::string key = file_key(file);
        for (std::size_t i = 0; i < stack_.size(); ++i) {
            if (stack_[i].key == key) {
                std::string chain;
                for (std::size_t k = i; k < stack_.size(); ++k) {
                    chain += stack_[k].display + " -> ";
                }
                chain += display;
                return fail(errc::requirements_include_cycle,
                            quote_text(shown) + " includes a file that is already being read: " + chain, at,
                            "remove one of the includes");
            }
        }
        if (stack_.size() >= max_include_depth) {
            return fail(errc::invalid_requirements_file,
                        quote_text(shown) + " nests requirements files more than " +
                            std::to_string(max_include_depth) + " deep",
                        at);
        }
        if (++include_count_ > max_includes) {
            return fail(errc::invalid_requirements_file,
                        quote_text(shown) + " is include number " + std::to_string(include_count_) + "; more than " +
                            std::to_string(max_includes) + " includes in one lockfile means files include each "
                                                           "other over and over",
                        at);
        }
        auto text = read_file_(file);
        if (!text) {
            return fail(errc::invalid_requirements_file,
                        "cannot read " + quote_text(display) + " (included by " + quote_text(shown) +
                            "): " + text.error().to_string(),
                        at);
        }
        return parse_file(*text, file, std::move(display), nested_constraint);
    }

    /// A lockfile must say one thing per package and environment (see the header).
    result<void> check_unambiguous(std::vector<requirement_entry>& entries, std::string_view what)
    {
        auto pin_of = [](const pep508::requirement& r) {
            std::vector<std::string> clauses;
            for (const auto& clause : r.specifiers.clauses()) {
                clauses.push_back(clause.to_string());
            }
            std::sort(clauses.begin(), clauses.end());
            std::string pin;
            for (const auto& clause : clauses) {
                pin += pin.empty() ? "" : ",";
                pin += clause;
            }
            if (r.url) {
                pin += " @ " + *r.url;
            }
            return pin;
        };
        auto sorted_hashes = [](std::vector<hash_digest> hashes) {
            std::sort(hashes.begin(), hashes.end(), [](const hash_digest& a, const hash_digest& b) {
                return std::tie(a.algorithm, a.digest) < std::tie(b.algorithm, b.digest);
            });
            return hashes;
        };
        std::map<std::string, std::size_t> first_of;  // name + marker → index in kept
        std::vector<requirement_entry> kept;
        kept.reserve(entries.size());
        for (auto& entry : entries) {
            const auto& r = entry.requirement;
            const std::string marker = r.env_marker ? r.env_marker->to_string() : std::string();
            std::string key = r.normalized_name;
            key += '\0';
            key += marker;
            const auto [it, is_new] = first_of.try_emplace(std::move(key), kept.size());
            if (is_new) {
                kept.push_back(std::move(entry));
                continue;
            }
            auto& earlier = kept[it->second];
            const std::string for_env = marker.empty() ? std::string(" (no marker)") : " for " + quote_text(marker);
            const std::string pin = pin_of(r);
            const std::string earlier_pin = pin_of(earlier.requirement);
            if (pin != earlier_pin) {
                return fail(errc::invalid_requirements_file,
                            std::string(what) + " " + quote_text(r.normalized_name) + " is pinned twice" + for_env +
                                ": " + quote_text(pin) + " here and " + quote_text(earlier_pin) + " at " +
                                location_text(earlier.location),
                            location_text(entry.location), "a lockfile must pin each package once per environment");
            }
            if (sorted_hashes(entry.hashes) != sorted_hashes(earlier.hashes)) {
                return fail(errc::invalid_requirements_file,
                            std::string(what) + " " + quote_text(r.normalized_name) + " " + quote_text(pin) +
                                " is listed twice" + for_env + " with different --hash sets: here and at " +
                                location_text(earlier.location),
                            location_text(entry.location), "keep one line with all the hashes");
            }
            // An exact repeat (a diamond of includes, or extras spelled on two lines): merge.
            auto& extras = earlier.requirement.extras;
            extras.insert(extras.end(), r.extras.begin(), r.extras.end());
            std::sort(extras.begin(), extras.end());
            extras.erase(std::unique(extras.begin(), extras.end()), extras.end());
        }
        entries = std::move(kept);
        return {};
    }

    lines::getenv_function getenv_;
    std::function<result<std::string>(const fs::path&)> read_file_;
    bool reads_disk_;
    std::vector<open_file> stack_;
    std::size_t include_count_ = 0;
    requirements_file out_;
};

}  // namespace

result<requirements_file> parse_requirements_file(const std::filesystem::path& path, const parse_options& options)
{
    requirements_parser parser(options);
    auto text = parser.read(path);
    if (!text) {
        return fail(errc::invalid_requirements_file, "cannot read requirements file: " + text.error().message,
                    path.string());
    }
    return parser.parse_root(*text, path, path.string());
}

result<requirements_file> parse_requirements_text(std::string_view text, std::string_view name,
                                                  const parse_options& options)
{
    requirements_parser parser(options);
    return parser.parse_root(text, fs::path(std::string(name)), std::string(name));
}

}  // namespace pkg::lockfile
