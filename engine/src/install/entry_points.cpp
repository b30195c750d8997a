#include "install/entry_points.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include <pkg/engine/errc.hpp>

#include "base/quote.hpp"
#include "python/activate_scripts.hpp"

namespace pkg::installer {
namespace {

std::string_view trim(std::string_view text)
{
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; };
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

// Python identifiers: ASCII letters, digits, '_' and (not checked further) any non-ASCII byte,
// not starting with a digit. Python itself gives the final verdict when the launcher runs.
bool is_identifier(std::string_view text)
{
    if (text.empty() || (text.front() >= '0' && text.front() <= '9')) {
        return false;
    }
    return std::all_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c == '_';
    });
}

bool is_dotted_identifier(std::string_view text)
{
    while (true) {
        const auto dot = text.find('.');
        if (!is_identifier(text.substr(0, dot))) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        text.remove_prefix(dot + 1);
    }
}

bool is_versioned_pip(std::string_view name)
{
    // pip, pipN, pipN.M
    if (!name.starts_with("pip")) {
        return false;
    }
    name.remove_prefix(3);
    const auto dot = name.find('.');
    const auto digits = [](std::string_view d) {
        return !d.empty() && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (dot == std::string_view::npos) {
        return name.empty() || digits(name);
    }
    return digits(name.substr(0, dot)) && digits(name.substr(dot + 1));
}

bool is_versioned_easy_install(std::string_view name)
{
    // easy_install, easy_install-N.M
    if (!name.starts_with("easy_install")) {
        return false;
    }
    name.remove_prefix(12);
    if (name.empty()) {
        return true;
    }
    if (name.front() != '-') {
        return false;
    }
    name.remove_prefix(1);
    const auto dot = name.find('.');
    const auto digits = [](std::string_view d) {
        return !d.empty() && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    return dot != std::string_view::npos && digits(name.substr(0, dot)) &&
           digits(name.substr(dot + 1));
}

}  // namespace

result<std::vector<entry_point>> parse_entry_points(std::string_view text, std::string_view where)
{
    std::vector<entry_point> out;
    std::set<std::string, std::less<>> names;
    enum class group { other, console, gui } current = group::other;
    std::size_t line_number = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto end = text.find('\n', pos);
        const std::string_view raw =
            text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        pos = end == std::string_view::npos ? text.size() : end + 1;
        ++line_number;
        const std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#' || line.front() == ';') {
            continue;
        }
        const auto bad = [&](std::string_view why) {
            return fail(errc::invalid_entry_point,
                        fmt::format("{} line {}: {}: {}", where, line_number, why,
                                    quote_for_message(line)),
                        fmt::format("{}:{}", where, line_number),
                        "the wheel's entry_points.txt is malformed; report it to the project");
        };
        if (line.front() == '[') {
            if (line.back() != ']') {
                return bad("a group header without its closing ']'");
            }
            const std::string_view name = trim(line.substr(1, line.size() - 2));
            current = name == "console_scripts" ? group::console
                      : name == "gui_scripts"   ? group::gui
                                                : group::other;
            continue;
        }
        if (current == group::other) {
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string_view::npos) {
            return bad("expected 'name = module:function'");
        }
        entry_point ep;
        ep.name = std::string(trim(line.substr(0, eq)));
        ep.is_gui = current == group::gui;
        ep.line_number = line_number;
        if (ep.name.empty() || ep.name == "." || ep.name == ".." ||
            ep.name.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
            return bad("the script name must be a plain file name");
        }
        std::string_view value = trim(line.substr(eq + 1));
        if (const auto bracket = value.find('['); bracket != std::string_view::npos) {
            // Extras only matter to installers that resolve them; the launcher ignores them.
            if (value.back() != ']') {
                return bad("unterminated '[extras]'");
            }
            value = trim(value.substr(0, bracket));
        }
        const auto colon = value.find(':');
        if (colon == std::string_view::npos) {
            return bad("the value names no function to call (expected 'module:function')");
        }
        const std::string_view module = trim(value.substr(0, colon));
        const std::string_view attr = trim(value.substr(colon + 1));
        if (!is_dotted_identifier(module)) {
            return bad(fmt::format("{} is not a dotted module name", quote_for_message(module)));
        }
        if (!is_dotted_identifier(attr)) {
            return bad(fmt::format("{} is not a dotted attribute name", quote_for_message(attr)));
        }
        ep.module = std::string(module);
        ep.attr = std::string(attr);
        if (!names.insert(ep.name).second) {
            return bad(fmt::format("the script {} is defined twice", quote_for_message(ep.name)));
        }
        out.push_back(std::move(ep));
    }
    return out;
}

std::vector<entry_point> apply_versioned_script_rule(std::vector<entry_point> entries,
                                                     std::string_view python_version)
{
    if (python_version.empty()) {
        return entries;
    }
    const std::string major(python_version.substr(0, python_version.find('.')));
    const auto find = [&](std::string_view name) {
        return std::find_if(entries.begin(), entries.end(), [&](const entry_point& ep) {
            return !ep.is_gui && ep.name == name;
        });
    };
    std::vector<entry_point> out;
    const auto pip = find("pip");
    const auto easy_install = find("easy_install");
    for (const auto& ep : entries) {
        const bool is_pip_family = pip != entries.end() && !ep.is_gui && is_versioned_pip(ep.name);
        const bool is_easy_family =
            easy_install != entries.end() && !ep.is_gui && is_versioned_easy_install(ep.name);
        if (!is_pip_family && !is_easy_family) {
            out.push_back(ep);
            continue;
        }
        if (ep.name == "pip") {
            for (std::string name : {std::string("pip"), "pip" + major, fmt::format("pip{}", python_version)}) {
                entry_point copy = ep;
                copy.name = std::move(name);
                out.push_back(std::move(copy));
            }
        } else if (ep.name == "easy_install") {
            for (std::string name : {std::string("easy_install"), fmt::format("easy_install-{}", python_version)}) {
                entry_point copy = ep;
                copy.name = std::move(name);
                out.push_back(std::move(copy));
            }
        }
        // Other versioned names of the family were baked in for another Python: dropped.
    }
    return out;
}

std::string shebang_for(const std::filesystem::path& python)
{
    const std::string& path = python.native();
    constexpr std::size_t max_shebang_line = 127;
    const bool has_space = path.find_first_of(" \t\n\r\f\v") != std::string::npos;
    if (!has_space && path.size() + 2 <= max_shebang_line) {
        return "#!" + path + "\n";
    }
    // sh runs line 2 (`'''exec'` is the word exec); Python sees a string literal and goes on.
    return "#!/bin/sh\n'''exec' " + python::sh_quote(path) + " \"$0\" \"$@\"\n' '''\n";
}

std::string launcher_script(const entry_point& ep, const std::filesystem::path& python)
{
    const std::string first_attr = ep.attr.substr(0, ep.attr.find('.'));
    return shebang_for(python) + fmt::format(
        "# -*- coding: utf-8 -*-\n"
        "import sys\n"
        "from {} import {}\n"
        "if __name__ == \"__main__\":\n"
        "    sys.exit({}())\n",
        ep.module, first_attr, ep.attr);
}

std::optional<std::string> rewrite_python_shebang(std::string_view content,
                                                  const std::filesystem::path& python)
{
    if (!content.starts_with("#!python")) {
        return std::nullopt;
    }
    const auto end = content.find('\n');
    const std::string_view rest =
        end == std::string_view::npos ? std::string_view() : content.substr(end + 1);
    return shebang_for(python) + std::string(rest);
}

}  // namespace pkg::installer
