#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <pkg/engine/errc.hpp>

#include "index/project_page.hpp"
#include "support/files.hpp"

using pkg::index::index_file;
using pkg::index::parse_project_page;
using pkg::index::parse_simple_html;
using pkg::index::parse_simple_json;
using pkg::index::project_page;

namespace {

std::string fixture(const std::string& name)
{
    return pkg::test::read_text(std::filesystem::path(PKG_TEST_SOURCE_DIR) / "data/index" / name);
}

project_page html(std::string_view body, std::string_view url = "https://index.example/simple/pkg/")
{
    auto page = parse_simple_html(body, url);
    INFO("HTML page: " << (page ? std::string("ok") : page.error().to_string()));
    REQUIRE(page.has_value());
    return std::move(*page);
}

project_page json(std::string_view body, std::string_view url = "https://index.example/simple/pkg/")
{
    auto page = parse_simple_json(body, url);
    INFO("JSON page: " << (page ? std::string("ok") : page.error().to_string()));
    REQUIRE(page.has_value());
    return std::move(*page);
}

pkg::error html_error(std::string_view body,
                      std::string_view url = "https://index.example/simple/pkg/")
{
    auto page = parse_simple_html(body, url);
    REQUIRE_FALSE(page.has_value());
    return page.error();
}

pkg::error json_error(std::string_view body,
                      std::string_view url = "https://index.example/simple/pkg/")
{
    auto page = parse_simple_json(body, url);
    REQUIRE_FALSE(page.has_value());
    return page.error();
}

std::string joined(const std::vector<std::string>& lines)
{
    std::string out;
    for (const std::string& line : lines) {
        out += line + "\n";
    }
    return out;
}

std::string anchor(std::string_view name, std::string_view attributes = {})
{
    return "<a href=\"" + std::string(name) + "\"" +
           (attributes.empty() ? "" : " " + std::string(attributes)) + ">" + std::string(name) +
           "</a>\n";
}

// An anchor whose href is the name plus `suffix` (a fragment) and whose text is the name.
std::string linked(std::string_view name, std::string_view suffix)
{
    return "<a href=\"" + std::string(name) + std::string(suffix) + "\">" + std::string(name) +
           "</a>\n";
}

} // namespace

TEST_CASE("PEP 503 HTML: a black-like page with hashes, metadata, requires-python and a yank",
          "[index]")
{
    const project_page page = html(fixture("black.html"), "https://index.example/simple/black/");
    CHECK(page.url == "https://index.example/simple/black/");
    CHECK(page.name.empty());
    CHECK(page.api.major == 1);
    CHECK(page.api.minor == 1);
    CHECK(page.warnings.empty());
    REQUIRE(page.files.size() == 7); // the commented-out anchor is not one

    const index_file& first = page.files[0];
    CHECK(first.filename == "black-23.12.1-py3-none-any.whl");
    CHECK(first.url == "https://files.example/packages/aa/bb/black-23.12.1-py3-none-any.whl");
    REQUIRE(first.hashes.size() == 1);
    CHECK(first.hashes.at("sha256") == std::string(64, '1'));
    CHECK(first.requires_python == ">=3.8");
    CHECK_FALSE(first.is_yanked);
    CHECK(first.core_metadata.is_available);
    CHECK(first.core_metadata.hashes.at("sha256") == std::string(64, '2'));
    CHECK_FALSE(first.size_bytes.has_value());
    CHECK_FALSE(first.upload_time.has_value());

    CHECK(page.files[1].filename == "black-23.12.1.tar.gz");
    CHECK_FALSE(page.files[1].core_metadata.is_available);
    CHECK(page.files[2].core_metadata.is_available);
    CHECK(page.files[2].core_metadata.hashes.empty());

    const index_file& yanked = page.files[4];
    CHECK(yanked.filename == "black-24.1.0-py3-none-any.whl");
    CHECK(yanked.is_yanked);
    CHECK(yanked.yank_reason == "Broken \"--preview\" handling, use 24.1.1");
    CHECK(page.files[6].core_metadata.hashes.at("sha256") == std::string(64, '9'));
}

TEST_CASE("PEP 503 HTML: a numpy-like page with <base>, mixed quoting and case", "[index]")
{
    const project_page page = html(fixture("numpy.html"), "https://index.example/simple/numpy/");
    REQUIRE(page.files.size() == 60);
    CHECK(page.api.minor == 0); // no meta: PEP 629 says 1.0
    CHECK(page.warnings.empty());
    for (const index_file& file : page.files) {
        INFO(file.filename);
        CHECK(file.url.starts_with("https://files.example/numpy/1.26."));
        CHECK(file.url.ends_with("/" + file.filename));
        CHECK(file.requires_python == ">=3.9");
        CHECK(file.hashes.count("sha256") == 1);
    }
    const auto it = std::find_if(page.files.begin(), page.files.end(), [](const index_file& f) {
        return f.filename ==
               "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
    });
    REQUIRE(it != page.files.end());
    CHECK(it->hashes.at("sha256") ==
          "58d79dd9872a1c7ff3b0b4ba716762b1f394a0b83edb9ecffe5cd488748409ff");
    CHECK(it->url == "https://files.example/numpy/1.26.4/" + it->filename);
}

TEST_CASE("PEP 503 HTML: relative and absolute links, <base> anywhere in the page", "[index]")
{
    const std::string body = joined({
        "<html><body>",
        "<a href=\"pkg-1.0-py3-none-any.whl\">pkg-1.0-py3-none-any.whl</a>",
        "<a href=\"../../files/pkg-1.1-py3-none-any.whl\">pkg-1.1-py3-none-any.whl</a>",
        "<a href=\"/abs/pkg-1.2-py3-none-any.whl\">pkg-1.2-py3-none-any.whl</a>",
        "<a href=\"//cdn.example/pkg-1.3-py3-none-any.whl\">pkg-1.3-py3-none-any.whl</a>",
        "<a href=\"https://files.example/pkg-1.4-py3-none-any.whl?token=x\">"
        "pkg-1.4-py3-none-any.whl</a>",
        "</body></html>",
    });
    const project_page page = html(body, "https://index.example/simple/pkg/");
    REQUIRE(page.files.size() == 5);
    CHECK(page.files[0].url == "https://index.example/simple/pkg/pkg-1.0-py3-none-any.whl");
    CHECK(page.files[1].url == "https://index.example/files/pkg-1.1-py3-none-any.whl");
    CHECK(page.files[2].url == "https://index.example/abs/pkg-1.2-py3-none-any.whl");
    CHECK(page.files[3].url == "https://cdn.example/pkg-1.3-py3-none-any.whl");
    CHECK(page.files[4].url == "https://files.example/pkg-1.4-py3-none-any.whl?token=x");
    CHECK(page.files[4].filename == "pkg-1.4-py3-none-any.whl");
    CHECK(page.warnings.empty());

    // <base href> is itself relative to the page, and applies to links before it too.
    const std::string with_base = joined({
        "<a href=\"pkg-1.0-py3-none-any.whl\">pkg-1.0-py3-none-any.whl</a>",
        "<base target=\"_self\"><base href=\"../../mirror/pkg/\"><base href=\"/ignored/\">",
        "<a href=\"pkg-1.1-py3-none-any.whl\">pkg-1.1-py3-none-any.whl</a>",
    });
    const project_page based = html(with_base, "https://index.example/simple/pkg/");
    REQUIRE(based.files.size() == 2);
    CHECK(based.files[0].url == "https://index.example/mirror/pkg/pkg-1.0-py3-none-any.whl");
    CHECK(based.files[1].url == "https://index.example/mirror/pkg/pkg-1.1-py3-none-any.whl");

    const project_page local = html(anchor("pkg-1.0.tar.gz"), "file:///srv/index/simple/pkg/");
    REQUIRE(local.files.size() == 1);
    CHECK(local.files[0].url == "file:///srv/index/simple/pkg/pkg-1.0.tar.gz");
}

TEST_CASE("PEP 503 HTML: entities, attribute syntax and markup that is not a file", "[index]")
{
    const std::string body = joined({
        "<!DOCTYPE html><?xml version=\"1.0\"?>",
        "<script>var s = '<a href=\"evil-1.0-py3-none-any.whl\">x</a>';</script>",
        "<STYLE>a::after { content: \"<a href=x>\" }</sTyLe>",
        "<p>1 < 2 & 3 > 2</p>",
        "<a name=anchor-only>no href here</a>",
        "<A HREF='pkg-1.0-py3-none-any.whl' Data-Yanked DATA-REQUIRES-PYTHON='&gt;=3.7,&lt;4'>"
        "  pkg&#45;1.0-py3-none-any.whl  </A>",
        "<a data-yanked=\"&#38;&#x27;&amp;&lt;&gt;&quot;&apos;&unknown;&#65&#x110000;&#0;&#;\""
        " href=pkg-1.1-py3-none-any.whl data-requires-python=&gt;=3.8>"
        "<span>pkg-1.1-py3-none-</span>any.whl</a>",
        "<a href=\"pkg-1.2-py3-none-any.whl\" href=\"other.whl\" data-yanked=\"\">"
        "pkg-1.2-py3-none-any.whl<a href=\"pkg-1.3-py3-none-any.whl\">pkg-1.3-py3-none-any.whl",
        "</body>",
        "<a/href=\"pkg-1.4-py3-none-any.whl\"/>pkg-1.4-py3-none-any.whl</a >",
    });
    const project_page page = html(body);
    REQUIRE(page.files.size() == 5);

    CHECK(page.files[0].filename == "pkg-1.0-py3-none-any.whl");
    CHECK(page.files[0].is_yanked);
    CHECK(page.files[0].yank_reason.empty());
    CHECK(page.files[0].requires_python == ">=3.7,<4");

    CHECK(page.files[1].filename == "pkg-1.1-py3-none-any.whl");
    CHECK(page.files[1].is_yanked);
    CHECK(page.files[1].yank_reason == "&'&<>\"'&unknown;A\xef\xbf\xbd\xef\xbf\xbd&#;");
    CHECK(page.files[1].requires_python == ">=3.8");

    CHECK(page.files[2].filename == "pkg-1.2-py3-none-any.whl"); // the first href wins
    CHECK(page.files[2].is_yanked);
    CHECK(page.files[3].filename == "pkg-1.3-py3-none-any.whl"); // closed by </body>
    CHECK_FALSE(page.files[3].is_yanked);
    CHECK(page.files[4].url == "https://index.example/simple/pkg/pkg-1.4-py3-none-any.whl");

    REQUIRE(page.warnings.size() == 1);
    CHECK_THAT(page.warnings[0], Catch::Contains("no href") &&
                                     Catch::Contains("\"no href here\"") &&
                                     Catch::Contains("https://index.example/simple/pkg/"));
}

TEST_CASE("PEP 503 HTML: link text that differs from the URL's filename", "[index]")
{
    const std::string body = joined({
        "<a href=\"/f/pkg-1.0%2Bcpu-py3-none-any.whl\">pkg-1.0+cpu-py3-none-any.whl</a>",
        "<a href=\"/f/pkg-1.1-cp311-cp311-linux_x86_64.whl\">pkg-1.1-py3-none-any.whl</a>",
        "<a href=\"/download?id=7\">pkg-1.2-py3-none-any.whl</a>",
        "<a href=\"/f/pkg-1.3-py3-none-any.whl\"></a>",
        "<a href=\"/f/\"> </a>",
    });
    const project_page page = html(body);
    REQUIRE(page.files.size() == 4);
    CHECK(page.files[0].filename == "pkg-1.0+cpu-py3-none-any.whl");
    CHECK(page.files[0].url == "https://index.example/f/pkg-1.0%2Bcpu-py3-none-any.whl");
    // A .whl URL names what is downloaded: it wins, with a warning.
    CHECK(page.files[1].filename == "pkg-1.1-cp311-cp311-linux_x86_64.whl");
    // A URL without a filename: the link text is all there is.
    CHECK(page.files[2].filename == "pkg-1.2-py3-none-any.whl");
    CHECK(page.files[2].url == "https://index.example/download?id=7");
    // Empty text: the URL names the file, silently.
    CHECK(page.files[3].filename == "pkg-1.3-py3-none-any.whl");

    REQUIRE(page.warnings.size() == 3);
    CHECK_THAT(page.warnings[0], Catch::Contains("\"pkg-1.1-py3-none-any.whl\"") &&
                                     Catch::Contains("\"pkg-1.1-cp311-cp311-linux_x86_64.whl\"") &&
                                     Catch::Contains("using the URL's"));
    CHECK_THAT(page.warnings[1],
               Catch::Contains("\"download\"") && Catch::Contains("using the link text"));
    CHECK_THAT(page.warnings[2], Catch::Contains("names no file"));
}

TEST_CASE("PEP 503 HTML: hashes in URL fragments", "[index]")
{
    const std::string sha256_upper(64, 'A');
    const std::string md5(32, 'b');
    const std::string body = joined({
        linked("a-1.0-py3-none-any.whl", "#sha256=" + sha256_upper),
        linked("b-1.0-py3-none-any.whl", "#md5=" + md5 + "&amp;sha256=" + std::string(64, 'c')),
        linked("c-1.0-py3-none-any.whl", "#sha256=xyz"),
        linked("d-1.0-py3-none-any.whl", "#sha256=" + std::string(63, 'd')),
        linked("e-1.0.tar.gz", "#egg=e&subdirectory=x&blake2b=00"),
    });
    const project_page page = html(body);
    REQUIRE(page.files.size() == 5);
    CHECK(page.files[0].filename == "a-1.0-py3-none-any.whl");
    CHECK(page.files[0].url == "https://index.example/simple/pkg/a-1.0-py3-none-any.whl");
    CHECK(page.files[0].hashes.at("sha256") == std::string(64, 'a'));
    CHECK(page.files[1].hashes.size() == 2);
    CHECK(page.files[1].hashes.at("md5") == md5);
    CHECK(page.files[1].hashes.at("sha256") == std::string(64, 'c'));
    CHECK(page.files[2].hashes.empty());
    CHECK(page.files[3].hashes.empty());
    CHECK(page.files[4].hashes.empty());
    REQUIRE(page.warnings.size() == 2);
    CHECK_THAT(page.warnings[0], Catch::Contains("\"xyz\"") &&
                                     Catch::Contains("c-1.0-py3-none-any.whl") &&
                                     Catch::Contains("64 hex digits"));
    CHECK_THAT(page.warnings[1], Catch::Contains("d-1.0-py3-none-any.whl"));
}

TEST_CASE("PEP 503 HTML: core metadata attributes (PEP 658 / PEP 714)", "[index]")
{
    const std::string body = joined({
        anchor("a-1.0-py3-none-any.whl", "data-dist-info-metadata=\"sha256=AB\""),
        anchor("b-1.0-py3-none-any.whl",
               "data-dist-info-metadata=\"sha256=aa\" data-core-metadata=\"sha512=bb\""),
        anchor("c-1.0-py3-none-any.whl", "data-core-metadata=\"false\""),
        anchor("d-1.0-py3-none-any.whl", "data-core-metadata"),
        anchor("e-1.0-py3-none-any.whl", "data-core-metadata=\"maybe\""),
        anchor("f-1.0-py3-none-any.whl"),
    });
    const project_page page = html(body);
    REQUIRE(page.files.size() == 6);
    CHECK(page.files[0].core_metadata.is_available);
    CHECK(page.files[0].core_metadata.hashes.at("sha256") == "ab");
    CHECK(page.files[1].core_metadata.hashes.size() == 1);
    CHECK(page.files[1].core_metadata.hashes.at("sha512") == "bb");
    CHECK_FALSE(page.files[2].core_metadata.is_available);
    CHECK(page.files[3].core_metadata.is_available);
    CHECK(page.files[3].core_metadata.hashes.empty());
    CHECK(page.files[4].core_metadata.is_available);
    CHECK_FALSE(page.files[5].core_metadata.is_available);
    REQUIRE(page.warnings.size() == 1);
    CHECK_THAT(page.warnings[0],
               Catch::Contains("\"maybe\"") && Catch::Contains("e-1.0-py3-none-any.whl"));
}

TEST_CASE("PEP 503 HTML: malformed pages are errors naming the page and the text", "[index]")
{
    const std::string url = "https://user:secret@index.example/simple/pkg/";
    struct bad_page {
        std::string body;
        std::string expected;
    };
    const std::vector<bad_page> cases = {
        {"<html><a href=\"pkg-1.0-py3-none-any.whl\"", "unterminated <a tag at byte 6"},
        {"<a href=\"pkg-1.0-py3-none-any.whl>pkg</a>", "unterminated quoted attribute value"},
        {"<a href=", "unterminated <a tag"},
        {"<a href=x.whl>x.whl</a><a href=y.whl>y.whl", "<a> element at byte 23"},
        {"<!-- a comment never closed <a href=x>x</a>", "unterminated comment at byte 0"},
        {"<!DOCTYPE html", "unterminated declaration"},
        {"<a href=x>x</a", "unterminated </a> end tag"},
        {"<script>document.write('<a href=x>')", "unterminated <script> element"},
    };
    for (const bad_page& c : cases) {
        INFO(c.body);
        const pkg::error e = html_error(c.body, url);
        CHECK(e.code == pkg::errc::invalid_index_page);
        CHECK_THAT(e.message, Catch::Contains(c.expected) && Catch::Contains("cut off"));
        CHECK(e.where == "https://***@index.example/simple/pkg/");
        CHECK_THAT(e.to_string(), !Catch::Contains("secret"));
    }
    // An empty body or one without anchors is an empty page, not an error.
    CHECK(html("").files.empty());
    CHECK(html("<html><body><h1>nothing</h1></body></html>").files.empty());

    // A long <base href> would be repeated in every link's URL: refused past 2048 bytes.
    const std::string long_base = "https://files.example/" + std::string(2048, 'b');
    CHECK(
        html("<base href=\"" + long_base.substr(0, 2048) + "\">" + anchor("x.whl")).files.size() ==
        1);
    const pkg::error too_long = html_error("<base href=\"" + long_base + "\">" + anchor("x.whl"));
    CHECK(too_long.code == pkg::errc::invalid_index_page);
    CHECK_THAT(too_long.message, Catch::Contains("<base href> of 2070 bytes") &&
                                     Catch::Contains("2048 bytes pkg accepts"));

    const auto no_scheme = parse_simple_html(anchor("x.whl"), "index.example/simple/pkg/");
    REQUIRE_FALSE(no_scheme.has_value());
    CHECK(no_scheme.error().code == pkg::errc::invalid_index_page);
    CHECK_THAT(no_scheme.error().message,
               Catch::Contains("\"x.whl\"") && Catch::Contains("no scheme"));
}

TEST_CASE("PEP 629 api-version in HTML and JSON", "[index]")
{
    const auto meta = [](std::string_view version) {
        return "<meta name=\"pypi:repository-version\" content=\"" + std::string(version) + "\">" +
               anchor("pkg-1.0-py3-none-any.whl");
    };
    const project_page v10 = html(meta("1.0"));
    CHECK(v10.api.minor == 0);
    CHECK(v10.warnings.empty());
    const project_page v13 = html(meta("1.3"));
    CHECK(v13.api.minor == 3);
    CHECK(v13.warnings.empty());
    const project_page v19 = html(meta("1.9"));
    CHECK(v19.api.minor == 9);
    REQUIRE(v19.warnings.size() == 1);
    CHECK_THAT(v19.warnings[0], Catch::Contains("1.9") && Catch::Contains("1.3"));
    CHECK(html("<META NAME=PYPI:REPOSITORY-VERSION CONTENT=1>").api.minor == 0);

    const pkg::error v2 = html_error(meta("2.0"));
    CHECK(v2.code == pkg::errc::unsupported_api_version);
    CHECK_THAT(v2.message, Catch::Contains("2.0") && Catch::Contains("major version 1 only"));
    CHECK(v2.where == "https://index.example/simple/pkg/");
    const pkg::error garbage = html_error(meta("one.zero"));
    CHECK(garbage.code == pkg::errc::unsupported_api_version);
    CHECK_THAT(garbage.message, Catch::Contains("\"one.zero\""));
    CHECK(html_error(meta("1.")).code == pkg::errc::unsupported_api_version);
    CHECK(html_error(meta("99999999999.0")).code == pkg::errc::unsupported_api_version);

    const project_page j15 = json(R"({"meta": {"api-version": "1.5"}, "files": []})");
    CHECK(j15.api.minor == 5);
    CHECK(j15.warnings.size() == 1);
    const project_page no_meta = json(R"({"name": "pkg", "files": []})");
    CHECK(no_meta.api.major == 1);
    CHECK(no_meta.api.minor == 0);
    // The version is checked before files, wherever "meta" sits: a v2 page fails as such.
    const pkg::error j2 =
        json_error(R"({"files": [{"a": "new shape"}], "meta": {"api-version": "2.0"}})");
    CHECK(j2.code == pkg::errc::unsupported_api_version);
    CHECK_THAT(j2.message, Catch::Contains("\"meta\".\"api-version\""));
}

TEST_CASE("PEP 691 JSON: a black-like page with every field", "[index]")
{
    const project_page page = json(fixture("black.json"), "https://index.example/simple/black/");
    CHECK(page.name == "black");
    CHECK(page.api.minor == 1);
    CHECK(page.versions == std::vector<std::string>{"23.12.1", "24.1.0", "24.2.0"});
    CHECK(page.warnings.empty());
    REQUIRE(page.files.size() == 7);

    const index_file& first = page.files[0];
    CHECK(first.filename == "black-23.12.1-py3-none-any.whl");
    CHECK(first.url == "https://files.example/packages/aa/bb/black-23.12.1-py3-none-any.whl");
    CHECK(first.hashes.at("sha256") == std::string(64, '1'));
    CHECK(first.requires_python == ">=3.8");
    CHECK(first.core_metadata.is_available);
    CHECK(first.core_metadata.hashes.at("sha256") == std::string(64, '2'));
    CHECK(first.size_bytes == 194721U);
    CHECK(first.upload_time == "2023-12-22T23:06:16.467941Z");
    CHECK_FALSE(first.is_yanked);

    const index_file& relative = page.files[2];
    CHECK(relative.url ==
          "https://index.example/packages/ee/ff/"
          "black-24.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
    CHECK(relative.hashes.size() == 2);
    CHECK(relative.hashes.at("blake2b_256") ==
          "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    CHECK(relative.core_metadata.is_available);
    CHECK(relative.core_metadata.hashes.empty());
    CHECK(relative.upload_time == "2024-01-26T00:00:00.000000Z");

    CHECK(page.files[3].url.starts_with("https://files.example/packages/gg/hh/"));
    CHECK_FALSE(page.files[3].upload_time.has_value());
    CHECK(page.files[4].is_yanked);
    CHECK(page.files[4].yank_reason == "Broken \"--preview\" handling, use 24.1.1");
    CHECK(page.files[5].requires_python.empty()); // null
    CHECK_FALSE(page.files[5].core_metadata.is_available);
    // Only the old PEP 658 key: still read.
    CHECK(page.files[6].core_metadata.is_available);
    CHECK(page.files[6].core_metadata.hashes.at("sha256") == std::string(64, '9'));
    CHECK(page.files[6].hashes.at("sha256") == std::string(64, '8'));
}

TEST_CASE("PEP 691 JSON: HTML and JSON forms of the same pages agree", "[index]")
{
    for (const std::string name : {"black", "numpy"}) {
        INFO(name);
        const std::string url = "https://index.example/simple/" + name + "/";
        const project_page from_html = html(fixture(name + ".html"), url);
        const project_page from_json = json(fixture(name + ".json"), url);
        REQUIRE(from_html.files.size() == from_json.files.size());
        for (std::size_t i = 0; i < from_html.files.size(); ++i) {
            const index_file& a = from_html.files[i];
            const index_file& b = from_json.files[i];
            INFO(a.filename);
            CHECK(a.filename == b.filename);
            CHECK(a.hashes.at("sha256") == b.hashes.at("sha256"));
            CHECK(a.is_yanked == b.is_yanked);
            CHECK(a.yank_reason == b.yank_reason);
            if (name == "numpy") {
                CHECK(a.url == b.url);
                CHECK(a.requires_python == b.requires_python);
            }
        }
    }
}

TEST_CASE("PEP 691 JSON: yanked, nulls, unknown keys, odd hashes", "[index]")
{
    const project_page page = json(R"({
      "meta": {"api-version": "1.0", "_last-serial": 5},
      "name": "pkg", "future-key": {"nested": [1, 2, {"x": null}]},
      "files": [
        {"url": "pkg-1.0-py3-none-any.whl", "filename": "pkg-1.0-py3-none-any.whl",
         "yanked": true, "upload-time": null, "hashes": {"BLAKE2B_256": "ABCDEF", "sha512": "not hex",
         "md5": "abc"}},
        {"filename": "pkg-1.1-py3-none-any.whl", "url": "https://files.example/p/pkg-1.1-py3-none-any.whl#sha256=00",
         "yanked": "", "requires-python": ">=3.9", "core-metadata": false,
         "dist-info-metadata": true, "unknown": [1]},
        {"filename": "pkg-1.2-py3-none-any.whl", "url": "/p/pkg-1.2-py3-none-any.whl", "yanked": false}
      ]})");
    REQUIRE(page.files.size() == 3);
    CHECK(page.files[0].url == "https://index.example/simple/pkg/pkg-1.0-py3-none-any.whl");
    CHECK(page.files[0].is_yanked);
    CHECK(page.files[0].yank_reason.empty());
    CHECK_FALSE(page.files[0].upload_time.has_value());
    CHECK(page.files[0].hashes.size() == 1);
    CHECK(page.files[0].hashes.at("blake2b_256") == "abcdef"); // no known length: kept
    REQUIRE(page.warnings.size() == 2);
    CHECK_THAT(page.warnings[0], Catch::Contains("sha512") && Catch::Contains("\"not hex\""));
    CHECK_THAT(page.warnings[1], Catch::Contains("md5") && Catch::Contains("\"abc\""));

    CHECK(page.files[1].url == "https://files.example/p/pkg-1.1-py3-none-any.whl");
    CHECK(page.files[1].hashes.empty()); // a JSON URL's fragment is not where hashes live
    CHECK(page.files[1].is_yanked);      // a string, even empty, means yanked
    CHECK_FALSE(page.files[1].core_metadata.is_available); // core-metadata wins (PEP 714)
    CHECK(page.files[2].url == "https://index.example/p/pkg-1.2-py3-none-any.whl");
    CHECK_FALSE(page.files[2].is_yanked);
}

TEST_CASE("PEP 691 JSON: malformed pages name the page and what is wrong", "[index]")
{
    const std::string url = "https://user:secret@index.example/simple/pkg/";
    struct bad_page {
        std::string body;
        std::string expected;
    };
    const std::vector<bad_page> cases = {
        {R"({"files": [{"filename": "a.whl", "url": "a.whl"})", "not valid JSON"},
        {"", "not valid JSON"},
        {"not json at all", "not a JSON object"},
        {"{\"files\": [}", "not valid JSON"},
        {R"([{"filename": "a.whl"}])", "not a JSON object"},
        {R"({"files": {}})", "\"files\" is an object, expected an array"},
        {R"({"files": [42]})", "files[0] is a number, expected an object"},
        {R"({"files": [{"url": "a.whl"}]})", "files[0] has no \"filename\""},
        {R"({"files": [{"filename": "a-1.0.tar.gz"}]})",
         "files[0] (\"a-1.0.tar.gz\") has no \"url\""},
        {R"({"files": [{"filename": "a.whl", "url": 7}]})",
         "files[0] (\"a.whl\").url is a number, expected a string"},
        {R"({"files": [{"filename": "a.whl", "url": "a.whl", "hashes": ["x"]}]})",
         "hashes is an array, expected an object"},
        {R"({"files": [{"filename": "a.whl", "url": "a.whl", "hashes": {"sha256": 1}}]})",
         "is a number, expected a string"},
        {R"({"files": [{"filename": "a.whl", "url": "a.whl", "size": -1}]})",
         "size must be a non-negative integer"},
        {R"({"files": [{"filename": "a.whl", "url": "a.whl", "size": 1.5}]})",
         "size must be a non-negative integer"},
        {R"({"files": [{"filename": "a.whl", "url": "a.whl", "yanked": 1}]})",
         "yanked is a number, expected a boolean or a string"},
        {R"({"files": [{"filename": "a.whl", "url": "a.whl", "core-metadata": "yes"}]})",
         "core-metadata is a string, expected a boolean or an object"},
        {R"({"files": [{"filename": "a.whl", "url": "a.whl", "requires-python": 3}]})",
         "requires-python is a number"},
        {R"({"files": [], "versions": "1.0"})", "\"versions\" is a string"},
        {R"({"files": [], "versions": [1]})", "an entry of \"versions\" is a number"},
        {R"({"name": 5, "files": []})", "\"name\" is a number"},
        {R"({"meta": [], "files": []})", "\"meta\" is an array"},
        {R"({"meta": {"api-version": 1.0}, "files": []})", "\"api-version\" is a number"},
        {R"({"files": []} {"files": []})", "content after the top-level JSON object"},
    };
    for (const bad_page& c : cases) {
        INFO(c.body);
        const pkg::error e = json_error(c.body, url);
        CHECK(e.code == pkg::errc::invalid_index_page);
        CHECK_THAT(e.message, Catch::Contains(c.expected));
        CHECK(e.where == "https://***@index.example/simple/pkg/");
    }
    const pkg::error bad_version = json_error(R"({"meta": {"api-version": "x"}, "files": []})");
    CHECK(bad_version.code == pkg::errc::unsupported_api_version);
}

TEST_CASE("Content-Type dispatch and the Accept header", "[index]")
{
    const std::string html_body = anchor("pkg-1.0-py3-none-any.whl");
    const std::string json_body =
        R"({"meta": {"api-version": "1.0"}, "files": [{"filename": "j.whl", "url": "j.whl"}]})";
    const std::string url = "https://index.example/simple/pkg/";

    const auto first_name = [&](std::string_view type, std::string_view body) {
        auto page = parse_project_page(type, body, url);
        INFO(type << ": " << (page ? std::string("ok") : page.error().to_string()));
        REQUIRE(page.has_value());
        REQUIRE(page->files.size() == 1);
        return page->files[0].filename;
    };
    CHECK(first_name("application/vnd.pypi.simple.v1+json", json_body) == "j.whl");
    CHECK(first_name("Application/VND.pypi.simple.v1+JSON ; charset=utf-8", json_body) == "j.whl");
    CHECK(first_name("application/vnd.pypi.simple.v1+html", html_body) ==
          "pkg-1.0-py3-none-any.whl");
    CHECK(first_name("text/html; charset=UTF-8", html_body) == "pkg-1.0-py3-none-any.whl");
    CHECK(first_name("", "  \n" + json_body) == "j.whl");
    CHECK(first_name("", html_body) == "pkg-1.0-py3-none-any.whl");

    const auto v2 = parse_project_page("application/vnd.pypi.simple.v2+json", json_body, url);
    REQUIRE_FALSE(v2.has_value());
    CHECK(v2.error().code == pkg::errc::unsupported_api_version);
    CHECK_THAT(v2.error().message, Catch::Contains("\"application/vnd.pypi.simple.v2+json\""));

    const auto other = parse_project_page("application/json", json_body, url);
    REQUIRE_FALSE(other.has_value());
    CHECK(other.error().code == pkg::errc::invalid_index_page);
    CHECK_THAT(other.error().message, Catch::Contains("\"application/json\""));
    CHECK(other.error().where == url);
    CHECK_FALSE(other.error().hint.empty());

    // A JSON body labelled as HTML parses as HTML: no anchors, an empty page.
    const auto mislabelled = parse_project_page("text/html", json_body, url);
    REQUIRE(mislabelled.has_value());
    CHECK(mislabelled->files.empty());

    CHECK(pkg::index::project_page_accept_header() ==
          "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
          "text/html;q=0.01");
}
