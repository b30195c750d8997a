#include "zip/entry_name.hpp"

#include <cstdint>

#include <fmt/format.h>

#include <pkg/engine/errc.hpp>

namespace pkg::zip {
namespace {

/// Length of the UTF-8 sequence starting at `s[i]` if it is a well-formed, non-control scalar
/// value; 0 if malformed. `code_point` receives the decoded value.
struct decoded {
    std::size_t length = 0; ///< 0: malformed
    std::uint32_t code_point = 0;
};

decoded decode_utf8(std::string_view s, std::size_t i)
{
    const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
    const std::uint8_t b0 = byte(i);
    if (b0 < 0x80) {
        return {1, b0};
    }
    std::size_t length = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
        length = 2, cp = b0 & 0x1FU, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        length = 3, cp = b0 & 0x0FU, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        length = 4, cp = b0 & 0x07U, min = 0x10000;
    } else {
        return {};
    }
    if (i + length > s.size()) {
        return {};
    }
    for (std::size_t k = 1; k < length; ++k) {
        const std::uint8_t b = byte(i + k);
        if ((b & 0xC0) != 0x80) {
            return {};
        }
        cp = (cp << 6) | (b & 0x3FU);
    }
    // Overlong forms and surrogates would let two byte strings name one file.
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return {};
    }
    return {length, cp};
}

tl::unexpected<error> unsafe(std::string_view name, std::string_view why)
{
    return fail(errc::unsafe_zip_path,
                fmt::format("unsafe entry name {}: {}", quote_entry_name(name), why), {},
                "the archive tries to write outside its directory or uses a non-portable name");
}

} // namespace

std::string quote_entry_name(std::string_view name)
{
    constexpr std::size_t max_shown = 200;
    std::string out = "'";
    for (std::size_t i = 0; i < name.size() && i < max_shown; ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c < 0x20 || c >= 0x7F || c == '\\' || c == '\'') {
            out += fmt::format("\\x{:02x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    if (name.size() > max_shown) {
        out += "...";
    }
    out += '\'';
    return out;
}

result<entry_name_kind> validate_entry_name(std::string_view name, const name_limits& lim)
{
    if (name.empty()) {
        return unsafe(name, "the name is empty");
    }
    if (name.size() > lim.max_name_bytes) {
        return fail(errc::zip_limit_exceeded,
                    fmt::format("entry name {} is {} bytes long, over the limit of {} bytes",
                                quote_entry_name(name), name.size(), lim.max_name_bytes));
    }
    for (std::size_t i = 0; i < name.size();) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c == 0) {
            return unsafe(name, fmt::format("NUL byte at position {}", i));
        }
        if (c < 0x20 || c == 0x7F) {
            return unsafe(name, fmt::format("control character 0x{:02x} at position {}", c, i));
        }
        const decoded d = decode_utf8(name, i);
        if (d.length == 0) {
            return unsafe(name,
                          fmt::format("not valid UTF-8 (byte 0x{:02x} at position {})", c, i));
        }
        if (d.code_point >= 0x80 && d.code_point <= 0x9F) {
            return unsafe(
                name, fmt::format("C1 control character U+{:04X} at position {}", d.code_point, i));
        }
        i += d.length;
    }
    if (name.find('\\') != std::string_view::npos) {
        return unsafe(name, "contains a backslash (a path separator on Windows)");
    }
    if (name.front() == '/') {
        return unsafe(name, "absolute path");
    }
    if (name.size() >= 2 && name[1] == ':' &&
        ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'))) {
        return unsafe(name, "starts with a drive letter");
    }

    entry_name_kind kind;
    std::string_view rest = name;
    if (rest.back() == '/') {
        kind.is_directory = true;
        rest.remove_suffix(1);
    }
    std::size_t depth = 0;
    while (true) {
        const std::size_t slash = rest.find('/');
        const std::string_view component = rest.substr(0, slash);
        if (component.empty()) {
            return unsafe(name, "empty path component ('//' or a lone '/')");
        }
        if (component == ".") {
            return unsafe(name, "'.' path component");
        }
        if (component == "..") {
            return unsafe(name, "'..' path component (path traversal)");
        }
        ++depth;
        if (slash == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(slash + 1);
    }
    if (depth > lim.max_depth) {
        return fail(errc::zip_limit_exceeded,
                    fmt::format("entry name {} is nested {} levels deep, over the limit of {}",
                                quote_entry_name(name), depth, lim.max_depth));
    }
    return kind;
}

} // namespace pkg::zip
