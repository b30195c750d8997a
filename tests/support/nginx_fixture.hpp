#pragma once
// An nginx serving a small static tree over HTTP and HTTPS on 127.0.0.1, for HTTP client and
// index tests. A throwaway CA and server certificates (SAN DNS:localhost, IP:127.0.0.1) are made
// with the openssl CLI; a third server presents a certificate for the wrong name.

#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace pkg::test {

class nginx_fixture {
public:
    /// Writes `files` (relative path, content) under the document root, generates certificates,
    /// starts nginx and waits until it answers. Throws std::runtime_error (with nginx's error log)
    /// when it cannot start.
    explicit nginx_fixture(std::vector<std::pair<std::string, std::string>> files = {});
    /// Stops nginx (SIGTERM, waits) and deletes the temporary directory.
    ~nginx_fixture();
    nginx_fixture(const nginx_fixture&) = delete;
    nginx_fixture& operator=(const nginx_fixture&) = delete;

    /// "http://127.0.0.1:<port><path>".
    [[nodiscard]] std::string http_url(const std::string& path) const;
    /// "https://localhost:<port><path>" (certificate valid for localhost and 127.0.0.1).
    [[nodiscard]] std::string https_url(const std::string& path) const;
    /// HTTPS with a certificate for "wrong.example": verification must fail.
    [[nodiscard]] std::string wrong_name_url(const std::string& path) const;

    /// PEM file of the CA that signed both certificates (give it as SSL_CERT_FILE).
    [[nodiscard]] const std::string& ca_file() const { return ca_file_; }
    /// The document root (to add files while running).
    [[nodiscard]] const std::string& root() const { return root_; }

private:
    std::string dir_;
    std::string root_;
    std::string ca_file_;
    int http_port_ = 0;
    int https_port_ = 0;
    int wrong_port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace pkg::test
