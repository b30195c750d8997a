#include "pipeline/record.hpp"

#include <charconv>
#include <set>

#include <fmt/format.h>

#include <pkg/engine/errc.hpp>

namespace pkg::pipeline {

namespace {

/// Quotes text for messages, cutting long values (a RECORD line may be anything).
std::string cite(std::string_view text)
{
    constexpr std::size_t max_chars = 80;
    std::string out = "'";
    out += text.substr(0, max_chars);
    if (text.size() > max_chars) {
        out += "...";
    }
    out += "'";
    return out;
}

/// True for RECORD and its signature files, which RECORD cannot hash.
bool is_unhashable(std::string_view path, std::string_view record_path)
{
    return path == record_path || path == std::string(record_path) + ".jws" ||
           path == std::string(record_path) + ".p7s";
}

} // namespace

result<std::vector<record_line>> parse_record(std::string_view text, std::string_view where)
{
    std::vector<record_line> lines;
    std::size_t pos = 0;
    std::size_t line_number = 0;
    while (pos < text.size()) {
        ++line_number;
        std::vector<std::string> fields(1);
        bool is_line_end = false;
        bool is_field_start = true;
        while (pos < text.size() && !is_line_end) {
            const char c = text[pos];
            if (c == '"' && is_field_start) {
                // A quoted field: runs to the closing quote; "" is a literal quote.
                ++pos;
                bool is_closed = false;
                while (pos < text.size()) {
                    if (text[pos] == '"') {
                        if (pos + 1 < text.size() && text[pos + 1] == '"') {
                            fields.back() += '"';
                            pos += 2;
                            continue;
                        }
                        ++pos;
                        is_closed = true;
                        break;
                    }
                    fields.back() += text[pos++];
                }
                if (!is_closed) {
                    return fail(errc::record_mismatch,
                                fmt::format("line {}: unterminated quoted field", line_number),
                                std::string(where));
                }
                is_field_start = false;
                continue;
            }
            is_field_start = false;
            if (c == ',') {
                fields.emplace_back();
                is_field_start = true;
            } else if (c == '\n') {
                is_line_end = true;
            } else if (c == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') {
                // "\r\n": the '\n' ends the line next iteration.
            } else {
                fields.back() += c;
            }
            ++pos;
        }
        if (fields.size() == 1 && fields[0].empty()) {
            continue; // blank line
        }
        if (fields.size() != 3) {
            return fail(errc::record_mismatch,
                        fmt::format("line {}: expected 3 fields (path,hash,size), found {} in {}",
                                    line_number, fields.size(), cite(fields[0])),
                        std::string(where));
        }
        lines.push_back(record_line{std::move(fields[0]), std::move(fields[1]),
                                    std::move(fields[2]), line_number});
    }
    return lines;
}

result<std::vector<std::string>> check_record(const std::vector<record_line>& lines,
                                              std::string_view record_path,
                                              const std::map<std::string, unpacked_file>& files)
{
    std::map<std::string, const record_line*> listed;
    std::vector<std::string> unhashed;
    for (const record_line& line : lines) {
        const std::string at = fmt::format("{}:{}", record_path, line.line_number);
        auto [it, is_new] = listed.emplace(line.path, &line);
        if (!is_new) {
            if (it->second->hash != line.hash || it->second->size != line.size) {
                return fail(
                    errc::record_mismatch,
                    fmt::format("{} is listed twice with different values (line {} and line {})",
                                cite(line.path), it->second->line_number, line.line_number),
                    std::string(record_path));
            }
            continue;
        }
        auto file = files.find(line.path);
        if (file == files.end()) {
            return fail(
                errc::record_mismatch,
                fmt::format("RECORD lists {}, which the archive does not hold", cite(line.path)),
                at);
        }
        if (line.hash.empty()) {
            if (!is_unhashable(line.path, record_path)) {
                return fail(
                    errc::record_mismatch,
                    fmt::format("{} has no hash in RECORD (only RECORD and its signatures may "
                                "omit it)",
                                cite(line.path)),
                    at);
            }
            if (!line.size.empty()) {
                std::uint64_t size = 0;
                auto [end, ec] =
                    std::from_chars(line.size.data(), line.size.data() + line.size.size(), size);
                if (ec != std::errc{} || end != line.size.data() + line.size.size() ||
                    size != file->second.size_bytes) {
                    return fail(
                        errc::record_mismatch,
                        fmt::format("size of {}: RECORD says {}, the archive holds {} bytes",
                                    cite(line.path), cite(line.size), file->second.size_bytes),
                        at);
                }
            }
            unhashed.push_back(line.path);
            continue;
        }
        constexpr std::string_view prefix = "sha256=";
        if (line.hash.compare(0, prefix.size(), prefix) != 0) {
            return fail(errc::record_mismatch,
                        fmt::format("hash of {} is {}: pkg checks sha256 only", cite(line.path),
                                    cite(line.hash)),
                        at);
        }
        std::uint64_t size = 0;
        auto [end, ec] =
            std::from_chars(line.size.data(), line.size.data() + line.size.size(), size);
        if (line.size.empty() || ec != std::errc{} || end != line.size.data() + line.size.size() ||
            size != file->second.size_bytes) {
            return fail(errc::record_mismatch,
                        fmt::format("size of {}: RECORD says {}, the archive holds {} bytes",
                                    cite(line.path), cite(line.size), file->second.size_bytes),
                        at);
        }
        const std::string_view want = std::string_view(line.hash).substr(prefix.size());
        if (want != file->second.sha256_b64) {
            return fail(errc::record_mismatch,
                        fmt::format("sha256 of {}: RECORD says {}, the archive's bytes hash to {}",
                                    cite(line.path), cite(want), file->second.sha256_b64),
                        at);
        }
    }
    for (const auto& [path, file] : files) {
        if (!listed.contains(path) && !is_unhashable(path, record_path)) {
            return fail(errc::record_mismatch,
                        fmt::format("{} ({} bytes) is in the archive but not listed in RECORD",
                                    cite(path), file.size_bytes),
                        std::string(record_path));
        }
        if (!listed.contains(path)) {
            unhashed.push_back(path);
        }
    }
    return unhashed;
}

std::string base64_urlsafe_nopad(std::string_view bytes)
{
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const auto v = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                       (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                       std::uint32_t(std::uint8_t(bytes[i + 2]));
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const auto v = std::uint32_t(std::uint8_t(bytes[i])) << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
    } else if (rest == 2) {
        const auto v = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                       (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
    }
    return out;
}

} // namespace pkg::pipeline
