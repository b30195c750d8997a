#include "http/http_client.hpp"

#include "http/http_errc.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <libdeflate.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>

namespace pkg::io {
namespace {

using namespace asio::experimental::awaitable_operators;
using tcp = asio::ip::tcp;
using tls_stream = asio::ssl::stream<tcp::socket>;
using clock = std::chrono::steady_clock;
using semaphore = asio::experimental::channel<void(boost::system::error_code)>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Error bodies are drained up to this size so the connection can be reused; beyond it the
// connection is closed instead.
constexpr std::uint64_t max_drain_bytes = 64 * 1024;
constexpr std::size_t read_buffer_bytes = 64 * 1024;

std::string seconds_text(std::chrono::milliseconds d)
{
    const auto ms = d.count();
    if (ms % 1000 == 0) {
        return std::to_string(ms / 1000) + " s";
    }
    return std::to_string(ms) + " ms";
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

task<bool> async_is_cancelled()
{
    const auto state = co_await asio::this_coro::cancellation_state;
    co_return state.cancelled() != asio::cancellation_type::none;
}

// One TCP connection, maybe TLS, to an origin or a proxy.
struct connection {
    std::optional<tcp::socket> plain;
    std::optional<tls_stream> tls;
    clock::time_point idle_since{};

    tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }

    void close()
    {
        boost::system::error_code ignored;
        if (tls || plain) {
            socket().shutdown(tcp::socket::shutdown_both, ignored);
            socket().close(ignored);
        }
    }

    ~connection() { close(); }

    task<std::tuple<boost::system::error_code, std::size_t>>
    async_read_some(asio::mutable_buffer buffer, std::chrono::milliseconds timeout)
    {
        asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
        auto read = tls ? tls->async_read_some(buffer, use_tuple)
                        : plain->async_read_some(buffer, use_tuple);
        auto outcome = co_await (std::move(read) || timer.async_wait(use_tuple));
        if (outcome.index() == 1) {
            co_return std::tuple(boost::system::error_code(asio::error::timed_out), std::size_t{0});
        }
        co_return std::get<0>(outcome);
    }

    task<boost::system::error_code> async_write_all(asio::const_buffer buffer,
                                                    std::chrono::milliseconds timeout)
    {
        asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
        auto write = tls ? asio::async_write(*tls, buffer, use_tuple)
                         : asio::async_write(*plain, buffer, use_tuple);
        auto outcome = co_await (std::move(write) || timer.async_wait(use_tuple));
        if (outcome.index() == 1) {
            co_return boost::system::error_code(asio::error::timed_out);
        }
        co_return std::get<0>(std::get<0>(outcome));
    }
};

// Releases a concurrency slot taken with `async_send` on a channel used as a semaphore.
struct slot_guard {
    semaphore* channel = nullptr;
    slot_guard() = default;
    explicit slot_guard(semaphore* c) : channel(c) {}
    slot_guard(slot_guard&& other) noexcept : channel(std::exchange(other.channel, nullptr)) {}
    slot_guard& operator=(slot_guard&& other) noexcept
    {
        release();
        channel = std::exchange(other.channel, nullptr);
        return *this;
    }
    ~slot_guard() { release(); }
    void release()
    {
        if (channel != nullptr) {
            (void)channel->try_receive([](boost::system::error_code) {});
            channel = nullptr;
        }
    }
};

// What one request/response exchange ended with.
enum class body_mode { undecided, deliver, drain };

struct attempt_outcome {
    enum class kind { done, redirect, failed } what = kind::failed;
    response_head head;
    std::string location;
    error failure;
    std::string short_reason;  // for the retry history ("HTTP 503", "connection reset")
    bool is_retryable = false;
    std::optional<std::chrono::milliseconds> retry_after;
};

attempt_outcome failed(http_errc code, std::string message, std::string where,
                       std::string short_reason, bool is_retryable)
{
    attempt_outcome o;
    o.what = attempt_outcome::kind::failed;
    o.failure = error{code, std::move(message), std::move(where), {}};
    o.short_reason = std::move(short_reason);
    o.is_retryable = is_retryable;
    return o;
}

std::string describe(const boost::system::error_code& ec)
{
    if (ec == asio::error::connection_reset) {
        return "connection reset";
    }
    if (ec == asio::error::eof) {
        return "connection closed";
    }
    if (ec == asio::error::timed_out) {
        return "timeout";
    }
    if (ec == asio::error::connection_refused) {
        return "connection refused";
    }
    return ec.message();
}

// State carried across the attempts and redirects of one fetch.
struct fetch_state {
    http_request request;
    url current;
    std::set<std::string> visited;
    unsigned redirects = 0;
    bool drop_authorization = false;  // crossed origin: no caller Authorization header
    // Resume support, from the 2xx head that began the sink.
    std::optional<response_head> begun_head;
    std::string validator;  // strong ETag or Last-Modified
    bool accepts_ranges = false;
};

}  // namespace

std::string basic_authorization(const credentials& creds)
{
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const std::string in = creds.login + ":" + creds.password;
    std::string out = "Basic ";
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const auto n = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += alphabet[n & 63];
    }
    if (i + 1 == in.size()) {
        const auto n = static_cast<unsigned char>(in[i]) << 16;
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        const auto n = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8);
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += '=';
    }
    return out;
}

struct http_client::impl {
    asio::any_io_executor executor;
    http_options options;
    // Made at the first https connection: loading the system CA bundle costs ~20 ms, which a run
    // that only talks plain http (or needs no network at all) should not pay.
    std::optional<asio::ssl::context> tls_context;
    std::optional<error> tls_setup_error;
    std::optional<netrc> netrc_cache;
    semaphore global_slots;
    std::map<std::string, std::unique_ptr<semaphore>> host_slots;
    std::map<std::string, std::vector<std::unique_ptr<connection>>> idle;
    std::minstd_rand jitter{std::random_device{}()};

    impl(asio::any_io_executor ex, http_options opts)
        : executor(std::move(ex)), options(std::move(opts)),
          global_slots(executor, std::max<std::size_t>(options.max_concurrent, 1))
    {
    }

    // The TLS context, made once; nullptr (and tls_setup_error set) when the CA certificates
    // cannot be loaded.
    asio::ssl::context* tls()
    {
        if (tls_context || tls_setup_error) {
            return tls_context ? &*tls_context : nullptr;
        }
        asio::ssl::context ctx{asio::ssl::context::tls_client};
        SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
        ctx.set_verify_mode(asio::ssl::verify_peer);
        boost::system::error_code ec;
        if (options.ca_file.empty() && options.ca_dir.empty()) {
            ctx.set_default_verify_paths(ec);
            if (ec) {
                tls_setup_error = error{http_errc::tls_failed,
                                        "cannot load the system CA certificates: " + ec.message(),
                                        {}, "set SSL_CERT_FILE to a CA bundle"};
            }
        }
        if (!options.ca_file.empty()) {
            ctx.load_verify_file(options.ca_file, ec);
            if (ec) {
                tls_setup_error = error{http_errc::tls_failed,
                                        "cannot load CA certificates from SSL_CERT_FILE=" +
                                            options.ca_file + ": " + ec.message(),
                                        {}, "check the file is a PEM bundle"};
            }
        }
        if (!options.ca_dir.empty()) {
            ctx.add_verify_path(options.ca_dir, ec);
            if (ec) {
                tls_setup_error = error{http_errc::tls_failed,
                                        "cannot use SSL_CERT_DIR=" + options.ca_dir + ": " + ec.message(),
                                        {}, {}};
            }
        }
        if (tls_setup_error) {
            return nullptr;
        }
        tls_context.emplace(std::move(ctx));
        return &*tls_context;
    }

    semaphore& host_semaphore(const std::string& key)
    {
        auto& slot = host_slots[key];
        if (!slot) {
            slot = std::make_unique<semaphore>(executor, std::max<std::size_t>(options.per_host, 1));
        }
        return *slot;
    }

    std::optional<credentials> credentials_for(const url& u, bool allow_userinfo)
    {
        if (allow_userinfo && u.has_userinfo && !u.userinfo.empty()) {
            const auto colon = u.userinfo.find(':');
            return credentials{percent_decode(u.userinfo.substr(0, colon)),
                               colon == std::string::npos
                                   ? std::string()
                                   : percent_decode(u.userinfo.substr(colon + 1))};
        }
        if (options.netrc_path.empty()) {
            return std::nullopt;
        }
        if (!netrc_cache) {
            auto loaded = netrc::load(options.netrc_path);
            // An unreadable netrc means no credentials from it; the server's 401 then tells.
            netrc_cache = loaded ? std::move(*loaded) : netrc{};
        }
        return netrc_cache->find(u.host_name());
    }

    std::unique_ptr<connection> take_idle(const std::string& key)
    {
        auto it = idle.find(key);
        if (it == idle.end()) {
            return nullptr;
        }
        auto& list = it->second;
        const auto now = clock::now();
        while (!list.empty()) {
            auto conn = std::move(list.back());
            list.pop_back();
            if (now - conn->idle_since < options.idle_timeout) {
                return conn;
            }
        }
        return nullptr;
    }

    void put_idle(const std::string& key, std::unique_ptr<connection> conn)
    {
        const auto now = clock::now();
        auto& list = idle[key];
        std::erase_if(list, [&](const auto& c) { return now - c->idle_since >= options.idle_timeout; });
        if (list.size() >= options.max_idle_per_host) {
            return;  // conn closes here
        }
        conn->idle_since = now;
        list.push_back(std::move(conn));
    }

    std::chrono::milliseconds backoff(unsigned failure_index)
    {
        auto d = options.backoff_base;
        for (unsigned i = 0; i < failure_index && d < options.backoff_cap; ++i) {
            d *= 2;
        }
        d = std::min(d, options.backoff_cap);
        if (d.count() <= 1) {
            return d;
        }
        std::uniform_int_distribution<std::int64_t> pick(d.count() / 2, d.count());
        return std::chrono::milliseconds(pick(jitter));
    }

    // Resolve + connect (+ CONNECT tunnel) (+ TLS), bounded by connect_timeout.
    task<std::variant<std::unique_ptr<connection>, attempt_outcome>>
    async_connect(const url& target, const std::string& proxy_text)
    {
        const std::string where = target.redacted();
        std::optional<url> proxy;
        if (!proxy_text.empty()) {
            auto parsed = url::parse(proxy_text);
            if (!parsed) {
                co_return failed(http_errc::proxy_failed,
                                 "invalid proxy URL '" + redact_url(proxy_text) + "': " +
                                     parsed.error().message,
                                 where, "bad proxy", false);
            }
            if (parsed->scheme != "http") {
                co_return failed(http_errc::proxy_failed,
                                 "proxy '" + parsed->redacted() + "' is not an http:// proxy",
                                 where, "bad proxy", false);
            }
            proxy = std::move(*parsed);
        }
        const url& hop = proxy ? *proxy : target;
        const auto deadline = clock::now() + options.connect_timeout;
        auto remaining = [&] {
            return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()),
                            std::chrono::milliseconds(1));
        };
        auto timed_out = [&](std::string_view during) {
            return failed(http_errc::timed_out,
                          "timed out " + std::string(during) + " " + hop.host_port() + " after " +
                              seconds_text(options.connect_timeout),
                          where, "timeout", true);
        };

        tcp::resolver resolver(executor);
        asio::steady_timer timer(executor, remaining());
        auto resolved = co_await (resolver.async_resolve(hop.host_name(), std::to_string(hop.port_number()), use_tuple) ||
                                  timer.async_wait(use_tuple));
        if (resolved.index() == 1) {
            co_return timed_out("resolving");
        }
        auto [rec, endpoints] = std::get<0>(std::move(resolved));
        if (rec) {
            co_return failed(http_errc::connect_failed,
                             "cannot resolve " + hop.host_name() + ": " + rec.message(), where,
                             "cannot resolve host", rec != asio::error::host_not_found);
        }
        auto conn = std::make_unique<connection>();
        conn->plain.emplace(executor);
        timer.expires_after(remaining());
        auto connected = co_await (asio::async_connect(*conn->plain, endpoints, use_tuple) ||
                                   timer.async_wait(use_tuple));
        if (connected.index() == 1) {
            co_return timed_out("connecting to");
        }
        if (auto ec = std::get<0>(std::get<0>(connected)); ec) {
            co_return failed(http_errc::connect_failed,
                             "cannot connect to " + hop.host_port() + ": " + ec.message(), where,
                             describe(ec), true);
        }
        boost::system::error_code ignored;
        conn->plain->set_option(tcp::no_delay(true), ignored);

        if (proxy && target.scheme == "https") {
            auto tunnel = co_await async_tunnel(*conn, target, *proxy, remaining());
            if (tunnel) {
                co_return std::move(*tunnel);
            }
        }
        if (target.scheme == "https") {
            asio::ssl::context* context = tls();
            if (context == nullptr) {
                auto o = failed(http_errc::tls_failed, tls_setup_error->message, where, "TLS setup",
                                false);
                o.failure.hint = tls_setup_error->hint;
                co_return o;
            }
            conn->tls.emplace(std::move(*conn->plain), *context);
            conn->plain.reset();
            const std::string name = target.host_name();
            boost::system::error_code addr_ec;
            (void)asio::ip::make_address(name, addr_ec);
            if (addr_ec) {  // SNI carries names only, never IP literals (RFC 6066 §3)
                // The macro expands to an old-style cast; call the function it wraps.
                SSL_ctrl(conn->tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                         TLSEXT_NAMETYPE_host_name, const_cast<char*>(name.c_str()));
            }
            conn->tls->set_verify_callback(asio::ssl::host_name_verification(name));
            timer.expires_after(remaining());
            auto shaken = co_await (conn->tls->async_handshake(asio::ssl::stream_base::client, use_tuple) ||
                                    timer.async_wait(use_tuple));
            if (shaken.index() == 1) {
                co_return timed_out("in the TLS handshake with");
            }
            if (auto [ec] = std::get<0>(shaken); ec) {
                if (ec.category() == asio::error::get_ssl_category()) {
                    const long verify = SSL_get_verify_result(conn->tls->native_handle());
                    std::string why = ec.message();
                    if (verify != X509_V_OK) {
                        why = std::string("certificate verification failed: ") +
                              X509_verify_cert_error_string(verify);
                    }
                    auto o = failed(http_errc::tls_failed,
                                    "TLS handshake with " + target.host_port() + " failed: " + why,
                                    where, "TLS failure", false);
                    o.failure.hint =
                        "if a proxy or private index uses its own CA, point SSL_CERT_FILE at it";
                    co_return o;
                }
                co_return failed(http_errc::connection_failed,
                                 "TLS handshake with " + target.host_port() + " failed: " +
                                     describe(ec),
                                 where, describe(ec), true);
            }
        }
        co_return std::move(conn);
    }

    // Sends CONNECT through an HTTP proxy; nullopt on success.
    task<std::optional<attempt_outcome>> async_tunnel(connection& conn, const url& target,
                                                      const url& proxy,
                                                      std::chrono::milliseconds timeout)
    {
        const std::string where = target.redacted();
        std::string text = "CONNECT " + target.host + ":" + std::to_string(target.port_number()) +
                           " HTTP/1.1\r\nHost: " + target.host + ":" +
                           std::to_string(target.port_number()) + "\r\nUser-Agent: " +
                           options.user_agent + "\r\n";
        if (proxy.has_userinfo) {
            if (auto c = credentials_for(proxy, true)) {
                text += "Proxy-Authorization: " + basic_authorization(*c) + "\r\n";
            }
        }
        text += "\r\n";
        if (auto ec = co_await conn.async_write_all(asio::buffer(text), timeout); ec) {
            co_return failed(http_errc::proxy_failed,
                             "proxy " + proxy.redacted() + " broke the CONNECT: " + describe(ec),
                             where, "proxy " + describe(ec), true);
        }
        response_parser parser;
        parser.begin(true);
        std::array<std::byte, 4096> buffer{};
        while (true) {
            auto [ec, n] = co_await conn.async_read_some(asio::buffer(buffer), timeout);
            if (ec) {
                co_return failed(http_errc::proxy_failed,
                                 "proxy " + proxy.redacted() + " broke the CONNECT: " +
                                     describe(ec),
                                 where, "proxy " + describe(ec), true);
            }
            auto step = parser.feed(std::span(buffer.data(), n));
            if (!step) {
                co_return failed(http_errc::proxy_failed,
                                 "proxy " + proxy.redacted() + ": " + step.error().message, where,
                                 "bad proxy response", false);
            }
            if (step->reached == response_parser::state::message_complete) {
                if (step->consumed_bytes != n) {
                    co_return failed(http_errc::proxy_failed,
                                     "proxy " + proxy.redacted() +
                                         " sent bytes after its CONNECT response",
                                     where, "bad proxy response", false);
                }
                break;
            }
        }
        const int status = parser.head().status;
        if (status < 200 || status > 299) {
            co_return failed(http_errc::proxy_failed,
                             "proxy " + proxy.redacted() + " refused CONNECT to " +
                                 target.host_port() + " with HTTP " + std::to_string(status),
                             where, "proxy HTTP " + std::to_string(status),
                             status >= 500 || status == 408 || status == 429);
        }
        co_return std::nullopt;
    }

    std::string build_request(const fetch_state& st, const std::string& proxy_text,
                              std::optional<std::uint64_t> resume_from)
    {
        const url& u = st.current;
        const bool via_http_proxy = !proxy_text.empty() && u.scheme == "http";
        url target_form = u;
        target_form.has_userinfo = false;
        target_form.userinfo.clear();
        target_form.has_fragment = false;
        target_form.fragment.clear();
        if (target_form.path.empty()) {
            target_form.path = "/";
        }
        std::string text = st.request.method + " " +
                           (via_http_proxy ? target_form.to_string() : u.request_target()) +
                           " HTTP/1.1\r\nHost: " + u.host_port() +
                           "\r\nUser-Agent: " + options.user_agent + "\r\nAccept-Encoding: " +
                           (st.request.accept_gzip ? "gzip" : "identity") + "\r\n";
        if (!options.keep_alive) {
            text += "Connection: close\r\n";
        }
        bool has_authorization = false;
        for (const auto& [name, value] : st.request.headers) {
            if (iequals(name, "Authorization")) {
                if (st.drop_authorization) {
                    continue;
                }
                has_authorization = true;
            }
            if (iequals(name, "Host") || iequals(name, "Accept-Encoding") ||
                iequals(name, "User-Agent") || iequals(name, "Range") || iequals(name, "If-Range") ||
                (!options.keep_alive && iequals(name, "Connection"))) {
                continue;  // ours
            }
            text += name + ": " + value + "\r\n";
        }
        if (!has_authorization) {
            if (auto c = credentials_for(u, true)) {
                text += "Authorization: " + basic_authorization(*c) + "\r\n";
            }
        }
        if (via_http_proxy) {
            if (auto proxy = url::parse(proxy_text); proxy && proxy->has_userinfo) {
                if (auto c = credentials_for(*proxy, true)) {
                    text += "Proxy-Authorization: " + basic_authorization(*c) + "\r\n";
                }
            }
        }
        if (resume_from) {
            text += "Range: bytes=" + std::to_string(*resume_from) + "-\r\nIf-Range: " +
                    st.validator + "\r\n";
        }
        text += "\r\n";
        return text;
    }

    // One request/response exchange (on a fresh connection if a pooled one turns out stale).
    task<attempt_outcome> async_attempt(fetch_state& st, body_sink& sink)
    {
        const url& u = st.current;
        const std::string where = u.redacted();
        const std::string proxy_text = options.proxy.proxy_for(u);
        const std::string key = proxy_text + "|" + u.origin();
        semaphore& host_slots_for_key = host_semaphore(key);
        auto [slot_ec] = co_await host_slots_for_key.async_send(boost::system::error_code{}, use_tuple);
        if (slot_ec) {
            co_return failed(http_errc::cancelled, "cancelled while waiting for a connection slot",
                             where, "cancelled", false);
        }
        slot_guard host_slot(&host_slots_for_key);

        std::optional<std::uint64_t> resume_from;
        if (st.begun_head && sink.bytes_received() > 0 && sink.can_resume() &&
            st.accepts_ranges && !st.validator.empty() && st.request.method == "GET") {
            resume_from = sink.bytes_received();
        }
        const std::string request_text = build_request(st, proxy_text, resume_from);

        // A pooled connection may have been closed by the server while idle: if it fails before
        // any response byte, try once more on a fresh connection without spending a retry.
        bool may_use_pool = options.keep_alive;
        while (true) {
            std::unique_ptr<connection> conn = may_use_pool ? take_idle(key) : nullptr;
            const bool is_reused = conn != nullptr;
            if (!conn) {
                auto made = co_await async_connect(u, proxy_text);
                if (made.index() == 1) {
                    co_return std::get<1>(std::move(made));
                }
                conn = std::get<0>(std::move(made));
            }
            auto outcome = co_await async_exchange(st, sink, *conn, request_text, resume_from);
            if (outcome.is_stale && is_reused) {
                may_use_pool = false;
                continue;
            }
            if (outcome.keep_connection && options.keep_alive) {
                put_idle(key, std::move(conn));
            }
            co_return std::move(outcome.result);
        }
    }

    struct exchange_outcome {
        attempt_outcome result;
        bool is_stale = false;         // failed before any response byte
        bool keep_connection = false;  // clean end of a keep-alive response
    };

    task<exchange_outcome> async_exchange(fetch_state& st, body_sink& sink, connection& conn,
                                          const std::string& request_text,
                                          std::optional<std::uint64_t> resume_from)
    {
        const std::string where = st.current.redacted();
        exchange_outcome out;
        auto ec = co_await conn.async_write_all(asio::buffer(request_text), options.read_timeout);
        if (ec) {
            out.is_stale = ec != asio::error::timed_out && !co_await async_is_cancelled();
            out.result = failed(ec == asio::error::timed_out ? http_errc::timed_out
                                                             : http_errc::connection_failed,
                                "sending the request failed: " + describe(ec), where,
                                describe(ec), true);
            co_return out;
        }

        response_parser parser;
        parser.begin(st.request.method == "HEAD");
        std::vector<std::byte> buffer(read_buffer_bytes);
        body_mode mode = body_mode::undecided;
        attempt_outcome pending;  // the outcome of a drained (not delivered) response
        bool got_bytes = false;
        while (true) {
            auto [read_ec, n] = co_await conn.async_read_some(asio::buffer(buffer), options.read_timeout);
            if (read_ec == asio::error::eof || read_ec == asio::ssl::error::stream_truncated) {
                // stream_truncated (no close_notify) ends only EOF-delimited bodies.
                const bool ends_body = read_ec == asio::error::eof || parser.needs_eof();
                if (ends_body && parser.finish()) {
                    out.result = co_await async_complete(st, sink, mode, std::move(pending));
                    co_return out;
                }
                if (!got_bytes) {
                    out.is_stale = true;
                    out.result = failed(http_errc::connection_failed,
                                        "the server closed the connection without answering",
                                        where, "connection closed", true);
                    co_return out;
                }
                if (parser.has_head()) {
                    const auto& head = parser.head();
                    std::string msg = "response body cut short after " +
                                      std::to_string(parser.body_bytes()) + " bytes";
                    if (head.content_length) {
                        msg += " of " + std::to_string(*head.content_length);
                    } else if (!parser.needs_eof()) {
                        msg += " (chunked body not terminated)";
                    } else {
                        msg += " (TLS connection closed without close_notify)";
                    }
                    out.result = failed(http_errc::body_truncated, msg, where, "body cut short", true);
                    co_return out;
                }
                out.result = failed(http_errc::connection_failed,
                                    "the server closed the connection before a complete response head",
                                    where, "connection closed", true);
                co_return out;
            }
            if (read_ec) {
                if (co_await async_is_cancelled()) {
                    out.result = failed(http_errc::cancelled, "cancelled", where, "cancelled", false);
                    co_return out;
                }
                if (read_ec == asio::error::timed_out) {
                    out.result = failed(http_errc::timed_out,
                                        "no data for " + seconds_text(options.read_timeout) +
                                            (parser.has_head() ? " while reading the body"
                                                               : " while waiting for the response"),
                                        where, "timeout", true);
                    co_return out;
                }
                out.is_stale = !got_bytes && read_ec == asio::error::connection_reset;
                out.result = failed(http_errc::connection_failed,
                                    "receiving the response failed: " + describe(read_ec), where,
                                    describe(read_ec), true);
                co_return out;
            }
            got_bytes = true;
            auto step = parser.feed(std::span<const std::byte>(buffer.data(), n));
            if (!step) {
                out.result = failed(http_errc::bad_response, step.error().message, where,
                                    "malformed response", false);
                co_return out;
            }
            if (step->head_completed) {
                auto decided = co_await async_decide(st, sink, parser.head(), resume_from);
                if (decided.is_abort) {
                    out.result = std::move(decided.outcome);
                    co_return out;
                }
                mode = decided.mode;
                pending = std::move(decided.outcome);
            }
            if (mode == body_mode::deliver) {
                for (const auto& piece : step->body) {
                    auto r = co_await sink.async_chunk(piece);
                    if (!r) {
                        out.result = sink_failure(r.error());
                        co_return out;
                    }
                }
            }
            if (step->reached == response_parser::state::message_complete) {
                out.keep_connection = step->consumed_bytes == n && parser.should_keep_alive();
                out.result = co_await async_complete(st, sink, mode, std::move(pending));
                co_return out;
            }
            if (mode == body_mode::drain && parser.body_bytes() > max_drain_bytes) {
                out.result = std::move(pending);  // not worth reading the rest of an error page
                co_return out;
            }
        }
    }

    static attempt_outcome sink_failure(error e)
    {
        attempt_outcome o;
        o.failure = std::move(e);
        o.short_reason = "sink error";
        return o;
    }

    task<attempt_outcome> async_complete(fetch_state& st, body_sink& sink, body_mode mode,
                                         attempt_outcome pending)
    {
        if (mode != body_mode::deliver) {  // redirect, error status, 304
            co_return pending;
        }
        auto r = co_await sink.async_end();
        if (!r) {
            co_return sink_failure(r.error());
        }
        attempt_outcome o;
        o.what = attempt_outcome::kind::done;
        o.head = *st.begun_head;
        co_return o;
    }

    struct decision {
        body_mode mode = body_mode::deliver;
        attempt_outcome outcome;  // for drain: reported when the body is drained
        bool is_abort = false;    // report `outcome` now
    };

    static decision drain(attempt_outcome o) { return decision{body_mode::drain, std::move(o), false}; }

    // Looks at a final head and decides what happens to its body.
    task<decision> async_decide(fetch_state& st, body_sink& sink, const response_head& parsed,
                                std::optional<std::uint64_t> resume_from)
    {
        const std::string where = st.current.redacted();
        response_head head = parsed;
        head.final_url = where;
        const int status = head.status;
        if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
            const auto location = head.header("Location");
            if (!location || location->empty()) {
                co_return drain(failed(http_errc::bad_response,
                                       "HTTP " + std::to_string(status) +
                                           " without a Location header",
                                       where, "redirect without Location", false));
            }
            attempt_outcome o;
            o.what = attempt_outcome::kind::redirect;
            o.location = std::string(*location);
            o.head = std::move(head);
            co_return drain(std::move(o));
        }
        if (status == 304) {
            attempt_outcome o;
            o.what = attempt_outcome::kind::done;
            o.head = std::move(head);
            co_return drain(std::move(o));
        }
        if (status == 408 || status == 429 || (status >= 500 && status <= 599)) {
            auto o = failed(http_errc::http_status,
                            "HTTP " + std::to_string(status) +
                                (head.reason.empty() ? "" : " " + head.reason),
                            where, "HTTP " + std::to_string(status), true);
            if (auto after = head.header("Retry-After")) {
                std::uint64_t seconds = 0;
                const auto* end = after->data() + after->size();
                if (auto [ptr, ec] = std::from_chars(after->data(), end, seconds);
                    ec == std::errc() && ptr == end) {
                    o.retry_after = std::min<std::chrono::milliseconds>(
                        std::chrono::seconds(std::min<std::uint64_t>(seconds, 86400)),
                        options.retry_after_cap);
                }
            }
            co_return drain(std::move(o));
        }
        if (status < 200 || status > 299) {
            const bool is_missing = status == 404 || status == 410;
            auto o = failed(is_missing ? http_errc::not_found : http_errc::http_status,
                            "HTTP " + std::to_string(status) +
                                (head.reason.empty() ? "" : " " + head.reason),
                            where, "HTTP " + std::to_string(status), false);
            if (status == 401 || status == 403) {
                o.failure.hint = "check the credentials in the URL or in netrc (NETRC or ~/.netrc)";
            }
            co_return drain(std::move(o));
        }
        // 2xx: a 206 that continues exactly where the sink stopped keeps the sink.
        if (status == 206 && resume_from) {
            const auto range = head.header("Content-Range");
            const std::string expected = "bytes " + std::to_string(*resume_from) + "-";
            if (range && range->starts_with(expected)) {
                st.begun_head->final_url = where;
                st.begun_head->is_range_continuation = true;
                co_return decision{};
            }
            co_return drain(failed(http_errc::bad_response,
                                   "HTTP 206 with Content-Range '" +
                                       std::string(range.value_or("(none)")) +
                                       "' for a request of " + expected + "*",
                                   where, "bad range response", true));
        }
        if (st.begun_head) {
            sink.reset();
        }
        st.accepts_ranges = false;
        st.validator.clear();
        if (auto ranges = head.header("Accept-Ranges"); ranges && iequals(*ranges, "bytes")) {
            if (auto etag = head.header("ETag"); etag && !etag->starts_with("W/")) {
                st.accepts_ranges = true;
                st.validator = std::string(*etag);
            } else if (auto modified = head.header("Last-Modified")) {
                st.accepts_ranges = true;
                st.validator = std::string(*modified);
            }
        }
        st.begun_head = head;
        auto r = co_await sink.async_begin(head);
        if (!r) {
            co_return decision{body_mode::drain, sink_failure(r.error()), true};
        }
        co_return decision{};
    }

    task<result<response_head>> async_fetch(http_request request, body_sink& sink)
    {
        co_await asio::this_coro::throw_if_cancelled(false);
        auto parsed = url::parse(request.url);
        if (!parsed) {
            co_return fail(parsed.error());
        }
        if (request.method != "GET" && request.method != "HEAD") {
            co_return fail(std::make_error_code(std::errc::invalid_argument),
                           "unsupported HTTP method '" + request.method + "'", parsed->redacted(),
                           "only GET and HEAD are supported");
        }
        for (const auto& [name, value] : request.headers) {
            // A CR or LF would let a header value smuggle in other headers or requests.
            if (name.empty() || name.find_first_of("\r\n: ") != std::string::npos ||
                value.find_first_of("\r\n") != std::string::npos) {
                co_return fail(std::make_error_code(std::errc::invalid_argument),
                               "invalid request header '" + name + "'", parsed->redacted(),
                               "header names are tokens; values cannot contain CR or LF");
            }
        }
        fetch_state st;
        st.request = std::move(request);
        st.current = std::move(*parsed);
        st.current.has_fragment = false;
        st.current.fragment.clear();
        st.visited.insert(st.current.to_string());
        const std::string first_where = st.current.redacted();

        auto [slot_ec] = co_await global_slots.async_send(boost::system::error_code{}, use_tuple);
        if (slot_ec) {
            co_return fail(http_errc::cancelled, "cancelled while waiting for a download slot",
                           first_where);
        }
        slot_guard global_slot(&global_slots);

        std::vector<std::string> history;
        unsigned failures = 0;
        while (true) {
            attempt_outcome o = co_await async_attempt(st, sink);
            if (o.what == attempt_outcome::kind::done) {
                co_return std::move(o.head);
            }
            if (o.what == attempt_outcome::kind::redirect) {
                const std::string from = st.current.redacted();
                if (++st.redirects > options.max_redirects) {
                    co_return fail(http_errc::too_many_redirects,
                                   "more than " + std::to_string(options.max_redirects) +
                                       " redirects (the last to '" + redact_url(o.location) + "')",
                                   first_where);
                }
                auto next = resolve(st.current, o.location);
                if (!next || (next->scheme != "http" && next->scheme != "https") ||
                    next->host.empty()) {
                    co_return fail(http_errc::invalid_url,
                                   "HTTP " + std::to_string(o.head.status) +
                                       " redirect to an unusable Location '" +
                                       redact_url(o.location) + "'",
                                   from);
                }
                next->has_fragment = false;
                next->fragment.clear();
                if (next->origin() != st.current.origin()) {
                    // Credentials were meant for the origin that got them.
                    if (next->has_userinfo && st.current.has_userinfo &&
                        next->userinfo == st.current.userinfo) {
                        next->has_userinfo = false;
                        next->userinfo.clear();
                    }
                    st.drop_authorization = true;
                }
                if (!st.visited.insert(next->to_string()).second) {
                    co_return fail(http_errc::redirect_loop,
                                   "redirect loop: " + from + " redirects back to '" +
                                       next->redacted() + "', already visited",
                                   first_where);
                }
                if (o.head.status == 303 && st.request.method != "HEAD") {
                    st.request.method = "GET";
                }
                st.current = std::move(*next);
                continue;
            }
            const bool cancelled = co_await async_is_cancelled();
            if (cancelled) {
                co_return fail(http_errc::cancelled, "cancelled", st.current.redacted());
            }
            if (!o.is_retryable || failures >= options.retries) {
                error e = std::move(o.failure);
                if (failures > 0) {
                    std::string joined;
                    for (const auto& h : history) {
                        joined += h + "; ";
                    }
                    e.message = "after " + std::to_string(failures) +
                                (failures == 1 ? " retry: " : " retries: ") + joined +
                                o.short_reason + " (last: " + e.message + ")";
                }
                co_return fail(std::move(e));
            }
            history.push_back(o.short_reason);
            const auto delay = o.retry_after ? *o.retry_after : backoff(failures);
            ++failures;
            asio::steady_timer timer(executor, delay);
            auto [wait_ec] = co_await timer.async_wait(use_tuple);
            if (wait_ec || co_await async_is_cancelled()) {
                co_return fail(http_errc::cancelled, "cancelled while waiting to retry",
                               st.current.redacted());
            }
        }
    }
};

namespace {

// Collects a bounded body; decodes gzip at the end.
class string_sink final : public body_sink {
public:
    string_sink(std::size_t max_bytes, bool is_head) : max_bytes_(max_bytes), is_head_(is_head) {}

    task<result<void>> async_begin(const response_head& head) override
    {
        where_ = head.final_url;
        if (!is_head_ && head.content_length && *head.content_length > max_bytes_) {
            co_return fail(http_errc::too_large,
                           "response of " + std::to_string(*head.content_length) +
                               " bytes is larger than the limit of " + std::to_string(max_bytes_),
                           where_);
        }
        co_return result<void>{};
    }

    task<result<void>> async_chunk(std::span<const std::byte> bytes) override
    {
        if (body_.size() + bytes.size() > max_bytes_) {
            co_return fail(http_errc::too_large,
                           "response body is larger than the limit of " +
                               std::to_string(max_bytes_) + " bytes",
                           where_);
        }
        body_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        co_return result<void>{};
    }

    task<result<void>> async_end() override { co_return result<void>{}; }
    void reset() override { body_.clear(); }
    [[nodiscard]] bool can_resume() const override { return true; }
    [[nodiscard]] std::uint64_t bytes_received() const override { return body_.size(); }

    std::string take() { return std::move(body_); }

private:
    std::size_t max_bytes_;
    bool is_head_;  // a HEAD's Content-Length announces no body of ours
    std::string body_;
    std::string where_;
};

result<std::string> gunzip(const std::string& in, std::size_t max_bytes, const std::string& where)
{
    if (in.size() < 18) {
        return fail(http_errc::decode_failed,
                    "gzip body of " + std::to_string(in.size()) + " bytes is too short", where);
    }
    // ISIZE (the last four bytes) is the decoded size modulo 2^32; bodies here are far smaller.
    const auto* tail = reinterpret_cast<const unsigned char*>(in.data() + in.size() - 4);
    const std::size_t size = static_cast<std::size_t>(tail[0]) | (static_cast<std::size_t>(tail[1]) << 8) |
                             (static_cast<std::size_t>(tail[2]) << 16) |
                             (static_cast<std::size_t>(tail[3]) << 24);
    if (size > max_bytes) {
        return fail(http_errc::too_large,
                    "gzip body decodes to " + std::to_string(size) +
                        " bytes, more than the limit of " + std::to_string(max_bytes),
                    where);
    }
    std::string out(size, '\0');
    auto* d = libdeflate_alloc_decompressor();
    if (d == nullptr) {
        return fail(std::make_error_code(std::errc::not_enough_memory),
                    "cannot allocate a gzip decompressor", where);
    }
    std::size_t actual = 0;
    const auto rc = libdeflate_gzip_decompress(d, in.data(), in.size(), out.data(), out.size(),
                                               &actual);
    libdeflate_free_decompressor(d);
    if (rc != LIBDEFLATE_SUCCESS || actual != size) {
        return fail(http_errc::decode_failed,
                    "gzip body is corrupt (libdeflate status " + std::to_string(static_cast<int>(rc)) +
                        ")",
                    where);
    }
    return out;
}

}  // namespace

http_client::http_client(asio::any_io_executor executor, http_options options)
    : impl_(std::make_unique<impl>(std::move(executor), std::move(options)))
{
}

http_client::~http_client() = default;

task<result<response_head>> http_client::async_fetch(http_request request, body_sink& sink)
{
    return impl_->async_fetch(std::move(request), sink);
}

task<result<text_response>> http_client::async_get_string(http_request request,
                                                          std::size_t max_bytes)
{
    string_sink sink(max_bytes, request.method == "HEAD");
    auto head = co_await impl_->async_fetch(std::move(request), sink);
    if (!head) {
        co_return fail(head.error());
    }
    text_response out{std::move(*head), sink.take()};
    if (auto encoding = out.head.header("Content-Encoding");
        encoding && iequals(*encoding, "gzip")) {
        auto decoded = gunzip(out.body, max_bytes, out.head.final_url);
        if (!decoded) {
            co_return fail(decoded.error());
        }
        out.body = std::move(*decoded);
    }
    co_return out;
}

task<result<text_response>> http_client::async_get_string(std::string url, std::size_t max_bytes)
{
    http_request request;
    request.url = std::move(url);
    co_return co_await async_get_string(std::move(request), max_bytes);
}

void http_client::close_idle() { impl_->idle.clear(); }

std::size_t http_client::idle_connections() const
{
    std::size_t n = 0;
    for (const auto& [key, list] : impl_->idle) {
        n += list.size();
    }
    return n;
}

const http_options& http_client::options() const { return impl_->options; }

}  // namespace pkg::io
