#include "python/interpreter.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/core.h>
#include <simdjson.h>

#include <pkg/engine/errc.hpp>

#include "fs/atomic_file.hpp"
#include "python/query_script.hpp"

namespace pkg::python {
namespace {

namespace fs = std::filesystem;
namespace dom = simdjson::dom;

constexpr std::uint64_t cache_format = 2;
// A cache entry larger than this is not ours (the facts are a few KiB).
constexpr std::size_t max_cache_entry_bytes = 1u << 20;

// ---- discovery ----------------------------------------------------------------------------------

std::optional<std::string> real_getenv(std::string_view name)
{
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) {
        return std::nullopt;
    }
    return std::string(value);
}

bool is_executable_file(const fs::path& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
}

// "3", "3.11": a version the user means as `python3`, `python3.11`.
bool is_version_request(std::string_view text)
{
    bool has_digit = false;
    int dots = 0;
    for (char c : text) {
        if (c >= '0' && c <= '9') {
            has_digit = true;
        } else if (c == '.' && has_digit && dots == 0) {
            ++dots;
            has_digit = false;
        } else {
            return false;
        }
    }
    return has_digit;
}

std::vector<fs::path> path_entries(const getenv_function& getenv, const fs::path& cwd)
{
    // POSIX's default search path when PATH is unset (confstr _CS_PATH on glibc).
    const std::string value = getenv("PATH").value_or("/bin:/usr/bin");
    std::vector<fs::path> dirs;
    std::size_t start = 0;
    while (start <= value.size()) {
        std::size_t end = value.find(':', start);
        if (end == std::string::npos) {
            end = value.size();
        }
        const std::string entry = value.substr(start, end - start);
        dirs.push_back(entry.empty() ? cwd : (fs::path(entry).is_absolute() ? fs::path(entry)
                                                                             : cwd / entry));
        start = end + 1;
    }
    return dirs;
}

std::optional<fs::path> search_path(std::string_view name, const getenv_function& getenv,
                                    const fs::path& cwd)
{
    for (const auto& dir : path_entries(getenv, cwd)) {
        fs::path candidate = dir / name;
        if (is_executable_file(candidate)) {
            return candidate.lexically_normal();
        }
    }
    return std::nullopt;
}

std::string path_for_message(const getenv_function& getenv)
{
    const auto value = getenv("PATH");
    return value ? "PATH=" + *value : std::string("PATH unset, searched /bin:/usr/bin");
}

// ---- facts --------------------------------------------------------------------------------------

tl::unexpected<error> bad_answer(std::string_view source, std::string message)
{
    return fail(errc::interpreter_query_failed, std::move(message), std::string(source),
                "the interpreter's answer to pkg's query is not what pkg expects");
}

// Typed access to one JSON object, naming the dotted key in errors.
class object_reader {
public:
    object_reader(dom::object object, std::string prefix, std::string_view source)
        : object_(object), prefix_(std::move(prefix)), source_(source)
    {
    }

    result<dom::element> field(std::string_view key) const
    {
        dom::element value;
        if (object_[key].get(value) != simdjson::SUCCESS) {
            return bad_answer(source_, fmt::format("key \"{}\" is missing", name(key)));
        }
        return value;
    }

    result<std::string> string(std::string_view key) const
    {
        auto value = field(key);
        if (!value) {
            return fail(value.error());
        }
        std::string_view text;
        if (value->get_string().get(text) != simdjson::SUCCESS) {
            return bad_answer(source_, fmt::format("key \"{}\" is not a string", name(key)));
        }
        return std::string(text);
    }

    // A string or null (→ "").
    result<std::string> nullable_string(std::string_view key) const
    {
        auto value = field(key);
        if (!value) {
            return fail(value.error());
        }
        if (value->is_null()) {
            return std::string();
        }
        return string(key);
    }

    result<std::uint64_t> number(std::string_view key) const
    {
        auto value = field(key);
        if (!value) {
            return fail(value.error());
        }
        std::uint64_t n = 0;
        if (value->get_uint64().get(n) != simdjson::SUCCESS) {
            return bad_answer(source_,
                              fmt::format("key \"{}\" is not a non-negative integer", name(key)));
        }
        return n;
    }

    result<std::int64_t> signed_number(std::string_view key) const
    {
        auto value = field(key);
        if (!value) {
            return fail(value.error());
        }
        std::int64_t n = 0;
        if (value->get_int64().get(n) != simdjson::SUCCESS) {
            return bad_answer(source_, fmt::format("key \"{}\" is not an integer", name(key)));
        }
        return n;
    }

    result<bool> boolean(std::string_view key) const
    {
        auto value = field(key);
        if (!value) {
            return fail(value.error());
        }
        bool b = false;
        if (value->get_bool().get(b) != simdjson::SUCCESS) {
            return bad_answer(source_, fmt::format("key \"{}\" is not true/false", name(key)));
        }
        return b;
    }

    // A nested object, or nullopt for null.
    result<std::optional<object_reader>> nullable_object(std::string_view key) const
    {
        auto value = field(key);
        if (!value) {
            return fail(value.error());
        }
        if (value->is_null()) {
            return std::optional<object_reader>();
        }
        dom::object inner;
        if (value->get_object().get(inner) != simdjson::SUCCESS) {
            return bad_answer(source_, fmt::format("key \"{}\" is not an object", name(key)));
        }
        return std::optional<object_reader>(object_reader(inner, name(key) + ".", source_));
    }

    result<object_reader> object(std::string_view key) const
    {
        auto inner = nullable_object(key);
        if (!inner) {
            return fail(inner.error());
        }
        if (!*inner) {
            return bad_answer(source_, fmt::format("key \"{}\" is null", name(key)));
        }
        return **inner;
    }

    std::string name(std::string_view key) const { return prefix_ + std::string(key); }
    std::string_view source() const { return source_; }

private:
    dom::object object_;
    std::string prefix_;
    std::string_view source_;
};

// Unwraps a result into a variable, or returns its error from the enclosing function.
#define PKG_TRY_ASSIGN(var, expr)          \
    auto var##_result = (expr);            \
    if (!var##_result) {                   \
        return fail(var##_result.error()); \
    }                                      \
    auto var = std::move(*var##_result)

result<install_scheme> read_scheme(const object_reader& r, bool may_be_null)
{
    install_scheme s;
    const std::array<std::pair<std::string_view, fs::path*>, 5> keys{{{"purelib", &s.purelib},
                                                                      {"platlib", &s.platlib},
                                                                      {"scripts", &s.scripts},
                                                                      {"data", &s.data},
                                                                      {"include", &s.include}}};
    for (const auto& [key, target] : keys) {
        PKG_TRY_ASSIGN(text, may_be_null ? r.nullable_string(key) : r.string(key));
        *target = text;
    }
    return s;
}

// "2.36" → (2, 36).
constexpr unsigned max_libc_major = 9;
constexpr unsigned max_libc_minor = 999;

std::optional<std::pair<unsigned, unsigned>> parse_major_minor(std::string_view text)
{
    unsigned parts[2] = {0, 0};
    std::size_t at = 0;
    for (int i = 0; i < 2; ++i) {
        const std::size_t start = at;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9' && at - start < 6) {
            parts[i] = parts[i] * 10 + static_cast<unsigned>(text[at] - '0');
            ++at;
        }
        if (at == start) {
            return std::nullopt;
        }
        if (i == 0) {
            if (at >= text.size() || text[at] != '.') {
                return std::nullopt;
            }
            ++at;
        }
    }
    return std::pair{parts[0], parts[1]};
}

result<interpreter_facts> facts_from_object(const object_reader& r)
{
    interpreter_facts f;
    {
        PKG_TRY_ASSIGN(v, r.object("version"));
        PKG_TRY_ASSIGN(major, v.number("major"));
        PKG_TRY_ASSIGN(minor, v.number("minor"));
        PKG_TRY_ASSIGN(micro, v.number("micro"));
        PKG_TRY_ASSIGN(serial, v.number("serial"));
        PKG_TRY_ASSIGN(level, v.string("releaselevel"));
        if (major > 1000 || minor > 1000 || micro > 100000 || serial > 1000) {
            return bad_answer(r.source(), fmt::format("version {}.{}.{} is out of range", major,
                                                      minor, micro));
        }
        f.version = {static_cast<unsigned>(major), static_cast<unsigned>(minor),
                     static_cast<unsigned>(micro), std::move(level),
                     static_cast<unsigned>(serial)};
    }
    {
        PKG_TRY_ASSIGN(impl, r.object("implementation"));
        PKG_TRY_ASSIGN(name, impl.string("name"));
        PKG_TRY_ASSIGN(version, impl.string("version"));
        f.implementation_name = std::move(name);
        f.implementation_version = std::move(version);
    }
    PKG_TRY_ASSIGN(executable, r.string("executable"));
    PKG_TRY_ASSIGN(base_executable, r.string("base_executable"));
    PKG_TRY_ASSIGN(prefix, r.string("prefix"));
    PKG_TRY_ASSIGN(base_prefix, r.string("base_prefix"));
    f.executable = executable;
    f.base_executable = base_executable;
    f.prefix = prefix;
    f.base_prefix = base_prefix;
    {
        PKG_TRY_ASSIGN(m, r.object("markers"));
        auto& e = f.markers;
        const std::array<std::pair<std::string_view, std::string*>, 11> keys{{
            {"implementation_name", &e.implementation_name},
            {"implementation_version", &e.implementation_version},
            {"os_name", &e.os_name},
            {"platform_machine", &e.platform_machine},
            {"platform_python_implementation", &e.platform_python_implementation},
            {"platform_release", &e.platform_release},
            {"platform_system", &e.platform_system},
            {"platform_version", &e.platform_version},
            {"python_full_version", &e.python_full_version},
            {"python_version", &e.python_version},
            {"sys_platform", &e.sys_platform},
        }};
        for (const auto& [key, target] : keys) {
            PKG_TRY_ASSIGN(text, m.string(key));
            *target = std::move(text);
        }
    }
    {
        PKG_TRY_ASSIGN(s, r.object("scheme"));
        PKG_TRY_ASSIGN(scheme, read_scheme(s, false));
        f.scheme = std::move(scheme);
        PKG_TRY_ASSIGN(name, r.string("scheme_name"));
        f.scheme_name = std::move(name);
        PKG_TRY_ASSIGN(l, r.object("venv_layout"));
        PKG_TRY_ASSIGN(layout, read_scheme(l, true));
        for (const fs::path* p : {&layout.purelib, &layout.platlib, &layout.scripts,
                                  &layout.include}) {
            // A venv's own directories must stay inside it: relative, no `..`.
            for (const auto& part : *p) {
                if (part == "..") {
                    return bad_answer(r.source(), fmt::format("venv_layout path \"{}\" leaves "
                                                              "the environment",
                                                              p->string()));
                }
            }
            if (p->is_absolute()) {
                return bad_answer(r.source(),
                                  fmt::format("venv_layout path \"{}\" is absolute", p->string()));
            }
        }
        f.venv_layout = std::move(layout);
    }
    {
        PKG_TRY_ASSIGN(v, r.object("venv_scheme"));
        PKG_TRY_ASSIGN(scheme, read_scheme(v, false));
        PKG_TRY_ASSIGN(name, r.string("venv_scheme_name"));
        PKG_TRY_ASSIGN(anchor, r.string("venv_anchor"));
        if (anchor.empty() || anchor.front() != '/') {
            return bad_answer(r.source(),
                              fmt::format("venv_anchor \"{}\" is not an absolute path", anchor));
        }
        f.venv_scheme = std::move(scheme);
        f.venv_scheme_name = std::move(name);
        f.venv_anchor = anchor;
    }
    {
        PKG_TRY_ASSIGN(libc, r.nullable_object("libc"));
        if (libc) {
            PKG_TRY_ASSIGN(name, libc->string("name"));
            PKG_TRY_ASSIGN(version, libc->string("version"));
            const auto parsed = parse_major_minor(version);
            if (!parsed) {
                return bad_answer(r.source(),
                                  fmt::format("libc version \"{}\" is not MAJOR.MINOR", version));
            }
            // Every platform tag from the libc version down to the oldest is generated (one per
            // minor, ~50 per major), so an absurd version would make millions of tags: bound it
            // well above any real glibc (2.x) or musl (1.x).
            if (parsed->first > max_libc_major || parsed->second > max_libc_minor) {
                return bad_answer(r.source(),
                                  fmt::format("libc version \"{}\" is implausible (pkg accepts up "
                                              "to {}.{})",
                                              version, max_libc_major, max_libc_minor));
            }
            if (name == "glibc") {
                f.glibc = parsed;
            } else if (name == "musl") {
                f.musl = parsed;
            } else {
                return bad_answer(r.source(), fmt::format("unknown libc \"{}\"", name));
            }
        }
    }
    PKG_TRY_ASSIGN(elf_interpreter, r.nullable_string("elf_interpreter"));
    PKG_TRY_ASSIGN(machine, r.string("machine"));
    PKG_TRY_ASSIGN(abiflags, r.string("abiflags"));
    PKG_TRY_ASSIGN(soabi, r.string("soabi"));
    PKG_TRY_ASSIGN(gil_disabled, r.boolean("gil_disabled"));
    PKG_TRY_ASSIGN(pointer_bits, r.number("pointer_bits"));
    PKG_TRY_ASSIGN(sys_platform, r.string("sys_platform"));
    if (pointer_bits != 32 && pointer_bits != 64) {
        return bad_answer(r.source(), fmt::format("pointer_bits is {}, not 32 or 64", pointer_bits));
    }
    f.elf_interpreter = std::move(elf_interpreter);
    f.machine = std::move(machine);
    f.abiflags = std::move(abiflags);
    f.soabi = std::move(soabi);
    f.is_gil_disabled = gil_disabled;
    f.pointer_bits = static_cast<unsigned>(pointer_bits);
    f.sys_platform = std::move(sys_platform);
    return f;
}

result<interpreter_facts> facts_from_element(dom::element element, std::string_view source)
{
    dom::object object;
    if (element.get_object().get(object) != simdjson::SUCCESS) {
        return bad_answer(source, "the answer is not a JSON object");
    }
    const object_reader r(object, "", source);
    dom::element error_value;
    if (object["error"].get(error_value) == simdjson::SUCCESS) {
        std::string_view why;
        if (error_value.get_string().get(why) != simdjson::SUCCESS) {
            why = "(no reason given)";
        }
        return fail(errc::unsupported, std::string(why), std::string(source),
                    "choose another interpreter with --python");
    }
    return facts_from_object(r);
}

// What the end of a text looks like, for messages: at most `limit` bytes, quoted.
std::string excerpt(std::string_view text, std::size_t limit = 200)
{
    if (text.size() > limit) {
        return pkg::quote_for_message(text.substr(0, limit));
    }
    return pkg::quote_for_message(text);
}

// ---- cache --------------------------------------------------------------------------------------

struct file_stamp {
    std::int64_t mtime_sec = 0;
    std::int64_t mtime_nsec = 0;
    std::uint64_t size = 0;
    std::uint64_t ino = 0;
    std::uint64_t dev = 0;
    bool operator==(const file_stamp&) const = default;
};

file_stamp stamp_of(const struct stat& st)
{
    return {static_cast<std::int64_t>(st.st_mtim.tv_sec),
            static_cast<std::int64_t>(st.st_mtim.tv_nsec), static_cast<std::uint64_t>(st.st_size),
            static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_dev)};
}

// The files whose state the facts depend on.
struct source_state {
    fs::path path;
    std::optional<std::string> link_text;
    fs::path resolved;
    file_stamp executable;
    std::optional<file_stamp> pyvenv_cfg;
    // Starts with the ELF magic. Scripts (pyenv shims, wrappers) choose the interpreter they
    // run from the environment and the current directory at each start, so their file's stat
    // says nothing about the answer: they are never cached.
    bool is_native = false;
    bool operator==(const source_state&) const = default;
};

bool starts_with_elf_magic(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::array<char, 4> magic{};
    in.read(magic.data(), magic.size());
    return in.gcount() == 4 && magic == std::array<char, 4>{'\x7f', 'E', 'L', 'F'};
}

result<source_state> current_state(const fs::path& path)
{
    source_state s;
    s.path = path;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        const int saved = errno;
        if (saved == ENOENT || saved == ENOTDIR) {
            return fail(errc::interpreter_not_found, "no interpreter at this path",
                        path.string());
        }
        return fail(system_error(saved, "lstat", path.string()));
    }
    if (S_ISLNK(st.st_mode)) {
        std::array<char, PATH_MAX> buffer{};
        const ssize_t n = ::readlink(path.c_str(), buffer.data(), buffer.size());
        if (n < 0) {
            return fail(system_error(errno, "readlink", path.string()));
        }
        s.link_text = std::string(buffer.data(), static_cast<std::size_t>(n));
    }
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved == nullptr) {
        const int saved = errno;
        if (saved == ENOENT || saved == ELOOP || saved == ENOTDIR) {
            return fail(errc::interpreter_not_found,
                        fmt::format("the symlink points to {}, which does not resolve",
                                    excerpt(s.link_text.value_or(""))),
                        path.string());
        }
        return fail(system_error(saved, "realpath", path.string()));
    }
    s.resolved = resolved;
    std::free(resolved);  // NOLINT: realpath allocates with malloc
    if (::stat(s.resolved.c_str(), &st) != 0) {
        return fail(system_error(errno, "stat", s.resolved.string()));
    }
    if (!S_ISREG(st.st_mode) || ::access(s.resolved.c_str(), X_OK) != 0) {
        return fail(errc::interpreter_not_found,
                    fmt::format("{} is not an executable file", s.resolved.string()),
                    path.string());
    }
    s.executable = stamp_of(st);
    s.is_native = starts_with_elf_magic(s.resolved);
    const fs::path cfg = path.parent_path().parent_path() / "pyvenv.cfg";
    if (::stat(cfg.c_str(), &st) == 0) {
        s.pyvenv_cfg = stamp_of(st);
    }
    return s;
}

void append_json_string(std::string& out, std::string_view text)
{
    out += '"';
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            out += fmt::format("\\u{:04x}", u);
        } else {
            out += c;
        }
    }
    out += '"';
}

std::string stamp_json(const file_stamp& s)
{
    return fmt::format(
        R"({{"mtime_sec":{},"mtime_nsec":{},"size":{},"ino":{},"dev":{}}})", s.mtime_sec,
        s.mtime_nsec, s.size, s.ino, s.dev);
}

std::string cache_entry_json(const source_state& s, std::string_view facts_json)
{
    std::string out = fmt::format(R"({{"format":{},"path":)", cache_format);
    append_json_string(out, s.path.string());
    out += ",\"link_text\":";
    if (s.link_text) {
        append_json_string(out, *s.link_text);
    } else {
        out += "null";
    }
    out += ",\"resolved\":";
    append_json_string(out, s.resolved.string());
    out += ",\"stat\":" + stamp_json(s.executable);
    out += ",\"pyvenv_cfg\":" + (s.pyvenv_cfg ? stamp_json(*s.pyvenv_cfg) : std::string("null"));
    out += ",\"facts\":";
    out += facts_json;
    out += "}\n";
    return out;
}

result<file_stamp> read_stamp(const object_reader& r)
{
    PKG_TRY_ASSIGN(sec, r.signed_number("mtime_sec"));
    PKG_TRY_ASSIGN(nsec, r.signed_number("mtime_nsec"));
    PKG_TRY_ASSIGN(size, r.number("size"));
    PKG_TRY_ASSIGN(ino, r.number("ino"));
    PKG_TRY_ASSIGN(dev, r.number("dev"));
    return file_stamp{sec, nsec, size, ino, dev};
}

// The facts of a cache entry if it was taken from exactly `state`; nullopt for any miss
// (absent, unreadable, corrupt, stale, another path).
std::optional<interpreter_facts> read_cache_entry(const fs::path& file, const source_state& state)
{
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::string text(max_cache_entry_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_cache_entry_bytes) {
        return std::nullopt;
    }
    dom::parser parser;
    dom::element doc;
    if (parser.parse(text).get(doc) != simdjson::SUCCESS) {
        return std::nullopt;
    }
    dom::object object;
    if (doc.get_object().get(object) != simdjson::SUCCESS) {
        return std::nullopt;
    }
    const std::string source = file.string();
    const object_reader r(object, "", source);
    auto format = r.number("format");
    auto path = r.string("path");
    auto link_text = r.field("link_text");
    auto resolved = r.string("resolved");
    auto stat = r.object("stat");
    auto cfg = r.nullable_object("pyvenv_cfg");
    auto facts = r.field("facts");
    if (!format || *format != cache_format || !path || !link_text || !resolved || !stat || !cfg ||
        !facts) {
        return std::nullopt;
    }
    source_state recorded;
    recorded.path = *path;
    recorded.resolved = *resolved;
    if (!link_text->is_null()) {
        auto text_value = r.string("link_text");
        if (!text_value) {
            return std::nullopt;
        }
        recorded.link_text = *text_value;
    }
    auto executable_stamp = read_stamp(*stat);
    if (!executable_stamp) {
        return std::nullopt;
    }
    recorded.executable = *executable_stamp;
    if (*cfg) {
        auto cfg_stamp = read_stamp(**cfg);
        if (!cfg_stamp) {
            return std::nullopt;
        }
        recorded.pyvenv_cfg = *cfg_stamp;
    }
    recorded.is_native = true;  // only native executables are ever written
    if (!(recorded == state)) {
        return std::nullopt;
    }
    auto parsed = facts_from_element(*facts, source);
    if (!parsed) {
        return std::nullopt;
    }
    return std::move(*parsed);
}

// The last non-empty line of the interpreter's stdout: anything a sitecustomize printed before
// the answer is ignored.
// What a venv's pyvenv.cfg says about where it came from (the keys CPython's getpath and
// site.py read: `key = value` lines, keys compared without case).
struct pyvenv_config {
    std::optional<fs::path> home;
    bool is_system_site_packages = false;
};

std::optional<pyvenv_config> read_pyvenv_config(const fs::path& file)
{
    std::ifstream in(file);
    if (!in) {
        return std::nullopt;
    }
    pyvenv_config cfg;
    std::string line;
    const auto trim = [](std::string_view t) {
        while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) {
            t.remove_prefix(1);
        }
        while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r')) {
            t.remove_suffix(1);
        }
        return t;
    };
    const auto lower = [](std::string_view t) {
        std::string out(t);
        for (char& c : out) {
            if (c >= 'A' && c <= 'Z') {
                c = static_cast<char>(c - 'A' + 'a');
            }
        }
        return out;
    };
    while (std::getline(in, line)) {
        const auto eq = line.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        const std::string key = lower(trim(std::string_view(line).substr(0, eq)));
        const std::string_view value = trim(std::string_view(line).substr(eq + 1));
        if (key == "home") {
            cfg.home = fs::path(value);
        } else if (key == "include-system-site-packages") {
            cfg.is_system_site_packages = lower(value) == "true";
        }
    }
    return cfg;
}

// The base interpreter a fresh venv's facts can be derived from: `path` is <root>/bin/<name>, a
// symlink (chain) resolving to a native interpreter in the directory pyvenv.cfg names as `home`,
// and the venv does not see the system site-packages (its site list would then be the base's
// too). nullopt: run the venv's interpreter instead.
std::optional<fs::path> venv_base_interpreter(const fs::path& path, const source_state& state)
{
    if (!state.link_text || !state.is_native || !state.pyvenv_cfg) {
        return std::nullopt;
    }
    const fs::path root = path.parent_path().parent_path();
    const auto cfg = read_pyvenv_config(root / "pyvenv.cfg");
    if (!cfg || !cfg->home || cfg->is_system_site_packages) {
        return std::nullopt;
    }
    std::error_code ec;
    if (!fs::equivalent(*cfg->home, state.resolved.parent_path(), ec) || ec) {
        return std::nullopt;
    }
    // The base must live outside the venv (a venv made with --copies has its own binary).
    const auto [root_end, resolved_at] =
        std::mismatch(root.begin(), root.end(), state.resolved.begin(), state.resolved.end());
    if (root_end == root.end()) {
        return std::nullopt;
    }
    return state.resolved;
}

std::string_view answer_line(std::string_view out)
{
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
        out.remove_suffix(1);
    }
    const auto newline = out.rfind('\n');
    return newline == std::string_view::npos ? out : out.substr(newline + 1);
}

std::string last_line(std::string_view text)
{
    return std::string(answer_line(text));
}

}  // namespace

// ---- public -------------------------------------------------------------------------------------

result<interpreter_location> find_interpreter(const std::optional<std::string>& request,
                                              const discovery_environment& env,
                                              discovery_options options)
{
    const getenv_function getenv = env.getenv ? env.getenv : getenv_function(real_getenv);
    fs::path cwd = env.cwd;
    if (cwd.empty()) {
        std::error_code ec;
        cwd = fs::current_path(ec);
        if (ec) {
            return fail(system_error(ec.value(), "getcwd", "."));
        }
    }

    if (request) {
        if (request->empty()) {
            return fail(errc::interpreter_not_found, "--python is empty", {},
                        "give a path, a program name like python3.11, or a version like 3.11");
        }
        if (request->find('/') != std::string::npos) {
            const fs::path path = (fs::path(*request).is_absolute() ? fs::path(*request)
                                                                     : cwd / *request)
                                      .lexically_normal();
            if (!is_executable_file(path)) {
                return fail(errc::interpreter_not_found,
                            fmt::format("--python {}: {} is not an executable file",
                                        excerpt(*request), path.string()));
            }
            return interpreter_location{path, interpreter_source::explicit_path};
        }
        const std::string name =
            is_version_request(*request) ? "python" + *request : std::string(*request);
        if (auto found = search_path(name, getenv, cwd)) {
            return interpreter_location{std::move(*found), interpreter_source::explicit_name};
        }
        return fail(errc::interpreter_not_found,
                    fmt::format("--python {}: no executable \"{}\" on PATH", excerpt(*request),
                                name),
                    path_for_message(getenv), "install it or pass a path to the interpreter");
    }

    if (options.is_environment_allowed) {
        if (auto venv = getenv("VIRTUAL_ENV"); venv && !venv->empty()) {
            const fs::path root = fs::path(*venv).is_absolute() ? fs::path(*venv) : cwd / *venv;
            const fs::path python = (root / "bin" / "python").lexically_normal();
            if (!is_executable_file(python)) {
                return fail(errc::interpreter_not_found,
                            fmt::format("VIRTUAL_ENV={} has no executable bin/python",
                                        excerpt(*venv)),
                            python.string(),
                            "deactivate it, recreate it, or pass --python");
            }
            return interpreter_location{python, interpreter_source::virtual_env};
        }
        for (fs::path dir = cwd.lexically_normal();; dir = dir.parent_path()) {
            const fs::path root = dir / ".venv";
            struct stat st {};
            if (::stat((root / "pyvenv.cfg").c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
                const fs::path python = root / "bin" / "python";
                if (!is_executable_file(python)) {
                    return fail(errc::interpreter_not_found,
                                "this .venv has a pyvenv.cfg but no executable bin/python",
                                python.string(), "recreate it with pkg venv --clear");
                }
                return interpreter_location{python, interpreter_source::dot_venv};
            }
            if (dir == dir.root_path() || dir.parent_path() == dir || dir.empty()) {
                break;
            }
        }
    }

    if (auto found = search_path("python3", getenv, cwd)) {
        return interpreter_location{std::move(*found), interpreter_source::search_path};
    }
    return fail(errc::interpreter_not_found,
                options.is_environment_allowed
                    ? "no Python interpreter found: VIRTUAL_ENV is unset, no .venv in the "
                      "current directory or its parents, and no python3 on PATH"
                    : "no Python interpreter found: no python3 on PATH",
                path_for_message(getenv), "pass --python with a path or a version like 3.11");
}

std::string python_version::to_string() const
{
    std::string text = fmt::format("{}.{}.{}", major, minor, micro);
    if (releaselevel == "alpha") {
        text += fmt::format("a{}", serial);
    } else if (releaselevel == "beta") {
        text += fmt::format("b{}", serial);
    } else if (releaselevel == "candidate") {
        text += fmt::format("rc{}", serial);
    }
    return text;
}

wheel::interpreter_description interpreter_facts::tag_description() const
{
    wheel::interpreter_description d;
    if (implementation_name == "cpython") {
        d.implementation = "cp";
    } else if (implementation_name == "pypy") {
        d.implementation = "pp";
    } else if (implementation_name == "ironpython") {
        d.implementation = "ip";
    } else if (implementation_name == "jython") {
        d.implementation = "jy";
    } else {
        d.implementation = implementation_name;
    }
    d.major = version.major;
    d.minor = version.minor;
    const auto normalized = [](std::string text) {
        for (char& c : text) {
            if (c == '-' || c == '.') {
                c = '_';
            }
        }
        return text;
    };
    if (d.implementation == "cp") {
        // sys.abiflags holds exactly the ABI letters (m/u before 3.8, d, t).
        d.abi = fmt::format("cp{}{}{}", version.major, version.minor, abiflags);
    } else if (!soabi.empty()) {
        // SOABI "pypy310-pp73-x86_64-linux-gnu" → "pypy310_pp73"; graalpy keeps three parts.
        const std::size_t keep = soabi.starts_with("graalpy") ? 3 : soabi.starts_with("pypy") ? 2
                                                                                              : 0;
        std::string abi;
        if (keep == 0) {
            abi = soabi;
        } else {
            std::size_t end = 0;
            for (std::size_t parts = 0; parts < keep && end != std::string::npos; ++parts) {
                end = soabi.find('-', parts == 0 ? 0 : end + 1);
            }
            abi = soabi.substr(0, end);
        }
        d.abi = normalized(abi);
    }
    d.os = sys_platform.starts_with("linux") ? "linux" : sys_platform;
    std::string arch;
    for (char c : machine) {
        arch += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    if (pointer_bits == 32) {
        // A 32-bit interpreter on a 64-bit kernel: the wheels it can load are 32-bit ones.
        if (arch == "x86_64" || arch == "amd64") {
            arch = "i686";
        } else if (arch == "aarch64" || arch == "arm64") {
            arch = "armv8l";
        }
    }
    d.arch = normalized(arch);
    d.glibc = glibc;
    d.musl = musl;
    return d;
}

result<interpreter_facts> parse_facts(std::string_view json, std::string_view source)
{
    dom::parser parser;
    dom::element doc;
    if (const auto code = parser.parse(json.data(), json.size()).get(doc);
        code != simdjson::SUCCESS) {
        return bad_answer(source, fmt::format("the answer is not JSON ({}): {}",
                                              simdjson::error_message(code), excerpt(json)));
    }
    return facts_from_element(doc, source);
}

interpreter_facts venv_facts_from_base(const interpreter_facts& base, const fs::path& root,
                                       const fs::path& executable)
{
    interpreter_facts f = base;
    f.executable = executable;
    f.prefix = root;
    f.base_prefix = base.prefix;
    f.base_executable = base.base_executable;
    const auto place = [&](const fs::path& p) {
        const auto [anchor_end, p_at] = std::mismatch(base.venv_anchor.begin(),
                                                      base.venv_anchor.end(), p.begin(), p.end());
        if (anchor_end != base.venv_anchor.end()) {
            return p;  // outside the venv: the same for every venv (include/ of the base)
        }
        fs::path out = root;
        for (auto it = p_at; it != p.end(); ++it) {
            out /= *it;
        }
        return out;
    };
    f.scheme = {place(base.venv_scheme.purelib), place(base.venv_scheme.platlib),
                place(base.venv_scheme.scripts), place(base.venv_scheme.data),
                place(base.venv_scheme.include)};
    f.scheme_name = base.venv_scheme_name;
    return f;
}

std::string cache_file_name(const fs::path& executable)
{
    // FNV-1a 64: a stable file name, not a security boundary (the entry records the full path
    // and a collision is a miss).
    std::uint64_t hash = 0xcbf29ce484222325ull;
    for (unsigned char c : executable.native()) {
        hash ^= c;
        hash *= 0x100000001b3ull;
    }
    return fmt::format("{:016x}.json", hash);
}

result<interpreter_info> query_interpreter(const fs::path& executable,
                                           const query_options& options)
{
    fs::path path = executable;
    if (!path.is_absolute()) {
        std::error_code ec;
        const fs::path cwd = fs::current_path(ec);
        if (ec) {
            return fail(system_error(ec.value(), "getcwd", "."));
        }
        path = cwd / path;
    }
    path = path.lexically_normal();

    // The state is taken before the query: if the file changes while it runs, the entry records
    // the older state and the next call asks again.
    PKG_TRY_ASSIGN(state, current_state(path));

    const fs::path entry_file = options.cache_bucket.empty() || !state.is_native
                                    ? fs::path()
                                    : options.cache_bucket / cache_file_name(path);
    if (!entry_file.empty()) {
        if (auto cached = read_cache_entry(entry_file, state)) {
            return interpreter_info{path, state.resolved, std::move(*cached), true};
        }
        // A fresh venv: its base interpreter's facts (kept in the cache under the base's own
        // path) tell everything, and starting the venv's Python (~25 ms) is the largest fixed
        // cost of installing into a new environment.
        if (const auto base_path = venv_base_interpreter(path, state)) {
            auto base = query_interpreter(*base_path, options);
            if (base && !base->facts.is_virtual_environment() &&
                !base->facts.venv_anchor.empty()) {
                return interpreter_info{
                    path, state.resolved,
                    venv_facts_from_base(base->facts, path.parent_path().parent_path(), path),
                    base->is_from_cache};
            }
        }
    }

    const std::vector<std::string> argv{path.string(), "-I", "-c",
                                        std::string(query_script())};
    auto output = options.runner
                      ? options.runner(argv, options.timeout)
                      : run_captured(argv, run_options{options.timeout, 4u << 20});
    if (!output) {
        return fail(output.error().with_context(path.string()));
    }
    const std::string where = path.string();
    if (output->is_timed_out) {
        return fail(errc::interpreter_query_failed,
                    fmt::format("the interpreter did not answer within {} ms and was killed",
                                options.timeout.count()),
                    where);
    }
    if (output->signal != 0) {
        return fail(errc::interpreter_query_failed,
                    fmt::format("the interpreter was killed by signal {} while answering",
                                output->signal),
                    where);
    }
    if (output->exit_code != 0) {
        return fail(errc::interpreter_query_failed,
                    fmt::format("the interpreter exited with status {}: {}", output->exit_code,
                                excerpt(last_line(output->err))),
                    where);
    }
    const std::string_view answer = answer_line(output->out);
    PKG_TRY_ASSIGN(facts, parse_facts(answer, where));

    if (!entry_file.empty()) {
        // A cache that cannot be written (read-only, full disk) only costs the next query.
        std::error_code ec;
        fs::create_directories(options.cache_bucket, ec);
        if (!ec) {
            (void)io::atomic_write_file(entry_file, cache_entry_json(state, answer));
        }
    }
    return interpreter_info{path, state.resolved, std::move(facts), false};
}

}  // namespace pkg::python
