#pragma once
/// \file
/// Settings of the HTTP client and how they come from the environment: timeouts, retries,
/// concurrency, CA certificates, proxies (HTTP_PROXY/HTTPS_PROXY/NO_PROXY) and netrc.

#include "http/url.hpp"

#include <pkg/io/error.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pkg::io {

/// Reads one environment variable; returns nullptr when unset (the shape of `std::getenv`).
/// Tests pass their own so that nothing depends on the process environment.
using getenv_function = std::function<const char*(const char*)>;

/// Login and password for Basic authentication.
struct credentials {
    std::string login;
    std::string password;
};

/// A parsed netrc file (`machine`/`login`/`password`/`default`; `macdef` bodies are skipped).
struct netrc {
    struct entry {
        std::string machine;  ///< Lower-cased host; empty for `default`.
        credentials creds;
    };
    std::vector<entry> entries;

    /// Parses netrc text. Never fails: unknown tokens are skipped as other tools do.
    [[nodiscard]] static netrc parse(std::string_view text);

    /// Reads and parses `path`. A missing file gives an empty netrc; other read errors are
    /// returned (`where` = the path).
    [[nodiscard]] static result<netrc> load(const std::string& path);

    /// The entry for `host` (case-insensitive), else the `default` entry, else nullopt.
    [[nodiscard]] std::optional<credentials> find(std::string_view host) const;
};

/// Proxy settings. An empty proxy URL means "connect directly".
struct proxy_settings {
    std::string http_proxy;             ///< For http:// URLs (HTTP_PROXY / http_proxy).
    std::string https_proxy;            ///< For https:// URLs (HTTPS_PROXY / https_proxy).
    std::vector<std::string> no_proxy;  ///< Hosts, domain suffixes, "*" (NO_PROXY / no_proxy).

    /// The proxy URL text for `target`, or empty when the target is direct (no proxy for its
    /// scheme, or matched by `no_proxy`: exact host, a suffix at a dot boundary — ".example.org"
    /// and "example.org" both match "a.example.org" — an optional ":port", or "*").
    [[nodiscard]] std::string proxy_for(const url& target) const;
};

/// Everything the client can be told. Defaults are the documented ones.
struct http_options {
    /// "pkg/<version>": io/ knows no version, the caller supplies it.
    std::string user_agent = "pkg";
    /// Resolve + TCP connect + TLS handshake (+ proxy CONNECT) of one connection.
    std::chrono::milliseconds connect_timeout{10'000};
    /// Longest silence between two successful reads or writes (PKG_HTTP_TIMEOUT, seconds).
    std::chrono::milliseconds read_timeout{30'000};
    /// Extra attempts after the first for transient failures (PKG_HTTP_RETRIES).
    unsigned retries = 3;
    /// First backoff; doubles per retry up to `backoff_cap`, with jitter in [d/2, d].
    std::chrono::milliseconds backoff_base{500};
    std::chrono::milliseconds backoff_cap{8'000};
    /// Largest Retry-After honoured; longer requests are waited for only this long.
    std::chrono::milliseconds retry_after_cap{30'000};
    /// Requests in flight over all hosts (PKG_CONCURRENT_DOWNLOADS). 16 is a placeholder
    /// until the download benchmark picks a measured default.
    std::size_t max_concurrent = 16;
    /// Requests in flight to one origin (scheme, host, port).
    std::size_t per_host = 8;
    /// Redirects followed per fetch.
    unsigned max_redirects = 10;
    /// Reuse connections (HTTP/1.1 keep-alive, pooled per origin). false sends
    /// "Connection: close" and opens a new connection for every request: for benchmarks and
    /// servers that mishandle persistent connections.
    bool keep_alive = true;
    /// Idle keep-alive connections older than this are closed instead of reused.
    std::chrono::milliseconds idle_timeout{30'000};
    /// Idle connections kept per origin.
    std::size_t max_idle_per_host = 8;
    /// CA bundle file / directory (SSL_CERT_FILE / SSL_CERT_DIR). Both empty: the system store.
    std::string ca_file;
    std::string ca_dir;
    proxy_settings proxy;
    /// netrc file to consult for hosts without URL credentials; empty for none.
    std::string netrc_path;

    /// Options from the environment through `getenv`: PKG_HTTP_TIMEOUT, PKG_HTTP_RETRIES,
    /// PKG_CONCURRENT_DOWNLOADS, SSL_CERT_FILE, SSL_CERT_DIR, HTTP(S)_PROXY, NO_PROXY (either
    /// case, upper-case first), NETRC or else $HOME/.netrc. Errors: `std::errc::invalid_argument`
    /// naming the variable and its value when a number does not parse.
    [[nodiscard]] static result<http_options> from_environment(const getenv_function& getenv,
                                                               std::string user_agent);
};

}  // namespace pkg::io
