// Tests of the HTTP client (io/src/http): URL handling, the response parser, options from the
// environment, and every client behaviour against a fault-injecting server
// (tests/helpers/fault_server.cpp) and a real nginx over HTTP and HTTPS.

#include "http/http_client.hpp"
#include "http/http_errc.hpp"
#include "http/http_options.hpp"
#include "http/response_parser.hpp"
#include "http/url.hpp"
#include "support/fault_server.hpp"
#include "support/nginx_fixture.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace {

using namespace pkg::io;
using namespace std::chrono_literals;

using fault_server = pkg::test::fault_server;
fault_server& server();

char pattern_byte(std::size_t i) { return static_cast<char>((i * 31 + 7) % 251); }

std::string pattern(std::size_t n)
{
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += pattern_byte(i);
    }
    return out;
}

// Counts this process's open descriptors. Starts the fault server first: its stdin pipe is
// one descriptor that stays open for the whole test run.
int open_fd_count()
{
    (void)server();
    int n = 0;
    DIR* d = ::opendir("/proc/self/fd");
    while (const dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') {
            ++n;
        }
    }
    ::closedir(d);
    return n;
}


fault_server& server()
{
    static fault_server instance;
    return instance;
}

// Runs one task to completion on `ctx`, bounded so a hang fails the test instead of blocking.
template <class T>
T run(asio::io_context& ctx, task<T> work, std::chrono::seconds limit = 30s)
{
    std::optional<T> out;
    std::exception_ptr failure;
    asio::co_spawn(ctx, std::move(work), [&](std::exception_ptr e, T value) {
        failure = e;
        out = std::move(value);
    });
    ctx.restart();
    ctx.run_for(limit);
    if (failure) {
        std::rethrow_exception(failure);
    }
    if (!out) {
        throw std::runtime_error("task did not finish in time");
    }
    return std::move(*out);
}

// Small backoffs and timeouts so that every fault test finishes in well under a second or two.
http_options test_options()
{
    http_options o;
    o.user_agent = "pkg-test/1";
    o.connect_timeout = 2000ms;
    o.read_timeout = 2000ms;
    o.retries = 3;
    o.backoff_base = 1ms;
    o.backoff_cap = 5ms;
    o.retry_after_cap = 3000ms;
    return o;
}

// Records everything the client does to a sink.
class recording_sink final : public body_sink {
public:
    explicit recording_sink(bool is_resumable = true) : is_resumable_(is_resumable) {}

    task<pkg::result<void>> async_begin(const response_head& head) override
    {
        ++begins;
        last_head = head;
        co_return pkg::result<void>{};
    }
    task<pkg::result<void>> async_chunk(std::span<const std::byte> bytes) override
    {
        ++chunks;
        body.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        if (fail_after && body.size() >= *fail_after) {
            co_return pkg::fail(std::make_error_code(std::errc::no_space_on_device),
                                "disk full (scripted)", "sink");
        }
        co_return pkg::result<void>{};
    }
    task<pkg::result<void>> async_end() override
    {
        ++ends;
        co_return pkg::result<void>{};
    }
    void reset() override
    {
        ++resets;
        body.clear();
    }
    bool can_resume() const override { return is_resumable_; }
    std::uint64_t bytes_received() const override { return body.size(); }

    std::string body;
    int begins = 0;
    int chunks = 0;
    int ends = 0;
    int resets = 0;
    std::optional<std::size_t> fail_after;
    response_head last_head;

private:
    bool is_resumable_;
};

struct fetch_outcome {
    pkg::result<response_head> head;
    recording_sink sink;
};

pkg::result<text_response> get(const std::string& url, http_options options = test_options(),
                               std::size_t max_bytes = 64 << 20)
{
    asio::io_context ctx;
    http_client client(ctx.get_executor(), std::move(options));
    return run(ctx, client.async_get_string(url, max_bytes));
}

pkg::result<text_response> get(http_request request, http_options options = test_options(),
                               std::size_t max_bytes = 64 << 20)
{
    asio::io_context ctx;
    http_client client(ctx.get_executor(), std::move(options));
    return run(ctx, client.async_get_string(std::move(request), max_bytes));
}

std::string stats(const std::string& key)
{
    auto r = get(server().url("/stats?key=" + key));
    REQUIRE(r);
    return r->body;
}

// A unique suffix per test run so that per-path attempt counters start at zero.
std::string unique_id()
{
    static int n = 0;
    return "id=" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// URLs

TEST_CASE("url: parses components, IPv6, ports and rejects bad text", "[http][url]")
{
    auto u = url::parse("HTTPS://User:p%40ss@Files.Example.org:8443/a/b.whl?x=1#sha256=ab");
    REQUIRE(u);
    CHECK(u->scheme == "https");
    CHECK(u->userinfo == "User:p%40ss");
    CHECK(u->host == "files.example.org");
    CHECK(u->port_number() == 8443);
    CHECK(u->path == "/a/b.whl");
    CHECK(u->query == "x=1");
    CHECK(u->fragment == "sha256=ab");
    CHECK(u->origin() == "https://files.example.org:8443");
    CHECK(u->request_target() == "/a/b.whl?x=1");
    CHECK(u->redacted() == "https://***@files.example.org:8443/a/b.whl?x=1");
    CHECK(percent_decode("p%40ss") == "p@ss");

    auto v6 = url::parse("http://[::1]:8080");
    REQUIRE(v6);
    CHECK(v6->host == "[::1]");
    CHECK(v6->host_name() == "::1");
    CHECK(v6->request_target() == "/");
    CHECK(url::parse("http://example.org")->port_number() == 80);
    CHECK(url::parse("https://example.org")->host_port() == "example.org");
    CHECK(url::parse("http://example.org:81")->host_port() == "example.org:81");

    for (const char* bad : {"http://exa mple.org/", "http://h:99999/", "http://h:8x/", "http://[::1/",
                            "http://[zz]/", "/relative/only", "http:///nohost", "http://h\\x",
                            "https://u:p844://e.org/x"}) {
        auto r = url::parse(bad);
        INFO(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::invalid_url);
    }
    auto ftp = url::parse("ftp://user:secret@h/x");
    REQUIRE_FALSE(ftp);
    CHECK(ftp.error().code == http_errc::unsupported_scheme);
    CHECK(ftp.error().message.find("secret") == std::string::npos);
    auto bad_port = url::parse("http://user:hunter2@h:70000/");
    REQUIRE_FALSE(bad_port);
    CHECK(bad_port.error().message.find("hunter2") == std::string::npos);
    CHECK(bad_port.error().message.find("70000") != std::string::npos);
}

TEST_CASE("url: resolve follows RFC 3986 section 5.4", "[http][url]")
{
    const auto base = *url::parse_reference("http://a/b/c/d;p?q");
    const std::map<std::string, std::string> cases = {
        {"g:h", "g:h"}, {"g", "http://a/b/c/g"}, {"./g", "http://a/b/c/g"}, {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"}, {"//g", "http://g/"}, {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"}, {"#s", "http://a/b/c/d;p?q#s"}, {"g#s", "http://a/b/c/g#s"},
        {"g?y#s", "http://a/b/c/g?y#s"}, {";x", "http://a/b/c/;x"}, {"g;x", "http://a/b/c/g;x"},
        {"", "http://a/b/c/d;p?q"}, {".", "http://a/b/c/"}, {"./", "http://a/b/c/"},
        {"..", "http://a/b/"}, {"../", "http://a/b/"}, {"../g", "http://a/b/g"},
        {"../..", "http://a/"}, {"../../", "http://a/"}, {"../../g", "http://a/g"},
        {"../../../g", "http://a/g"}, {"../../../../g", "http://a/g"}, {"/./g", "http://a/g"},
        {"/../g", "http://a/g"}, {"g.", "http://a/b/c/g."}, {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."}, {"..g", "http://a/b/c/..g"}, {"./../g", "http://a/b/g"},
        {"./g/.", "http://a/b/c/g/"}, {"g/./h", "http://a/b/c/g/h"}, {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"}, {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"}, {"g#s/../x", "http://a/b/c/g#s/../x"},
    };
    for (const auto& [ref, expected] : cases) {
        auto r = resolve(base, ref);
        INFO("reference '" << ref << "'");
        REQUIRE(r);
        CHECK(r->to_string() == expected);
    }
    // Index pages: relative hrefs against a simple page with a trailing slash.
    auto page = *url::parse("https://user:pw@pypi.example/simple/black/");
    CHECK(resolve(page, "../../packages/b/black-24.1.0.whl#sha256=00")->redacted() ==
          "https://***@pypi.example/packages/b/black-24.1.0.whl");
    CHECK_FALSE(resolve(page, "bad link"));
}

TEST_CASE("url: redact_url hides credentials even in text that does not parse", "[http][url]")
{
    CHECK(redact_url("https://u:p@h/x") == "https://***@h/x");
    CHECK(redact_url("https://token@h:1/x@y") == "https://***@h:1/x@y");
    CHECK(redact_url("https://h/x?a=b@c") == "https://h/x?a=b@c");
    CHECK(redact_url("http://a b:c d@h") == "http://***@h");
    CHECK(redact_url("no scheme@here") == "no scheme@here");
}

// ---------------------------------------------------------------------------------------------
// The response parser on buffers (no sockets)

namespace {

struct parsed_message {
    response_head head;
    std::string body;
    bool is_complete = false;
    std::size_t consumed = 0;
};

std::span<const std::byte> bytes_of(std::string_view s)
{
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// Feeds `text` in pieces of `piece` bytes.
pkg::result<parsed_message> parse_in_pieces(std::string_view text, std::size_t piece,
                                            bool is_head = false, bool with_eof = false)
{
    response_parser p;
    p.begin(is_head);
    parsed_message out;
    std::size_t offset = 0;
    while (offset < text.size()) {
        const auto n = std::min(piece, text.size() - offset);
        auto step = p.feed(bytes_of(text.substr(offset, n)));
        if (!step) {
            return pkg::fail(step.error());
        }
        for (const auto& b : step->body) {
            out.body.append(reinterpret_cast<const char*>(b.data()), b.size());
        }
        out.consumed += step->consumed_bytes;
        if (step->reached == response_parser::state::message_complete) {
            out.is_complete = true;
            break;
        }
        offset += n;
    }
    if (!out.is_complete && with_eof) {
        out.is_complete = p.finish();
    }
    out.head = p.head();
    return out;
}

}  // namespace

TEST_CASE("response_parser: lengths, chunked, EOF bodies, HEAD, 1xx, split reads", "[http][parser]")
{
    const std::string fixed =
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Long-Header-Name: a value  \r\n\r\nhelloEXTRA";
    for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{7}, fixed.size()}) {
        auto m = parse_in_pieces(fixed, piece);
        INFO("piece " << piece);
        REQUIRE(m);
        CHECK(m->is_complete);
        CHECK(m->body == "hello");
        CHECK(m->head.status == 200);
        CHECK(m->head.reason == "OK");
        CHECK(m->head.content_length == 5u);
        CHECK(m->head.header("x-long-header-name") == "a value");
        CHECK(m->consumed == fixed.size() - 5);  // EXTRA belongs to no message of ours
    }
    const std::string chunked =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n";
    for (std::size_t piece : {std::size_t{1}, std::size_t{5}, chunked.size()}) {
        auto m = parse_in_pieces(chunked, piece);
        REQUIRE(m);
        CHECK(m->is_complete);
        CHECK(m->body == "abc0123456789abcdef");
        CHECK_FALSE(m->head.content_length);
    }
    auto eof = parse_in_pieces("HTTP/1.0 200 OK\r\n\r\nuntil the end", 4, false, true);
    REQUIRE(eof);
    CHECK(eof->is_complete);
    CHECK(eof->body == "until the end");

    auto cut = parse_in_pieces("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 4, false, true);
    REQUIRE(cut);
    CHECK_FALSE(cut->is_complete);
    auto cut_chunked = parse_in_pieces("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 4,
                                       false, true);
    REQUIRE(cut_chunked);
    CHECK_FALSE(cut_chunked->is_complete);

    auto head = parse_in_pieces("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 3, true);
    REQUIRE(head);
    CHECK(head->is_complete);
    CHECK(head->body.empty());

    auto interim = parse_in_pieces(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
        "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        2);
    REQUIRE(interim);
    CHECK(interim->is_complete);
    CHECK(interim->head.status == 201);
    CHECK(interim->head.headers.size() == 1);
    CHECK(interim->body == "ok");
}

TEST_CASE("response_parser: malformed input is an error that names the problem", "[http][parser]")
{
    auto garbage = parse_in_pieces("NOT HTTP\r\n\r\n", 100);
    REQUIRE_FALSE(garbage);
    CHECK(garbage.error().code == http_errc::bad_response);
    CHECK(garbage.error().message.find("malformed HTTP response") != std::string::npos);

    auto bad_length = parse_in_pieces("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 100);
    REQUIRE_FALSE(bad_length);
    auto both = parse_in_pieces(
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 100);
    REQUIRE_FALSE(both);

    std::string huge = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 5000; ++i) {
        huge += "X-Filler-" + std::to_string(i) + ": 0123456789\r\n";
    }
    auto too_big = parse_in_pieces(huge, 4096);
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error().message.find("64 KiB") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Options, proxies, netrc

TEST_CASE("http_options: from_environment reads every variable through getenv", "[http][options]")
{
    std::map<std::string, std::string> env{
        {"PKG_HTTP_TIMEOUT", "45"},        {"PKG_HTTP_RETRIES", "5"},
        {"PKG_CONCURRENT_DOWNLOADS", "4"}, {"SSL_CERT_FILE", "/etc/ca.pem"},
        {"SSL_CERT_DIR", "/etc/certs"},    {"https_proxy", "http://proxy:3128"},
        {"HTTP_PROXY", "http://upper:1"},  {"http_proxy", "http://lower:2"},
        {"no_proxy", " localhost, .internal.example ,10.0.0.1:8080,"},
        {"HOME", "/home/someone"}};
    auto getenv = [&env](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    };
    auto o = http_options::from_environment(getenv, "pkg/0.1.0");
    REQUIRE(o);
    CHECK(o->user_agent == "pkg/0.1.0");
    CHECK(o->read_timeout == 45s);
    CHECK(o->retries == 5);
    CHECK(o->max_concurrent == 4);
    CHECK(o->per_host == 4);
    CHECK(o->ca_file == "/etc/ca.pem");
    CHECK(o->ca_dir == "/etc/certs");
    CHECK(o->proxy.http_proxy == "http://upper:1");
    CHECK(o->proxy.https_proxy == "http://proxy:3128");
    CHECK(o->proxy.no_proxy == std::vector<std::string>{"localhost", ".internal.example", "10.0.0.1:8080"});
    CHECK(o->netrc_path == "/home/someone/.netrc");
    env["NETRC"] = "/tmp/my-netrc";
    CHECK(http_options::from_environment(getenv, "x")->netrc_path == "/tmp/my-netrc");

    auto defaults = http_options::from_environment([](const char*) -> const char* { return nullptr; }, "pkg/1");
    REQUIRE(defaults);
    CHECK(defaults->read_timeout == 30s);
    CHECK(defaults->connect_timeout == 10s);
    CHECK(defaults->retries == 3);
    CHECK(defaults->max_concurrent == 16);
    CHECK(defaults->proxy.http_proxy.empty());
    CHECK(defaults->netrc_path.empty());

    env["PKG_HTTP_RETRIES"] = "three";
    auto bad = http_options::from_environment(getenv, "x");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "PKG_HTTP_RETRIES='three' is not a whole number");
    env["PKG_HTTP_RETRIES"] = "1";
    env["PKG_CONCURRENT_DOWNLOADS"] = "0";
    REQUIRE_FALSE(http_options::from_environment(getenv, "x"));
}

TEST_CASE("proxy_settings: NO_PROXY matching", "[http][options]")
{
    proxy_settings p;
    p.http_proxy = "http://proxy:3128";
    p.https_proxy = "http://sproxy:3128";
    p.no_proxy = {"localhost", ".internal.example", "corp.example", "10.0.0.1:8080", "[::1]"};
    CHECK(p.proxy_for(*url::parse("http://pypi.org/simple/")) == "http://proxy:3128");
    CHECK(p.proxy_for(*url::parse("https://pypi.org/simple/")) == "http://sproxy:3128");
    CHECK(p.proxy_for(*url::parse("http://localhost:8000/")).empty());
    CHECK(p.proxy_for(*url::parse("http://a.internal.example/")).empty());
    CHECK(p.proxy_for(*url::parse("http://internal.example/")).empty());
    CHECK(p.proxy_for(*url::parse("http://x.corp.example/")).empty());
    CHECK(p.proxy_for(*url::parse("http://notcorp.example/")) == "http://proxy:3128");
    CHECK(p.proxy_for(*url::parse("http://10.0.0.1:8080/")).empty());
    CHECK(p.proxy_for(*url::parse("http://10.0.0.1:8081/")) == "http://proxy:3128");
    CHECK(p.proxy_for(*url::parse("http://[::1]:9/")).empty());
    p.no_proxy = {"*"};
    CHECK(p.proxy_for(*url::parse("https://anything/")).empty());
    p.https_proxy.clear();
    p.no_proxy.clear();
    CHECK(p.proxy_for(*url::parse("https://pypi.org/")).empty());
}

TEST_CASE("netrc: machine, default, macdef and comments", "[http][options]")
{
    const auto n = netrc::parse("# comment line\n"
                                "machine Files.Example.org login alice password s3cret\n"
                                "macdef init\ncd /\nls\n\n"
                                "machine other\n  login bob\n  password pw2\n"
                                "default login anon password guest\n");
    auto a = n.find("files.example.org");
    REQUIRE(a);
    CHECK(a->login == "alice");
    CHECK(a->password == "s3cret");
    CHECK(n.find("OTHER")->login == "bob");
    CHECK(n.find("unknown.host")->login == "anon");
    CHECK_FALSE(netrc::parse("machine a login b password c").find("z"));
    auto missing = netrc::load("/nonexistent/dir/netrc");
    REQUIRE(missing);
    CHECK(missing->entries.empty());
    CHECK(basic_authorization({"user", "secret"}) == "Basic dXNlcjpzZWNyZXQ=");
    CHECK(basic_authorization({"a", ""}) == "Basic YTo=");
    CHECK(basic_authorization({"ab", "c"}) == "Basic YWI6Yw==");
}

// ---------------------------------------------------------------------------------------------
// Against the fault server

TEST_CASE("client: bodies with length, chunked, EOF-delimited, HEAD, 1xx", "[http][client]")
{
    const int fds_before = open_fd_count();
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{70000}, std::size_t{1} << 20}) {
        auto r = get(server().url("/ok/" + std::to_string(n)));
        REQUIRE(r);
        CHECK(r->head.status == 200);
        CHECK(r->head.content_length == n);
        CHECK(r->body == pattern(n));
    }
    auto chunked = get(server().url("/chunked/100000"));
    REQUIRE(chunked);
    CHECK(chunked->body == pattern(100000));
    auto eof = get(server().url("/eof/50000"));
    REQUIRE(eof);
    CHECK(eof->body == pattern(50000));
    auto interim = get(server().url("/interim/10"));
    REQUIRE(interim);
    CHECK(interim->head.status == 200);
    CHECK(interim->body == pattern(10));
    http_request head_request;
    head_request.method = "HEAD";
    head_request.url = server().url("/ok/12345");
    auto head = get(head_request);
    REQUIRE(head);
    CHECK(head->body.empty());
    auto slow = get(server().url("/slow/20000"));
    REQUIRE(slow);
    CHECK(slow->body == pattern(20000));
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("client: keep-alive reuses one connection, close_idle closes it", "[http][client]")
{
    const int fds_before = open_fd_count();
    {
        asio::io_context ctx;
        http_client client(ctx.get_executor(), test_options());
        auto first = run(ctx, client.async_get_string(server().url("/conn-id")));
        REQUIRE(first);
        CHECK(client.idle_connections() == 1);
        auto second = run(ctx, client.async_get_string(server().url("/conn-id")));
        REQUIRE(second);
        CHECK(first->body == second->body);
        auto chunked = run(ctx, client.async_get_string(server().url("/chunked/1000")));
        REQUIRE(chunked);
        auto third = run(ctx, client.async_get_string(server().url("/conn-id")));
        REQUIRE(third);
        CHECK(third->body == first->body);  // chunked responses leave the connection reusable
        CHECK(client.idle_connections() == 1);
        client.close_idle();
        CHECK(client.idle_connections() == 0);
        auto fourth = run(ctx, client.async_get_string(server().url("/conn-id")));
        REQUIRE(fourth);
        CHECK(fourth->body != first->body);
        CHECK(client.idle_connections() == 1);
        // An EOF-delimited response takes the pooled connection and cannot give it back.
        auto eof = run(ctx, client.async_get_string(server().url("/eof/10")));
        REQUIRE(eof);
        CHECK(client.idle_connections() == 0);
    }
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("client: idle connections older than idle_timeout are not reused", "[http][client]")
{
    auto options = test_options();
    options.idle_timeout = 1ms;
    asio::io_context ctx;
    http_client client(ctx.get_executor(), options);
    auto first = run(ctx, client.async_get_string(server().url("/conn-id")));
    REQUIRE(first);
    ::usleep(5000);
    auto second = run(ctx, client.async_get_string(server().url("/conn-id")));
    REQUIRE(second);
    CHECK(first->body != second->body);
}

TEST_CASE("client: keep_alive = false sends Connection: close and pools nothing", "[http][client]")
{
    const int fds_before = open_fd_count();
    {
        auto options = test_options();
        options.keep_alive = false;
        asio::io_context ctx;
        http_client client(ctx.get_executor(), options);
        auto first = run(ctx, client.async_get_string(server().url("/conn-id")));
        REQUIRE(first);
        CHECK(client.idle_connections() == 0);
        auto second = run(ctx, client.async_get_string(server().url("/conn-id")));
        REQUIRE(second);
        CHECK(first->body != second->body);
        http_request req;
        req.url = server().url("/headers");
        req.headers.emplace_back("Connection", "keep-alive");  // ours wins
        auto echo = run(ctx, client.async_get_string(req));
        REQUIRE(echo);
        CHECK(echo->body.find("Connection: close\r\n") != std::string::npos);
        CHECK(echo->body.find("keep-alive") == std::string::npos);
        CHECK(client.idle_connections() == 0);
    }
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("client: error statuses, retries and their history", "[http][client]")
{
    const int fds_before = open_fd_count();
    SECTION("404 is not_found and never retried")
    {
        const std::string path = "/missing?" + unique_id();
        auto r = get(server().url(path));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::not_found);
        CHECK(r.error().message == "HTTP 404 Not Found");
        CHECK(r.error().where == server().url(path));
        CHECK(stats(path).starts_with("attempts=1 "));
    }
    SECTION("401 is not retried and hints at credentials")
    {
        auto r = get(server().url("/auth"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::http_status);
        CHECK(r.error().message == "HTTP 401 Unauthorized");
        CHECK(r.error().hint.find("netrc") != std::string::npos);
    }
    SECTION("500 forever: retried 3 times, then an error listing every failure")
    {
        const std::string path = "/status/500?" + unique_id();
        auto r = get(server().url(path));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::http_status);
        CHECK(r.error().message ==
              "after 3 retries: HTTP 500; HTTP 500; HTTP 500; HTTP 500 (last: HTTP 500 Scripted)");
        CHECK(stats(path).starts_with("attempts=4 "));
    }
    SECTION("503 twice then success")
    {
        const std::string path = "/status/503?fails=2&" + unique_id();
        auto r = get(server().url(path));
        REQUIRE(r);
        CHECK(r->body == "recovered");
        CHECK(stats(path).starts_with("attempts=3 "));
    }
    SECTION("408 and 429 with Retry-After are retried")
    {
        auto r408 = get(server().url("/status/408?fails=1&" + unique_id()));
        REQUIRE(r408);
        CHECK(r408->body == "recovered");
        auto options = test_options();
        options.retry_after_cap = 50ms;  // Retry-After: 1 is capped; the test stays quick
        auto r429 = get(server().url("/429?retry-after=1&fails=1&" + unique_id()), options);
        REQUIRE(r429);
        CHECK(r429->body == "recovered");
    }
    SECTION("retries = 0 means one attempt")
    {
        auto options = test_options();
        options.retries = 0;
        const std::string path = "/status/502?" + unique_id();
        auto r = get(server().url(path), options);
        REQUIRE_FALSE(r);
        CHECK(r.error().message == "HTTP 502 Scripted");
        CHECK(stats(path).starts_with("attempts=1 "));
    }
    SECTION("a malformed response is not retried")
    {
        auto r = get(server().url("/garbage"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::bad_response);
        CHECK(r.error().message.find("malformed HTTP response") != std::string::npos);
    }
    SECTION("connection refused")
    {
        auto options = test_options();
        options.retries = 1;
        auto r = get("http://127.0.0.1:1/x", options);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::connect_failed);
        CHECK(r.error().message.starts_with("after 1 retry: connection refused; connection refused"));
    }
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("client: bodies cut short are retried from zero", "[http][client]")
{
    const int fds_before = open_fd_count();
    SECTION("reset mid-body once: the sink is reset and the body restarts")
    {
        asio::io_context ctx;
        http_client client(ctx.get_executor(), test_options());
        recording_sink sink(false);
        http_request req;
        req.url = server().url("/reset-mid/200000?fails=1&" + unique_id());
        auto head = run(ctx, client.async_fetch(req, sink));
        REQUIRE(head);
        CHECK(sink.body == pattern(200000));
        CHECK(sink.begins == 2);
        CHECK(sink.resets == 1);
        CHECK(sink.ends == 1);
    }
    SECTION("closed early (FIN) twice")
    {
        auto r = get(server().url("/close-early/30000?fails=2&" + unique_id()));
        REQUIRE(r);
        CHECK(r->body == pattern(30000));
    }
    SECTION("wrong Content-Length forever: body_truncated after the retries")
    {
        auto r = get(server().url("/wrong-length?" + unique_id()));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::body_truncated);
        CHECK(r.error().message ==
              "after 3 retries: body cut short; body cut short; body cut short; body cut short "
              "(last: response body cut short after 50 bytes of 100)");
    }
    SECTION("chunked body without its last chunk")
    {
        auto r = get(server().url("/chunked-cut/5000?fails=1&" + unique_id()));
        REQUIRE(r);
        CHECK(r->body == pattern(5000));
        auto options = test_options();
        options.retries = 0;
        auto cut = get(server().url("/chunked-cut/5000?" + unique_id()), options);
        REQUIRE_FALSE(cut);
        CHECK(cut.error().code == http_errc::body_truncated);
        CHECK(cut.error().message.find("chunked body not terminated") != std::string::npos);
    }
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("client: Range resume after a mid-body reset", "[http][client]")
{
    SECTION("strong ETag: resumes with Range + If-Range into the same sink")
    {
        asio::io_context ctx;
        http_client client(ctx.get_executor(), test_options());
        recording_sink sink(true);
        const std::string path = "/range/300000?fails=1&" + unique_id();
        http_request req;
        req.url = server().url(path);
        auto head = run(ctx, client.async_fetch(req, sink));
        REQUIRE(head);
        CHECK(sink.body == pattern(300000));
        CHECK(sink.begins == 1);
        CHECK(sink.resets == 0);
        CHECK(sink.ends == 1);
        CHECK(head->status == 200);
        CHECK(head->content_length == 300000u);
        CHECK(head->is_range_continuation);
        CHECK(stats(path) == "attempts=2 ranges=1");
    }
    SECTION("the sink cannot resume: restart from zero")
    {
        asio::io_context ctx;
        http_client client(ctx.get_executor(), test_options());
        recording_sink sink(false);
        const std::string path = "/range/100000?fails=1&" + unique_id();
        http_request req;
        req.url = server().url(path);
        auto head = run(ctx, client.async_fetch(req, sink));
        REQUIRE(head);
        CHECK(sink.body == pattern(100000));
        CHECK(sink.resets == 1);
        CHECK(stats(path) == "attempts=2 ranges=0");
    }
    SECTION("weak ETag: no resume, restart from zero")
    {
        asio::io_context ctx;
        http_client client(ctx.get_executor(), test_options());
        recording_sink sink(true);
        const std::string path = "/range-weak/100000?fails=1&" + unique_id();
        http_request req;
        req.url = server().url(path);
        auto head = run(ctx, client.async_fetch(req, sink));
        REQUIRE(head);
        CHECK(sink.body == pattern(100000));
        CHECK(sink.begins == 2);
        CHECK(sink.resets == 1);
        CHECK(stats(path) == "attempts=2 ranges=0");
    }
}

TEST_CASE("client: a sink error aborts without retry", "[http][client]")
{
    asio::io_context ctx;
    http_client client(ctx.get_executor(), test_options());
    recording_sink sink;
    sink.fail_after = 1000;
    const std::string path = "/ok/100000?" + unique_id();
    http_request req;
    req.url = server().url(path);
    auto head = run(ctx, client.async_fetch(req, sink));
    REQUIRE_FALSE(head);
    CHECK(head.error().code == std::errc::no_space_on_device);
    CHECK(head.error().message == "disk full (scripted)");
    CHECK(stats(path).starts_with("attempts=1 "));
}

TEST_CASE("client: timeouts", "[http][client]")
{
    const int fds_before = open_fd_count();
    auto options = test_options();
    options.read_timeout = 150ms;
    options.retries = 1;
    SECTION("no response head")
    {
        auto r = get(server().url("/stall?" + unique_id()), options);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::timed_out);
        CHECK(r.error().message ==
              "after 1 retry: timeout; timeout (last: no data for 150 ms while waiting for the response)");
    }
    SECTION("body stalls, then the retry succeeds")
    {
        auto r = get(server().url("/stall-body/10000?fails=1&" + unique_id()), options);
        REQUIRE(r);
        CHECK(r->body == pattern(10000));
    }
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("client: cancellation aborts promptly and closes the socket", "[http][client]")
{
    const int fds_before = open_fd_count();
    {
        using namespace asio::experimental::awaitable_operators;
        asio::io_context ctx;
        http_client client(ctx.get_executor(), test_options());  // 2 s read timeout
        recording_sink sink;
        http_request req;
        req.url = server().url("/stall?" + unique_id());
        asio::steady_timer timer(ctx, 100ms);
        auto work = [](http_client& c, http_request r, recording_sink& s, asio::steady_timer& t)
            -> task<int> {
            auto outcome = co_await (c.async_fetch(std::move(r), s) || t.async_wait(asio::use_awaitable));
            co_return static_cast<int>(outcome.index());
        };
        const auto started = std::chrono::steady_clock::now();
        CHECK(run(ctx, work(client, req, sink, timer)) == 1);
        // Not a timing assertion on the client's speed: only that the 2 s timeout did not run out.
        CHECK(std::chrono::steady_clock::now() - started < 1900ms);
        CHECK(client.idle_connections() == 0);
    }
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("client: redirects", "[http][client]")
{
    SECTION("a chain of 7 through absolute-path, relative and absolute Locations")
    {
        auto r = get(server().url("/redirect/7"));
        REQUIRE(r);
        CHECK(r->body == "done");
        CHECK(r->head.final_url == server().url("/redirect/0"));
    }
    SECTION("too many")
    {
        auto options = test_options();
        options.max_redirects = 3;
        auto r = get(server().url("/redirect/7"), options);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::too_many_redirects);
        CHECK(r.error().message.starts_with("more than 3 redirects"));
    }
    SECTION("a loop is named")
    {
        auto r = get(server().url("/redirect-loop"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::redirect_loop);
        CHECK(r.error().message.find("/redirect-loop") != std::string::npos);
    }
    SECTION("credentials are dropped when the redirect crosses origin")
    {
        // 127.0.0.1 and localhost are different origins on the same server.
        http_request req;
        req.url = "http://user:secret@127.0.0.1:" + std::to_string(server().port()) +
                  "/redirect-to?url=" + server().localhost_url("/headers");
        req.headers.emplace_back("Authorization", "Bearer caller-token");
        req.headers.emplace_back("Accept", "text/html");
        auto r = get(req);
        REQUIRE(r);
        CHECK(r->body.find("Authorization") == std::string::npos);
        CHECK(r->body.find("Accept: text/html") != std::string::npos);
        CHECK(r->head.final_url == server().localhost_url("/headers"));
    }
    SECTION("same-origin redirect keeps URL credentials")
    {
        http_request req;
        req.url = "http://user:secret@127.0.0.1:" + std::to_string(server().port()) +
                  "/redirect-to?url=/auth";
        auto r = get(req);
        REQUIRE(r);
        CHECK(r->body == "welcome");
        CHECK(r->head.final_url == "http://***@127.0.0.1:" + std::to_string(server().port()) + "/auth");
    }
    SECTION("an unusable Location is an error")
    {
        auto r = get(server().url("/redirect-to?url=ftp://elsewhere/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::invalid_url);
        CHECK(r.error().message.find("ftp://elsewhere/x") != std::string::npos);
    }
}

TEST_CASE("client: credentials from the URL and from netrc, never in messages", "[http][client]")
{
    auto ok = get("http://user:secret@127.0.0.1:" + std::to_string(server().port()) + "/auth");
    REQUIRE(ok);
    CHECK(ok->body == "welcome");
    auto encoded = get("http://us%65r:secr%65t@127.0.0.1:" + std::to_string(server().port()) + "/auth");
    REQUIRE(encoded);

    auto wrong = get("http://user:hunter2@127.0.0.1:" + std::to_string(server().port()) + "/auth");
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().to_string().find("hunter2") == std::string::npos);
    CHECK(wrong.error().where == "http://***@127.0.0.1:" + std::to_string(server().port()) + "/auth");

    const auto netrc_path = std::filesystem::temp_directory_path() / ("pkg-netrc-" + std::to_string(::getpid()));
    std::ofstream(netrc_path) << "machine 127.0.0.1 login user password secret\n";
    auto options = test_options();
    options.netrc_path = netrc_path.string();
    auto via_netrc = get(server().url("/auth"), options);
    std::filesystem::remove(netrc_path);
    REQUIRE(via_netrc);
    CHECK(via_netrc->body == "welcome");

    auto refused = get("http://user:hunter2@127.0.0.1:1/x", test_options());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().to_string().find("hunter2") == std::string::npos);
}

TEST_CASE("client: request headers, gzip and size limits", "[http][client]")
{
    http_request req;
    req.url = server().url("/headers");
    req.headers.emplace_back("If-None-Match", "\"abc\"");
    auto echo = get(req);
    REQUIRE(echo);
    CHECK(echo->body.starts_with("GET /headers HTTP/1.1\r\n"));
    CHECK(echo->body.find("User-Agent: pkg-test/1\r\n") != std::string::npos);
    CHECK(echo->body.find("Accept-Encoding: identity\r\n") != std::string::npos);
    CHECK(echo->body.find("If-None-Match: \"abc\"\r\n") != std::string::npos);
    CHECK(echo->body.find("Host: 127.0.0.1:") != std::string::npos);

    http_request gz;
    gz.url = server().url("/gzip/100000");
    gz.accept_gzip = true;
    auto decoded = get(gz);
    REQUIRE(decoded);
    CHECK(decoded->head.header("Content-Encoding") == "gzip");
    CHECK(decoded->body == pattern(100000));
    auto limited = get(gz, test_options(), 50000);
    REQUIRE_FALSE(limited);
    CHECK(limited.error().code == http_errc::too_large);

    auto big = get(server().url("/ok/5000"), test_options(), 4000);
    REQUIRE_FALSE(big);
    CHECK(big.error().code == http_errc::too_large);
    CHECK(big.error().message == "response of 5000 bytes is larger than the limit of 4000");
    auto big_chunked = get(server().url("/chunked/5000"), test_options(), 4000);
    REQUIRE_FALSE(big_chunked);
    CHECK(big_chunked.error().code == http_errc::too_large);

    auto bad_method = get(http_request{"POST", server().url("/ok/1"), {}, false});
    REQUIRE_FALSE(bad_method);
    CHECK(bad_method.error().message == "unsupported HTTP method 'POST'");
    auto smuggled = get(http_request{"GET", server().url("/ok/1"), {{"X-A", "1\r\nX-B: 2"}}, false});
    REQUIRE_FALSE(smuggled);
    CHECK(smuggled.error().message == "invalid request header 'X-A'");
    auto bad_url = get("http://exa mple/");
    REQUIRE_FALSE(bad_url);
    CHECK(bad_url.error().code == http_errc::invalid_url);
}

TEST_CASE("client: concurrent fetches under max_concurrent and per_host", "[http][client]")
{
    const int fds_before = open_fd_count();
    {
        auto options = test_options();
        options.max_concurrent = 3;
        options.per_host = 2;
        asio::io_context ctx;
        http_client client(ctx.get_executor(), options);
        std::vector<std::optional<pkg::result<text_response>>> results(12);
        for (std::size_t i = 0; i < results.size(); ++i) {
            asio::co_spawn(ctx, client.async_get_string(server().url("/slow/" + std::to_string(4096 + i))),
                           [&results, i](std::exception_ptr, pkg::result<text_response> r) {
                               results[i] = std::move(r);
                           });
        }
        ctx.run_for(30s);
        for (std::size_t i = 0; i < results.size(); ++i) {
            REQUIRE(results[i]);
            REQUIRE(*results[i]);
            CHECK((*results[i])->body == pattern(4096 + i));
        }
        CHECK(client.idle_connections() <= 2);
    }
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("client: through an HTTP proxy (absolute-form)", "[http][client][proxy]")
{
    auto options = test_options();
    options.proxy.http_proxy = server().url("");
    // The fault server answers absolute-form requests itself and marks them.
    auto r = get("http://pypi.invalid/headers", options);
    REQUIRE(r);
    CHECK(r->body.starts_with("GET http://pypi.invalid/headers HTTP/1.1\r\n"));
    CHECK(r->head.header("X-Proxied") == "yes");
    options.proxy.no_proxy = {"127.0.0.1"};
    auto direct = get(server().url("/headers"), options);
    REQUIRE(direct);
    CHECK(direct->head.header("X-Proxied") == "no");
}

// ---------------------------------------------------------------------------------------------
// Against nginx, over HTTP and HTTPS

namespace {

pkg::test::nginx_fixture& nginx()
{
    static std::string big = pattern(3 << 20);
    static pkg::test::nginx_fixture instance({{"simple/index.html", "<a href=\"x.whl\">x</a>\n"},
                                              {"big.bin", big},
                                              {"data.json", std::string(5000, 'j')}});
    return instance;
}

http_options tls_options(const std::string& ca_file)
{
    std::map<std::string, std::string> env{{"SSL_CERT_FILE", ca_file}, {"PKG_HTTP_RETRIES", "2"}};
    auto options = http_options::from_environment(
        [&env](const char* name) -> const char* {
            auto it = env.find(name);
            return it == env.end() ? nullptr : it->second.c_str();
        },
        "pkg-test/1");
    REQUIRE(options);
    options->backoff_base = 1ms;
    options->backoff_cap = 5ms;
    options->read_timeout = 5s;
    options->connect_timeout = 5s;
    return *options;
}

}  // namespace

TEST_CASE("client: nginx over HTTP and HTTPS", "[http][nginx]")
{
    auto& server = nginx();
    const int fds_before = open_fd_count();
    const auto options = tls_options(server.ca_file());
    for (const auto& base : {server.http_url(""), server.https_url("")}) {
        INFO(base);
        auto index = get(base + "/simple/index.html", options);
        REQUIRE(index);
        CHECK(index->body == "<a href=\"x.whl\">x</a>\n");
        auto big = get(base + "/big.bin", options);
        REQUIRE(big);
        CHECK(big->body.size() == (3u << 20));
        CHECK(big->body == pattern(3 << 20));
        auto missing = get(base + "/nope", options);
        REQUIRE_FALSE(missing);
        CHECK(missing.error().code == http_errc::not_found);
        http_request gz{"GET", base + "/data.json", {}, true};
        auto json = get(gz, options);
        REQUIRE(json);
        CHECK(json->head.header("Content-Encoding") == "gzip");
        CHECK(json->body == std::string(5000, 'j'));
        http_request head{"HEAD", base + "/big.bin", {}, false};
        auto h = get(head, options);
        REQUIRE(h);
        CHECK(h->head.content_length == (3u << 20));
        CHECK(h->body.empty());
    }
    {
        asio::io_context ctx;
        http_client client(ctx.get_executor(), options);
        recording_sink sink;
        auto first = run(ctx, client.async_fetch(http_request{"GET", server.https_url("/big.bin"), {}, false}, sink));
        REQUIRE(first);
        CHECK(client.idle_connections() == 1);
        auto etag = first->header("ETag");
        REQUIRE(etag);
        recording_sink second_sink;
        http_request conditional{"GET", server.https_url("/big.bin"), {{"If-None-Match", std::string(*etag)}}, false};
        auto second = run(ctx, client.async_fetch(conditional, second_sink));
        REQUIRE(second);
        CHECK(second->status == 304);
        CHECK(second_sink.begins == 0);
        CHECK(client.idle_connections() == 1);  // the same connection came back
    }
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("client: TLS verification failures are never retried", "[http][nginx]")
{
    auto& server = nginx();
    SECTION("certificate for another name")
    {
        auto r = get(server.wrong_name_url("/simple/index.html"), tls_options(server.ca_file()));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::tls_failed);
        CHECK(r.error().message.find("after") == std::string::npos);
        CHECK(r.error().message.find("certificate verification failed") != std::string::npos);
    }
    SECTION("unknown CA (the system store does not know the test CA)")
    {
        auto options = tls_options(server.ca_file());
        options.ca_file.clear();
        auto r = get(server.https_url("/simple/index.html"), options);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::tls_failed);
        CHECK(r.error().message.find("after") == std::string::npos);
    }
    SECTION("unreadable SSL_CERT_FILE")
    {
        auto r = get(server.https_url("/"), tls_options("/nonexistent/ca.pem"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == http_errc::tls_failed);
        CHECK(r.error().message.find("/nonexistent/ca.pem") != std::string::npos);
    }
}

TEST_CASE("client: HTTPS through a CONNECT proxy", "[http][nginx][proxy]")
{
    auto& nginx_server = nginx();
    auto options = tls_options(nginx_server.ca_file());
    options.proxy.https_proxy = server().url("");
    auto r = get(nginx_server.https_url("/simple/index.html"), options);
    REQUIRE(r);
    CHECK(r->body == "<a href=\"x.whl\">x</a>\n");
}
