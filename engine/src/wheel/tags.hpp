#pragma once
/// \file
/// PEP 425 compatibility tags and the ordered list of tags an interpreter supports, built the way
/// `packaging.tags.sys_tags()` builds it for CPython (and generic interpreters), so that wheel
/// choice agrees with pip's and uv's.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

namespace pkg::wheel {

/// One `interpreter-abi-platform` triple, e.g. `cp311-cp311-manylinux_2_17_x86_64`.
struct tag {
    std::string interpreter;
    std::string abi;
    std::string platform;

    /// Parses one triple (no compressed `.` sets). Lower-cases it (`errc::invalid_tag`).
    static result<tag> parse(std::string_view text);
    std::string to_string() const;
    friend auto operator<=>(const tag&, const tag&) = default;
};

/// What tag generation needs to know about a target interpreter.
struct interpreter_description {
    std::string implementation = "cp";  ///< short tag name: "cp", "pp", …
    unsigned major = 3;
    unsigned minor = 11;
    /// The interpreter's own ABI tag (e.g. "cp311", "cp313t", "pypy310_pp73"); empty → derived.
    std::string abi;
    std::string os = "linux";           ///< "linux" (others later)
    std::string arch = "x86_64";        ///< platform.machine() normalised: x86_64, aarch64, i686, …
    /// glibc (major, minor) when the interpreter runs on glibc; enables manylinux tags.
    std::optional<std::pair<unsigned, unsigned>> glibc;
    /// musl (major, minor) when on musl; enables musllinux tags.
    std::optional<std::pair<unsigned, unsigned>> musl;
};

/// The tags an interpreter supports, most preferred first.
class tag_list {
public:
    /// Builds the list for `interp` in packaging's order: cpython tags (own ABI, abi3 down to
    /// cp32, none) per platform, then compatible tags (py3x-none-platform, interpreter-none-any,
    /// py3x-none-any); platforms: manylinux_2_N from the glibc version down to 2_5 with the legacy
    /// aliases manylinux2014 (2_17), manylinux2010 (2_12), manylinux1 (2_5) right after their
    /// equivalents, then musllinux_1_N, then linux_<arch>.
    static tag_list for_interpreter(const interpreter_description& interp);

    std::span<const tag> tags() const noexcept { return tags_; }

    /// Position of `t` (0 = best), or nullopt when the interpreter cannot use it.
    std::optional<std::size_t> priority(const tag& t) const;

private:
    std::vector<tag> tags_;
    std::vector<std::pair<std::string, std::size_t>> index_;  // sorted "i-a-p" → priority
};

}  // namespace pkg::wheel
