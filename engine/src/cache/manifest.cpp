#include "cache/manifest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include <fmt/core.h>

#include <pkg/engine/errc.hpp>

#include "cache/digest.hpp"
#include "fs/atomic_file.hpp"
#include "wheel/wheel_filename.hpp"

namespace pkg::cache {
namespace {

constexpr std::string_view header_line = "pkg-archive 1";
// A manifest larger than this is not one we wrote (a wheel with a million files stays below).
constexpr std::size_t max_manifest_bytes = std::size_t{256} << 20;

tl::unexpected<error> corrupt(std::string message, std::string_view where)
{
    return fail(errc::corrupt_cache_entry, std::move(message), std::string(where),
                "the entry is ignored and fetched again; `pkg cache clean` removes it");
}

// Cuts text for messages: a corrupt file may hold a huge line or binary junk.
std::string cite(std::string_view text)
{
    std::string out;
    for (char ch : text.substr(0, 80)) {
        const auto byte = static_cast<unsigned char>(ch);
        if (byte < 0x20 || byte == 0x7f) {
            out += fmt::format("\\x{:02x}", byte);
        } else {
            out += ch;
        }
    }
    if (text.size() > 80) {
        out += "...";
    }
    return "'" + out + "'";
}

bool has_control_character(std::string_view text) noexcept
{
    for (char ch : text) {
        const auto byte = static_cast<unsigned char>(ch);
        if (byte < 0x20 || byte == 0x7f) {
            return true;
        }
    }
    return false;
}

// Strict decimal: digits only, no sign, no leading zero (except "0"), fits 64 bits.
std::optional<std::uint64_t> parse_count(std::string_view text) noexcept
{
    if (text.empty() || (text.size() > 1 && text.front() == '0')) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// RECORD's sha256: urlsafe base64 of 32 bytes without padding = 43 characters; the last one
// carries 4 bits, so its 2 low bits must be zero (otherwise it is not a canonical encoding).
bool is_record_sha256(std::string_view text) noexcept
{
    if (text.size() != 43) {
        return false;
    }
    int last_value = 0;
    for (char ch : text) {
        if (ch >= 'A' && ch <= 'Z') {
            last_value = ch - 'A';
        } else if (ch >= 'a' && ch <= 'z') {
            last_value = ch - 'a' + 26;
        } else if (ch >= '0' && ch <= '9') {
            last_value = ch - '0' + 52;
        } else if (ch == '-') {
            last_value = 62;
        } else if (ch == '_') {
            last_value = 63;
        } else {
            return false;
        }
    }
    return (last_value & 3) == 0;
}

// Why `path` cannot be an archive-relative path, or empty when it can.
std::string path_problem(std::string_view path)
{
    if (path.empty()) {
        return "empty path";
    }
    if (has_control_character(path)) {
        return "control character in path";
    }
    if (path.find('\\') != std::string_view::npos) {
        return "backslash in path";
    }
    if (path.front() == '/') {
        return "absolute path";
    }
    if (path == manifest_file_name) {
        return "path is the manifest itself";
    }
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto slash = path.find('/', start);
        const auto part = path.substr(
            start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (part.empty()) {
            return "empty path component";
        }
        if (part == "." || part == "..") {
            return "'.' or '..' component";
        }
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    return {};
}

std::string join(const std::vector<std::string>& parts, char separator)
{
    std::string out;
    for (const auto& part : parts) {
        if (!out.empty()) {
            out += separator;
        }
        out += part;
    }
    return out;
}

// Semantic checks shared by the writer and the parser.
result<void> validate(const archive_manifest& m, std::string_view where)
{
    auto filename = wheel::wheel_filename::parse(m.wheel_filename);
    if (!filename || m.wheel_filename.find('/') != std::string::npos) {
        return corrupt("wheel " + cite(m.wheel_filename) + " is not a wheel filename" +
                           (filename ? std::string{} : ": " + filename.error().message),
                       where);
    }
    if (m.name != filename->normalized_name) {
        return corrupt("name " + cite(m.name) + " does not match the wheel filename " +
                           cite(m.wheel_filename) + " (expected '" + filename->normalized_name +
                           "')",
                       where);
    }
    auto version = pep440::version::parse(m.version);
    if (!version || has_control_character(m.version) || m.version.find(' ') != std::string::npos ||
        !(*version == filename->version)) {
        return corrupt("version " + cite(m.version) + " does not match the wheel filename " +
                           cite(m.wheel_filename),
                       where);
    }
    const std::string tags = join(filename->python_tags, '.') + "-" +
                             join(filename->abi_tags, '.') + "-" +
                             join(filename->platform_tags, '.');
    if (m.tags != tags) {
        return corrupt("tags " + cite(m.tags) + " do not match the wheel filename " +
                           cite(m.wheel_filename) + " (expected '" + tags + "')",
                       where);
    }
    if (!is_sha256_hex(m.sha256)) {
        return corrupt("sha256 " + cite(m.sha256) + " is not 64 lower-case hex digits", where);
    }
    std::set<std::string_view> seen;
    std::uint64_t total = 0;
    for (const auto& f : m.files) {
        if (auto problem = path_problem(f.path); !problem.empty()) {
            return corrupt(problem + ": " + cite(f.path), where);
        }
        if (!seen.insert(f.path).second) {
            return corrupt("file listed twice: " + cite(f.path), where);
        }
        if (!f.hash.empty() && !is_record_sha256(f.hash)) {
            return corrupt("hash " + cite(f.hash) + " of " + cite(f.path) +
                               " is not a urlsafe-base64 sha256 (43 characters)",
                           where);
        }
        if (f.size_bytes > std::numeric_limits<std::uint64_t>::max() - total) {
            return corrupt("file sizes overflow at " + cite(f.path), where);
        }
        total += f.size_bytes;
    }
    if (total != m.unpacked_size_bytes) {
        return corrupt(fmt::format("unpacked-size {} is not the sum of the file sizes ({})",
                                   m.unpacked_size_bytes, total),
                       where);
    }
    return {};
}

// Reads lines one by one and keeps the line number for messages.
class line_reader {
public:
    line_reader(std::string_view text, std::string_view where) : text_(text), where_(where) {}

    // The next line without its '\n'; a final line without '\n' is an error (truncated file).
    result<std::string_view> next()
    {
        ++number_;
        if (text_.empty()) {
            return error_at("unexpected end of file");
        }
        const auto newline = text_.find('\n');
        if (newline == std::string_view::npos) {
            return error_at("line " + cite(text_) + " has no line end (truncated?)");
        }
        const auto line = text_.substr(0, newline);
        text_.remove_prefix(newline + 1);
        return line;
    }

    // The value of a line `<key> <value>`.
    result<std::string_view> field(std::string_view key)
    {
        auto line = next();
        if (!line) {
            return tl::unexpected(line.error());
        }
        if (line->size() <= key.size() + 1 || !line->starts_with(key) ||
            (*line)[key.size()] != ' ') {
            return error_at("expected '" + std::string(key) + " <value>', found " + cite(*line));
        }
        return line->substr(key.size() + 1);
    }

    result<std::uint64_t> number_field(std::string_view key)
    {
        auto value = field(key);
        if (!value) {
            return tl::unexpected(value.error());
        }
        auto number = parse_count(*value);
        if (!number) {
            return error_at(std::string(key) + " " + cite(*value) +
                            " is not a decimal number without sign or leading zeros");
        }
        return *number;
    }

    tl::unexpected<error> error_at(std::string message) const
    {
        return corrupt(fmt::format("line {}: {}", number_, message), where_);
    }

    [[nodiscard]] bool at_end() const noexcept { return text_.empty(); }
    [[nodiscard]] std::string_view rest() const noexcept { return text_; }

private:
    std::string_view text_;
    std::string_view where_;
    std::size_t number_ = 0;
};

result<manifest_file> parse_file_line(line_reader& reader, std::string_view line)
{
    // "<x|-> <size> <hash|-> <path>": the path is last because it may contain spaces.
    manifest_file f;
    if (line.size() < 2 || (line[0] != 'x' && line[0] != '-') || line[1] != ' ') {
        return reader.error_at("expected a file line '<x|-> <size> <hash|-> <path>', found " +
                               cite(line));
    }
    f.is_executable = line[0] == 'x';
    line.remove_prefix(2);
    const auto size_end = line.find(' ');
    if (size_end == std::string_view::npos) {
        return reader.error_at("file line without hash and path: " + cite(line));
    }
    auto size = parse_count(line.substr(0, size_end));
    if (!size) {
        return reader.error_at("file size " + cite(line.substr(0, size_end)) +
                               " is not a decimal number without sign or leading zeros");
    }
    f.size_bytes = *size;
    line.remove_prefix(size_end + 1);
    const auto hash_end = line.find(' ');
    if (hash_end == std::string_view::npos) {
        return reader.error_at("file line without path: " + cite(line));
    }
    const auto hash = line.substr(0, hash_end);
    if (hash != "-") {
        if (!is_record_sha256(hash)) {
            return reader.error_at("hash " + cite(hash) +
                                   " is not a urlsafe-base64 sha256 (43 characters) or '-'");
        }
        f.hash = std::string(hash);
    }
    f.path = std::string(line.substr(hash_end + 1));
    if (auto problem = path_problem(f.path); !problem.empty()) {
        return reader.error_at(problem + ": " + cite(f.path));
    }
    return f;
}

}  // namespace

result<std::string> format_manifest(const archive_manifest& m)
{
    if (auto ok = validate(m, "archive manifest of " + m.wheel_filename); !ok) {
        return tl::unexpected(ok.error());
    }
    std::string out;
    out.reserve(256 + m.files.size() * 96);
    out += header_line;
    out += '\n';
    out += fmt::format("wheel {}\nname {}\nversion {}\ntags {}\nsha256 {}\n", m.wheel_filename,
                       m.name, m.version, m.tags, m.sha256);
    out += fmt::format("wheel-size {}\nunpacked-size {}\nfiles {}\n", m.wheel_size_bytes,
                       m.unpacked_size_bytes, m.files.size());
    for (const auto& f : m.files) {
        out +=
            fmt::format("{} {} {} {}\n", f.is_executable ? 'x' : '-', f.size_bytes,
                        f.hash.empty() ? std::string_view("-") : std::string_view(f.hash), f.path);
    }
    out += "end\n";
    return out;
}

result<archive_manifest> parse_manifest(std::string_view text, std::string_view where)
{
    line_reader reader(text, where);
    auto header = reader.next();
    if (!header) {
        return tl::unexpected(header.error());
    }
    if (*header != header_line) {
        return reader.error_at("expected '" + std::string(header_line) +
                               "' (format version 1), found " + cite(*header));
    }
    archive_manifest m;
    const std::pair<std::string_view, std::string*> text_fields[] = {
        {"wheel", &m.wheel_filename}, {"name", &m.name}, {"version", &m.version}, {"tags", &m.tags},
        {"sha256", &m.sha256},
    };
    for (const auto& [key, target] : text_fields) {
        auto value = reader.field(key);
        if (!value) {
            return tl::unexpected(value.error());
        }
        *target = std::string(*value);
    }
    auto wheel_size = reader.number_field("wheel-size");
    if (!wheel_size) {
        return tl::unexpected(wheel_size.error());
    }
    m.wheel_size_bytes = *wheel_size;
    auto unpacked = reader.number_field("unpacked-size");
    if (!unpacked) {
        return tl::unexpected(unpacked.error());
    }
    m.unpacked_size_bytes = *unpacked;
    auto count = reader.number_field("files");
    if (!count) {
        return tl::unexpected(count.error());
    }
    // Every file line has at least 8 bytes ("- 0 - a\n"): a count the rest cannot hold is
    // corrupt, and checking first keeps a forged count from reserving gigabytes.
    if (*count > reader.rest().size() / 8) {
        return reader.error_at(
            fmt::format("files {} is more than the rest of the file can hold", *count));
    }
    m.files.reserve(static_cast<std::size_t>(*count));
    for (std::uint64_t i = 0; i < *count; ++i) {
        auto line = reader.next();
        if (!line) {
            return tl::unexpected(line.error());
        }
        auto f = parse_file_line(reader, *line);
        if (!f) {
            return tl::unexpected(f.error());
        }
        m.files.push_back(std::move(*f));
    }
    auto end = reader.next();
    if (!end) {
        return tl::unexpected(end.error());
    }
    if (*end != "end") {
        return reader.error_at("expected 'end' after " + std::to_string(*count) +
                               " file lines, found " + cite(*end));
    }
    if (!reader.at_end()) {
        return corrupt("data after 'end': " + cite(reader.rest()), where);
    }
    if (auto ok = validate(m, where); !ok) {
        return tl::unexpected(ok.error());
    }
    return m;
}

result<void> write_manifest(const std::filesystem::path& archive_dir, const archive_manifest& m)
{
    auto text = format_manifest(m);
    if (!text) {
        return tl::unexpected(text.error());
    }
    return io::atomic_write_file(archive_dir / manifest_file_name, *text);
}

result<archive_manifest> read_manifest(const std::filesystem::path& archive_dir)
{
    const auto path = archive_dir / manifest_file_name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        const int e = errno;
        return corrupt(fmt::format("cannot open the archive manifest: {}", std::strerror(e)),
                       path.string());
    }
    std::string text;
    char buffer[16384];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int e = errno;
            ::close(fd);
            return corrupt(fmt::format("cannot read the archive manifest: {}", std::strerror(e)),
                           path.string());
        }
        if (n == 0) {
            break;
        }
        text.append(buffer, static_cast<std::size_t>(n));
        if (text.size() > max_manifest_bytes) {
            ::close(fd);
            return corrupt(
                fmt::format("archive manifest is larger than {} bytes", max_manifest_bytes),
                path.string());
        }
    }
    ::close(fd);
    return parse_manifest(text, path.string());
}

}  // namespace pkg::cache
