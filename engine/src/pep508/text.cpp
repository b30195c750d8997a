#include "pep508/text.hpp"

#include <string>

#include "base/quote.hpp"

namespace pkg::pep508::detail {
std::string quote(std::string_view text) { return quote_for_message(text); }

std::string describe_char(char c)
{
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) {
        constexpr char digits[] = "0123456789abcdef";
        return std::string("byte 0x") + digits[byte >> 4] + digits[byte & 0xf];
    }
    return std::string("'") + c + "'";
}

std::size_t python_space_length(std::string_view text, std::size_t pos) noexcept
{
    if (pos >= text.size()) {
        return 0;
    }
    const auto at = [&](std::size_t i) {
        return pos + i < text.size() ? static_cast<unsigned char>(text[pos + i]) : 0U;
    };
    const unsigned first = at(0);
    if ((first >= 0x09 && first <= 0x0d) || (first >= 0x1c && first <= 0x20)) {
        return 1;
    }
    if (first == 0xc2 && (at(1) == 0x85 || at(1) == 0xa0)) {
        return 2;
    }
    if (first == 0xe1 && at(1) == 0x9a && at(2) == 0x80) {
        return 3;  // U+1680
    }
    if (first == 0xe2 && at(1) == 0x80 &&
        ((at(2) >= 0x80 && at(2) <= 0x8a) || at(2) == 0xa8 || at(2) == 0xa9 || at(2) == 0xaf)) {
        return 3;  // U+2000-U+200A, U+2028, U+2029, U+202F
    }
    if (first == 0xe2 && at(1) == 0x81 && at(2) == 0x9f) {
        return 3;  // U+205F
    }
    if (first == 0xe3 && at(1) == 0x80 && at(2) == 0x80) {
        return 3;  // U+3000
    }
    return 0;
}

error syntax_error(std::error_code code, std::string_view text, std::size_t pos,
                   std::string_view what)
{
    std::string message(what);
    message += " at column ";
    message += std::to_string(pos + 1);
    message += " in ";
    message += quote(text);
    return error{code, std::move(message), {}, {}};
}

}  // namespace pkg::pep508::detail
