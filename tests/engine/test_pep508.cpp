// PEP 503 names, PEP 508 requirements and environment markers.
//
// The tables in test_pep508_tables.inc were generated once with the `packaging` that pip vendors
// (tests/engine/pep508_tables.py); the hand-written cases below cover what the generator cannot
// (error messages and columns, canonical text, the places where pkg deliberately differs).

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include <pkg/engine/errc.hpp>

#include "pep440/specifier.hpp"
#include "pep508/marker.hpp"
#include "pep508/name.hpp"
#include "pep508/requirement.hpp"

namespace {

using pkg::pep508::marker;
using pkg::pep508::marker_environment;
using pkg::pep508::requirement;

struct name_case {
    std::string_view text;
    bool valid;
    std::string_view normalized;
};

struct requirement_case {
    std::string_view text;
    std::string_view name;
    std::vector<std::string> extras;
    std::vector<std::string> clauses;  // as written, in order
    bool has_url;
    std::string_view url;
    std::string_view marker_text;  // packaging's str(marker), "" for none
};

struct marker_case {
    std::string_view text;
    // Values for extras {}, {test}, {Test_Extra, security.extra}, {docs, test}.
    std::array<bool, 4> values;
};

#include "engine/test_pep508_tables.inc"

const std::array<std::vector<std::string>, 4> extras_sets{{
    {},
    {"test"},
    {"Test_Extra", "security.extra"},
    {"docs", "test"},
}};

// CPython 3.11.7 on Debian 12, x86_64: the environment the generated tables assume.
marker_environment cpython311_linux()
{
    marker_environment env;
    env.implementation_name = "cpython";
    env.implementation_version = "3.11.7";
    env.os_name = "posix";
    env.platform_machine = "x86_64";
    env.platform_python_implementation = "CPython";
    env.platform_release = "6.1.0-18-amd64";
    env.platform_system = "Linux";
    env.platform_version = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)";
    env.python_full_version = "3.11.7";
    env.python_version = "3.11";
    env.sys_platform = "linux";
    return env;
}

bool eval(std::string_view text, const marker_environment& env,
          std::vector<std::string> extras = {})
{
    auto parsed = marker::parse(text);
    INFO(text);
    REQUIRE(parsed);
    return parsed->evaluate(env, extras);
}

std::string marker_error(std::string_view text)
{
    auto parsed = marker::parse(text);
    INFO(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == pkg::errc::invalid_marker);
    return parsed.error().message;
}

std::string requirement_error(std::string_view text)
{
    auto parsed = requirement::parse(text);
    INFO(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == pkg::errc::invalid_requirement);
    return parsed.error().message;
}

}  // namespace

// --- names ---------------------------------------------------------------------------------------

TEST_CASE("project names: validity and PEP 503 normal form match packaging", "[pep508]")
{
    for (const auto& c : generated_names) {
        INFO(c.text);
        CHECK(pkg::pep508::is_valid_name(c.text) == c.valid);
        CHECK(pkg::pep508::normalize_name(c.text) == c.normalized);
        auto parsed = pkg::pep508::parse_name(c.text);
        REQUIRE(parsed.has_value() == c.valid);
        if (c.valid) {
            CHECK(*parsed == c.normalized);
        } else {
            CHECK(parsed.error().code == pkg::errc::invalid_name);
        }
    }
}

TEST_CASE("project names: normalisation is idempotent and collapses separator runs", "[pep508]")
{
    CHECK(pkg::pep508::normalize_name("Foo__Bar--baz..QUX") == "foo-bar-baz-qux");
    CHECK(pkg::pep508::normalize_name("a-_-_-b") == "a-b");
    CHECK(pkg::pep508::normalize_name(pkg::pep508::normalize_name("A._B")) == "a-b");
    CHECK(pkg::pep508::normalize_name("") == "");
}

TEST_CASE("project names: errors say what is wrong and where", "[pep508]")
{
    auto empty = pkg::pep508::parse_name("");
    REQUIRE_FALSE(empty);
    CHECK(empty.error().message == "a project name is empty");

    auto bad_char = pkg::pep508::parse_name("foo+bar");
    REQUIRE_FALSE(bad_char);
    CHECK(bad_char.error().message ==
          "project name \"foo+bar\" has '+' at column 4; only ASCII letters, digits, '.', '-' "
          "and '_' are allowed");

    auto control = pkg::pep508::parse_name("a\tb");
    REQUIRE_FALSE(control);
    CHECK(control.error().message ==
          "project name \"a\\x09b\" has byte 0x09 at column 2; only ASCII letters, digits, '.', "
          "'-' and '_' are allowed");

    auto edge = pkg::pep508::parse_name("_private");
    REQUIRE_FALSE(edge);
    CHECK(edge.error().message ==
          "project name \"_private\" must start and end with a letter or digit");
}

// --- requirements --------------------------------------------------------------------------------

TEST_CASE("requirements: the generated table parses as packaging parses it", "[pep508]")
{
    for (const auto& c : generated_requirements) {
        INFO(c.text);
        auto parsed = requirement::parse(c.text);
        REQUIRE(parsed);
        CHECK(parsed->name == c.name);
        CHECK(parsed->normalized_name == pkg::pep508::normalize_name(c.name));
        CHECK(parsed->extras == c.extras);
        REQUIRE(parsed->specifiers.clauses().size() == c.clauses.size());
        for (std::size_t i = 0; i < c.clauses.size(); ++i) {
            auto expected = pkg::pep440::specifier::parse(c.clauses[i]);
            REQUIRE(expected);
            CHECK(parsed->specifiers.clauses()[i].to_string() == expected->to_string());
        }
        REQUIRE(parsed->url.has_value() == c.has_url);
        if (c.has_url) {
            CHECK(*parsed->url == c.url);
        }
        REQUIRE(parsed->env_marker.has_value() == !c.marker_text.empty());
        if (parsed->env_marker) {
            // packaging keeps redundant parentheses; compare the trees via canonical text.
            auto expected = marker::parse(c.marker_text);
            REQUIRE(expected);
            CHECK(parsed->env_marker->to_string() == expected->to_string());
        }

        // The canonical text parses back to itself.
        const std::string canonical = parsed->to_string();
        auto again = requirement::parse(canonical);
        INFO(canonical);
        REQUIRE(again);
        CHECK(again->to_string() == canonical);
        CHECK(again->normalized_name == parsed->normalized_name);
        CHECK(again->extras == parsed->extras);
        CHECK(again->url == parsed->url);
    }
}

TEST_CASE("requirements: canonical text", "[pep508]")
{
    const std::vector<std::pair<std::string_view, std::string_view>> cases{
        {"Sphinx_RTD_theme[A_b,a-b]>=1.0 ; python_version<'3.12'",
         "sphinx-rtd-theme[a-b]>=1.0 ; python_version < \"3.12\""},
        {"cffi==1.16.0 ; platform_python_implementation != \"PyPy\"",
         "cffi==1.16.0 ; platform_python_implementation != \"PyPy\""},
        {"requests [Socks, security] (>=2.8.1, <3)",
         "requests[security,socks]>=2.8.1,<3"},
        {"name @ https://example.com/x.whl ; os.name=='posix'",
         "name @ https://example.com/x.whl ; os_name == \"posix\""},
        {"Name[Extra]@file:///tmp/x.whl", "name[extra] @ file:///tmp/x.whl"},
        {"  zope.interface  ", "zope-interface"},
        {"name;python_implementation=='CPython'",
         "name ; platform_python_implementation == \"CPython\""},
        {"black>=1,", "black>=1"},
    };
    for (const auto& [text, expected] : cases) {
        INFO(text);
        auto parsed = requirement::parse(text);
        REQUIRE(parsed);
        CHECK(parsed->to_string() == expected);
    }
}

TEST_CASE("requirements: real lockfile lines keep their parts", "[pep508]")
{
    auto cffi = requirement::parse("cffi==1.16.0 ; platform_python_implementation != \"PyPy\"");
    REQUIRE(cffi);
    CHECK(cffi->normalized_name == "cffi");
    REQUIRE(cffi->specifiers.clauses().size() == 1);
    CHECK(cffi->specifiers.clauses()[0].oper() == pkg::pep440::op::equal);
    CHECK(cffi->specifiers.clauses()[0].operand() ==
          pkg::pep440::version::from_release({1, 16, 0}));
    REQUIRE(cffi->env_marker);

    const auto linux311 = cpython311_linux();
    auto pypy = linux311;
    pypy.platform_python_implementation = "PyPy";
    CHECK(cffi->applies_to(linux311));
    CHECK_FALSE(cffi->applies_to(pypy));

    auto pywin32 = requirement::parse("pywin32==306 ; sys_platform == \"win32\"");
    REQUIRE(pywin32);
    CHECK_FALSE(pywin32->applies_to(linux311));
    auto windows = linux311;
    windows.sys_platform = "win32";
    CHECK(pywin32->applies_to(windows));

    auto exceptiongroup = requirement::parse("exceptiongroup==1.2.0 ; python_version < \"3.11\"");
    REQUIRE(exceptiongroup);
    CHECK_FALSE(exceptiongroup->applies_to(linux311));
    auto py310 = linux311;
    py310.python_version = "3.10";
    py310.python_full_version = "3.10.13";
    CHECK(exceptiongroup->applies_to(py310));

    auto metadata = requirement::parse("importlib-metadata>=4.6 ; python_version<\"3.10\"");
    REQUIRE(metadata);
    CHECK(metadata->normalized_name == "importlib-metadata");
    CHECK_FALSE(metadata->applies_to(linux311));
    CHECK_FALSE(metadata->applies_to(py310));
    auto py39 = linux311;
    py39.python_version = "3.9";
    CHECK(metadata->applies_to(py39));

    auto plain = requirement::parse("certifi==2024.2.2");
    REQUIRE(plain);
    CHECK_FALSE(plain->env_marker);
    CHECK(plain->applies_to(linux311));
    CHECK(plain->applies_to(windows, std::vector<std::string>{"anything"}));
}

TEST_CASE("requirements: extras in markers select with the requested extras", "[pep508]")
{
    auto pysocks = requirement::parse("PySocks!=1.5.7,>=1.5.6 ; extra == 'SOCKS'");
    REQUIRE(pysocks);
    const auto env = cpython311_linux();
    CHECK_FALSE(pysocks->applies_to(env));
    CHECK(pysocks->applies_to(env, std::vector<std::string>{"socks"}));
    CHECK(pysocks->applies_to(env, std::vector<std::string>{"Socks"}));
    CHECK(pysocks->applies_to(env, std::vector<std::string>{"use-chardet", "socks"}));
    CHECK_FALSE(pysocks->applies_to(env, std::vector<std::string>{"use_chardet_on_py3"}));
}

TEST_CASE("requirements: every invalid line is rejected with its column", "[pep508]")
{
    for (auto text : generated_invalid_requirements) {
        INFO(text);
        auto parsed = requirement::parse(text);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == pkg::errc::invalid_requirement);
        CHECK_THAT(parsed.error().message, Catch::Contains(" at column "));
    }
}

TEST_CASE("requirements: error messages name what was expected and where", "[pep508]")
{
    const std::vector<std::pair<std::string_view, std::string_view>> cases{
        {"black >= ; python_version",
         "expected a version after '>=' at column 9 in \"black >= ; python_version\""},
        {"", "expected a project name at column 1 in \"\""},
        {"[foo]", "expected a project name, found '[' at column 1 in \"[foo]\""},
        {"name-", "project name \"name-\" must end with a letter or digit at column 1 in "
                  "\"name-\""},
        {"name[foo bar]", "expected ',' between extra names at column 10 in \"name[foo bar]\""},
        {"name[foo,]", "expected an extra name, found ']' at column 10 in \"name[foo,]\""},
        {"name[foo", "expected ',' or ']' (the '[' at column 5 is not closed) at column 9 in "
                     "\"name[foo\""},
        {"name >=1.0 <2",
         "expected ',' and another version specifier, ';' or the end at column 12 in "
         "\"name >=1.0 <2\""},
        {"name (>=1.0", "expected ',' or ')' (the '(' at column 6 is not closed) at column 12 "
                        "in \"name (>=1.0\""},
        {"name (", "expected a version specifier or ')' (the '(' at column 6 is not closed) at "
                   "column 7 in \"name (\""},
        {"name @", "expected a URL after '@' at column 7 in \"name @\""},
        {"name @ http://x junk",
         "expected ';' and a marker, or the end, after the URL at column 17 in "
         "\"name @ http://x junk\""},
        {"name==1.0 extra",
         "expected ',' and another version specifier, ';' or the end at column 11 in "
         "\"name==1.0 extra\""},
        {"name extra",
         "expected a version specifier, '@ URL', ';' or the end at column 6 in \"name extra\""},
        {"name ;", "expected a marker variable (python_version, python_full_version, "
                   "sys_platform, platform_system, platform_machine, platform_release, "
                   "platform_version, platform_python_implementation, implementation_name, "
                   "implementation_version, os_name, extra) or a quoted string at column 7 in "
                   "\"name ;\""},
        {"name ; python_version > '3",
         "unterminated string (no closing single quote) at column 25 in \"name ; "
         "python_version > '3\""},
    };
    for (const auto& [text, expected] : cases) {
        CHECK(requirement_error(text) == expected);
    }
    // A bad version names the clause and PEP 440's reason.
    CHECK_THAT(requirement_error("name >=1.0+local"),
               Catch::StartsWith("invalid version specifier \">=1.0+local\" (") &&
                   Catch::EndsWith(") at column 6 in \"name >=1.0+local\""));
    CHECK_THAT(requirement_error("name ~=1"),
               Catch::StartsWith("invalid version specifier \"~=1\" ("));
    CHECK_THAT(requirement_error("name <=1.0.*"),
               Catch::StartsWith("invalid version specifier \"<=1.0.*\" ("));
}

TEST_CASE("requirements: packaging quirks kept and deliberate differences", "[pep508]")
{
    // A URL runs to the next space, so a ';' glued to it is part of the URL (as packaging).
    auto glued = requirement::parse("name @ http://x;python_version>'3'");
    REQUIRE(glued);
    CHECK(glued->url == "http://x;python_version>'3'");
    CHECK_FALSE(glued->env_marker);

    // One trailing newline is accepted (packaging's `$`), two are not.
    CHECK(requirement::parse("name>=1\n"));
    CHECK_FALSE(requirement::parse("name>=1\n\n"));

    // packaging accepts a name or extra ending in '_'; PEP 508 and pkg do not.
    CHECK_FALSE(requirement::parse("name_"));
    CHECK_FALSE(requirement::parse("name[extra_]"));

    // Markers inside a requirement report columns in the whole line.
    CHECK(requirement_error("name ; python_version >= '3' and foo == 'x'") ==
          "unknown marker variable \"foo\"; expected a marker variable (python_version, "
          "python_full_version, sys_platform, platform_system, platform_machine, "
          "platform_release, platform_version, platform_python_implementation, "
          "implementation_name, implementation_version, os_name, extra) or a quoted string at "
          "column 34 in \"name ; python_version >= '3' and foo == 'x'\"");
}

TEST_CASE("requirements: long input is quoted with a cut, control bytes escaped", "[pep508]")
{
    const std::string long_line = "name ; python_version == '3' and " + std::string(300, 'x');
    const std::string message = requirement_error(long_line);
    CHECK_THAT(message, Catch::EndsWith("...") && Catch::Contains("at column 34"));
    CHECK(message.size() < 1000);
    CHECK(requirement_error("name\x01") == "expected a version specifier, '@ URL', ';' or the "
                                           "end at column 5 in \"name\\x01\"");
}

// --- markers -------------------------------------------------------------------------------------

TEST_CASE("markers: the generated table evaluates as packaging does", "[pep508]")
{
    const auto env = cpython311_linux();
    for (const auto& c : generated_markers) {
        INFO(c.text);
        auto parsed = marker::parse(c.text);
        REQUIRE(parsed);
        auto again = marker::parse(parsed->to_string());
        INFO(parsed->to_string());
        REQUIRE(again);
        CHECK(again->to_string() == parsed->to_string());
        for (std::size_t i = 0; i < extras_sets.size(); ++i) {
            INFO("extras set " << i);
            CHECK(parsed->evaluate(env, extras_sets[i]) == c.values[i]);
            CHECK(again->evaluate(env, extras_sets[i]) == c.values[i]);
        }
    }
}

TEST_CASE("markers: version comparison when both sides are versions, else strings", "[pep508]")
{
    const auto env = cpython311_linux();
    // As strings "3.11" < "3.9"; as versions 3.11 > 3.9.
    CHECK(eval("python_version > \"3.9\"", env));
    CHECK(eval("python_version > \"3.10\"", env));
    CHECK_FALSE(eval("python_version < \"3.9\"", env));
    CHECK(eval("python_version == \"3.11.0\"", env));  // trailing zeros do not matter
    CHECK(eval("python_version == '3.*'", env));       // wildcards are specifiers too

    // platform_release is not a PEP 440 version here: string comparison (packaging 24.1
    // raises InvalidVersion; the spec says fall back to Python's string comparison).
    CHECK(eval("platform_release >= \"6\"", env));
    CHECK_FALSE(eval("platform_release < \"10\"", env));  // "6..." > "10" as strings
    auto versioned = env;
    versioned.platform_release = "6.1.0";
    CHECK(eval("platform_release < \"10\"", versioned));

    // Not a version on the right: plain string comparison.
    CHECK_FALSE(eval("python_version >= \"3.9.\"", env));
    CHECK(eval("sys_platform < \"win32\"", env));
    CHECK(eval("os_name <= \"posix\"", env));

    // ~= and === have no meaning for strings: false instead of packaging's exception.
    CHECK_FALSE(eval("os_name ~= \"posix\"", env));
    CHECK_FALSE(eval("os_name === \"posix\"", env));
    CHECK(eval("python_full_version === \"3.11.7\"", env));

    // Pre-releases always match in markers.
    auto prerelease = env;
    prerelease.python_full_version = "3.13.0rc1";
    CHECK(eval("python_full_version >= \"3.12\"", prerelease));
    CHECK_FALSE(eval("python_full_version >= \"3.13\"", prerelease));

    // Non-tagged builds say "3.13.0+"; read as a local version, as packaging does.
    auto untagged = env;
    untagged.python_full_version = "3.13.0+";
    CHECK(eval("python_full_version >= \"3.13\"", untagged));
    CHECK(eval("python_full_version == \"3.13.0\"", untagged));

    // `in` and `not in` are substring tests, never version comparisons.
    CHECK(eval("'3.1' in python_version", env));
    CHECK_FALSE(eval("python_version in '3.1'", env));
    CHECK(eval("python_version not in '3.1'", env));
}

TEST_CASE("markers: extra values compare as normalised names", "[pep508]")
{
    const auto env = cpython311_linux();
    CHECK_FALSE(eval("extra == 'Foo_Bar'", env));
    CHECK(eval("extra == 'Foo_Bar'", env, {"foo-bar"}));
    CHECK(eval("extra == 'foo.bar'", env, {"FOO__BAR"}));
    CHECK(eval("'foo-bar' == extra", env, {"Foo.Bar"}));
    // A version-looking extra: packaging 24.1 raises for extra "" here; pkg compares strings.
    CHECK_FALSE(eval("extra == 'v8'", env));
    CHECK(eval("extra == 'v8'", env, {"V8"}));
    CHECK_FALSE(eval("extra == 'v8'", env, {"test"}));
    CHECK(eval("extra != 'v8'", env, {"test"}));
    // Evaluated once per extra, as pip does: both clauses never hold at once.
    CHECK_FALSE(eval("extra == 'a' and extra == 'b'", env, {"a", "b"}));
    CHECK(eval("extra == 'a' or extra == 'b'", env, {"b"}));
}

TEST_CASE("markers: and binds tighter than or, parentheses override", "[pep508]")
{
    auto env = cpython311_linux();
    // a or b and c  ==  a or (b and c)
    CHECK(eval("os_name == 'posix' or os_name == 'nt' and sys_platform == 'win32'", env));
    CHECK_FALSE(eval("(os_name == 'posix' or os_name == 'nt') and sys_platform == 'win32'", env));
    // a and b or c  ==  (a and b) or c
    CHECK(eval("os_name == 'nt' and sys_platform == 'win32' or python_version >= '3'", env));
    CHECK_FALSE(eval("os_name == 'nt' and (sys_platform == 'win32' or python_version >= '3')",
                     env));
}

TEST_CASE("markers: canonical text", "[pep508]")
{
    const std::vector<std::pair<std::string_view, std::string_view>> cases{
        {"python_version<\"3.11\"", "python_version < \"3.11\""},
        {"os.name=='posix'", "os_name == \"posix\""},
        {"sys.platform=='linux'", "sys_platform == \"linux\""},
        {"platform.version=='x'", "platform_version == \"x\""},
        {"platform.machine=='x'", "platform_machine == \"x\""},
        {"python_implementation=='CPython'", "platform_python_implementation == \"CPython\""},
        {"platform.python_implementation=='CPython'",
         "platform_python_implementation == \"CPython\""},
        {"'a\"b' == os_name", "'a\"b' == os_name"},
        {"python_version not \t in '2.7'", "python_version not in \"2.7\""},
        {"extra == 'Foo_Bar'", "extra == \"foo-bar\""},
        {"'Foo.Bar' in extra", "\"foo-bar\" in extra"},
        {"os_name == 'Foo_Bar'", "os_name == \"Foo_Bar\""},
        {"((os_name == 'a'))", "os_name == \"a\""},
        {"(os_name == 'a' or os_name == 'b') and os_name == 'c'",
         "(os_name == \"a\" or os_name == \"b\") and os_name == \"c\""},
        {"os_name == 'a' or (os_name == 'b' and os_name == 'c')",
         "os_name == \"a\" or os_name == \"b\" and os_name == \"c\""},
        {"os_name == 'a' and (os_name == 'b' and os_name == 'c')",
         "os_name == \"a\" and os_name == \"b\" and os_name == \"c\""},
        {"(os_name == 'a' or os_name == 'b') or (os_name == 'c')",
         "os_name == \"a\" or os_name == \"b\" or os_name == \"c\""},
        {"os_name == 'a' and ((os_name == 'b' or os_name == 'c') and os_name == 'd')",
         "os_name == \"a\" and (os_name == \"b\" or os_name == \"c\") and os_name == \"d\""},
        {"python_version == python_full_version", "python_version == python_full_version"},
        {"'a' == 'a'", "\"a\" == \"a\""},
    };
    for (const auto& [text, expected] : cases) {
        INFO(text);
        auto parsed = marker::parse(text);
        REQUIRE(parsed);
        CHECK(parsed->to_string() == expected);
    }
}

TEST_CASE("markers: both sides variables or both literals", "[pep508]")
{
    auto env = cpython311_linux();
    CHECK(eval("'a' == 'a'", env));
    CHECK_FALSE(eval("'a' == 'b'", env));
    CHECK(eval("python_version < python_full_version", env));  // 3.11 < 3.11.7 as versions
    CHECK_FALSE(eval("python_version == python_full_version", env));
}

TEST_CASE("markers: syntax errors", "[pep508]")
{
    const std::vector<std::pair<std::string_view, std::string_view>> cases{
        {"python_version", "expected a comparison operator (<, <=, ==, !=, >=, >, ~=, ===, in, "
                           "not in) at column 15 in \"python_version\""},
        {"python_version = '3'", "expected a comparison operator (<, <=, ==, !=, >=, >, ~=, ===, "
                                 "in, not in) at column 16 in \"python_version = '3'\""},
        {"python_version > '3' and", "expected a marker variable (python_version, "
                                     "python_full_version, sys_platform, platform_system, "
                                     "platform_machine, platform_release, platform_version, "
                                     "platform_python_implementation, implementation_name, "
                                     "implementation_version, os_name, extra) or a quoted string "
                                     "at column 25 in \"python_version > '3' and\""},
        {"(python_version > '3'", "expected 'and', 'or' or ')' (the '(' at column 1 is not "
                                  "closed) at column 22 in \"(python_version > '3'\""},
        {"python_version > '3')", "unmatched ')' at column 21 in \"python_version > '3')\""},
        {"python_version > '3' os_name == 'a'",
         "expected 'and', 'or' or the end of the marker at column 22 in \"python_version > '3' "
         "os_name == 'a'\""},
        {"python_version > \"3", "unterminated string (no closing double quote) at column 18 "
                                 "in \"python_version > \\\"3\""},
        {"python_version not '3'", "expected 'in' after 'not' at column 20 in "
                                   "\"python_version not '3'\""},
        {"python_version not'3'", "expected a space and 'in' after 'not' at column 19 in "
                                  "\"python_version not'3'\""},
        {"python_version andx '3'", "expected a comparison operator (<, <=, ==, !=, >=, >, ~=, "
                                    "===, in, not in) at column 16 in \"python_version andx "
                                    "'3'\""},
    };
    for (const auto& [text, expected] : cases) {
        CHECK(marker_error(text) == expected);
    }
    CHECK_THAT(marker_error(""), Catch::StartsWith("expected a marker variable"));
    CHECK(marker_error("os_name == 'a\\x41'") ==
          "a backslash in a marker string (PEP 508 strings have no escapes) at column 14 in "
          "\"os_name == 'a\\\\x41'\"");
    CHECK(marker_error(std::string_view("os_name == 'a\0'", 15)) ==
          "byte 0x00 in a marker string at column 14 in \"os_name == 'a\\x00'\"");
    CHECK(marker_error("os_name == \"a\nb\"") ==
          "byte 0x0a in a marker string at column 14 in \"os_name == \\\"a\\x0ab\\\"\"");
    CHECK_THAT(marker_error("os.namex == 'a'"),
               Catch::StartsWith("unknown marker variable \"os.namex\""));
    CHECK_THAT(marker_error("platform.release == 'a'"),
               Catch::StartsWith("unknown marker variable \"platform.release\""));
    CHECK_THAT(marker_error("python_versionin '3'"),
               Catch::StartsWith("unknown marker variable \"python_versionin\""));
    CHECK_THAT(marker_error("'3' inx python_version"),
               Catch::StartsWith("expected a comparison operator"));
    CHECK_THAT(marker_error("python_version > '3' orx os_name == 'a'"),
               Catch::StartsWith("expected 'and', 'or' or the end of the marker at column 22"));
    CHECK_THAT(marker_error("python_version > '3'\n\n"),
               Catch::StartsWith("expected 'and', 'or' or the end of the marker"));
}

TEST_CASE("markers: nesting depth is bounded", "[pep508]")
{
    const auto nested = [](int depth) {
        return std::string(static_cast<std::size_t>(depth), '(') + "os_name == 'posix'" +
               std::string(static_cast<std::size_t>(depth), ')');
    };
    auto deep_ok = marker::parse(nested(64));
    REQUIRE(deep_ok);
    CHECK(deep_ok->to_string() == "os_name == \"posix\"");
    CHECK_THAT(marker_error(nested(65)),
               Catch::StartsWith("parentheses nested more than 64 deep at column 65"));
    CHECK_THAT(marker_error(std::string(100000, '(')),
               Catch::StartsWith("parentheses nested more than 64 deep"));

    // Long flat chains are not nesting.
    std::string chain = "os_name == 'a'";
    for (int i = 0; i < 2000; ++i) {
        chain += " or os_name == 'a'";
    }
    CHECK(eval(chain + " or os_name == 'posix'", cpython311_linux()));
}

TEST_CASE("markers: environment lookup and default-constructed marker", "[pep508]")
{
    const auto env = cpython311_linux();
    CHECK(env.get("python_version") == std::optional<std::string_view>("3.11"));
    CHECK(env.get("platform_python_implementation") ==
          std::optional<std::string_view>("CPython"));
    CHECK(env.get("sys_platform") == std::optional<std::string_view>("linux"));
    CHECK_FALSE(env.get("extra"));
    CHECK_FALSE(env.get("os.name"));
    CHECK_FALSE(env.get("nonsense"));

    const marker empty;
    CHECK(empty.evaluate(env));
    CHECK(empty.to_string().empty());
}

TEST_CASE("markers: parse_within counts columns in the whole text", "[pep508]")
{
    constexpr std::string_view line = "name ; os_name == ";
    auto parsed = marker::parse_within(line, 6, pkg::errc::invalid_requirement);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == pkg::errc::invalid_requirement);
    CHECK_THAT(parsed.error().message, Catch::Contains("at column 19 in \"name ; os_name == \""));
    auto good = marker::parse_within("xx; os_name == 'posix'", 3, pkg::errc::invalid_marker);
    REQUIRE(good);
    CHECK(good->to_string() == "os_name == \"posix\"");
}
