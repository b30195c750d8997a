#pragma once
/// \file
/// A tiny JSON writer for the command's machine-readable output (`--json`, `list --format
/// json`). Header-only and standard-library-only so the tests can use it directly.
///
/// Strings are escaped per RFC 8259: `"` and `\`, every control character below U+0020 (as
/// `\n`, `\t`, … or `\u00XX`), and DEL as `\u007f`. Valid UTF-8 passes through unchanged;
/// each byte of an invalid UTF-8 sequence (a path on Linux can hold any bytes) becomes U+FFFD,
/// so the document always parses.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pkg::cli {

namespace detail {

/// Length of the valid UTF-8 sequence starting at `text[i]`, or 0 if none starts there
/// (overlong forms, surrogates and code points above U+10FFFF are invalid). Pure.
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept
{
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    std::size_t length = 0;
    std::uint32_t min_code_point = 0;
    std::uint32_t code_point = 0;
    if (lead < 0x80) {
        return 1;
    }
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        min_code_point = 0x80;
        code_point = lead & 0x1Fu;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        min_code_point = 0x800;
        code_point = lead & 0x0Fu;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        min_code_point = 0x10000;
        code_point = lead & 0x07u;
    } else {
        return 0;
    }
    if (i + length > text.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < length; ++k) {
        const unsigned char b = byte(i + k);
        if ((b & 0xC0u) != 0x80u) {
            return 0;
        }
        code_point = (code_point << 6u) | (b & 0x3Fu);
    }
    if (code_point < min_code_point || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
        return 0;
    }
    return length;
}

}  // namespace detail

/// `text` as a JSON string literal, quotes included (see the file comment for the rules). Pure.
inline std::string json_quote(std::string_view text)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        switch (c) {
        case '"': out += "\\\""; ++i; continue;
        case '\\': out += "\\\\"; ++i; continue;
        case '\b': out += "\\b"; ++i; continue;
        case '\f': out += "\\f"; ++i; continue;
        case '\n': out += "\\n"; ++i; continue;
        case '\r': out += "\\r"; ++i; continue;
        case '\t': out += "\\t"; ++i; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7F) {
            out += "\\u00";
            out += hex[c >> 4u];
            out += hex[c & 0x0Fu];
            ++i;
            continue;
        }
        const std::size_t length = detail::utf8_sequence_length(text, i);
        if (length == 0) {
            out += "\\ufffd";
            ++i;
            continue;
        }
        out.append(text.substr(i, length));
        i += length;
    }
    out += '"';
    return out;
}

/// Builds one JSON document, pretty-printed with two-space indentation. Calls must nest
/// properly (each `key` inside an object followed by exactly one value); the writer inserts
/// commas and newlines. Not thread-safe.
class json_writer {
public:
    /// Opens an object (as a value, after `key`, or as an array element).
    json_writer& begin_object() { return open('{'); }
    /// Closes the innermost object.
    json_writer& end_object() { return close('}'); }
    /// Opens an array.
    json_writer& begin_array() { return open('['); }
    /// Closes the innermost array.
    json_writer& end_array() { return close(']'); }

    /// Writes a member name inside an object; the next call writes its value.
    json_writer& key(std::string_view name)
    {
        separate();
        out_ += json_quote(name);
        out_ += ": ";
        is_after_key_ = true;
        return *this;
    }

    /// A string value.
    json_writer& value(std::string_view text) { return raw(json_quote(text)); }
    /// A string value (keeps string literals from converting to bool).
    json_writer& value(const char* text) { return value(std::string_view(text)); }
    /// A boolean value.
    json_writer& value(bool b) { return raw(b ? "true" : "false"); }
    /// An unsigned integer value.
    json_writer& value(std::uint64_t n) { return raw(std::to_string(n)); }
    /// A signed integer value.
    json_writer& value(std::int64_t n) { return raw(std::to_string(n)); }
    /// `null`.
    json_writer& null() { return raw("null"); }

    /// Shorthand for `key(name).value(v)`.
    template <class T>
    json_writer& member(std::string_view name, const T& v)
    {
        key(name);
        return value(v);
    }

    /// The document so far plus a final newline. Call once every container is closed.
    [[nodiscard]] std::string str() const { return out_ + "\n"; }

private:
    json_writer& open(char bracket)
    {
        separate();
        out_ += bracket;
        has_members_.push_back(false);
        return *this;
    }

    json_writer& close(char bracket)
    {
        const bool had_members = !has_members_.empty() && has_members_.back();
        if (!has_members_.empty()) {
            has_members_.pop_back();
        }
        if (had_members) {
            newline();
        }
        out_ += bracket;
        return *this;
    }

    json_writer& raw(std::string_view text)
    {
        separate();
        out_ += text;
        return *this;
    }

    // Before a key or a value: a comma after the previous member, then a fresh indented line;
    // nothing right after a key.
    void separate()
    {
        if (is_after_key_) {
            is_after_key_ = false;
            return;
        }
        if (has_members_.empty()) {
            return;
        }
        if (has_members_.back()) {
            out_ += ',';
        }
        has_members_.back() = true;
        newline();
    }

    void newline()
    {
        out_ += '\n';
        out_.append(2 * has_members_.size(), ' ');
    }

    std::string out_;
    std::vector<bool> has_members_;  // one per open container: does it have a member yet?
    bool is_after_key_ = false;
};

}  // namespace pkg::cli
