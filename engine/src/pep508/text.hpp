#pragma once
/// \file
/// Small text helpers shared by the PEP 508 parsers (private to engine/src/pep508): quoting
/// input for error messages, a cursor with the tokenizer's whitespace and word-boundary rules,
/// and the one error shape every syntax error uses ("what at column N in \"text\"").

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

#include <pkg/io/error.hpp>

namespace pkg::pep508::detail {

/// `text` in double quotes for an error message: `"` and `\` escaped, control and non-ASCII
/// bytes as `\xNN`, cut after 200 bytes with "..." so one bad line cannot flood a log.
std::string quote(std::string_view text);

/// One byte for an error message: `'x'` for printable ASCII, `byte 0x1f` otherwise.
std::string describe_char(char c);

/// A syntax error: `<what> at column <pos + 1> in "<text>"` with `code`.
error syntax_error(std::error_code code, std::string_view text, std::size_t pos,
                   std::string_view what);

/// Tokenizer whitespace (PEP 508 `wsp`): space and tab only, as `packaging` has it.
constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

/// The byte length of the whitespace character at `pos` as Python's `re` `\s` sees it in a
/// `str` (`str.isspace()`: ASCII `\t\n\v\f\r`, `\x1c`-`\x1f`, space, and the UTF-8 encoded
/// U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), or 0.
/// `packaging`'s specifier regex uses `\s` between operator and version and to end `===` text.
std::size_t python_space_length(std::string_view text, std::size_t pos) noexcept;

constexpr bool is_ascii_alnum(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/// A "word" character for `\b` boundaries. Python's `re` counts Unicode letters as word
/// characters; treating every non-ASCII byte as one gives the same accept/reject answers here
/// because non-ASCII text is only ever valid inside quoted strings and URLs.
constexpr bool is_word_char(char c) noexcept
{
    return is_ascii_alnum(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

/// A read position over one input line.
struct cursor {
    std::string_view text;
    std::size_t pos = 0;

    /// True when every byte has been read.
    bool at_end() const noexcept { return pos >= text.size(); }
    /// The end of the input as `packaging` sees it: Python's `$` also matches before one
    /// final newline, so `"black\n"` is a whole requirement.
    bool at_input_end() const noexcept
    {
        return pos >= text.size() || (pos + 1 == text.size() && text[pos] == '\n');
    }
    /// The byte `ahead` positions on, or '\0' past the end (never a valid token start).
    char peek(std::size_t ahead = 0) const noexcept
    {
        return pos + ahead < text.size() ? text[pos + ahead] : '\0';
    }
    /// Moves past spaces and tabs.
    void skip_space() noexcept
    {
        while (pos < text.size() && is_space(text[pos])) {
            ++pos;
        }
    }
    /// True (and consumed) if the keyword `word` is next and not followed by a word character.
    bool consume_keyword(std::string_view word) noexcept
    {
        if (text.substr(pos, word.size()) != word) {
            return false;
        }
        if (pos + word.size() < text.size() && is_word_char(text[pos + word.size()])) {
            return false;
        }
        pos += word.size();
        return true;
    }
};

}  // namespace pkg::pep508::detail
