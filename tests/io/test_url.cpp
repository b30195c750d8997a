// Tests of io/src/http/url: the one RFC 3986 reference resolution, used strictly by the HTTP
// client (redirects, tests/io/test_http_client.cpp) and leniently by the index page parsers
// (`resolve_url`), plus the helpers the index parsers need.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "http/http_errc.hpp"
#include "http/url.hpp"

namespace {

std::string resolved(std::string_view base, std::string_view reference)
{
    auto r = pkg::io::resolve_url(base, reference);
    INFO("resolving " << reference << " against " << base);
    REQUIRE(r.has_value());
    return *r;
}

} // namespace

TEST_CASE("resolve_url: references resolve as RFC 3986 section 5.4 says", "[url][http][index]")
{
    const std::string base = "http://a/b/c/d;p?q";
    // Normal examples (5.4.1); "//g" gets the empty-path "/" that http normalisation adds.
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"g:h", "g:h"},
        {"g", "http://a/b/c/g"},
        {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"},
        {"//g", "http://g/"},
        {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"},
        {"#s", "http://a/b/c/d;p?q#s"},
        {"g#s", "http://a/b/c/g#s"},
        {"g?y#s", "http://a/b/c/g?y#s"},
        {";x", "http://a/b/c/;x"},
        {"g;x", "http://a/b/c/g;x"},
        {"g;x?y#s", "http://a/b/c/g;x?y#s"},
        {"", "http://a/b/c/d;p?q"},
        {".", "http://a/b/c/"},
        {"./", "http://a/b/c/"},
        {"..", "http://a/b/"},
        {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},
        {"../..", "http://a/"},
        {"../../", "http://a/"},
        {"../../g", "http://a/g"},
        // Abnormal examples (5.4.2), strict parser.
        {"../../../g", "http://a/g"},
        {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},
        {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},
        {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."},
        {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},
        {"./g/.", "http://a/b/c/g/"},
        {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"},
        {"g?y/../x", "http://a/b/c/g?y/../x"},
        {"g#s/./x", "http://a/b/c/g#s/./x"},
        {"g#s/../x", "http://a/b/c/g#s/../x"},
        {"http:g", "http:g"},
    };
    for (const auto& [reference, expected] : cases) {
        INFO("reference " << reference);
        CHECK(resolved(base, reference) == expected);
    }
}

TEST_CASE("resolve_url: index page links: https, file, cleaning and escaping", "[url][http][index]")
{
    const std::string page = "https://index.example/simple/black/";
    CHECK(resolved(page, "black-24.1.0-py3-none-any.whl") ==
          "https://index.example/simple/black/black-24.1.0-py3-none-any.whl");
    CHECK(resolved(page, "../../packages/aa/black.whl#sha256=ab") ==
          "https://index.example/packages/aa/black.whl#sha256=ab");
    CHECK(resolved(page, "//files.example/x/black.whl") == "https://files.example/x/black.whl");
    CHECK(resolved(page, "HTTPS://Files.example/x") == "https://Files.example/x");
    CHECK(resolved(page, "?page=2") == "https://index.example/simple/black/?page=2");
    CHECK(resolved("https://u:pw@index.example/simple/black/", "x.whl") ==
          "https://u:pw@index.example/simple/black/x.whl");
    // A base with a fragment: the fragment is not part of the base.
    CHECK(resolved("https://index.example/simple/black/#top", "x.whl") ==
          "https://index.example/simple/black/x.whl");

    CHECK(resolved("file:///srv/index/simple/black/", "../../files/black.whl") ==
          "file:///srv/index/files/black.whl");
    CHECK(resolved("file:///srv/index/simple/black/index.html", "black.whl") ==
          "file:///srv/index/simple/black/black.whl");
    CHECK(resolved("file:/srv/index/", "x/../y.whl") == "file:/srv/index/y.whl");
    CHECK(resolved("https://index.example/simple/", "file:///abs/x.whl") == "file:///abs/x.whl");

    // Browsers drop tab/CR/LF anywhere and trim spaces; unsafe bytes are escaped, %XX kept.
    CHECK(resolved(page, "  \tpkg-1.0\n-py3-none-any.whl \r\n") ==
          "https://index.example/simple/black/pkg-1.0-py3-none-any.whl");
    CHECK(resolved(page, "a b\"<>\\^`{|}\x7f\xc3\xa9.whl") ==
          "https://index.example/simple/black/a%20b%22%3C%3E%5C%5E%60%7B%7C%7D%7F%C3%A9.whl");
    CHECK(resolved(page, "pkg-1.0%2Bcpu-py3-none-any.whl") ==
          "https://index.example/simple/black/pkg-1.0%2Bcpu-py3-none-any.whl");
    CHECK(resolved("https://index.example", "x") == "https://index.example/x");
    CHECK(resolved("https://index.example", "") == "https://index.example/");

    auto relative_base = pkg::io::resolve_url("index.example/simple/", "x.whl");
    REQUIRE_FALSE(relative_base.has_value());
    CHECK(relative_base.error().code == pkg::io::http_errc::invalid_url);
    CHECK_THAT(relative_base.error().message,
               Catch::Contains("\"index.example/simple/\"") && Catch::Contains("no scheme"));
    CHECK_FALSE(pkg::io::resolve_url("", "x").has_value());
}

TEST_CASE("url helpers: split, last segment, percent-decoding, redaction", "[url][http][index]")
{
    const auto parts = pkg::io::split_url("https://h:1/a/b?x=1#f");
    CHECK(parts.scheme == "https");
    CHECK(parts.authority == "h:1");
    CHECK(parts.path == "/a/b");
    CHECK(parts.query == "x=1");
    CHECK(parts.fragment == "f");
    const auto bare = pkg::io::split_url("a/b");
    CHECK_FALSE(bare.scheme.has_value());
    CHECK_FALSE(bare.authority.has_value());
    CHECK_FALSE(bare.query.has_value());
    CHECK_FALSE(bare.fragment.has_value());
    CHECK(pkg::io::split_url("file:///x").authority == "");
    CHECK_FALSE(pkg::io::split_url("1x:y").scheme.has_value());

    CHECK(pkg::io::last_path_segment("https://h/a/numpy-1.0%2Bcpu-py3-none-any.whl?x=1/2#y/z") ==
          "numpy-1.0+cpu-py3-none-any.whl");
    CHECK(pkg::io::last_path_segment("https://h/a/") == "");
    CHECK(pkg::io::last_path_segment("https://h") == "");
    CHECK(pkg::io::percent_decode("a%2b%2Bc%zz%4") == "a++c%zz%4");
    CHECK(pkg::io::percent_decode("a+b") == "a+b");
    CHECK(pkg::io::without_fragment("https://h/x#sha256=1") == "https://h/x");

    CHECK(pkg::io::redact_url("https://user:secret@index.example/simple/") ==
          "https://***@index.example/simple/");
    CHECK(pkg::io::redact_url("https://token@index.example/x") == "https://***@index.example/x");
    CHECK(pkg::io::redact_url("https://index.example/a@b") == "https://index.example/a@b");
}

TEST_CASE("resolve and resolve_url agree: one algorithm for the client and the index", "[url][http][index]")
{
    // Bases with and without queries, dot segments, ports, credentials and empty paths.
    const std::vector<std::string> bases = {
        "http://a/b/c/d;p?q",          "https://u:pw@h:8443/simple/black/",
        "https://h",                   "https://h/a/./b/../c/?x=1",
        "http://[::1]:8080/p/q",       "https://h/simple/black/index.html",
    };
    const std::vector<std::string> references = {
        "",     "g",      "./g",  "../g", "../../../../g", "/g",   "//g",     "//g:81/x/../y",
        "?y",   "#s",     "g?y#s", ".",    "..",           "g/./h", "https://x/y/../z",
        "g:h",  "/./g",   "g;x=1/../y",
    };
    for (const std::string& base_text : bases) {
        const auto base = pkg::io::url::parse(base_text);
        REQUIRE(base);
        for (const std::string& reference : references) {
            INFO("resolving '" << reference << "' against '" << base_text << "'");
            const auto strict = pkg::io::resolve(*base, reference);
            REQUIRE(strict);
            CHECK(strict->to_string() == resolved(base_text, reference));
            // Resolving a result again (as a reference to the same base) changes nothing.
            CHECK(resolved(base_text, strict->to_string()) == strict->to_string());
        }
    }
    // The http(s) normalisation: an authority with an empty path gets "/".
    const auto base = pkg::io::url::parse("http://a/b/c/d;p?q");
    REQUIRE(base);
    CHECK(pkg::io::resolve(*base, "//g")->to_string() == "http://g/");
    CHECK(pkg::io::resolve(*base, "//g")->request_target() == "/");
    // Other schemes keep an empty path (a file: URL has an authority, usually empty).
    CHECK(resolved("file:///srv/x", "//h") == "file://h");
    // Without an authority, a path that would start with "//" keeps reading as a path.
    CHECK(resolved("g:a/b", "..//x") == "g:/.//x");
    // The strict overload refuses what resolve_url cleans or escapes: a redirect's Location
    // must already be a URL.
    CHECK(resolved("https://h/a/", "b c") == "https://h/a/b%20c");
    const auto strict = pkg::io::resolve(*base, "b c");
    REQUIRE_FALSE(strict);
    CHECK(strict.error().code == pkg::io::http_errc::invalid_url);
}

TEST_CASE("resolve_url: errors quote the inputs and redact credentials", "[url][http][index]")
{
    auto r = pkg::io::resolve_url("//user:secret@index.example/simple/", "https://t:tok@h/x\x01y");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == pkg::io::http_errc::invalid_url);
    CHECK_THAT(r.error().message, Catch::Contains("the base URL has no scheme"));
    CHECK_THAT(r.error().message, Catch::Contains("\"https://***@h/x\\x01y\""));
    CHECK_THAT(r.error().message, Catch::Contains("\"//***@index.example/simple/\""));
    CHECK_THAT(r.error().message, !Catch::Contains("tok") && !Catch::Contains("secret"));
    // Long inputs are cut in the message.
    auto long_base = pkg::io::resolve_url(std::string(500, 'x'), "y");
    REQUIRE_FALSE(long_base);
    CHECK_THAT(long_base.error().message, Catch::Contains(std::string(200, 'x') + "\"..."));
    CHECK_THAT(long_base.error().message, !Catch::Contains(std::string(201, 'x')));
}

TEST_CASE("redact_url: scheme-relative and unparsable text", "[url][http][index]")
{
    CHECK(pkg::io::redact_url("//u:p@h/x") == "//***@h/x");
    CHECK(pkg::io::redact_url(" https://u:p@h/x") == " https://***@h/x");
    CHECK(pkg::io::redact_url("file:///u@x") == "file:///u@x");
    CHECK(pkg::io::redact_url("https://h?q=a@b") == "https://h?q=a@b");
    CHECK(pkg::io::redact_url("https://u:p@h#a@b") == "https://***@h#a@b");
}
