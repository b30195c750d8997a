// PEP 440 versions and specifiers. The tables in tests/data/pep440/ were generated once from the
// reference implementation (`packaging` 24.1 as vendored by pip) by tests/data/pep440/generate.py;
// these tests only read them.

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <pkg/engine/errc.hpp>

#include "pep440/specifier.hpp"
#include "pep440/version.hpp"

using pkg::pep440::op;
using pkg::pep440::pre_release;
using pkg::pep440::specifier;
using pkg::pep440::specifier_set;
using pkg::pep440::version;

namespace {

// Undoes generate.py's escape(): "\xNN" is one byte, everything else is literal.
std::string unescape(const std::string& text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] == 'x') {
            out.push_back(static_cast<char>(std::stoi(text.substr(i + 2, 2), nullptr, 16)));
            i += 3;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

/// Rows of a TAB-separated table in tests/data/pep440/, comment lines skipped.
std::vector<std::vector<std::string>> read_table(const std::string& name)
{
    const std::string path = std::string(PKG_TEST_SOURCE_DIR) + "/data/pep440/" + name;
    std::ifstream in(path);
    REQUIRE(in.good());
    std::vector<std::vector<std::string>> rows;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] == '#') {
            continue;
        }
        std::vector<std::string> fields;
        std::size_t start = 0;
        for (;;) {
            const std::size_t tab = line.find('\t', start);
            fields.push_back(unescape(line.substr(start, tab - start)));
            if (tab == std::string::npos) {
                break;
            }
            start = tab + 1;
        }
        rows.push_back(std::move(fields));
    }
    REQUIRE(!rows.empty());
    return rows;
}

version v(std::string_view text)
{
    auto parsed = version::parse(text);
    INFO(text);
    REQUIRE(parsed.has_value());
    return *parsed;
}

} // namespace

// ---- versions
// ------------------------------------------------------------------------------------

TEST_CASE("version: normal forms and rejections match packaging", "[pep440]")
{
    const auto rows = read_table("versions.txt");
    CHECK(rows.size() > 150);
    std::size_t valid = 0;
    std::size_t invalid = 0;
    for (const auto& row : rows) {
        REQUIRE(row.size() == 2);
        const std::string& input = row[0];
        const std::string& expected = row[1];
        INFO("input: \"" << input << "\"");
        const auto parsed = version::parse(input);
        if (expected == "!") {
            ++invalid;
            REQUIRE_FALSE(parsed.has_value());
            CHECK(parsed.error().code == pkg::errc::invalid_version);
            CHECK(parsed.error().message.find("invalid version \"") == 0);
            CHECK(parsed.error().message.find(input.substr(0, 100)) != std::string::npos);
        } else {
            ++valid;
            REQUIRE(parsed.has_value());
            CHECK(parsed->to_string() == expected);
            // Round trip: the normal form parses to an equal version with the same normal form.
            const auto again = version::parse(parsed->to_string());
            REQUIRE(again.has_value());
            CHECK(*again == *parsed);
            CHECK(again->to_string() == expected);
        }
    }
    CHECK(valid > 80);
    CHECK(invalid > 60);
}

TEST_CASE("version: ordering is strict and total over packaging's ordering table", "[pep440]")
{
    const auto rows = read_table("ordering.txt");
    // The first block is strictly increasing; after it come "a", "=", "b" triples.
    std::vector<version> increasing;
    std::size_t i = 0;
    for (; i < rows.size() && (i + 1 >= rows.size() || rows[i + 1][0] != "="); ++i) {
        increasing.push_back(v(rows[i][0]));
    }
    REQUIRE(increasing.size() > 50);
    for (std::size_t a = 0; a < increasing.size(); ++a) {
        for (std::size_t b = 0; b < increasing.size(); ++b) {
            INFO(increasing[a].to_string() << " vs " << increasing[b].to_string());
            const auto expected = a <=> b;
            if (a != b) {
                // Not guaranteed by a hash, but these distinct small versions must not collide.
                CHECK(increasing[a].hash() != increasing[b].hash());
            }
            CHECK((increasing[a] <=> increasing[b]) == expected);
            CHECK((increasing[a] == increasing[b]) == (a == b));
        }
    }
    std::size_t equal_pairs = 0;
    for (; i + 2 < rows.size(); i += 3) {
        REQUIRE(rows[i + 1][0] == "=");
        const version a = v(rows[i][0]);
        const version b = v(rows[i + 2][0]);
        INFO(rows[i][0] << " == " << rows[i + 2][0]);
        CHECK(a == b);
        CHECK(a.hash() == b.hash());
        CHECK((a <=> b) == std::strong_ordering::equal);
        CHECK_FALSE(a < b);
        CHECK_FALSE(b < a);
        ++equal_pairs;
    }
    CHECK(equal_pairs == 8);
}

TEST_CASE("version: components", "[pep440]")
{
    const version full = v("  V1!2.3RC4.post5.dev6+Local-7_x  ");
    CHECK(full.epoch() == 1);
    CHECK(std::vector<std::uint64_t>(full.release().begin(), full.release().end()) ==
          std::vector<std::uint64_t>{2, 3});
    REQUIRE(full.pre().has_value());
    CHECK(full.pre()->phase == pre_release::kind::rc);
    CHECK(full.pre()->number == 4);
    CHECK(full.post() == std::optional<std::uint64_t>(5));
    CHECK(full.dev() == std::optional<std::uint64_t>(6));
    REQUIRE(full.local().size() == 3);
    CHECK(std::get<std::string>(full.local()[0]) == "local");
    CHECK(std::get<std::uint64_t>(full.local()[1]) == 7);
    CHECK(std::get<std::string>(full.local()[2]) == "x");
    CHECK(full.is_prerelease());
    CHECK(full.is_postrelease());
    CHECK(full.is_devrelease());
    CHECK(full.has_local());
    CHECK(full.to_string() == "1!2.3rc4.post5.dev6+local.7.x");
    CHECK(full.public_version().to_string() == "1!2.3rc4.post5.dev6");
    CHECK_FALSE(full.public_version().has_local());
    CHECK(full.base_version().to_string() == "1!2.3");
    CHECK_FALSE(full.base_version().is_prerelease());

    const version plain = v("1.0");
    CHECK(plain.epoch() == 0);
    CHECK_FALSE(plain.pre().has_value());
    CHECK_FALSE(plain.post().has_value());
    CHECK_FALSE(plain.dev().has_value());
    CHECK_FALSE(plain.is_prerelease());
    CHECK_FALSE(plain.is_postrelease());
    CHECK_FALSE(plain.has_local());

    // A dev release alone counts as a pre-release; a post release of one does too.
    CHECK(v("1.0.dev1").is_prerelease());
    CHECK(v("1.0.post1.dev1").is_prerelease());
    CHECK_FALSE(v("1.0.post1").is_prerelease());
    CHECK(v("1.0a1").pre()->phase == pre_release::kind::alpha);
    CHECK(v("1.0beta").pre()->phase == pre_release::kind::beta);
    CHECK(v("1.0beta").pre()->number == 0);
    CHECK(v("1.0c").pre()->phase == pre_release::kind::rc);
    CHECK(v("1.0preview2").pre()->phase == pre_release::kind::rc);

    CHECK(version::from_release({3, 11}).to_string() == "3.11");
    CHECK(version::from_release({3, 11}) == v("3.11.0"));
    CHECK(version::from_release({}).to_string() == "0");
    CHECK(version{}.to_string() == "0");
    CHECK(version{} == v("0.0"));
    CHECK(version{}.hash() == v("0.0").hash());
    CHECK(specifier{}.to_string() == "==0");
    CHECK_FALSE(specifier{}.matches(v("0")));
    CHECK(version::from_release({18446744073709551615ULL}).release()[0] == 18446744073709551615ULL);
}

TEST_CASE("version: ordering details", "[pep440]")
{
    CHECK(v("1.0.dev1") < v("1.0a1"));
    CHECK(v("1.0a1") < v("1.0"));
    CHECK(v("1.0") < v("1.0.post1"));
    CHECK(v("1.0.post1.dev1") < v("1.0.post1"));
    CHECK(v("1.0.post1") < v("1.0.1.dev0"));
    CHECK(v("1.0rc1") < v("1.0rc1.post1"));
    CHECK(v("1.0a1.post1") < v("1.0b1"));
    CHECK(v("1.0") < v("1.0+0"));
    CHECK(v("1.0+abc") < v("1.0+0"));     // numbers sort after strings
    CHECK(v("1.0+abc") < v("1.0+abc.0")); // a prefix sorts first
    CHECK(v("1.0+9") < v("1.0+10"));      // numerically, not as text
    CHECK(v("1.0+a10") < v("1.0+a9"));    // text compares as text
    CHECK(v("1.0+xyz") < v("1.0.post0"));
    CHECK(v("9999.0") < v("1!0.0.dev0")); // epochs dominate
    CHECK(v("1.0.0") == v("1"));
    CHECK(v("1.0.0").to_string() != v("1").to_string());
    CHECK(v("1.0") != v("1.0+0"));
    CHECK(v("18446744073709551615") > v("18446744073709551614.99"));
}

TEST_CASE("version: error messages name the text and the problem", "[pep440]")
{
    const auto empty = version::parse("  ");
    REQUIRE_FALSE(empty);
    CHECK(empty.error().code == pkg::errc::invalid_version);
    CHECK(empty.error().message == "invalid version \"  \": it is empty");
    CHECK_FALSE(empty.error().hint.empty());

    const auto trailing = version::parse("1.0foo");
    REQUIRE_FALSE(trailing);
    CHECK(trailing.error().message == "invalid version \"1.0foo\": unexpected \"foo\" at offset 3");

    const auto offset = version::parse("  1.0 x");
    REQUIRE_FALSE(offset);
    CHECK(offset.error().message == "invalid version \"  1.0 x\": unexpected \" x\" at offset 5");

    const auto big = version::parse("1.18446744073709551616");
    REQUIRE_FALSE(big);
    CHECK(big.error().message.find("the number 18446744073709551616 is too large") !=
          std::string::npos);

    const auto big_local = version::parse("1.0+abc.99999999999999999999");
    REQUIRE_FALSE(big_local);
    CHECK(big_local.error().message.find("99999999999999999999 is too large") != std::string::npos);

    const auto letter = version::parse("x1.0");
    REQUIRE_FALSE(letter);
    CHECK(letter.error().message.find("must start with a number") != std::string::npos);

    const auto epoch_only = version::parse("1!");
    REQUIRE_FALSE(epoch_only);
    CHECK(epoch_only.error().message.find("release number must follow") != std::string::npos);

    const auto local = version::parse("1.0+a..b");
    REQUIRE_FALSE(local);
    CHECK(local.error().message.find("local label") != std::string::npos);

    // Long garbage is quoted, but not in full.
    const std::string garbage(5000, 'z');
    const auto long_text = version::parse(garbage);
    REQUIRE_FALSE(long_text);
    CHECK(long_text.error().message.size() < 400);
    CHECK(long_text.error().message.find("zzz...\"") != std::string::npos);
}

TEST_CASE("version: a lockfile's worth of versions parses (allocation-light sanity)", "[pep440]")
{
    // Not a timing assertion: a smoke test that 5,000 typical versions parse and round-trip.
    std::vector<version> parsed;
    parsed.reserve(5000);
    for (int i = 0; i < 5000; ++i) {
        const std::string text = std::to_string(i % 40) + "." + std::to_string(i % 13) + "." +
                                 std::to_string(i) + (i % 7 == 0 ? "rc1" : "");
        auto r = version::parse(text);
        REQUIRE(r.has_value());
        parsed.push_back(std::move(*r));
    }
    std::sort(parsed.begin(), parsed.end());
    CHECK(std::is_sorted(parsed.begin(), parsed.end()));
    CHECK(parsed.front().to_string() == "0.0.0rc1");
}

// ---- specifiers
// ----------------------------------------------------------------------------------

namespace {

specifier_set set(std::string_view text)
{
    auto parsed = specifier_set::parse(text);
    INFO("specifier set: \"" << text << "\"");
    if (!parsed) {
        INFO(parsed.error().to_string());
    }
    REQUIRE(parsed.has_value());
    return *parsed;
}

specifier clause(std::string_view text)
{
    auto parsed = specifier::parse(text);
    INFO("specifier: \"" << text << "\"");
    if (!parsed) {
        INFO(parsed.error().to_string());
    }
    REQUIRE(parsed.has_value());
    return *parsed;
}

} // namespace

TEST_CASE("specifier set: parsing, normal forms and rejections match packaging", "[pep440]")
{
    const auto rows = read_table("specifiers.txt");
    std::size_t valid = 0;
    std::size_t invalid = 0;
    for (const auto& row : rows) {
        REQUIRE(row.size() == 2);
        const std::string& input = row[0];
        const std::string& expected = row[1];
        INFO("input: \"" << input << "\"");
        const auto parsed = specifier_set::parse(input);
        if (expected == "!") {
            ++invalid;
            REQUIRE_FALSE(parsed.has_value());
            CHECK(parsed.error().code == pkg::errc::invalid_specifier);
            CHECK(parsed.error().message.find("invalid version specifier \"") != std::string::npos);
            // The message quotes the text without its surrounding whitespace.
            const std::size_t first = input.find_first_not_of(" \t\n\r\f\v");
            const std::size_t last = input.find_last_not_of(" \t\n\r\f\v");
            const std::string trimmed =
                first == std::string::npos ? "" : input.substr(first, last - first + 1);
            CHECK(parsed.error().message.find("\"" + trimmed + "\"") != std::string::npos);
        } else {
            ++valid;
            REQUIRE(parsed.has_value());
            CHECK(parsed->to_string() == expected);
            const auto again = specifier_set::parse(parsed->to_string());
            REQUIRE(again.has_value());
            CHECK(again->to_string() == expected);
            CHECK(again->clauses().size() == parsed->clauses().size());
        }
    }
    CHECK(valid > 50);
    CHECK(invalid >= 40);
}

TEST_CASE("specifier set: contains matches packaging for every spec x version pair", "[pep440]")
{
    const auto rows = read_table("contains.txt");
    CHECK(rows.size() > 2500);
    for (const auto& row : rows) {
        REQUIRE(row.size() == 3);
        REQUIRE(row[2].size() == 3);
        INFO("\"" << row[0] << "\" contains " << row[1] << " (None/True/False: " << row[2] << ")");
        const specifier_set s = set(row[0]);
        const version candidate = v(row[1]);
        CHECK(s.contains(candidate) == (row[2][0] == '1'));
        CHECK(s.contains(candidate, true) == (row[2][1] == '1'));
        CHECK(s.contains(candidate, false) == (row[2][2] == '1'));
    }
}

TEST_CASE("specifier: components and accessors", "[pep440]")
{
    const specifier wildcard = clause(" == v1.4.* ");
    CHECK(wildcard.oper() == op::equal);
    CHECK(wildcard.is_wildcard());
    REQUIRE(wildcard.operand().has_value());
    CHECK(wildcard.operand()->to_string() == "1.4");
    CHECK(wildcard.to_string() == "==1.4.*");
    CHECK(wildcard.arbitrary_text().empty());

    const specifier arbitrary = clause("===Foo-Bar");
    CHECK(arbitrary.oper() == op::arbitrary);
    CHECK_FALSE(arbitrary.operand().has_value());
    CHECK(arbitrary.arbitrary_text() == "Foo-Bar");
    CHECK(arbitrary.to_string() == "===Foo-Bar");

    const specifier arbitrary_version = clause("=== 1.0RC1");
    REQUIRE(arbitrary_version.operand().has_value());
    CHECK(arbitrary_version.operand()->to_string() == "1.0rc1");
    CHECK(arbitrary_version.mentions_prerelease());
    CHECK(arbitrary_version.matches(v("1.0rc1")));
    CHECK_FALSE(arbitrary_version.matches(v("1.0.0rc1")));

    const specifier empty_arbitrary = clause("===");
    CHECK(empty_arbitrary.arbitrary_text().empty());
    CHECK_FALSE(empty_arbitrary.matches(v("0")));

    CHECK(clause("~=1.0").oper() == op::compatible);
    CHECK(clause("!=1.0").oper() == op::not_equal);
    CHECK(clause("<=1.0").oper() == op::less_equal);
    CHECK(clause(">=1.0").oper() == op::greater_equal);
    CHECK(clause("<1.0").oper() == op::less);
    CHECK(clause(">1.0").oper() == op::greater);
    CHECK_FALSE(clause(">1.0").is_wildcard());

    CHECK(clause("==1.0a1").mentions_prerelease());
    CHECK(clause(">=1.0.dev0").mentions_prerelease());
    CHECK(clause("<=1.0rc1").mentions_prerelease());
    CHECK(clause("~=1.0b1").mentions_prerelease());
    CHECK_FALSE(clause("!=1.0a1").mentions_prerelease());
    CHECK_FALSE(clause("<1.0a1").mentions_prerelease()); // packaging: only inclusive operators
    CHECK_FALSE(clause(">1.0a1").mentions_prerelease());
    CHECK_FALSE(clause("==1.*").mentions_prerelease());
    CHECK_FALSE(clause(">=1.0.post1").mentions_prerelease());

    const specifier_set s = set(" >=1.0 , , <2 ,");
    REQUIRE(s.clauses().size() == 2);
    CHECK(s.clauses()[0].to_string() == ">=1.0");
    CHECK(s.clauses()[1].to_string() == "<2");
    CHECK_FALSE(s.empty());
    CHECK(set("").empty());
    CHECK(set(" , ").empty());
    CHECK(set("").to_string().empty());
}

TEST_CASE("specifier: PEP 440 examples and packaging's special cases", "[pep440]")
{
    // Compatible release: ~=2.2 is >=2.2,==2.*; ~=1.4.5a4 is >=1.4.5a4,==1.4.*.
    CHECK(clause("~=2.2").matches(v("2.9")));
    CHECK_FALSE(clause("~=2.2").matches(v("3.0")));
    CHECK(clause("~=1.4.5a4").matches(v("1.4.9")));
    CHECK_FALSE(clause("~=1.4.5a4").matches(v("1.5")));
    CHECK(clause("~=2.2.post3").matches(v("2.9")));
    CHECK_FALSE(clause("~=2.2.post3").matches(v("2.2.post2")));
    CHECK(clause("~=1!2.2").matches(v("1!2.3")));
    CHECK_FALSE(clause("~=1!2.2").matches(v("2.3")));
    // Spelling does not change the prefix (packaging builds it from the text; see specifier.cpp).
    CHECK(clause("~=1.0.pre1").matches(v("1.5")));
    CHECK(clause("~=1.0.pre1").to_string() == "~=1.0rc1");

    // Prefix matching pads with zeros both ways and ignores pre/post/dev/local of the candidate.
    CHECK(clause("==1.1.*").matches(v("1.1")));
    CHECK(clause("==1.1.*").matches(v("1.1.0.0")));
    CHECK(clause("==1.1.0.*").matches(v("1.1")));
    CHECK(clause("==1.0.*").matches(v("1a1")));
    CHECK(clause("==1.1.*").matches(v("1.1.post1+local")));
    CHECK(clause("==1.1.*").matches(v("1.1.dev1")));
    CHECK_FALSE(clause("==1.1.*").matches(v("1.10")));
    CHECK_FALSE(clause("==1.1.*").matches(v("1!1.1")));
    CHECK(clause("!=1.1.*").matches(v("1.2")));
    CHECK_FALSE(clause("!=1.1.*").matches(v("1.1.5")));

    // Local versions: a specifier without a local label matches any local label.
    CHECK(clause("==1.0").matches(v("1.0+anything.5")));
    CHECK(clause("==1.0+abc").matches(v("1.0+ABC")));
    CHECK_FALSE(clause("==1.0+abc").matches(v("1.0")));
    CHECK_FALSE(clause("==1.0+abc").matches(v("1.0+abc.1")));
    CHECK_FALSE(clause("!=1.0").matches(v("1.0+abc")));
    CHECK(clause("<=1.0").matches(v("1.0+abc")));
    CHECK(clause(">=1.0").matches(v("1.0+abc")));
    CHECK(clause("==1").matches(v("1.0.0")));

    // Exclusive ordered comparisons.
    CHECK_FALSE(clause("<3.1").matches(v("3.1.dev0")));
    CHECK(clause("<3.1").matches(v("3.0.dev0")));
    CHECK(clause("<3.1rc1").matches(v("3.1a1")));
    CHECK(clause("<3.1.0").matches(v("3.0.post1")));
    CHECK_FALSE(clause(">3.1").matches(v("3.1.post0")));
    CHECK(clause(">3.1").matches(v("3.2.post0")));
    CHECK(clause(">3.1.post1").matches(v("3.1.post2")));
    CHECK_FALSE(clause(">3.1").matches(v("3.1+local")));
    CHECK_FALSE(clause(">3.1a1").matches(v("3.1+local"))); // packaging's rule, as written
    CHECK(clause(">3.1a1").matches(v("3.1")));
    CHECK(clause(">1.7").matches(v("1.7.1.dev1")));     // the clause alone...
    CHECK_FALSE(set(">1.7").contains(v("1.7.1.dev1"))); // ...but the set's policy says no
    CHECK(set(">1.7").contains(v("1.7.1.dev1"), true));
    CHECK_FALSE(clause("<1.0").matches(v("1.0+local")));

    // Pre-release policy of sets.
    CHECK_FALSE(set("").contains(v("1.0a1")));
    CHECK(set("").contains(v("1.0a1"), true));
    CHECK(set("").contains(v("1.0")));
    CHECK(set(">=1.0a1").contains(v("2.0b1")));
    CHECK(set(">=1.0a1,<3").contains(v("2.0b1")));
    CHECK_FALSE(set(">=1.0a1").contains(v("2.0b1"), false));
    CHECK_FALSE(set(">=1.0").contains(v("2.0b1")));
    CHECK_FALSE(set("!=1.0a1").contains(v("2.0b1")));
    CHECK(set(">=1.0").contains(v("2.0.post1")));            // post releases are not pre-releases
    CHECK_FALSE(set(">=1.0").contains(v("2.0.post1.dev1"))); // ...but dev releases of them are
}

TEST_CASE("specifier: error messages name the clause and the problem", "[pep440]")
{
    auto message = [](std::string_view text) {
        const auto parsed = specifier_set::parse(text);
        REQUIRE_FALSE(parsed.has_value());
        CHECK(parsed.error().code == pkg::errc::invalid_specifier);
        CHECK_FALSE(parsed.error().hint.empty());
        return parsed.error().message;
    };
    CHECK(message("1.0") == "invalid version specifier \"1.0\": it must start with an operator "
                            "(~=, ==, !=, <=, >=, <, >, ===)");
    CHECK(message(">=") == "invalid version specifier \">=\": a version must follow the operator");
    CHECK(
        message("~=1") ==
        "invalid version specifier \"~=1\": ~= needs at least two release numbers (such as ~=1.4)");
    CHECK(message(">=1.*") ==
          "invalid version specifier \">=1.*\": prefix matching (\".*\") is only "
          "allowed with == and !=");
    CHECK(message("==1.0a1.*") ==
          "invalid version specifier \"==1.0a1.*\": prefix matching needs a "
          "plain release before \".*\" (such as ==1.4.*)");
    CHECK(message("<1.0+abc") == "invalid version specifier \"<1.0+abc\": a local version label "
                                 "(\"+...\") is only allowed with == and !=");
    CHECK(message(">=1 .0") ==
          "invalid version specifier \">=1 .0\": the version cannot contain whitespace");
    CHECK(message("===a b") ==
          "invalid version specifier \"===a b\": the === operand cannot contain "
          "whitespace, \";\" or \")\"");
    CHECK(message(">=1.0x") == "invalid version specifier \">=1.0x\": invalid version \"1.0x\": "
                               "unexpected \"x\" at offset 3");
    CHECK(
        message(">=1.0, <2, foo") ==
        "in \">=1.0, <2, foo\": invalid version specifier \"foo\": it must start with an operator "
        "(~=, ==, !=, <=, >=, <, >, ===)");
    CHECK(message("==99999999999999999999").find("99999999999999999999 is too large") !=
          std::string::npos);

    const auto single = specifier::parse("   ");
    REQUIRE_FALSE(single.has_value());
    CHECK(single.error().message == "invalid version specifier \"   \": it is empty");
}
