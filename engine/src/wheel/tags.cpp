#include "wheel/tags.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include <pkg/engine/errc.hpp>

namespace pkg::wheel {
namespace {

// packaging assumes a glibc major version ends at minor 50 when it builds the manylinux ladder
// across a major boundary (no glibc 3 exists yet); the value must match for the lists to agree.
constexpr unsigned last_glibc_minor = 50;

// Architectures for which packaging emits manylinux tags at all (PEP 599/600 platforms, plus the
// two later additions packaging 24 knows). Other arches get musllinux and linux_<arch> only.
constexpr std::array<std::string_view, 9> manylinux_arches = {
    "x86_64", "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x", "loongarch64", "riscv64"};

bool is_tag_char(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

char to_lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), to_lower);
    return out;
}

// sysconfig-style platform pieces become tag pieces: lower case, `.`/`-`/` ` → `_`.
std::string normalize_platform_part(std::string_view text)
{
    std::string out = lowered(text);
    std::replace_if(
        out.begin(), out.end(), [](char c) { return c == '.' || c == '-' || c == ' '; }, '_');
    return out;
}

std::string nodot(unsigned major, unsigned minor)
{
    return std::to_string(major) + std::to_string(minor);
}

// True when `abi` is a CPython ABI tag (`cp` + digits + flags) whose flags contain `flag`.
bool cpython_abi_has_flag(std::string_view abi, char flag) noexcept
{
    if (abi.size() < 3 || abi.substr(0, 2) != "cp" ||
        std::isdigit(static_cast<unsigned char>(abi[2])) == 0) {
        return false;
    }
    std::size_t i = 2;
    while (i < abi.size() && std::isdigit(static_cast<unsigned char>(abi[i])) != 0) {
        ++i;
    }
    return abi.substr(i).find(flag) != std::string_view::npos;
}

// The ABIs a CPython accepts besides abi3/none, most specific first. An explicit ABI is trusted;
// a debug build (flag `d`, 3.8+) also loads the matching release-build extensions, as packaging
// assumes. Without one, the default build's tag is derived: pymalloc (`m`) before 3.8, and the
// wide-unicode (`u`) flag Linux builds had before 3.3.
std::vector<std::string> cpython_abis(const interpreter_description& interp)
{
    const std::string version = nodot(interp.major, interp.minor);
    const bool before_38 = interp.major < 3 || (interp.major == 3 && interp.minor < 8);
    const bool before_33 = interp.major < 3 || (interp.major == 3 && interp.minor < 3);
    std::vector<std::string> abis;
    if (interp.abi.empty()) {
        abis.push_back("cp" + version + (before_38 ? "m" : "") + (before_33 ? "u" : ""));
        return abis;
    }
    std::string abi = lowered(interp.abi);
    if (abi == "abi3" || abi == "none") {  // packaging yields these at their normal place only
        return abis;
    }
    abis.push_back(abi);
    if (!before_38 && cpython_abi_has_flag(abi, 'd')) {
        abis.push_back("cp" + version + (cpython_abi_has_flag(abi, 't') ? "t" : ""));
    }
    return abis;
}

void append_manylinux(std::vector<std::string>& platforms, std::span<const std::string> arches,
                      std::pair<unsigned, unsigned> glibc)
{
    const bool supported = std::any_of(arches.begin(), arches.end(), [](const std::string& a) {
        return std::find(manylinux_arches.begin(), manylinux_arches.end(), a) !=
               manylinux_arches.end();
    });
    if (!supported) {
        return;
    }
    // PEP 600: glibc 2.17 is the oldest baseline everywhere, 2.5 on x86 (manylinux1's).
    const bool is_x86 = std::any_of(arches.begin(), arches.end(),
                                    [](const std::string& a) { return a == "x86_64" || a == "i686"; });
    const unsigned oldest_glibc2_minor = is_x86 ? 5 : 17;

    // (major, highest minor) for every glibc major from the running one down to 2.
    std::vector<std::pair<unsigned, unsigned>> maxima{glibc};
    for (unsigned major = glibc.first; major-- > 2;) {
        maxima.emplace_back(major, last_glibc_minor);
    }
    for (const std::string& arch : arches) {
        for (const auto& [major, max_minor] : maxima) {
            const unsigned min_minor = major == 2 ? oldest_glibc2_minor : 0;
            for (unsigned minor = max_minor + 1; minor-- > min_minor;) {
                platforms.push_back("manylinux_" + std::to_string(major) + "_" +
                                    std::to_string(minor) + "_" + arch);
                // Legacy names (PEPs 599, 571, 513) right after the glibc they stand for.
                if (major == 2 && minor == 17) {
                    platforms.push_back("manylinux2014_" + arch);
                } else if (major == 2 && minor == 12) {
                    platforms.push_back("manylinux2010_" + arch);
                } else if (major == 2 && minor == 5) {
                    platforms.push_back("manylinux1_" + arch);
                }
            }
        }
    }
}

std::vector<std::string> platforms_for(const interpreter_description& interp)
{
    const std::string arch = normalize_platform_part(interp.arch);
    const std::string os = normalize_platform_part(interp.os);
    if (os != "linux") {
        return {os + "_" + arch};
    }
    // A 32-bit ARM interpreter on an ARMv8 CPU also runs armv7l code (packaging 24).
    std::vector<std::string> arches{arch};
    if (arch == "armv8l") {
        arches.emplace_back("armv7l");
    }
    std::vector<std::string> platforms;
    if (interp.glibc) {
        append_manylinux(platforms, arches, *interp.glibc);
    }
    if (interp.musl) {
        const auto [major, max_minor] = *interp.musl;
        for (const std::string& a : arches) {
            for (unsigned minor = max_minor + 1; minor-- > 0;) {
                platforms.push_back("musllinux_" + std::to_string(major) + "_" +
                                    std::to_string(minor) + "_" + a);
            }
        }
    }
    for (const std::string& a : arches) {
        platforms.push_back("linux_" + a);
    }
    return platforms;
}

// py3x, py3, py3(x-1) … py30: packaging's `_py_interpreter_range`.
std::vector<std::string> py_interpreter_range(unsigned major, unsigned minor)
{
    std::vector<std::string> out;
    out.push_back("py" + nodot(major, minor));
    out.push_back("py" + std::to_string(major));
    for (unsigned m = minor; m-- > 0;) {
        out.push_back("py" + nodot(major, m));
    }
    return out;
}

std::string key_of(std::string_view interpreter, std::string_view abi, std::string_view platform)
{
    std::string key;
    key.reserve(interpreter.size() + abi.size() + platform.size() + 2);
    key.append(interpreter).append(1, '-').append(abi).append(1, '-').append(platform);
    return key;
}

}  // namespace


result<tag> tag::parse(std::string_view text)
{
    std::array<std::string_view, 3> parts;
    std::size_t count = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == '-') {
            if (count < parts.size()) {
                parts[count] = text.substr(start, i - start);
            }
            ++count;
            start = i + 1;
        }
    }
    if (count != 3) {
        return fail(errc::invalid_tag,
                    quote_for_message(text) + " is not a compatibility tag: expected "
                        "interpreter-abi-platform (3 parts separated by '-'), found " +
                        std::to_string(count) + (count == 1 ? " part" : " parts"));
    }
    constexpr std::array<const char*, 3> part_names = {"interpreter", "abi", "platform"};
    for (std::size_t p = 0; p < parts.size(); ++p) {
        if (parts[p].empty()) {
            return fail(errc::invalid_tag, quote_for_message(text) +
                                               " is not a compatibility tag: its " +
                                               part_names[p] + " part is empty");
        }
        const auto bad = std::find_if_not(parts[p].begin(), parts[p].end(), is_tag_char);
        if (bad != parts[p].end()) {
            std::string why = *bad == '.'
                                  ? "'.' joins a compressed tag set, which a single tag cannot hold"
                                  : "only ASCII letters, digits and '_' are allowed";
            return fail(errc::invalid_tag, quote_for_message(text) +
                                               " is not a compatibility tag: its " +
                                               part_names[p] + " part " +
                                               quote_for_message(parts[p]) + " contains " +
                                               quote_for_message(std::string_view(&*bad, 1)) +
                                               " (" + why + ")");
        }
    }
    return tag{lowered(parts[0]), lowered(parts[1]), lowered(parts[2])};
}

std::string tag::to_string() const { return key_of(interpreter, abi, platform); }

tag_list tag_list::for_interpreter(const interpreter_description& interp)
{
    tag_list list;
    auto& out = list.tags_;
    const std::vector<std::string> platforms = platforms_for(interp);
    const std::string implementation = lowered(interp.implementation);
    const std::string version = nodot(interp.major, interp.minor);
    const std::string interpreter = implementation + version;
    auto add_all = [&](const std::string& i, const std::string& a) {
        for (const std::string& p : platforms) {
            out.push_back(tag{i, a, p});
        }
    };

    std::optional<std::string> compatible_interpreter;
    if (implementation == "cp") {
        const std::vector<std::string> abis = cpython_abis(interp);
        for (const std::string& abi : abis) {
            add_all(interpreter, abi);
        }
        // Free-threaded builds (ABI flag `t`, PEP 703) cannot load the stable ABI.
        const bool is_free_threaded = !abis.empty() && cpython_abi_has_flag(abis.front(), 't');
        const bool use_abi3 =
            !is_free_threaded && (interp.major > 3 || (interp.major == 3 && interp.minor >= 2));
        if (use_abi3) {
            add_all(interpreter, "abi3");
        }
        add_all(interpreter, "none");
        if (use_abi3) {
            for (unsigned m = interp.minor; m-- > 2;) {
                add_all(implementation + nodot(interp.major, m), "abi3");
            }
        }
        compatible_interpreter = interpreter;
    } else {
        const std::string abi = lowered(interp.abi);
        if (!abi.empty() && abi != "none") {
            add_all(interpreter, abi);
        }
        add_all(interpreter, "none");
        if (implementation == "pp") {
            compatible_interpreter = "pp" + std::to_string(interp.major);
        }
    }

    const std::vector<std::string> py_versions = py_interpreter_range(interp.major, interp.minor);
    for (const std::string& py : py_versions) {
        add_all(py, "none");
    }
    if (compatible_interpreter) {
        out.push_back(tag{*compatible_interpreter, "none", "any"});
    }
    for (const std::string& py : py_versions) {
        out.push_back(tag{py, "none", "any"});
    }

    list.index_.reserve(out.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        list.index_.emplace_back(out[i].to_string(), i);
    }
    // Sorting by (key, priority) and keeping the first of equal keys keeps each tag's best rank.
    std::sort(list.index_.begin(), list.index_.end());
    list.index_.erase(std::unique(list.index_.begin(), list.index_.end(),
                                  [](const auto& a, const auto& b) { return a.first == b.first; }),
                      list.index_.end());
    return list;
}

std::optional<std::size_t> tag_list::priority(const tag& t) const
{
    const std::string key = key_of(t.interpreter, t.abi, t.platform);
    const auto it = std::lower_bound(
        index_.begin(), index_.end(), key,
        [](const std::pair<std::string, std::size_t>& entry, const std::string& k) {
            return entry.first < k;
        });
    if (it == index_.end() || it->first != key) {
        return std::nullopt;
    }
    return it->second;
}

}  // namespace pkg::wheel
