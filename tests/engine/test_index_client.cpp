// Tests of the index client (engine/src/index/index_client.*, http_cache.*, find_links.*,
// index_config.cpp): configuration precedence with a fake environment and temporary pip.conf
// files, the HTTP cache's entry format and freshness rules, and fetching pages from a loopback
// nginx (HTML over HTTP and HTTPS, ETag revalidation) and from the fault server's /files/ mode
// (tests/helpers/fault_server.cpp: any Content-Type, Cache-Control, ETag or status), with the
// server's request log proving which requests were (not) made.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <pkg/engine/errc.hpp>

#include "cache/cache.hpp"
#include "cache/index_key.hpp"
#include "http/http_client.hpp"
#include "http/http_errc.hpp"
#include "index/find_links.hpp"
#include "index/http_cache.hpp"
#include "index/index_client.hpp"
#include "runtime/fan_out.hpp"
#include "runtime/runtime.hpp"
#include "support/fault_server.hpp"
#include "support/files.hpp"
#include "support/nginx_fixture.hpp"
#include "support/run_task.hpp"

extern char** environ;

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;
using pkg::index::cache_outcome;
using pkg::index::http_cache_entry;
using pkg::index::index_client;
using pkg::index::index_config;
using pkg::test::read_text;
using pkg::test::scratch_dir;
using pkg::test::write_text;

namespace {

const std::string sha_a(64, 'a');
const std::string sha_b(64, 'b');

std::string html_page(const std::vector<std::string>& filenames, const std::string& prefix,
                      const std::string& sha = sha_a)
{
    std::string out = "<!DOCTYPE html>\n<html><body>\n";
    for (const auto& f : filenames) {
        out += "<a href=\"" + prefix + f + "#sha256=" + sha + "\">" + f + "</a><br>\n";
    }
    return out + "</body></html>\n";
}

std::string json_page(const std::string& name, const std::vector<std::string>& filenames,
                      const std::string& prefix)
{
    std::string out = R"({"meta":{"api-version":"1.1"},"name":")" + name + R"(","files":[)";
    for (std::size_t i = 0; i < filenames.size(); ++i) {
        out += (i ? "," : "") + std::string(R"({"filename":")") + filenames[i] + R"(","url":")" +
               prefix + filenames[i] + R"(","hashes":{"sha256":")" + sha_b + R"("}})";
    }
    return out + "]}";
}

const std::string json_type = "Content-Type: application/vnd.pypi.simple.v1+json";
const std::string html_type = "Content-Type: text/html";

// The fault server serving a document root under /files/ (see its file comment), started for
// one test.
class file_server {
public:
    file_server() : dir_("index-client", "files"), root_(make_root(dir_)), server_(root_) {}
    file_server(const file_server&) = delete;
    file_server& operator=(const file_server&) = delete;

    /// "http://127.0.0.1:<port>/files/<path>".
    std::string url(const std::string& path) const
    {
        return server_.url("/files/" + path);
    }
    /// Serves `body` at /files/<path> (a path ending in '/' is a directory's index) with
    /// `headers` ("Name: value" lines, "Status: N").
    void put(const std::string& path, const std::string& body,
             const std::vector<std::string>& headers = {}) const
    {
        const stdfs::path file = root_ / (path.ends_with("/") ? path + "index" : path);
        stdfs::create_directories(file.parent_path());
        write_text(file, body);
        std::string h;
        for (const auto& line : headers) {
            h += line + "\n";
        }
        write_text(stdfs::path(file.string() + ".headers"), h);
    }
    /// Request log lines ("<path> inm=<..> ims=<..>") for /files/<path>.
    std::vector<std::string> requests(const std::string& path) const
    {
        std::vector<std::string> out = raw_requests(path);
        for (auto& line : out) {
            line.erase(line.rfind(" accept="));
        }
        return out;
    }
    /// The Accept header of each request for /files/<path>.
    std::vector<std::string> accepts(const std::string& path) const
    {
        std::vector<std::string> out = raw_requests(path);
        for (auto& line : out) {
            line.erase(0, line.rfind(" accept=") + 8);
        }
        return out;
    }
    std::vector<std::string> raw_requests(const std::string& path) const
    {
        std::vector<std::string> out;
        const stdfs::path log = root_ / "requests.log";
        if (!stdfs::exists(log)) {
            return out;
        }
        std::istringstream in(read_text(log));
        std::string line;
        const std::string prefix = "/files/" + path + " ";
        while (std::getline(in, line)) {
            if (line.starts_with(prefix)) {
                out.push_back(line);
            }
        }
        return out;
    }
    std::size_t total_requests() const
    {
        const stdfs::path log = root_ / "requests.log";
        if (!stdfs::exists(log)) {
            return 0;
        }
        const std::string text = read_text(log);
        return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    }

private:
    static stdfs::path make_root(const scratch_dir& dir)
    {
        stdfs::create_directories(dir.path / "root");
        return dir.path / "root";
    }

    scratch_dir dir_;
    stdfs::path root_;
    pkg::test::fault_server server_;
};

// A runtime, an HTTP client and a cache; index clients made from them. Members are destroyed
// in reverse order: clients before the HTTP client before the runtime.
struct client_env {
    explicit client_env(const stdfs::path& cache_root, std::string ca_file = {})
        : rt(pkg::io::runtime::options{.cpu_threads = 1})
    {
        auto c = pkg::cache::cache::open(cache_root);
        REQUIRE(c);
        cache.emplace(std::move(*c));
        pkg::io::http_options options;
        options.connect_timeout = 2s;
        options.read_timeout = 5s;
        options.retries = 1;
        options.backoff_base = 1ms;
        options.backoff_cap = 2ms;
        options.ca_file = std::move(ca_file);
        http = std::make_unique<pkg::io::http_client>(rt.executor(), options);
    }
    ~client_env() { http.reset(); }

    std::unique_ptr<index_client> client(index_config config, index_client::options opts = {})
    {
        return std::make_unique<index_client>(*http, *cache, std::move(config), opts);
    }

    template <class T>
    T run(pkg::io::task<T> t)
    {
        return pkg::test::run_task(rt, std::move(t));
    }

    pkg::io::runtime rt;
    std::optional<pkg::cache::cache> cache;
    std::unique_ptr<pkg::io::http_client> http;
};

index_config indexes(std::vector<std::string> urls)
{
    index_config c;
    c.index_urls = std::move(urls);
    return c;
}

pkg::wheel::tag_list cp311()
{
    pkg::wheel::interpreter_description d;
    d.major = 3;
    d.minor = 11;
    d.glibc = std::pair{2u, 31u};
    return pkg::wheel::tag_list::for_interpreter(d);
}

pkg::pep440::version v(const std::string& text)
{
    auto parsed = pkg::pep440::version::parse(text);
    REQUIRE(parsed);
    return *parsed;
}

stdfs::path entry_file(const pkg::cache::cache& c, const std::string& index_url,
                       const std::string& name)
{
    return c.bucket(pkg::cache::simple_bucket) / pkg::cache::index_key(index_url) /
           (name + ".http");
}

using page_result =
    pkg::result<std::pair<std::string, std::shared_ptr<const pkg::index::project_page>>>;

}  // namespace

// ---------------------------------------------------------------------------------------------
// The HTTP cache on its own.

TEST_CASE("Cache-Control: max-age, no-cache, no-store, quoting and invalid values",
          "[httpcache]")
{
    using pkg::index::parse_cache_control;
    auto cc = parse_cache_control("max-age=600, public");
    REQUIRE(cc.max_age_seconds == 600u);
    CHECK_FALSE(cc.is_no_cache);
    CHECK_FALSE(cc.is_no_store);
    CHECK(parse_cache_control("Max-Age=\"30\"").max_age_seconds == 30u);
    CHECK_FALSE(parse_cache_control("").max_age_seconds);
    CHECK_FALSE(parse_cache_control("s-maxage=60").max_age_seconds);
    // Invalid or repeated max-age means stale (0), never "fresh forever".
    CHECK(parse_cache_control("max-age=abc").max_age_seconds == 0u);
    CHECK(parse_cache_control("max-age=-5").max_age_seconds == 0u);
    CHECK(parse_cache_control("max-age=60, max-age=600").max_age_seconds == 0u);
    CHECK(parse_cache_control("max-age=99999999999999999999").max_age_seconds == 0u);
    CHECK(parse_cache_control("NO-CACHE").is_no_cache);
    CHECK(parse_cache_control("no-cache=\"Set-Cookie, X\", max-age=5").is_no_cache);
    CHECK(parse_cache_control("no-cache=\"Set-Cookie, X\", max-age=5").max_age_seconds == 5u);
    CHECK(parse_cache_control("private, no-store").is_no_store);
    CHECK_FALSE(parse_cache_control("no-storex").is_no_store);
}

TEST_CASE("cache entries round-trip and the parser is strict", "[httpcache]")
{
    http_cache_entry e;
    e.status = 200;
    e.url = "https://example.test/simple/demo/";
    e.content_type = "text/html; charset=utf-8";
    e.etag = "W/\"abc\"";
    e.last_modified = "Sat, 21 Nov 2026 10:00:00 GMT";
    e.cache_control = "max-age=600";
    e.age_seconds = 12;
    e.received_unix_seconds = 1763750000;
    e.body = std::string("line1\nline2\n\0binary\r\n", 22);
    const std::string bytes = pkg::index::serialize_http_cache_entry(e);
    CHECK(bytes.starts_with("pkg-http-cache 1\nstatus: 200\nurl: https://example.test/simple/demo/\n"));
    auto back = pkg::index::parse_http_cache_entry(bytes, "x.http");
    REQUIRE(back);
    CHECK(*back == e);

    http_cache_entry missing;
    missing.status = 404;
    missing.url = "https://example.test/simple/nope/";
    auto m = pkg::index::parse_http_cache_entry(pkg::index::serialize_http_cache_entry(missing), "m");
    REQUIRE(m);
    CHECK(*m == missing);

    auto corrupt = [](std::string text) {
        auto r = pkg::index::parse_http_cache_entry(std::move(text), "/c/simple-v1/k/demo.http");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == pkg::errc::corrupt_cache_entry);
        CHECK(r.error().where == "/c/simple-v1/k/demo.http");
        return r.error().message;
    };
    // Truncated anywhere: inside the body, inside the head, before the first newline.
    CHECK_THAT(corrupt(bytes.substr(0, bytes.size() - 3)),
               Catch::Contains("body-bytes says 22 but 19 bytes follow") &&
                   Catch::Contains("truncated"));
    CHECK_THAT(corrupt(bytes.substr(0, 60)), Catch::Contains("truncated"));
    CHECK_THAT(corrupt("pkg-http-ca"), Catch::Contains("no complete first line"));
    CHECK_THAT(corrupt(""), Catch::Contains("no complete first line"));
    // Extra bytes after the body.
    CHECK_THAT(corrupt(bytes + "x"), Catch::Contains("23 bytes follow"));
    // Another version, garbage.
    std::string v2 = bytes;
    v2.replace(0, 16, "pkg-http-cache 2");
    CHECK_THAT(corrupt(v2), Catch::Contains("\"pkg-http-cache 2\"") &&
                                Catch::Contains("another format version"));
    CHECK_THAT(corrupt("\x7f" "ELF\x01\x02\n garbage"), Catch::Contains("first line is"));
    // Keys out of order, missing, unknown; bad numbers; bad status.
    auto replace = [&bytes](const std::string& from, const std::string& to) {
        std::string s = bytes;
        const auto at = s.find(from);
        REQUIRE(at != std::string::npos);
        s.replace(at, from.size(), to);
        return s;
    };
    CHECK_THAT(corrupt(replace("etag: ", "etog: ")), Catch::Contains("expected the \"etag\" line"));
    CHECK_THAT(corrupt(replace("status: 200", "status: 500")),
               Catch::Contains("not 200, 404 or 410"));
    CHECK_THAT(corrupt(replace("age: 12", "age: 1x")), Catch::Contains("age \"1x\" is not a number"));
    CHECK_THAT(corrupt(replace("received: 1763750000", "received: ")),
               Catch::Contains("received"));
    CHECK_THAT(corrupt(replace("body-bytes: 22", "body-bytes: +22")),
               Catch::Contains("body-bytes"));
    CHECK_THAT(corrupt(replace("\n\nline1", "\nx\nline1")), Catch::Contains("no blank line"));
    CHECK_THAT(corrupt(replace("url: https://example.test/simple/demo/", "url: ")),
               Catch::Contains("without a url"));
    CHECK_THAT(corrupt(replace("etag: W/\"abc\"", "etag: a\rb")),
               Catch::Contains("control character"));
    // A 404 entry with a body.
    std::string nf = pkg::index::serialize_http_cache_entry(missing);
    nf.replace(nf.find("body-bytes: 0"), 13, "body-bytes: 1");
    CHECK_THAT(corrupt(nf + "x"), Catch::Contains("a 404 entry with a body"));

    // Header values that could break the format are written empty.
    http_cache_entry odd = e;
    odd.etag = "a\nb";
    auto o = pkg::index::parse_http_cache_entry(pkg::index::serialize_http_cache_entry(odd), "o");
    REQUIRE(o);
    CHECK(o->etag.empty());
}

TEST_CASE("freshness: max-age against received time and Age, no-cache, no max-age is stale",
          "[httpcache]")
{
    using std::chrono::system_clock;
    http_cache_entry e;
    e.received_unix_seconds = 1'000'000;
    const auto at = [](std::int64_t unix_seconds) {
        return system_clock::time_point(std::chrono::seconds(unix_seconds));
    };
    e.cache_control = "max-age=600";
    CHECK(pkg::index::is_fresh(e, at(1'000'000)));
    CHECK(pkg::index::is_fresh(e, at(1'000'599)));
    CHECK_FALSE(pkg::index::is_fresh(e, at(1'000'600)));
    e.age_seconds = 100;  // the response was already 100 s old when received
    CHECK(pkg::index::is_fresh(e, at(1'000'499)));
    CHECK_FALSE(pkg::index::is_fresh(e, at(1'000'500)));
    e.age_seconds = 0;
    CHECK(pkg::index::is_fresh(e, at(999'000)));  // clock went back: counts as just received
    e.cache_control = "max-age=600, no-cache";
    CHECK_FALSE(pkg::index::is_fresh(e, at(1'000'000)));
    e.cache_control = "no-store, max-age=600";
    CHECK_FALSE(pkg::index::is_fresh(e, at(1'000'000)));
    e.cache_control = "";
    CHECK_FALSE(pkg::index::is_fresh(e, at(1'000'000)));
    e.cache_control = "max-age=0";
    CHECK_FALSE(pkg::index::is_fresh(e, at(1'000'000)));
    e.cache_control = "max-age=18446744073709551615";
    e.age_seconds = 18446744073709551615u;
    CHECK_FALSE(pkg::index::is_fresh(e, at(1'000'001)));  // overflow is not "fresh"
}

TEST_CASE("URLs lose their credentials before they reach the disk", "[httpcache]")
{
    CHECK(pkg::index::strip_url_credentials("https://user:secret@host.test/simple/") ==
          "https://host.test/simple/");
    CHECK(pkg::index::strip_url_credentials("https://***@host.test/simple/x/") ==
          "https://host.test/simple/x/");
    CHECK(pkg::index::strip_url_credentials("http://host.test:8080/a?b") ==
          "http://host.test:8080/a?b");
}

// ---------------------------------------------------------------------------------------------
// Configuration.

namespace {

struct fake_env {
    std::map<std::string, std::string, std::less<>> vars;
    std::function<std::optional<std::string>(std::string_view)> fn() const
    {
        return [this](std::string_view name) -> std::optional<std::string> {
            if (auto it = vars.find(name); it != vars.end()) {
                return it->second;
            }
            return std::nullopt;
        };
    }
};

}  // namespace

TEST_CASE("index configuration: flags, lockfiles, PKG_*, PIP_*, pip.conf in that order",
          "[index][config]")
{
    scratch_dir dir("index-client", "config");
    const stdfs::path etc = dir.path / "etc";
    const stdfs::path home = dir.path / "home";
    stdfs::create_directories(etc);
    stdfs::create_directories(home / ".config" / "pip");
    stdfs::create_directories(home / ".pip");
    fake_env env;
    env.vars["HOME"] = home.string();
    pkg::index_options flags;
    auto resolve = [&](const std::vector<const pkg::lockfile::requirements_file*>& files = {},
                       bool need_index = true) {
        return pkg::index::resolve_index_config(flags, files, env.fn(), dir.path, need_index, etc);
    };

    SECTION("nothing configured: a clear error that says how to configure one")
    {
        auto r = resolve();
        REQUIRE_FALSE(r);
        CHECK(r.error().code == pkg::errc::no_index_configured);
        CHECK_THAT(r.error().message, Catch::Contains("no package index configured"));
        CHECK_THAT(r.error().hint, Catch::Contains("--index-url URL") &&
                                       Catch::Contains("PKG_INDEX_URL") &&
                                       Catch::Contains("PIP_INDEX_URL") &&
                                       Catch::Contains("pip.conf") &&
                                       Catch::Contains("--find-links DIR with --no-index"));
        auto lenient = resolve({}, false);
        REQUIRE(lenient);
        CHECK(lenient->index_urls.empty());
    }

    SECTION("each source in turn, higher ones winning")
    {
        write_text(etc / "pip.conf", "[global]\nindex-url = https://etc.test/simple/\n");
        auto r = resolve();
        REQUIRE(r);
        CHECK(r->index_urls == std::vector<std::string>{"https://etc.test/simple/"});

        // A user file beats the system file; [install] beats [global] even from a lower file.
        write_text(home / ".config" / "pip" / "pip.conf",
                   "# user config\n[global]\nindex_url: https://user.test/simple/\n");
        r = resolve();
        REQUIRE(r);
        CHECK(r->index_urls == std::vector<std::string>{"https://user.test/simple/"});
        write_text(etc / "pip.conf", "[install]\nindex-url = https://etc-install.test/simple/\n");
        r = resolve();
        REQUIRE(r);
        CHECK(r->index_urls == std::vector<std::string>{"https://etc-install.test/simple/"});

        env.vars["PIP_INDEX_URL"] = "https://pip-env.test/simple/";
        r = resolve();
        REQUIRE(r);
        CHECK(r->index_urls == std::vector<std::string>{"https://pip-env.test/simple/"});

        env.vars["PKG_INDEX_URL"] = "https://pkg-env.test/simple/";
        r = resolve();
        REQUIRE(r);
        CHECK(r->index_urls == std::vector<std::string>{"https://pkg-env.test/simple/"});

        pkg::lockfile::requirements_file a;
        a.index_url = "https://file-a.test/simple/";
        pkg::lockfile::requirements_file b;
        b.index_url = "https://file-b.test/simple/";
        pkg::lockfile::requirements_file none;
        r = resolve({&a, &b, &none});
        REQUIRE(r);
        CHECK(r->index_urls == std::vector<std::string>{"https://file-b.test/simple/"});

        flags.index_url = "https://flag.test/simple/";
        r = resolve({&a, &b});
        REQUIRE(r);
        CHECK(r->index_urls == std::vector<std::string>{"https://flag.test/simple/"});
    }

    SECTION("PIP_CONFIG_FILE wins over the other files and hides the user files; /dev/null reads none")
    {
        write_text(etc / "pip.conf",
                   "[global]\nindex-url = https://etc.test/simple/\n"
                   "extra-index-url = https://etc-extra.test/simple/\n");
        write_text(home / ".pip" / "pip.conf",
                   "[global]\nextra-index-url = https://legacy-user.test/simple/\n");
        write_text(dir.path / "mine.conf", "[global]\nindex-url = https://mine.test/simple/\n");
        env.vars["PIP_CONFIG_FILE"] = "mine.conf";  // relative: against cwd
        auto r = resolve();
        REQUIRE(r);
        CHECK(r->index_urls == std::vector<std::string>{"https://mine.test/simple/",
                                                        "https://etc-extra.test/simple/"});
        env.vars["PIP_CONFIG_FILE"] = (dir.path / "absent.conf").string();
        r = resolve();
        REQUIRE(r);
        // Per key, the later file wins: the user file's extra-index-url replaces /etc's.
        CHECK(r->index_urls == std::vector<std::string>{"https://etc.test/simple/",
                                                        "https://legacy-user.test/simple/"});
        env.vars["PIP_CONFIG_FILE"] = "/dev/null";
        r = resolve();
        REQUIRE_FALSE(r);
        CHECK(r.error().code == pkg::errc::no_index_configured);
    }

    SECTION("XDG_CONFIG_HOME and XDG_CONFIG_DIRS")
    {
        stdfs::create_directories(dir.path / "xdg-home" / "pip");
        stdfs::create_directories(dir.path / "xdg-dir" / "pip");
        write_text(dir.path / "xdg-dir" / "pip" / "pip.conf",
                   "[global]\nindex-url = https://xdg-dir.test/simple/\n");
        env.vars["XDG_CONFIG_DIRS"] = (dir.path / "nowhere").string() + ":" +
                                      (dir.path / "xdg-dir").string();
        auto r = resolve();
        REQUIRE(r);
        CHECK(r->index_urls == std::vector<std::string>{"https://xdg-dir.test/simple/"});
        write_text(dir.path / "xdg-home" / "pip" / "pip.conf",
                   "[global]\nindex-url = https://xdg-home.test/simple/\n");
        env.vars["XDG_CONFIG_HOME"] = (dir.path / "xdg-home").string();
        r = resolve();
        REQUIRE(r);
        CHECK(r->index_urls == std::vector<std::string>{"https://xdg-home.test/simple/"});
    }

    SECTION("extras from every source, multi-line values, duplicates removed by canonical form")
    {
        write_text(etc / "pip.conf",
                   "[global]\n"
                   "index-url = https://primary.test/simple/\n"
                   "extra-index-url =\n"
                   "    https://conf-1.test/simple/\n"
                   "\thttps://conf-2.test/simple/   https://CONF-1.test:443/simple\n"
                   "; a comment\n"
                   "[download]\nindex-url = https://ignored.test/simple/\n");
        env.vars["PIP_EXTRA_INDEX_URL"] = "  https://pip-1.test/simple/ https://pip-2.test/simple/ ";
        env.vars["PKG_EXTRA_INDEX_URL"] = "https://pkg-1.test/simple/";
        pkg::lockfile::requirements_file f;
        f.extra_index_urls = {"https://file.test/simple/", "https://primary.test/simple"};
        flags.extra_index_urls = {"https://flag.test/simple/"};
        auto r = resolve({&f});
        REQUIRE(r);
        CHECK(r->index_urls == std::vector<std::string>{
                                   "https://primary.test/simple/", "https://flag.test/simple/",
                                   "https://file.test/simple/", "https://pkg-1.test/simple/",
                                   "https://pip-1.test/simple/", "https://pip-2.test/simple/",
                                   "https://conf-1.test/simple/", "https://conf-2.test/simple/"});
        CHECK_FALSE(r->no_index);
    }

    SECTION("find-links: relative paths against cwd, file: URLs, http URLs; --no-index drops indexes")
    {
        flags.index_url = "https://primary.test/simple/";
        flags.find_links = {"wheels", "file:///opt/wh%20eels/", "https://links.test/page.html"};
        env.vars["PIP_FIND_LINKS"] = "/abs/one ../two";
        pkg::lockfile::requirements_file f;
        f.find_links = {"/from/file", "wheels"};
        write_text(etc / "pip.conf", "[install]\nfind-links = conf-dir\nno-index = yes\n");
        auto r = resolve({&f});
        REQUIRE(r);
        CHECK(r->no_index);
        CHECK(r->index_urls.empty());
        CHECK(r->find_links ==
              std::vector<std::string>{(dir.path / "wheels").string(), "/opt/wh eels/",
                                       "https://links.test/page.html", "/from/file", "/abs/one",
                                       (dir.path.parent_path() / "two").string(),
                                       (dir.path / "conf-dir").string()});
    }

    SECTION("no-index from the environment, with pip's yes/no words")
    {
        flags.index_url = "https://primary.test/simple/";
        flags.find_links = {"/w"};
        env.vars["PIP_NO_INDEX"] = "off";
        auto r = resolve();
        REQUIRE(r);
        CHECK_FALSE(r->no_index);
        CHECK(r->index_urls.size() == 1);
        env.vars["PKG_NO_INDEX"] = "TRUE";
        r = resolve();
        REQUIRE(r);
        CHECK(r->no_index);
        CHECK(r->index_urls.empty());
        env.vars["PKG_NO_INDEX"] = "maybe";
        r = resolve();
        REQUIRE_FALSE(r);
        CHECK(r.error().code == std::errc::invalid_argument);
        CHECK_THAT(r.error().message, Catch::Contains("PKG_NO_INDEX") && Catch::Contains("\"maybe\""));
    }

    SECTION("--no-index without find-links says so")
    {
        flags.no_index = true;
        flags.index_url = "https://primary.test/simple/";
        auto r = resolve();
        REQUIRE_FALSE(r);
        CHECK(r.error().code == pkg::errc::no_index_configured);
        CHECK_THAT(r.error().message, Catch::Contains("--no-index"));
        CHECK_THAT(r.error().hint, Catch::Contains("--find-links DIR"));
    }

    SECTION("bad URLs and bad pip.conf lines are errors that say where they came from")
    {
        env.vars["PIP_INDEX_URL"] = "ftp://user:secret@mirror.test/simple/";
        auto r = resolve();
        REQUIRE_FALSE(r);
        CHECK(r.error().code == pkg::errc::invalid_url);
        CHECK_THAT(r.error().message, Catch::Contains("PIP_INDEX_URL") &&
                                          Catch::Contains("ftp://***@mirror.test/simple/"));
        CHECK_THAT(r.error().message, !Catch::Contains("secret"));
        env.vars.erase("PIP_INDEX_URL");
        flags.find_links = {"s3://bucket/wheels"};
        flags.index_url = "https://ok.test/simple/";
        r = resolve();
        REQUIRE_FALSE(r);
        CHECK(r.error().code == pkg::errc::invalid_url);
        CHECK_THAT(r.error().message, Catch::Contains("--find-links") && Catch::Contains("s3://"));
        flags.find_links.clear();
        write_text(etc / "pip.conf", "[global]\nindex-url = https://a.test/\nthis is not ini\n");
        r = resolve();
        REQUIRE_FALSE(r);
        CHECK(r.error().code == std::errc::invalid_argument);
        CHECK(r.error().where == (etc / "pip.conf").string() + ":3");
        CHECK_THAT(r.error().message, Catch::Contains("\"this is not ini\""));
        write_text(etc / "pip.conf", "index-url = https://a.test/\n");
        r = resolve();
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("before any [section]"));
        write_text(etc / "pip.conf", "[global]\nindex-url = not a url\n");
        flags.index_url.reset();
        r = resolve();
        REQUIRE_FALSE(r);
        CHECK(r.error().code == pkg::errc::invalid_url);
        CHECK(r.error().where == (etc / "pip.conf").string() + " [global] index-url");
    }
}

// ---------------------------------------------------------------------------------------------
// Fetching pages.

TEST_CASE("HTML pages from nginx over HTTP and HTTPS, ETag revalidation across runs",
          "[index][client]")
{
    const std::vector<std::string> files = {"demo-1.0-py3-none-any.whl",
                                            "demo-1.0-cp27-cp27mu-manylinux1_x86_64.whl",
                                            "demo-2.0-py3-none-any.whl", "demo-1.0.tar.gz"};
    pkg::test::nginx_fixture nginx({{"simple/demo/index.html", html_page(files, "../../packages/")}});
    scratch_dir cache_dir("index-client", "nginx");
    client_env env(cache_dir.path, nginx.ca_file());

    for (const std::string& index_url :
         {nginx.http_url("/simple"), nginx.https_url("/simple/")}) {
        INFO(index_url);
        auto client = env.client(indexes({index_url}));
        auto found = env.run(client->async_find_wheel("Demo", v("1.0"), cp311(), {}));
        REQUIRE(found);
        CHECK(found->index_url == index_url);
        CHECK_FALSE(found->local_path);
        CHECK(found->chosen.file.filename == "demo-1.0-py3-none-any.whl");
        const std::string origin = index_url.substr(0, index_url.find("/simple"));
        CHECK(found->chosen.file.url == origin + "/packages/demo-1.0-py3-none-any.whl");
        CHECK(found->chosen.file.hashes.at("sha256") == sha_a);
        CHECK(client->stats().pages_fetched == 1);
        // The entry holds the page and nginx's validators; no max-age: stale next time.
        auto entry = pkg::index::parse_http_cache_entry(
            read_text(entry_file(*env.cache, index_url, "demo")), "e");
        REQUIRE(entry);
        CHECK(entry->status == 200);
        CHECK(entry->url == origin + "/simple/demo/");
        CHECK_FALSE(entry->etag.empty());
        CHECK_FALSE(entry->last_modified.empty());
        CHECK_THAT(entry->content_type, Catch::StartsWith("text/html"));

        // A second run revalidates: 304, the page reused.
        auto again = env.client(indexes({index_url}));
        auto page = env.run(again->async_project_page("demo"));
        REQUIRE(page);
        CHECK(page->first == index_url);
        CHECK(page->second->files.size() == 4);
        CHECK(again->stats().pages_revalidated == 1);
        CHECK(again->stats().pages_fetched == 0);
        CHECK(again->stats().pages_from_cache == 0);
    }
}

TEST_CASE("JSON pages: negotiated Content-Type, hashes, one slash between index and name",
          "[index][client]")
{
    file_server server;
    server.put("idx/demo/", json_page("demo", {"demo-1.0-py3-none-any.whl"}, "/files/pkgs/"),
               {json_type});
    scratch_dir cache_dir("index-client", "json");
    client_env env(cache_dir.path);
    auto client = env.client(indexes({server.url("idx///")}));
    auto found = env.run(client->async_find_wheel("demo", v("1.0"), cp311(), {}));
    REQUIRE(found);
    CHECK(found->chosen.file.url ==
          server.url("pkgs/demo-1.0-py3-none-any.whl"));
    CHECK(found->chosen.file.hashes.at("sha256") == sha_b);
    CHECK(server.requests("idx/demo/").size() == 1);
    // The page was asked for at .../idx/demo/ exactly, and the Accept header prefers JSON.
    CHECK(server.total_requests() == 1);
    // A query on the index URL (a token some private indexes use) stays at the end.
    auto with_query = env.client(indexes({server.url("idx/?token=abc")}));
    auto page = env.run(with_query->async_project_page("demo"));
    REQUIRE(page);
    CHECK(page->second->url == server.url("idx/demo/?token=abc"));
    CHECK(server.requests("idx/demo/").size() == 2);
    auto bad = env.run(with_query->async_project_page("not a name"));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == pkg::errc::invalid_name);
    CHECK(server.accepts("idx/demo/") ==
          std::vector<std::string>(2, "application/vnd.pypi.simple.v1+json, "
                                      "application/vnd.pypi.simple.v1+html;q=0.2, "
                                      "text/html;q=0.01"));
}

TEST_CASE("index order: the first index that has the project wins, errors stop the search",
          "[index][client]")
{
    file_server server;
    const std::string first = server.url("one/");
    const std::string second = server.url("two/");
    scratch_dir cache_dir("index-client", "order");
    client_env env(cache_dir.path);

    SECTION("only on the second index")
    {
        server.put("two/demo/", html_page({"demo-1.0-py3-none-any.whl"}, "/files/two-pkgs/"),
                   {html_type});
        auto client = env.client(indexes({first, second}));
        auto found = env.run(client->async_find_wheel("demo", v("1.0"), cp311(), {}));
        REQUIRE(found);
        CHECK(found->index_url == second);
        CHECK(found->chosen.file.url == server.url("two-pkgs/demo-1.0-py3-none-any.whl"));
        CHECK(client->stats().pages_not_found == 1);
        CHECK(client->stats().pages_fetched == 1);
        // The 404 is recorded, so an offline run can skip the first index too.
        auto missing = pkg::index::parse_http_cache_entry(
            read_text(entry_file(*env.cache, first, "demo")), "e");
        REQUIRE(missing);
        CHECK(missing->status == 404);
        auto offline = env.client(indexes({first, second}), {.offline = true});
        auto page = env.run(offline->async_project_page("demo"));
        REQUIRE(page);
        CHECK(page->first == second);
        CHECK(offline->stats().pages_from_cache == 2);
        CHECK(server.requests("one/demo/").size() == 1);
        CHECK(server.requests("two/demo/").size() == 1);
    }

    SECTION("on both: the first wins and the second is never asked")
    {
        server.put("one/demo/", html_page({"demo-1.0-py3-none-any.whl"}, "/files/one-pkgs/"),
                   {html_type});
        server.put("two/demo/", html_page({"demo-1.0-py3-none-any.whl"}, "/files/two-pkgs/"),
                   {html_type});
        auto client = env.client(indexes({first, second}));
        auto found = env.run(client->async_find_wheel("demo", v("1.0"), cp311(), {}));
        REQUIRE(found);
        CHECK(found->index_url == first);
        CHECK(server.requests("two/demo/").empty());
    }

    SECTION("on the first without a compatible wheel: no fall-through to the second")
    {
        server.put("one/demo/", html_page({"demo-1.0-cp27-cp27mu-linux_x86_64.whl"}, "/p/"),
                   {html_type});
        server.put("two/demo/", html_page({"demo-1.0-py3-none-any.whl"}, "/p/"), {html_type});
        auto client = env.client(indexes({first, second}));
        auto found = env.run(client->async_find_wheel("demo", v("1.0"), cp311(), {}));
        REQUIRE_FALSE(found);
        CHECK(found.error().code == pkg::errc::no_compatible_wheel);
        CHECK_THAT(found.error().message, Catch::Contains("demo-1.0-cp27-cp27mu-linux_x86_64.whl"));
        CHECK(server.requests("two/demo/").empty());
    }

    SECTION("a 500 on the first index stops with that error")
    {
        server.put("one/demo/", "broken", {"Status: 500"});
        server.put("two/demo/", html_page({"demo-1.0-py3-none-any.whl"}, "/p/"), {html_type});
        auto client = env.client(indexes({first, second}));
        auto found = env.run(client->async_find_wheel("demo", v("1.0"), cp311(), {}));
        REQUIRE_FALSE(found);
        CHECK(found.error().code == pkg::io::http_errc::http_status);
        CHECK_THAT(found.error().message, Catch::Contains("500") && Catch::Contains(first));
        CHECK_THAT(found.error().hint, Catch::Contains("dependency confusion"));
        CHECK(server.requests("two/demo/").empty());
        CHECK_FALSE(stdfs::exists(entry_file(*env.cache, first, "demo")));
    }

    SECTION("404 everywhere: project_not_found listing the indexes asked")
    {
        auto client = env.client(indexes({first, "http://user:secret@127.0.0.1:" +
                                                     second.substr(17)}));
        auto found = env.run(client->async_find_wheel("demo", v("1.0"), cp311(), {}));
        REQUIRE_FALSE(found);
        CHECK(found.error().code == pkg::errc::project_not_found);
        CHECK_THAT(found.error().message, Catch::Contains(first) &&
                                              Catch::Contains("http://***@127.0.0.1:") &&
                                              Catch::Contains("'demo'"));
        CHECK_THAT(found.error().message, !Catch::Contains("secret"));
        CHECK(client->stats().pages_not_found == 2);
    }

    SECTION("a page that does not parse is an error and is not kept")
    {
        server.put("one/demo/", "{\"files\": 7}", {json_type});
        auto client = env.client(indexes({first, second}));
        auto page = env.run(client->async_project_page("demo"));
        REQUIRE_FALSE(page);
        CHECK(page.error().code == pkg::errc::invalid_index_page);
        CHECK_FALSE(stdfs::exists(entry_file(*env.cache, first, "demo")));
    }

    SECTION("a page larger than max_page_bytes is refused")
    {
        server.put("one/demo/", html_page({"demo-1.0-py3-none-any.whl"}, "/p/"), {html_type});
        auto client = env.client(indexes({first}), {.max_page_bytes = 20});
        auto page = env.run(client->async_project_page("demo"));
        REQUIRE_FALSE(page);
        CHECK(page.error().code == pkg::io::http_errc::too_large);
    }
}

TEST_CASE("HTTP cache through the client: fresh, stale, refresh, offline, no-store, no-cache",
          "[index][client][httpcache]")
{
    file_server server;
    const std::string index = server.url("idx/");
    scratch_dir cache_dir("index-client", "cache");
    client_env env(cache_dir.path);
    const std::string body = html_page({"demo-1.0-py3-none-any.whl"}, "/p/");
    auto fetch = [&](index_client::options opts = {}) {
        auto client = env.client(indexes({index}), opts);
        auto page = env.run(client->async_project_page("demo"));
        std::map<std::string, std::uint64_t> s{
            {"fetched", client->stats().pages_fetched},
            {"revalidated", client->stats().pages_revalidated},
            {"cached", client->stats().pages_from_cache},
        };
        return std::pair{std::move(page), s};
    };
    using counts = std::map<std::string, std::uint64_t>;

    SECTION("fresh (max-age) entries are used without a request")
    {
        server.put("idx/demo/", body, {html_type, "Cache-Control: max-age=600", "ETag: \"v1\""});
        auto [p1, s1] = fetch();
        REQUIRE(p1);
        CHECK(s1 == counts{{"fetched", 1}, {"revalidated", 0}, {"cached", 0}});
        auto [p2, s2] = fetch();
        REQUIRE(p2);
        CHECK(s2 == counts{{"fetched", 0}, {"revalidated", 0}, {"cached", 1}});
        CHECK(p2->second->files.size() == 1);
        CHECK(server.requests("idx/demo/").size() == 1);

        // --refresh revalidates a fresh entry: a conditional request, 304.
        auto [p3, s3] = fetch({.refresh = true});
        REQUIRE(p3);
        CHECK(s3 == counts{{"fetched", 0}, {"revalidated", 1}, {"cached", 0}});
        const auto log = server.requests("idx/demo/");
        REQUIRE(log.size() == 2);
        CHECK_THAT(log[1], Catch::Contains("inm=\"v1\""));

        // A server-side change seen on refresh: 200 with the new page replaces the entry.
        server.put("idx/demo/", html_page({"demo-2.0-py3-none-any.whl"}, "/p/"),
                   {html_type, "Cache-Control: max-age=600", "ETag: \"v2\""});
        auto [p4, s4] = fetch({.refresh = true});
        REQUIRE(p4);
        CHECK(s4 == counts{{"fetched", 1}, {"revalidated", 0}, {"cached", 0}});
        CHECK(p4->second->files.at(0).filename == "demo-2.0-py3-none-any.whl");
        auto entry = pkg::index::parse_http_cache_entry(
            read_text(entry_file(*env.cache, index, "demo")), "e");
        REQUIRE(entry);
        CHECK(entry->etag == "\"v2\"");
    }

    SECTION("stale entries are revalidated with If-None-Match and If-Modified-Since")
    {
        const std::string lm = "Sat, 21 Nov 2026 10:00:00 GMT";
        server.put("idx/demo/", body,
                   {html_type, "Cache-Control: max-age=0", "ETag: \"e1\"", "Last-Modified: " + lm});
        auto [p1, s1] = fetch();
        REQUIRE(p1);
        auto before = pkg::index::parse_http_cache_entry(
            read_text(entry_file(*env.cache, index, "demo")), "e");
        REQUIRE(before);
        // The server now says the page may be cached for a while: the 304 carries that.
        server.put("idx/demo/", body,
                   {html_type, "Cache-Control: max-age=900", "ETag: \"e1\"", "Last-Modified: " + lm});
        auto [p2, s2] = fetch();
        REQUIRE(p2);
        CHECK(s2 == counts{{"fetched", 0}, {"revalidated", 1}, {"cached", 0}});
        const auto log = server.requests("idx/demo/");
        REQUIRE(log.size() == 2);
        CHECK(log[0] == "/files/idx/demo/ inm= ims=");
        CHECK(log[1] == "/files/idx/demo/ inm=\"e1\" ims=" + lm);
        auto after = pkg::index::parse_http_cache_entry(
            read_text(entry_file(*env.cache, index, "demo")), "e");
        REQUIRE(after);
        CHECK(after->cache_control == "max-age=900");
        CHECK(after->received_unix_seconds >= before->received_unix_seconds);
        CHECK(after->body == before->body);
        auto [p3, s3] = fetch();
        REQUIRE(p3);
        CHECK(s3 == counts{{"fetched", 0}, {"revalidated", 0}, {"cached", 1}});
    }

    SECTION("no caching headers: revalidated every run (only Last-Modified here)")
    {
        server.put("idx/demo/", body, {html_type, "Last-Modified: Mon, 02 Nov 2026 08:00:00 GMT"});
        REQUIRE(fetch().first);
        auto [p2, s2] = fetch();
        REQUIRE(p2);
        CHECK(s2 == counts{{"fetched", 0}, {"revalidated", 1}, {"cached", 0}});
    }

    SECTION("no-cache is stored but always revalidated")
    {
        server.put("idx/demo/", body, {html_type, "Cache-Control: no-cache, max-age=600", "ETag: \"n\""});
        REQUIRE(fetch().first);
        CHECK(stdfs::exists(entry_file(*env.cache, index, "demo")));
        auto [p2, s2] = fetch();
        REQUIRE(p2);
        CHECK(s2 == counts{{"fetched", 0}, {"revalidated", 1}, {"cached", 0}});
    }

    SECTION("no-store is never written, and removes what was there")
    {
        server.put("idx/demo/", body, {html_type, "ETag: \"s\""});
        REQUIRE(fetch().first);
        REQUIRE(stdfs::exists(entry_file(*env.cache, index, "demo")));
        server.put("idx/demo/", body, {html_type, "Cache-Control: no-store"});
        auto [p2, s2] = fetch();
        REQUIRE(p2);
        CHECK(s2 == counts{{"fetched", 1}, {"revalidated", 0}, {"cached", 0}});
        CHECK_FALSE(stdfs::exists(entry_file(*env.cache, index, "demo")));
        auto [p3, s3] = fetch();
        REQUIRE(p3);
        CHECK(s3 == counts{{"fetched", 1}, {"revalidated", 0}, {"cached", 0}});
        CHECK_FALSE(stdfs::exists(entry_file(*env.cache, index, "demo")));
        const auto log = server.requests("idx/demo/");
        REQUIRE(log.size() == 3);
        CHECK(log[2] == "/files/idx/demo/ inm= ims=");
    }

    SECTION("offline: a stale entry is used; a miss fails naming the project and the index")
    {
        server.put("idx/demo/", body, {html_type, "Cache-Control: max-age=0"});
        REQUIRE(fetch().first);
        auto [p2, s2] = fetch({.offline = true});
        REQUIRE(p2);
        CHECK(s2 == counts{{"fetched", 0}, {"revalidated", 0}, {"cached", 1}});
        CHECK(server.requests("idx/demo/").size() == 1);

        auto client = env.client(indexes({index}), {.offline = true});
        auto miss = env.run(client->async_project_page("other-project"));
        REQUIRE_FALSE(miss);
        CHECK(miss.error().code == pkg::errc::offline_miss);
        CHECK_THAT(miss.error().message,
                   Catch::Contains("'other-project'") && Catch::Contains(index));
        CHECK_THAT(miss.error().message,
                   Catch::StartsWith("project 'other-project' from index " + index +
                                     ": not in the cache"));
        CHECK_THAT(miss.error().hint, Catch::Contains("--offline"));
        CHECK(server.requests("idx/other-project/").empty());
    }

    SECTION("corrupt entries are discarded and fetched again")
    {
        server.put("idx/demo/", body, {html_type, "Cache-Control: max-age=600", "ETag: \"c\""});
        REQUIRE(fetch().first);
        const stdfs::path file = entry_file(*env.cache, index, "demo");
        const std::string good = read_text(file);
        const std::vector<std::pair<std::string, std::string>> damage = {
            {"truncated body", good.substr(0, good.size() - 10)},
            {"truncated head", good.substr(0, 40)},
            {"garbage", std::string(300, '\x5a')},
            {"another version", "pkg-http-cache 9" + good.substr(16)},
            {"empty file", ""},
        };
        std::size_t requests = 1;
        for (const auto& [what, bytes] : damage) {
            INFO(what);
            write_text(file, bytes);
            auto [page, s] = fetch();
            REQUIRE(page);
            CHECK(s == counts{{"fetched", 1}, {"revalidated", 0}, {"cached", 0}});
            CHECK(page->second->files.size() == 1);
            const bool warned = std::any_of(
                page->second->warnings.begin(), page->second->warnings.end(),
                [](const std::string& w) { return w.find("discarded a corrupt cache entry") != std::string::npos; });
            CHECK(warned);
            // Refetched unconditionally, and the entry is whole again.
            const auto log = server.requests("idx/demo/");
            REQUIRE(log.size() == ++requests);
            CHECK(log.back() == "/files/idx/demo/ inm= ims=");
            CHECK(read_text(file).size() == good.size());
            CHECK(pkg::index::parse_http_cache_entry(read_text(file), "e"));
        }
        // Offline, a corrupt entry is a miss.
        write_text(file, "junk");
        auto [page, s] = fetch({.offline = true});
        REQUIRE_FALSE(page);
        CHECK(page.error().code == pkg::errc::offline_miss);
        CHECK_FALSE(stdfs::exists(file));
    }

    SECTION("an entry that cannot be written is a warning, not an error")
    {
        server.put("idx/demo/", body, {html_type, "Cache-Control: max-age=600"});
        // A file where the index's directory should be: nothing can be stored under it.
        const stdfs::path key_dir = entry_file(*env.cache, index, "demo").parent_path();
        write_text(key_dir, "in the way");
        auto [page, s] = fetch();
        REQUIRE(page);
        CHECK(s == counts{{"fetched", 1}, {"revalidated", 0}, {"cached", 0}});
        const auto& w = page->second->warnings;
        REQUIRE(w.size() == 1);
        CHECK_THAT(w[0], Catch::Contains(key_dir.string()) && Catch::Contains("not cached"));
        auto [again, s2] = fetch();
        REQUIRE(again);
        CHECK(s2 == counts{{"fetched", 1}, {"revalidated", 0}, {"cached", 0}});
    }

    SECTION("credentials in the index URL never reach the entry; links keep them")
    {
        server.put("idx/demo/", html_page({"demo-1.0-py3-none-any.whl"}, "../../pkgs/"),
                   {html_type, "ETag: \"cred\""});
        const std::string with_creds =
            "http://user:s3cr3t@" + index.substr(std::string("http://").size());
        auto client = env.client(indexes({with_creds}));
        auto page = env.run(client->async_project_page("demo"));
        REQUIRE(page);
        CHECK(page->second->files.at(0).url ==
              "http://user:s3cr3t@" +
                  server.url("pkgs/demo-1.0-py3-none-any.whl").substr(std::string("http://").size()));
        // Same index key as without credentials, and no secret on disk.
        const std::string stored = read_text(entry_file(*env.cache, index, "demo"));
        CHECK(stored.find("s3cr3t") == std::string::npos);
        CHECK(stored.find("user") == std::string::npos);
    }
}

TEST_CASE("twenty concurrent callers of one project share one request", "[index][client]")
{
    file_server server;
    server.put("idx/demo/", html_page({"demo-1.0-py3-none-any.whl"}, "/p/"), {html_type});
    server.put("idx/other/", html_page({"other-1.0-py3-none-any.whl"}, "/p/"), {html_type});
    scratch_dir cache_dir("index-client", "concurrent");
    client_env env(cache_dir.path);
    auto client = env.client(indexes({server.url("idx/")}));
    std::vector<pkg::io::task<page_result>> jobs;
    for (int i = 0; i < 20; ++i) {
        jobs.push_back(client->async_project_page(i % 2 == 0 ? "demo" : "Demo"));
    }
    jobs.push_back(client->async_project_page("other"));
    auto outcomes = env.run(pkg::io::async_collect(std::move(jobs)));
    REQUIRE(outcomes.size() == 21);
    for (std::size_t i = 0; i < 20; ++i) {
        REQUIRE(outcomes[i]);
        CHECK(outcomes[i]->second == outcomes[0]->second);  // the very same parsed page
    }
    REQUIRE(outcomes[20]);
    CHECK(outcomes[20]->second->files.at(0).filename == "other-1.0-py3-none-any.whl");
    CHECK(server.requests("idx/demo/").size() == 1);
    CHECK(server.requests("idx/other/").size() == 1);
    CHECK(client->stats().pages_fetched == 2);
}

TEST_CASE("find-links: local directories and HTML pages, before the indexes", "[index][client]")
{
    file_server server;
    scratch_dir work("index-client", "find-links");
    const stdfs::path wheels = work.path / "wheels";
    stdfs::create_directories(wheels);
    for (const char* name : {"demo-1.0-py3-none-any.whl", "demo-1.0-cp27-none-any.whl",
                             "Other_Project-3.0-py3-none-any.whl", "notes.txt"}) {
        write_text(wheels / name, "not really a wheel");
    }
    stdfs::create_directories(wheels / "sub-1.0-py3-none-any.whl");  // a directory: skipped
    stdfs::create_symlink(work.path / "nowhere.whl", wheels / "zz-1.0-py3-none-any.whl");  // dangling
    stdfs::create_symlink(wheels / "demo-1.0-py3-none-any.whl",
                          wheels / "linked-1.0-py3-none-any.whl");  // a link to a file: listed
    client_env env(work.path / "cache");

    SECTION("the listing and its synthetic pages")
    {
        auto listing = pkg::index::list_wheel_directory(wheels);
        REQUIRE(listing);
        CHECK(listing->filenames ==
              std::vector<std::string>{"Other_Project-3.0-py3-none-any.whl",
                                       "demo-1.0-cp27-none-any.whl", "demo-1.0-py3-none-any.whl",
                                       "linked-1.0-py3-none-any.whl"});
        auto page = pkg::index::local_project_page(*listing, "other-project");
        REQUIRE(page.files.size() == 1);
        CHECK(page.files[0].url == (wheels / "Other_Project-3.0-py3-none-any.whl").string());
        auto missing = pkg::index::list_wheel_directory(work.path / "absent");
        REQUIRE_FALSE(missing);
        CHECK(missing.error().code == std::errc::no_such_file_or_directory);
        CHECK(missing.error().where == (work.path / "absent").string());
    }

    SECTION("a local wheel wins without any request to the index")
    {
        index_config config = indexes({server.url("idx/")});
        config.find_links = {wheels.string()};
        auto client = env.client(config);
        auto found = env.run(client->async_find_wheel("demo", v("1.0"), cp311(), {}));
        REQUIRE(found);
        CHECK(found->index_url.empty());
        REQUIRE(found->local_path);
        CHECK(*found->local_path == wheels / "demo-1.0-py3-none-any.whl");
        CHECK(found->chosen.file.url == (wheels / "demo-1.0-py3-none-any.whl").string());
        auto other = env.run(client->async_find_wheel("other-project", v("3"), cp311(), {}));
        REQUIRE(other);
        CHECK(other->chosen.file.filename == "Other_Project-3.0-py3-none-any.whl");
        CHECK(server.total_requests() == 0);
    }

    SECTION("nothing usable locally: the index is asked")
    {
        server.put("idx/demo/", html_page({"demo-2.0-py3-none-any.whl"}, "/p/"), {html_type});
        index_config config = indexes({server.url("idx/")});
        config.find_links = {wheels.string()};
        auto client = env.client(config);
        auto found = env.run(client->async_find_wheel("demo", v("2.0"), cp311(), {}));
        REQUIRE(found);
        CHECK(found->index_url == server.url("idx/"));
        CHECK_FALSE(found->local_path);
        // Not anywhere: the find-links files explain more than "not found".
        auto none = env.run(client->async_find_wheel("demo", v("3.0"), cp311(), {}));
        REQUIRE_FALSE(none);
        CHECK(none.error().code == pkg::errc::no_compatible_wheel);
        CHECK_THAT(none.error().message, Catch::Contains("find-links"));
    }

    SECTION("--no-index: only find-links; a project without files is not found")
    {
        index_config config;
        config.no_index = true;
        config.find_links = {wheels.string()};
        auto client = env.client(config);
        auto bad = env.run(client->async_find_wheel("demo", v("1.5"), cp311(), {}));
        REQUIRE_FALSE(bad);
        CHECK(bad.error().code == pkg::errc::no_compatible_wheel);
        auto none = env.run(client->async_find_wheel("absent-project", v("1"), cp311(), {}));
        REQUIRE_FALSE(none);
        CHECK(none.error().code == pkg::errc::project_not_found);
        CHECK_THAT(none.error().message, Catch::Contains(wheels.string()));
    }

    SECTION("a missing directory is an error naming it")
    {
        index_config config;
        config.find_links = {(work.path / "gone").string()};
        auto client = env.client(config);
        auto r = env.run(client->async_find_wheel("demo", v("1.0"), cp311(), {}));
        REQUIRE_FALSE(r);
        CHECK(r.error().where == (work.path / "gone").string());
    }

    SECTION("an HTML find-links page listing several projects, fetched once and cached")
    {
        server.put("links.html",
                   html_page({"other-1.0-py3-none-any.whl", "demo-1.0-py3-none-any.whl",
                              "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"},
                             "dl/"),
                   {html_type, "Cache-Control: max-age=600"});
        index_config config;
        config.find_links = {server.url("links.html")};
        auto client = env.client(config);
        auto found = env.run(client->async_find_wheel("demo", v("1.0"), cp311(), {}));
        REQUIRE(found);
        CHECK(found->chosen.file.filename == "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl");
        CHECK(found->chosen.file.url ==
              server.url("dl/demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"));
        CHECK(found->index_url.empty());
        CHECK_FALSE(found->local_path);
        auto other = env.run(client->async_find_wheel("other", v("1.0"), cp311(), {}));
        REQUIRE(other);
        CHECK(server.requests("links.html").size() == 1);
        auto offline = env.client(config, {.offline = true});
        REQUIRE(env.run(offline->async_find_wheel("demo", v("1.0"), cp311(), {})));
        CHECK(offline->stats().pages_from_cache == 1);
        CHECK(server.requests("links.html").size() == 1);
    }
}
