#pragma once
/// \file
/// The fault-injecting HTTP server (tests/helpers/fault_server.cpp) as a child process of a test:
/// started on 127.0.0.1 at a port of its choosing (read from its stdout), stopped by closing its
/// stdin (the destructor, which also reaps it). See the helper's file comment for its paths
/// (`/stall`, `/slow/N`, resets, statuses, redirects, gzip, and `/files/` from a document root).

#include <filesystem>
#include <string>

#include <sys/types.h>

namespace pkg::test {

class fault_server {
public:
    /// Starts the server; with `document_root`, `/files/<path>` serves files from there (with
    /// per-file `<file>.headers`) and requests are logged to `<root>/requests.log`.
    /// Throws std::runtime_error when it cannot start.
    explicit fault_server(const std::filesystem::path& document_root = {});
    ~fault_server();
    fault_server(const fault_server&) = delete;
    fault_server& operator=(const fault_server&) = delete;

    /// "http://127.0.0.1:<port><path>".
    [[nodiscard]] std::string url(const std::string& path) const;
    /// "http://localhost:<port><path>".
    [[nodiscard]] std::string localhost_url(const std::string& path) const;
    [[nodiscard]] int port() const { return port_; }

private:
    pid_t pid_ = -1;
    int stdin_ = -1;
    int port_ = 0;
};

}  // namespace pkg::test
