#include "wheel/wheel_filename.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include <pkg/engine/errc.hpp>

#include "pep508/name.hpp"

namespace pkg::wheel {
namespace {

constexpr std::string_view extension = ".whl";

// A filename's tag sets multiply (python × abi × platform); real wheels declare a handful, the
// biggest macOS ones a few dozen. The cap keeps a hostile name from costing gigabytes in tags().
constexpr std::size_t max_declared_tags = 1024;

bool is_ascii_alnum(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

std::string lowered(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return out;
}

std::vector<std::string_view> split(std::string_view text, char separator)
{
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == separator) {
            parts.push_back(text.substr(start, i - start));
            start = i + 1;
        }
    }
    return parts;
}

std::string join(const std::vector<std::string>& items, char separator)
{
    std::string out;
    for (const std::string& item : items) {
        if (!out.empty()) {
            out += separator;
        }
        out += item;
    }
    return out;
}

class filename_error {
public:
    explicit filename_error(std::string_view filename) : filename_(filename) {}

    tl::unexpected<error> operator()(std::string why, std::string hint = {}) const
    {
        return fail(errc::invalid_wheel_filename,
                    "invalid wheel filename " + quote_for_message(filename_) + ": " + why, {},
                    std::move(hint));
    }

private:
    std::string_view filename_;
};

// One compressed tag set (`py2.py3`): non-empty members of letters, digits and `_`, lower-cased.
result<std::vector<std::string>> parse_tag_set(std::string_view set, std::string_view what,
                                               const filename_error& error_for)
{
    std::vector<std::string> members;
    for (std::string_view member : split(set, '.')) {
        if (member.empty()) {
            return error_for("its " + std::string(what) + " tag set " + quote_for_message(set) +
                             " has an empty member");
        }
        const auto bad = std::find_if_not(member.begin(), member.end(), [](char c) {
            return is_ascii_alnum(c) || c == '_';
        });
        if (bad != member.end()) {
            return error_for("its " + std::string(what) + " tag " + quote_for_message(member) +
                             " contains " + quote_for_message(std::string_view(&*bad, 1)) +
                             " (tags hold only ASCII letters, digits and '_')");
        }
        members.push_back(lowered(member));
    }
    return members;
}

result<build_tag> parse_build_tag(std::string_view text, const filename_error& error_for)
{
    if (text.empty() || !is_digit(text.front())) {
        return error_for("its build tag " + quote_for_message(text) + " does not start with a digit",
                         "the part after the version is a build tag only when the filename has "
                         "six '-'-separated parts; a '-' inside the name or version must be "
                         "written as '_' (PEP 427)");
    }
    const std::size_t digits = static_cast<std::size_t>(
        std::find_if_not(text.begin(), text.end(), is_digit) - text.begin());
    build_tag build;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, build.number);
    if (ec != std::errc{} || end != text.data() + digits) {
        return error_for("its build number " + quote_for_message(text.substr(0, digits)) +
                         " does not fit in 64 bits");
    }
    build.suffix = std::string(text.substr(digits));
    const auto bad = std::find_if_not(build.suffix.begin(), build.suffix.end(), [](char c) {
        return is_ascii_alnum(c) || c == '_' || c == '.';
    });
    if (bad != build.suffix.end()) {
        return error_for("its build tag " + quote_for_message(text) + " contains " +
                         quote_for_message(std::string_view(&*bad, 1)) +
                         " (after the number only ASCII letters, digits, '_' and '.' are allowed)");
    }
    return build;
}

}  // namespace

result<wheel_filename> wheel_filename::parse(std::string_view filename)
{
    const filename_error error_for(filename);
    if (filename.size() < extension.size() ||
        filename.substr(filename.size() - extension.size()) != extension) {
        return error_for("it does not end in \".whl\"");
    }
    const std::string_view stem = filename.substr(0, filename.size() - extension.size());
    const std::vector<std::string_view> parts = split(stem, '-');
    if (parts.size() != 5 && parts.size() != 6) {
        return error_for(
            "expected name-version(-build)?-python-abi-platform.whl (5 or 6 parts separated by "
            "'-'), found " + std::to_string(parts.size()) + (parts.size() == 1 ? " part" : " parts"),
            "a '-' inside the name or version must be written as '_' (PEP 427)");
    }

    wheel_filename out;
    const std::string_view name = parts[0];
    if (!pep508::is_valid_name(name)) {
        return error_for("its project name " + quote_for_message(name) +
                         " is not valid (ASCII letters and digits, with '.' and '_' only inside)");
    }
    out.distribution = std::string(name);
    out.normalized_name = pep508::normalize_name(name);

    auto version = pep440::version::parse(parts[1]);
    if (!version) {
        return error_for("its version " + quote_for_message(parts[1]) +
                         " is not a PEP 440 version (" + version.error().message + ")");
    }
    out.version = std::move(*version);

    if (parts.size() == 6) {
        auto build = parse_build_tag(parts[2], error_for);
        if (!build) {
            return fail(std::move(build).error());
        }
        out.build = std::move(*build);
    }

    const std::size_t first_tag = parts.size() - 3;
    auto python = parse_tag_set(parts[first_tag], "python", error_for);
    if (!python) {
        return fail(std::move(python).error());
    }
    auto abi = parse_tag_set(parts[first_tag + 1], "abi", error_for);
    if (!abi) {
        return fail(std::move(abi).error());
    }
    auto platform = parse_tag_set(parts[first_tag + 2], "platform", error_for);
    if (!platform) {
        return fail(std::move(platform).error());
    }
    // Each set is at most stem.size() long, so the product cannot overflow before the check.
    const std::size_t declared = python->size() * abi->size() * platform->size();
    if (declared > max_declared_tags) {
        return error_for("it declares " + std::to_string(declared) + " tags (at most " +
                         std::to_string(max_declared_tags) + " are accepted)");
    }
    out.python_tags = std::move(*python);
    out.abi_tags = std::move(*abi);
    out.platform_tags = std::move(*platform);
    return out;
}

std::vector<tag> wheel_filename::tags() const
{
    std::vector<tag> out;
    out.reserve(python_tags.size() * abi_tags.size() * platform_tags.size());
    for (const std::string& python : python_tags) {
        for (const std::string& abi : abi_tags) {
            for (const std::string& platform : platform_tags) {
                out.push_back(tag{python, abi, platform});
            }
        }
    }
    return out;
}

std::optional<std::size_t> wheel_filename::priority(const tag_list& supported) const
{
    std::optional<std::size_t> best;
    for (const tag& t : tags()) {
        const auto p = supported.priority(t);
        if (p && (!best || *p < *best)) {
            best = p;
        }
    }
    return best;
}

std::string wheel_filename::to_string() const
{
    std::string out = distribution;
    out += '-';
    out += version.to_string();
    if (build) {
        out += '-';
        out += std::to_string(build->number);
        out += build->suffix;
    }
    out += '-';
    out += join(python_tags, '.');
    out += '-';
    out += join(abi_tags, '.');
    out += '-';
    out += join(platform_tags, '.');
    out += extension;
    return out;
}

std::optional<std::size_t> best_wheel(std::span<const wheel_filename> candidates,
                                      const tag_list& supported)
{
    std::optional<std::size_t> best_index;
    std::size_t best_priority = 0;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const auto p = candidates[i].priority(supported);
        if (!p) {
            continue;
        }
        // A missing build tag sorts below every build tag; std::optional orders it that way.
        const bool is_better =
            !best_index || *p < best_priority ||
            (*p == best_priority && candidates[i].build > candidates[*best_index].build);
        if (is_better) {
            best_index = i;
            best_priority = *p;
        }
    }
    return best_index;
}

}  // namespace pkg::wheel
