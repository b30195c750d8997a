// Tag lists are checked against files generated once from pip's vendored `packaging`
// (tests/data/tags/generate.py says how); the test itself never runs Python.

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <pkg/engine/errc.hpp>

#include "wheel/tags.hpp"

using pkg::wheel::interpreter_description;
using pkg::wheel::tag;
using pkg::wheel::tag_list;

namespace {

std::vector<std::string> read_expected(const std::string& name)
{
    const std::string path = std::string(PKG_TEST_SOURCE_DIR) + "/data/tags/" + name + ".txt";
    std::ifstream in(path);
    INFO("reading " << path);
    REQUIRE(in.good());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            lines.push_back(line);
        }
    }
    REQUIRE(!lines.empty());
    return lines;
}

std::vector<std::string> as_strings(const tag_list& list)
{
    std::vector<std::string> out;
    for (const tag& t : list.tags()) {
        out.push_back(t.to_string());
    }
    return out;
}

interpreter_description describe(std::string implementation, unsigned major, unsigned minor,
                                 std::string abi, std::string arch)
{
    interpreter_description d;
    d.implementation = std::move(implementation);
    d.major = major;
    d.minor = minor;
    d.abi = std::move(abi);
    d.arch = std::move(arch);
    return d;
}

struct generated_case {
    const char* file;
    interpreter_description interp;
};

std::vector<generated_case> generated_cases()
{
    std::vector<generated_case> cases;
    auto glibc = [](interpreter_description d, unsigned major, unsigned minor) {
        d.glibc = std::pair{major, minor};
        return d;
    };
    auto musl = [](interpreter_description d, unsigned major, unsigned minor) {
        d.musl = std::pair{major, minor};
        return d;
    };
    cases.push_back({"cp311-glibc2.36-x86_64", glibc(describe("cp", 3, 11, "cp311", "x86_64"), 2, 36)});
    cases.push_back({"cp312-glibc2.17-aarch64", glibc(describe("cp", 3, 12, "cp312", "aarch64"), 2, 17)});
    cases.push_back({"cp311-musl1.2-x86_64", musl(describe("cp", 3, 11, "cp311", "x86_64"), 1, 2)});
    // Debug build: the generator passed packaging the ABI list ["cp38d", "cp38"] that
    // `_cpython_abis` computes for one; here only "cp38d" is given and "cp38" is derived.
    cases.push_back({"cp38d-glibc2.28-s390x", glibc(describe("cp", 3, 8, "cp38d", "s390x"), 2, 28)});
    // No ABI given: the pymalloc tag cp37m is derived.
    cases.push_back({"cp37m-glibc2.24-armv7l", glibc(describe("cp", 3, 7, "", "armv7l"), 2, 24)});
    cases.push_back({"cp32-glibc3.1-ppc64le", glibc(describe("cp", 3, 2, "cp32mu", "ppc64le"), 3, 1)});
    cases.push_back({"pp310-glibc2.17-x86_64", glibc(describe("pp", 3, 10, "pypy310_pp73", "x86_64"), 2, 17)});
    cases.push_back({"cp313t-glibc2.17-i686", glibc(describe("cp", 3, 13, "cp313t", "i686"), 2, 17)});
    cases.push_back({"cp312-glibc2.17-armv8l", glibc(describe("cp", 3, 12, "cp312", "armv8l"), 2, 17)});
    cases.push_back({"cp313-glibc2.31-riscv64-musl1.1",
                     musl(glibc(describe("cp", 3, 13, "cp313", "riscv64"), 2, 31), 1, 1)});
    return cases;
}

bool contains(const std::vector<std::string>& list, const std::string& item)
{
    return std::find(list.begin(), list.end(), item) != list.end();
}

std::ptrdiff_t position(const std::vector<std::string>& list, const std::string& item)
{
    return std::find(list.begin(), list.end(), item) - list.begin();
}

}  // namespace

TEST_CASE("tag lists equal packaging's, order included", "[tags]")
{
    for (const generated_case& c : generated_cases()) {
        SECTION(c.file)
        {
            const std::vector<std::string> expected = read_expected(c.file);
            const std::vector<std::string> actual = as_strings(tag_list::for_interpreter(c.interp));
            const auto mismatch = std::mismatch(expected.begin(), expected.end(), actual.begin(),
                                                actual.end());
            const auto at = mismatch.first - expected.begin();
            INFO("first difference at line " << at + 1 << ": expected "
                                             << (mismatch.first == expected.end() ? "<end>" : *mismatch.first)
                                             << ", got "
                                             << (mismatch.second == actual.end() ? "<end>" : *mismatch.second));
            CHECK(actual.size() == expected.size());
            CHECK(actual == expected);
        }
    }
}

TEST_CASE("tag list shape for CPython 3.11 on glibc 2.36 x86_64", "[tags]")
{
    interpreter_description d = describe("cp", 3, 11, "cp311", "x86_64");
    d.glibc = std::pair{2U, 36U};
    const std::vector<std::string> tags = as_strings(tag_list::for_interpreter(d));

    REQUIRE(tags.front() == "cp311-cp311-manylinux_2_36_x86_64");
    CHECK(tags.back() == "py30-none-any");
    // Legacy aliases sit right after the glibc version they stand for.
    const auto p217 = position(tags, "cp311-cp311-manylinux_2_17_x86_64");
    CHECK(tags.at(static_cast<std::size_t>(p217 + 1)) == "cp311-cp311-manylinux2014_x86_64");
    const auto p212 = position(tags, "cp311-cp311-manylinux_2_12_x86_64");
    CHECK(tags.at(static_cast<std::size_t>(p212 + 1)) == "cp311-cp311-manylinux2010_x86_64");
    const auto p25 = position(tags, "cp311-cp311-manylinux_2_5_x86_64");
    CHECK(tags.at(static_cast<std::size_t>(p25 + 1)) == "cp311-cp311-manylinux1_x86_64");
    CHECK(tags.at(static_cast<std::size_t>(p25 + 2)) == "cp311-cp311-linux_x86_64");
    CHECK_FALSE(contains(tags, "cp311-cp311-manylinux_2_4_x86_64"));
    // Own ABI < abi3 < none < older abi3 < py tags < cp311-none-any < py-none-any.
    CHECK(position(tags, "cp311-cp311-linux_x86_64") < position(tags, "cp311-abi3-manylinux_2_36_x86_64"));
    CHECK(position(tags, "cp311-abi3-linux_x86_64") < position(tags, "cp311-none-manylinux_2_36_x86_64"));
    CHECK(position(tags, "cp311-none-linux_x86_64") < position(tags, "cp310-abi3-manylinux_2_36_x86_64"));
    CHECK(contains(tags, "cp32-abi3-linux_x86_64"));
    CHECK_FALSE(contains(tags, "cp31-abi3-linux_x86_64"));
    CHECK(position(tags, "py30-none-linux_x86_64") < position(tags, "cp311-none-any"));
    CHECK(position(tags, "cp311-none-any") + 1 == position(tags, "py311-none-any"));
    CHECK(position(tags, "py311-none-any") + 1 == position(tags, "py3-none-any"));
    CHECK(position(tags, "py3-none-any") + 1 == position(tags, "py310-none-any"));
    CHECK_FALSE(contains(tags, "cp311-cp311-any"));
    CHECK_FALSE(contains(tags, "py2-none-any"));
    CHECK_FALSE(contains(tags, "cp311-cp311-win_amd64"));
}

TEST_CASE("tag list: derived ABIs, platforms and special cases", "[tags]")
{
    SECTION("an empty CPython ABI derives cp3x from 3.8 on")
    {
        interpreter_description explicit_abi = describe("cp", 3, 12, "cp312", "x86_64");
        interpreter_description derived = describe("cp", 3, 12, "", "x86_64");
        explicit_abi.glibc = derived.glibc = std::pair{2U, 28U};
        CHECK(as_strings(tag_list::for_interpreter(derived)) ==
              as_strings(tag_list::for_interpreter(explicit_abi)));
    }
    SECTION("upper-case input is lower-cased like packaging's Tag")
    {
        const auto tags = as_strings(tag_list::for_interpreter(describe("CP", 3, 11, "CP311", "X86_64")));
        CHECK(tags.front() == "cp311-cp311-linux_x86_64");
    }
    SECTION("no libc known: linux_<arch> only")
    {
        const auto tags = as_strings(tag_list::for_interpreter(describe("cp", 3, 11, "cp311", "x86_64")));
        CHECK(tags.front() == "cp311-cp311-linux_x86_64");
        CHECK(tags.at(1) == "cp311-abi3-linux_x86_64");
        // own abi + abi3 + none + abi3 for cp310..cp32 + 13 py + cp311-none-any + 13 py any
        CHECK(tags.size() == 1 + 1 + 1 + 9 + 13 + 1 + 13);
    }
    SECTION("glibc older than the x86 baseline 2.5 gives no manylinux tag")
    {
        interpreter_description d = describe("cp", 3, 11, "cp311", "x86_64");
        d.glibc = std::pair{2U, 4U};
        const auto tags = as_strings(tag_list::for_interpreter(d));
        CHECK(std::none_of(tags.begin(), tags.end(), [](const std::string& t) {
            return t.find("manylinux") != std::string::npos;
        }));
    }
    SECTION("aarch64 with glibc 2.16 has no manylinux (baseline 2.17 off x86)")
    {
        interpreter_description d = describe("cp", 3, 11, "cp311", "aarch64");
        d.glibc = std::pair{2U, 16U};
        CHECK(as_strings(tag_list::for_interpreter(d)).front() == "cp311-cp311-linux_aarch64");
    }
    SECTION("an arch without manylinux still gets musllinux and linux tags")
    {
        interpreter_description d = describe("cp", 3, 11, "cp311", "sparc64");
        d.glibc = std::pair{2U, 36U};
        d.musl = std::pair{1U, 1U};
        const auto tags = as_strings(tag_list::for_interpreter(d));
        CHECK(tags.at(0) == "cp311-cp311-musllinux_1_1_sparc64");
        CHECK(tags.at(1) == "cp311-cp311-musllinux_1_0_sparc64");
        CHECK(tags.at(2) == "cp311-cp311-linux_sparc64");
    }
    SECTION("free-threaded debug build: cp313td, then cp313t, never abi3")
    {
        interpreter_description d = describe("cp", 3, 13, "cp313td", "x86_64");
        const auto tags = as_strings(tag_list::for_interpreter(d));
        CHECK(tags.at(0) == "cp313-cp313td-linux_x86_64");
        CHECK(tags.at(1) == "cp313-cp313t-linux_x86_64");
        CHECK(tags.at(2) == "cp313-none-linux_x86_64");
        CHECK(std::none_of(tags.begin(), tags.end(), [](const std::string& t) {
            return t.find("abi3") != std::string::npos;
        }));
    }
    SECTION("a non-CPython without an ABI gets only none")
    {
        const auto tags = as_strings(tag_list::for_interpreter(describe("graalpy", 3, 10, "", "x86_64")));
        CHECK(tags.at(0) == "graalpy310-none-linux_x86_64");
        CHECK(tags.at(1) == "py310-none-linux_x86_64");
        CHECK_FALSE(contains(tags, "graalpy310-none-any"));
        CHECK(contains(tags, "py3-none-any"));
    }
    SECTION("other systems use the single <os>_<arch> platform")
    {
        interpreter_description d = describe("cp", 3, 11, "cp311", "AMD64");
        d.os = "win";
        const auto tags = as_strings(tag_list::for_interpreter(d));
        CHECK(tags.front() == "cp311-cp311-win_amd64");
        CHECK(contains(tags, "py3-none-win_amd64"));
        CHECK(contains(tags, "cp311-none-any"));
        CHECK_FALSE(contains(tags, "cp311-cp311-linux_amd64"));
    }
}

TEST_CASE("tag_list::priority is the position in the list", "[tags]")
{
    interpreter_description d = describe("cp", 3, 11, "cp311", "x86_64");
    d.glibc = std::pair{2U, 36U};
    d.musl = std::pair{1U, 2U};  // not realistic together, but exercises every platform kind
    const tag_list list = tag_list::for_interpreter(d);
    const auto tags = list.tags();
    REQUIRE(!tags.empty());
    for (std::size_t i = 0; i < tags.size(); ++i) {
        const auto p = list.priority(tags[i]);
        REQUIRE(p.has_value());
        CHECK(*p == i);
    }
    CHECK(list.priority(tag{"cp311", "cp311", "manylinux_2_36_x86_64"}) == std::optional<std::size_t>{0});
    CHECK_FALSE(list.priority(tag{"cp311", "cp311", "win_amd64"}).has_value());
    CHECK_FALSE(list.priority(tag{"cp311", "cp311", "manylinux_2_37_x86_64"}).has_value());
    CHECK_FALSE(list.priority(tag{"cp312", "cp312", "manylinux_2_17_x86_64"}).has_value());
    CHECK_FALSE(list.priority(tag{"cp311", "cp311", "manylinux_2_17_aarch64"}).has_value());
    CHECK_FALSE(list.priority(tag{"py2", "none", "any"}).has_value());
    CHECK_FALSE(list.priority(tag{"cp311", "cp311", "any"}).has_value());
    CHECK_FALSE(list.priority(tag{}).has_value());
    CHECK(*list.priority(tag{"cp311", "cp311", "manylinux_2_17_x86_64"}) <
          *list.priority(tag{"cp311", "abi3", "manylinux_2_36_x86_64"}));
    CHECK(*list.priority(tag{"cp39", "abi3", "linux_x86_64"}) <
          *list.priority(tag{"py3", "none", "manylinux_2_36_x86_64"}));
    CHECK(*list.priority(tag{"py3", "none", "linux_x86_64"}) < *list.priority(tag{"py3", "none", "any"}));
}

TEST_CASE("tag::parse accepts one triple and lower-cases it", "[tags]")
{
    const auto t = tag::parse("cp311-cp311-manylinux_2_17_x86_64");
    REQUIRE(t.has_value());
    CHECK(t->interpreter == "cp311");
    CHECK(t->abi == "cp311");
    CHECK(t->platform == "manylinux_2_17_x86_64");
    CHECK(t->to_string() == "cp311-cp311-manylinux_2_17_x86_64");

    const auto upper = tag::parse("PY3-None-Win_AMD64");
    REQUIRE(upper.has_value());
    CHECK(*upper == tag{"py3", "none", "win_amd64"});
    CHECK(tag::parse("pp310-pypy310_pp73-macosx_10_9_x86_64")->abi == "pypy310_pp73");
    CHECK(*tag::parse("py3-none-any") < *tag::parse("py3-none-win32"));
}

TEST_CASE("tag::parse rejects malformed tags and says why", "[tags]")
{
    struct bad_case {
        std::string text;
        std::string says;
    };
    const std::vector<bad_case> cases = {
        {"", "found 1 part"},
        {"py3", "found 1 part"},
        {"py3-none", "found 2 parts"},
        {"py3-none-any-extra", "found 4 parts"},
        {"-none-any", "interpreter part is empty"},
        {"py3--any", "abi part is empty"},
        {"py3-none-", "platform part is empty"},
        {"py2.py3-none-any", "compressed tag set"},
        {"py3-none-linux x86", "only ASCII letters, digits and '_'"},
        {"py3-none-any/../x", "only ASCII letters"},
        {std::string("py3-no\0ne-any", 13), "\\x00"},
        {"py3-n\xc3\xa9-any", "\\xc3"},
    };
    for (const bad_case& c : cases) {
        INFO("input: " << c.text);
        const auto r = tag::parse(c.text);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == pkg::errc::invalid_tag);
        CHECK_THAT(r.error().message, Catch::Contains(c.says));
        CHECK_THAT(r.error().message, Catch::StartsWith("\"") && Catch::Contains("is not a compatibility tag"));
    }
    // The offending text is quoted in full (short inputs) so the user can find it.
    CHECK_THAT(tag::parse("py3-none").error().message, Catch::StartsWith("\"py3-none\""));
}
