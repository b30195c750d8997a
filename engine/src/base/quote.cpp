#include "base/quote.hpp"

namespace pkg {

std::string quote_for_message(std::string_view text, std::size_t max_bytes)
{
    static constexpr char hex_digits[] = "0123456789abcdef";
    const std::size_t shown = text.size() > max_bytes ? max_bytes : text.size();
    std::string out;
    out.reserve(shown + 8);
    out.push_back('"');
    for (std::size_t i = 0; i < shown; ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte == '"' || byte == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(byte));
        } else if (byte < 0x20 || byte >= 0x7f) {
            out += "\\x";
            out.push_back(hex_digits[byte >> 4]);
            out.push_back(hex_digits[byte & 0xf]);
        } else {
            out.push_back(static_cast<char>(byte));
        }
    }
    out.push_back('"');
    if (shown < text.size()) {
        out += "...";
    }
    return out;
}

std::string quote_verbatim(std::string_view text, std::size_t max_bytes)
{
    std::string out = "\"";
    out.append(text.substr(0, max_bytes));
    if (text.size() > max_bytes) {
        out.append("...");
    }
    out.push_back('"');
    return out;
}

}  // namespace pkg
