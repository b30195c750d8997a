#include <string>

#include <catch2/catch.hpp>

#include "base/quote.hpp"

TEST_CASE("quote_for_message escapes and truncates", "[error]")
{
    using pkg::quote_for_message;
    CHECK(quote_for_message("abc") == "\"abc\"");
    CHECK(quote_for_message("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(quote_for_message(std::string_view("\n\x7f\xc3", 3)) == "\"\\x0a\\x7f\\xc3\"");
    const std::string long_text(500, 'x');
    CHECK(quote_for_message(long_text) == "\"" + std::string(200, 'x') + "\"...");
    CHECK(quote_for_message(long_text, 3) == "\"xxx\"...");
    CHECK(quote_for_message("") == "\"\"");
}
