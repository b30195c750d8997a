#include "install/installed_record.hpp"

#include <cerrno>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include <pkg/engine/errc.hpp>

#include "cache/digest.hpp"
#include "pipeline/record.hpp"

namespace pkg::installer {

result<std::vector<recorded_file>> read_installed_record(const std::filesystem::path& dist_info)
{
    const std::filesystem::path record = dist_info / "RECORD";
    std::ifstream in(record, std::ios::binary);
    if (!in) {
        const int err = errno;
        return fail(errc::invalid_record,
                    fmt::format("cannot read {} ({}): without RECORD pkg cannot tell which files "
                                "belong to {}",
                                record.native(), std::generic_category().message(err),
                                dist_info.filename().native()),
                    record.native(),
                    "remove the distribution's files by hand, or reinstall it with pip first");
    }
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    auto lines = pipeline::parse_record(text, record.native());
    if (!lines) {
        error e = std::move(lines.error());
        e.code = errc::invalid_record;
        return fail(std::move(e));
    }
    const std::filesystem::path base = dist_info.parent_path();
    std::vector<recorded_file> out;
    out.reserve(lines->size());
    for (auto& line : *lines) {
        if (line.path.empty()) {
            return fail(errc::invalid_record,
                        fmt::format("{} line {}: empty path", record.native(), line.line_number),
                        fmt::format("{}:{}", record.native(), line.line_number));
        }
        std::filesystem::path p(line.path);
        recorded_file f;
        f.path = (p.is_absolute() ? p : base / p).lexically_normal();
        f.text = std::move(line.path);
        if (line.hash.starts_with("sha256=")) {
            f.sha256 = line.hash.substr(7);
        }
        f.line_number = line.line_number;
        out.push_back(std::move(f));
    }
    return out;
}

std::string format_record(const std::vector<record_entry>& entries)
{
    const auto field = [](std::string_view text) {
        if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
            return std::string(text);
        }
        std::string out = "\"";
        for (char c : text) {
            if (c == '"') {
                out += '"';
            }
            out += c;
        }
        out += '"';
        return out;
    };
    std::string out;
    for (const auto& e : entries) {
        out += field(e.path);
        out += ',';
        if (!e.hash.empty()) {
            out += "sha256=";
            out += e.hash;
        }
        out += ',';
        if (e.has_size) {
            out += std::to_string(e.size_bytes);
        }
        out += '\n';
    }
    return out;
}

std::string record_hash(std::string_view bytes)
{
    // sha256_hex is the cache's one SHA-256 entry point; RECORD wants the raw digest in base64.
    const std::string hex = cache::sha256_hex(bytes);
    const auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    std::string raw;
    raw.reserve(hex.size() / 2);
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        raw += static_cast<char>((nibble(hex[i]) << 4) | nibble(hex[i + 1]));
    }
    return pipeline::base64_urlsafe_nopad(raw);
}

}  // namespace pkg::installer
