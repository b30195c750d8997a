// Fuzzes the PEP 440 parsers. The input is read three ways: whole as a version, whole as a
// specifier set, and split at the first newline into two versions (or a set and a version).
// Properties checked (a failure traps):
//   - whatever parses round-trips: parse(x.to_string()) succeeds, is equal, prints the same;
//   - ordering is consistent: a <=> b is the reverse of b <=> a, == agrees with <=> and hash(),
//     and the public ordering agrees with comparing the public versions;
//   - a specifier set and its reparsed normal form agree on contains() for every candidate.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "pep440/specifier.hpp"
#include "pep440/version.hpp"

namespace {

using pkg::pep440::specifier_set;
using pkg::pep440::version;

void check(bool condition)
{
    if (!condition) {
        __builtin_trap();
    }
}

const std::vector<version>& references()
{
    static const std::vector<version> refs = [] {
        std::vector<version> out;
        for (const char* text : {"0", "1.0", "1.0.0", "1.0a1", "1.0.dev0", "1.0.post1", "1.0+abc",
                                 "1.0+5", "1!1.0", "2.0rc1.post1.dev1", "1.0.post1.dev1", "1.1"}) {
            out.push_back(*version::parse(text));
        }
        return out;
    }();
    return refs;
}

void check_pair(const version& a, const version& b)
{
    const auto ab = a <=> b;
    const auto ba = b <=> a;
    check(ab == 0 ? ba == 0 : (ab < 0 ? ba > 0 : ba < 0));
    check((a == b) == (ab == 0));
    check(a != b || a.hash() == b.hash());
    check(compare_public(a, b) == (a.public_version() <=> b.public_version()));
    // The local label only breaks ties left by the public part.
    if (compare_public(a, b) != 0) {
        check(compare_public(a, b) == ab);
    }
}

void check_version(const version& v)
{
    const std::string text = v.to_string();
    const auto again = version::parse(text);
    check(again.has_value());
    check(*again == v);
    check(again->to_string() == text);
    check(v.public_version().to_string() == text.substr(0, text.find('+')));
    check(!v.base_version().is_prerelease() && !v.base_version().has_local());
    check(v.public_version() <= v);
    for (const auto& ref : references()) {
        check_pair(v, ref);
    }
}

void check_set(const specifier_set& set, const version* extra)
{
    const std::string text = set.to_string();
    const auto again = specifier_set::parse(text);
    check(again.has_value());
    check(again->to_string() == text);
    check(again->clauses().size() == set.clauses().size());
    auto agree = [&](const version& candidate) {
        for (const std::optional<bool> pre :
             {std::optional<bool>{}, std::optional<bool>{true}, std::optional<bool>{false}}) {
            check(set.contains(candidate, pre) == again->contains(candidate, pre));
        }
        // Allowing pre-releases can only add matches.
        check(!set.contains(candidate, false) || set.contains(candidate, true));
    };
    for (const auto& ref : references()) {
        agree(ref);
    }
    if (extra != nullptr) {
        agree(*extra);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    const auto whole = version::parse(input);
    if (whole) {
        check_version(*whole);
    }
    if (const auto set = specifier_set::parse(input)) {
        check_set(*set, whole ? &*whole : nullptr);
    }

    const std::size_t newline = input.find('\n');
    if (newline != std::string_view::npos) {
        const std::string_view first = input.substr(0, newline);
        const std::string_view second = input.substr(newline + 1);
        const auto a = version::parse(first);
        const auto b = version::parse(second);
        if (a) {
            check_version(*a);
        }
        if (b) {
            check_version(*b);
        }
        if (a && b) {
            check_pair(*a, *b);
        }
        if (const auto set = specifier_set::parse(first); set && b) {
            check_set(*set, &*b);
        }
    }
    return 0;
}
