// PEP 440 versions and specifiers. The tables in tests/data/pep440/ were generated once from the
// reference implementation (`packaging` 24.1 as vendored by pip) by tests/data/pep440/generate.py;
// these tests only read them.

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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
        if (!line.empty() && line[0] == '#') continue;
        std::vector<std::string> fields;
        std::size_t start = 0;
        for (;;) {
            const std::size_t tab = line.find('\t', start);
            fields.push_back(unescape(line.substr(start, tab - start)));
            if (tab == std::string::npos) break;
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

}  // namespace

// ---- versions ------------------------------------------------------------------------------------

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
    CHECK(v("1.0+abc") < v("1.0+0"));           // numbers sort after strings
    CHECK(v("1.0+abc") < v("1.0+abc.0"));       // a prefix sorts first
    CHECK(v("1.0+9") < v("1.0+10"));            // numerically, not as text
    CHECK(v("1.0+a10") < v("1.0+a9"));          // text compares as text
    CHECK(v("1.0+xyz") < v("1.0.post0"));
    CHECK(v("9999.0") < v("1!0.0.dev0"));       // epochs dominate
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
