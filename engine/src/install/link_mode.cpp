// The names of pkg::link_mode (public install.hpp): options, PKG_LINK_MODE and reports use them.

#include <string>
#include <system_error>

#include <pkg/engine/install.hpp>

#include "base/quote.hpp"

namespace pkg {

const char* to_string(link_mode mode) noexcept
{
    switch (mode) {
    case link_mode::clone:
        return "clone";
    case link_mode::hardlink:
        return "hardlink";
    case link_mode::copy:
        return "copy";
    case link_mode::symlink:
        return "symlink";
    }
    return "hardlink";
}

result<link_mode> parse_link_mode(std::string_view text)
{
    if (text == "clone" || text == "reflink") {
        return link_mode::clone;
    }
    if (text == "hardlink") {
        return link_mode::hardlink;
    }
    if (text == "copy") {
        return link_mode::copy;
    }
    if (text == "symlink") {
        return link_mode::symlink;
    }
    return fail(std::make_error_code(std::errc::invalid_argument),
                "unknown link mode " + quote_for_message(text) +
                    " (valid: clone, reflink, hardlink, copy, symlink)",
                {}, "set --link-mode or PKG_LINK_MODE to one of the valid names");
}

}  // namespace pkg
