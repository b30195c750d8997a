#include "pep508/name.hpp"

#include <string>

#include <pkg/engine/errc.hpp>

#include "pep508/text.hpp"

namespace pkg::pep508 {
namespace {

using detail::is_ascii_alnum;

bool is_separator(char c) noexcept { return c == '-' || c == '_' || c == '.'; }

}  // namespace

bool is_valid_name(std::string_view name) noexcept
{
    if (name.empty() || !is_ascii_alnum(name.front()) || !is_ascii_alnum(name.back())) {
        return false;
    }
    for (char c : name) {
        if (!is_ascii_alnum(c) && !is_separator(c)) {
            return false;
        }
    }
    return true;
}

std::string normalize_name(std::string_view name)
{
    std::string out;
    out.reserve(name.size());
    bool in_separator_run = false;
    for (char c : name) {
        if (is_separator(c)) {
            if (!in_separator_run) {
                out.push_back('-');
            }
            in_separator_run = true;
            continue;
        }
        in_separator_run = false;
        out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    return out;
}

result<std::string> parse_name(std::string_view name)
{
    if (name.empty()) {
        return fail(errc::invalid_name, "a project name is empty",
                    {}, "names use ASCII letters, digits, '.', '-' and '_'");
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (!is_ascii_alnum(name[i]) && !is_separator(name[i])) {
            return fail(errc::invalid_name,
                        "project name " + detail::quote(name) + " has " +
                            detail::describe_char(name[i]) + " at column " +
                            std::to_string(i + 1) +
                            "; only ASCII letters, digits, '.', '-' and '_' are allowed");
        }
    }
    if (!is_ascii_alnum(name.front()) || !is_ascii_alnum(name.back())) {
        return fail(errc::invalid_name, "project name " + detail::quote(name) +
                                            " must start and end with a letter or digit");
    }
    return normalize_name(name);
}

}  // namespace pkg::pep508
