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

#include "base/quote.hpp"

namespace pkg::wheel {

/// One `interpreter-abi-platform` triple, e.g. `cp311-cp311-manylinux_2_17_x86_64`.
struct tag {
    std::string interpreter;
    std::string abi;
    std::string platform;

    /// Parses one triple (no compressed `.` sets). Lower-cases it. Each part must be non-empty
    /// ASCII letters, digits and `_` (PEP 425 tags after packaging's `-`/`.` → `_` escaping).
    /// Errors (`errc::invalid_tag`) quote the text and say which part is wrong and why.
    static result<tag> parse(std::string_view text);
    /// `interpreter-abi-platform`.
    std::string to_string() const;
    friend auto operator<=>(const tag&, const tag&) = default;
};

// quote_for_message (base/quote.hpp) quotes input in the errors of both parsers.

/// What tag generation needs to know about a target interpreter.
struct interpreter_description {
    std::string implementation = "cp";  ///< short tag name: "cp", "pp", …
    unsigned major = 3;
    unsigned minor = 11;
    /// The interpreter's own ABI tag (e.g. "cp311", "cp313t", "pypy310_pp73"); empty → derived.
    std::string abi;
    std::string os = "linux";           ///< "linux" (others later)
    std::string arch = "x86_64";        ///< platform.machine() normalised: x86_64, aarch64, i686, …
    /// glibc (major, minor) when the interpreter runs on glibc; enables manylinux tags. The list
    /// grows with the version (one platform per minor, ~50 per major above 2): callers bound
    /// untrusted versions (the interpreter query accepts up to 9.999).
    std::optional<std::pair<unsigned, unsigned>> glibc;
    /// musl (major, minor) when on musl; enables musllinux tags.
    std::optional<std::pair<unsigned, unsigned>> musl;
};

/// The tags an interpreter supports, most preferred first.
class tag_list {
public:
    /// Builds the list for `interp` in packaging's order (`cpython_tags` or `generic_tags`, then
    /// `compatible_tags` with the interpreter pip and packaging >= 22 pass: `cp3x`, `pp3`, none
    /// for others): cpython tags (own ABI, abi3 down to
    /// cp32, none) per platform, then compatible tags (py3x-none-platform, interpreter-none-any,
    /// py3x-none-any); platforms: manylinux_2_N from the glibc version down to 2_5 with the legacy
    /// aliases manylinux2014 (2_17), manylinux2010 (2_12), manylinux1 (2_5) right after their
    /// equivalents, then musllinux_1_N, then linux_<arch>.
    ///
    /// Details follow packaging 24.1 (vendored by the pip of pyenv's Python 3.13; 21.3, in
    /// 3.11's pip, agrees except that it gave riscv64/loongarch64 no manylinux tags and did not
    /// know armv8l): manylinux only for x86_64, i686,
    /// aarch64, armv7l, ppc64, ppc64le, s390x, loongarch64, riscv64, from 2_17 (2_5 on x86); glibc
    /// majors above 2 continue at 2_50 below `N_0`; arch `armv8l` adds the armv7l platforms after
    /// its own; a free-threaded ABI (`cp313t`) gets no abi3 tags; a debug ABI (`cp311d`) also
    /// accepts `cp311`; an empty CPython ABI derives `cp3x` (`cp3xm` before 3.8, `cp3xmu` before
    /// 3.3); a non-CPython gets its ABI (if given) then `none`. `arch` is the interpreter's own
    /// (a 32-bit Python on x86_64 is `i686`). `os` other than "linux" yields the single platform
    /// `<os>_<arch>` (e.g. `win_amd64`); macOS's version ladder is not built yet.
    /// Never fails; thread-safe (pure function).
    static tag_list for_interpreter(const interpreter_description& interp);

    std::span<const tag> tags() const noexcept { return tags_; }

    /// Position of `t` (0 = best), or nullopt when the interpreter cannot use it. Compares the
    /// fields as given: tags from `tag::parse` and `wheel_filename` are already lower case.
    /// O(log n); thread-safe on a const list.
    std::optional<std::size_t> priority(const tag& t) const;

private:
    std::vector<tag> tags_;
    std::vector<std::pair<std::string, std::size_t>> index_;  // sorted "i-a-p" → priority
};

}  // namespace pkg::wheel
