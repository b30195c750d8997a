#include <cerrno>
#include <system_error>

#include <catch2/catch.hpp>

#include <pkg/engine/errc.hpp>
#include <pkg/io/error.hpp>

TEST_CASE("error: to_string joins where, message and hint", "[error]")
{
    const pkg::error e{pkg::errc::invalid_version, "\"1.0-\" is not a version", "lock.txt:3",
                       "check the pin"};
    CHECK(e.to_string() == "lock.txt:3: \"1.0-\" is not a version (check the pin)");

    const pkg::error bare{pkg::errc::invalid_version, "", "", ""};
    CHECK(bare.to_string() == "invalid version");
}

TEST_CASE("error: with_context prepends outer context", "[error]")
{
    const pkg::error e{pkg::errc::invalid_requirement, "bad", "lock.txt:3", ""};
    CHECK(e.with_context("black 24.1.0").where == "black 24.1.0: lock.txt:3");
    CHECK(e.with_context("").where == "lock.txt:3");
    CHECK(pkg::error{}.with_context("x").where == "x");
}

TEST_CASE("error: codes compare against their enums", "[error]")
{
    const pkg::error e = pkg::system_error(ENOENT, "open", "/nope");
    CHECK(e.code == std::errc::no_such_file_or_directory);
    CHECK(e.where == "/nope");
    CHECK(e.message.find("open failed") == 0);

    const std::error_code c = pkg::errc::invalid_marker;
    CHECK(c == pkg::errc::invalid_marker);
    CHECK(c != pkg::errc::invalid_version);
    CHECK(std::string(c.category().name()) == "pkg");
    CHECK(c.message() == "invalid environment marker");
}

TEST_CASE("error: result carries values and errors", "[error]")
{
    auto parse = [](int x) -> pkg::result<int> {
        if (x < 0) {
            return pkg::fail(pkg::errc::unsupported, "negative");
        }
        return x * 2;
    };
    REQUIRE(parse(2).has_value());
    CHECK(*parse(2) == 4);
    REQUIRE_FALSE(parse(-1).has_value());
    CHECK(parse(-1).error().message == "negative");
}
