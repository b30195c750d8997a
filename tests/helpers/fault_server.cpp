// A scripted, fault-injecting HTTP/1.1 server (and tiny proxy) for the HTTP client's tests.
//
// Usage: fault_server [ROOT]     prints "<port>\n" on stdout, serves 127.0.0.1:<port>, and exits
//                                when its stdin closes or after 300 s, whichever comes first.
//                                ROOT (optional) is the document root of /files/.
// Behaviours by path (query `fails=K` makes a fault apply to the first K requests of that exact
// path+query only; attempt counters are kept per path+query, so tests use unique `&id=` values):
//   /ok/N              N deterministic bytes (byte i = (i*31+7) % 251), keep-alive
//   /conn-id           the serial number of the TCP connection (proves keep-alive reuse)
//   /headers           echoes the request head as the body
//   /reset-mid/N       half the body, then RST           /close-early/N  half the body, then FIN
//   /stall             never answers                      /stall-body/N   half the body, then silence
//   /status/C          status C (then 200 "recovered" once `fails` is used up)
//   /429?retry-after=S 429 with Retry-After: S
//   /wrong-length      Content-Length 100 with a 50-byte body, then close
//   /chunked/N         chunked body                       /chunked-cut/N  chunked, never terminated
//   /eof/N             no length: body ends when the connection closes
//   /redirect/N        chain of N redirects (absolute-path, relative and absolute URLs) to "done"
//   /redirect-loop     redirects to itself                /redirect-to?url=U  302 to U
//   /gzip/N            gzip-encoded when the request accepts it
//   /slow/N            1 KiB every 5 ms                   /interim/N   100 Continue, then /ok/N
//   /range/N           Accept-Ranges + strong ETag, honours Range/If-Range; RST mid-body
//                      while `fails` lasts               /range-weak/N  same with a weak ETag
//   /stats?key=K       "attempts=A ranges=R" for path+query K (the rest of the query)
//   /auth              needs Basic user:secret, else 401  /garbage  not HTTP at all
//   /files/P           (with ROOT) the file ROOT/P, or ROOT/P/index when P ends in '/'; that
//                      file's sibling `<file>.headers` adds response header lines, where a line
//                      "Status: N" sets the status instead; 304 (with those headers, no body)
//                      when If-None-Match equals its ETag or If-Modified-Since its Last-Modified;
//                      404 when the file is missing. Files are read per request, so tests may
//                      change them between requests. Every /files/ request is appended to
//                      ROOT/requests.log as
//                      "<path> inm=<If-None-Match> ims=<If-Modified-Since> accept=<Accept>".
//   anything else      404
// Proxy: `CONNECT host:port` tunnels; absolute-form `GET http://…/p` serves /p here with
// `X-Proxied: yes`.

#include <arpa/inet.h>
#include <libdeflate.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

std::mutex counters_mutex;
std::map<std::string, int> attempts;
std::map<std::string, int> range_requests;
std::atomic<int> connection_serial{0};
int server_port = 0;
std::string files_root;  // argv[1]: the document root of /files/ (empty: /files/ is 404)

char pattern_byte(std::size_t i) { return static_cast<char>((i * 31 + 7) % 251); }

std::string pattern(std::size_t from, std::size_t to)
{
    std::string out;
    out.reserve(to - from);
    for (std::size_t i = from; i < to; ++i) {
        out += pattern_byte(i);
    }
    return out;
}

bool send_all(int fd, std::string_view data)
{
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

thread_local bool is_fd_closed = false;

void reset_close(int fd)
{
    is_fd_closed = true;
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
}

// Waits until the peer closes (or `seconds` pass): a stalled server that still notices goodbyes.
void wait_for_close(int fd, int seconds)
{
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    char scratch[4096];
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
            if (::recv(fd, scratch, sizeof scratch, 0) <= 0) {
                return;
            }
        }
    }
}

struct request {
    std::string method;
    std::string target;  // as sent
    std::string path;
    std::string query;
    std::string head;    // raw
    std::vector<std::pair<std::string, std::string>> headers;

    std::string header(const std::string& name) const
    {
        for (const auto& [k, v] : headers) {
            if (strcasecmp(k.c_str(), name.c_str()) == 0) {
                return v;
            }
        }
        return {};
    }

    std::string param(const std::string& name) const
    {
        std::size_t pos = 0;
        while (pos <= query.size()) {
            const auto amp = query.find('&', pos);
            const std::string item = query.substr(pos, amp == std::string::npos ? amp : amp - pos);
            if (item.starts_with(name + "=")) {
                return item.substr(name.size() + 1);
            }
            if (amp == std::string::npos) {
                break;
            }
            pos = amp + 1;
        }
        return {};
    }
};

// Reads one request head; leftover bytes stay in `buffer`.
std::optional<request> read_request(int fd, std::string& buffer)
{
    while (buffer.find("\r\n\r\n") == std::string::npos) {
        char chunk[4096];
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) {
            return std::nullopt;
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
    }
    const auto end = buffer.find("\r\n\r\n");
    request r;
    r.head = buffer.substr(0, end + 4);
    buffer.erase(0, end + 4);
    const auto line_end = r.head.find("\r\n");
    const std::string line = r.head.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 + 1);
    r.method = line.substr(0, sp1);
    r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t pos = line_end + 2;
    while (pos < end) {
        const auto eol = r.head.find("\r\n", pos);
        const std::string h = r.head.substr(pos, eol - pos);
        const auto colon = h.find(':');
        if (colon != std::string::npos) {
            std::string v = h.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') {
                v.erase(0, 1);
            }
            r.headers.emplace_back(h.substr(0, colon), v);
        }
        pos = eol + 2;
    }
    std::string t = r.target;
    if (t.starts_with("http://")) {
        const auto slash = t.find('/', 7);
        t = slash == std::string::npos ? "/" : t.substr(slash);
    }
    const auto q = t.find('?');
    r.path = t.substr(0, q);
    r.query = q == std::string::npos ? "" : t.substr(q + 1);
    return r;
}

std::size_t number_after(const std::string& path, const std::string& prefix)
{
    return static_cast<std::size_t>(std::strtoull(path.c_str() + prefix.size(), nullptr, 10));
}

std::string head(int status, const std::string& reason, std::vector<std::string> fields)
{
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
    for (const auto& f : fields) {
        out += f + "\r\n";
    }
    return out + "\r\n";
}

std::optional<std::string> slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// /files/P (see the file comment).
template <class Simple>
bool serve_file(const request& req, Simple& simple)
{
    const std::string relative = req.path.substr(std::string("/files/").size());
    const std::string file = files_root + "/" + relative + (relative.ends_with("/") || relative.empty() ? "index" : "");
    {
        std::lock_guard lock(counters_mutex);
        std::ofstream log(files_root + "/requests.log", std::ios::app);
        log << req.path << " inm=" << req.header("If-None-Match")
            << " ims=" << req.header("If-Modified-Since") << " accept=" << req.header("Accept")
            << "\n";
    }
    const auto body = slurp(file);
    if (!body) {
        return simple(404, "Not Found", "no such file: " + relative);
    }
    int status = 200;
    std::vector<std::string> fields;
    std::string etag;
    std::string last_modified;
    if (const auto extra = slurp(file + ".headers")) {
        std::istringstream lines(*extra);
        std::string line;
        while (std::getline(lines, line)) {
            if (!line.empty() && line.back() == '\r') {
                line.pop_back();
            }
            if (line.empty()) {
                continue;
            }
            if (strncasecmp(line.c_str(), "Status:", 7) == 0) {
                status = std::atoi(line.c_str() + 7);
                continue;
            }
            if (strncasecmp(line.c_str(), "ETag:", 5) == 0) {
                etag = line.substr(line.find_first_not_of(' ', 5));
            } else if (strncasecmp(line.c_str(), "Last-Modified:", 14) == 0) {
                last_modified = line.substr(line.find_first_not_of(' ', 14));
            }
            fields.push_back(line);
        }
    }
    const std::string inm = req.header("If-None-Match");
    const std::string ims = req.header("If-Modified-Since");
    if (status == 200 && ((!etag.empty() && inm == etag) || (!last_modified.empty() && ims == last_modified))) {
        return simple(304, "Not Modified", "", fields);
    }
    return simple(status, status == 200 ? "OK" : "Scripted", *body, fields);
}

// Returns true when the connection may serve another request.
bool serve(int fd, const request& req, int conn_id, bool proxied)
{
    const std::string key = req.path + (req.query.empty() ? "" : "?" + req.query);
    int attempt = 0;
    {
        std::lock_guard lock(counters_mutex);
        attempt = ++attempts[key];
    }
    const std::string fails_text = req.param("fails");
    const int fails = fails_text.empty() ? 1 << 30 : std::atoi(fails_text.c_str());
    const bool is_faulty = attempt <= fails;
    const bool is_head = req.method == "HEAD";
    const std::string via = proxied ? "X-Proxied: yes" : "X-Proxied: no";
    const std::string& p = req.path;

    auto simple = [&](int status, const std::string& reason, const std::string& body,
                      std::vector<std::string> extra = {}) {
        extra.push_back("Content-Length: " + std::to_string(body.size()));
        extra.push_back(via);
        return send_all(fd, head(status, reason, extra) + (is_head ? "" : body));
    };

    if (p.starts_with("/ok/")) {
        return simple(200, "OK", pattern(0, number_after(p, "/ok/")));
    }
    if (p == "/conn-id") {
        return simple(200, "OK", std::to_string(conn_id));
    }
    if (p == "/headers") {
        return simple(200, "OK", req.head);
    }
    if (p.starts_with("/interim/")) {
        send_all(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n");
        return simple(200, "OK", pattern(0, number_after(p, "/interim/")));
    }
    if (p.starts_with("/reset-mid/") || p.starts_with("/close-early/") ||
        p.starts_with("/stall-body/")) {
        const bool is_reset = p.starts_with("/reset-mid/");
        const bool is_stall = p.starts_with("/stall-body/");
        const std::size_t n = number_after(p, is_reset ? "/reset-mid/" : is_stall ? "/stall-body/" : "/close-early/");
        if (!is_faulty) {
            return simple(200, "OK", pattern(0, n));
        }
        send_all(fd, head(200, "OK", {"Content-Length: " + std::to_string(n)}) + pattern(0, n / 2));
        if (is_stall) {
            wait_for_close(fd, 30);
        } else if (is_reset) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            reset_close(fd);
            return false;
        }
        return false;
    }
    if (p == "/stall") {
        wait_for_close(fd, 30);
        return false;
    }
    if (p.starts_with("/status/")) {
        const int code = static_cast<int>(number_after(p, "/status/"));
        if (is_faulty) {
            return simple(code, "Scripted", "status " + std::to_string(code));
        }
        return simple(200, "OK", "recovered");
    }
    if (p == "/429") {
        if (is_faulty) {
            return simple(429, "Too Many Requests", "slow down",
                          {"Retry-After: " + req.param("retry-after")});
        }
        return simple(200, "OK", "recovered");
    }
    if (p == "/wrong-length") {
        if (!is_faulty) {
            return simple(200, "OK", pattern(0, 100));
        }
        send_all(fd, head(200, "OK", {"Content-Length: 100"}) + pattern(0, 50));
        return false;
    }
    if (p.starts_with("/chunked/") || p.starts_with("/chunked-cut/")) {
        const bool is_cut = p.starts_with("/chunked-cut/") && is_faulty;
        const std::size_t n = number_after(p, p.starts_with("/chunked/") ? "/chunked/" : "/chunked-cut/");
        std::string out = head(200, "OK", {"Transfer-Encoding: chunked", via});
        std::size_t i = 0;
        std::size_t size = 1;
        while (i < n) {
            const std::size_t len = std::min(size, n - i);
            char hex[32];
            std::snprintf(hex, sizeof hex, "%zx", len);
            out += std::string(hex) + (size % 3 == 0 ? ";ext=1" : "") + "\r\n" + pattern(i, i + len) + "\r\n";
            i += len;
            size = size * 3 + 1;
        }
        if (is_cut) {
            send_all(fd, out);
            return false;
        }
        out += "0\r\nX-Trailer: yes\r\n\r\n";
        return send_all(fd, out);
    }
    if (p.starts_with("/eof/")) {
        send_all(fd, head(200, "OK", {"Connection: close"}) + pattern(0, number_after(p, "/eof/")));
        ::shutdown(fd, SHUT_WR);
        return false;
    }
    if (p.starts_with("/redirect/")) {
        const std::size_t n = number_after(p, "/redirect/");
        if (n == 0) {
            return simple(200, "OK", "done");
        }
        std::string location;
        if (n % 3 == 0) {
            location = "http://127.0.0.1:" + std::to_string(server_port) + "/redirect/" + std::to_string(n - 1);
        } else if (n % 3 == 1) {
            location = "/redirect/" + std::to_string(n - 1);
        } else {
            location = "./" + std::to_string(n - 1) + "#frag";
        }
        return simple(n % 2 == 0 ? 302 : 301, "Moved", "", {"Location: " + location});
    }
    if (p == "/redirect-loop") {
        return simple(302, "Found", "", {"Location: /redirect-loop"});
    }
    if (p == "/redirect-to") {
        return simple(307, "Temporary Redirect", "", {"Location: " + req.param("url")});
    }
    if (p.starts_with("/gzip/")) {
        const std::string body = pattern(0, number_after(p, "/gzip/"));
        if (req.header("Accept-Encoding").find("gzip") == std::string::npos) {
            return simple(200, "OK", body);
        }
        auto* c = libdeflate_alloc_compressor(6);
        std::string out(libdeflate_gzip_compress_bound(c, body.size()), '\0');
        out.resize(libdeflate_gzip_compress(c, body.data(), body.size(), out.data(), out.size()));
        libdeflate_free_compressor(c);
        return simple(200, "OK", out, {"Content-Encoding: gzip"});
    }
    if (p.starts_with("/slow/")) {
        const std::size_t n = number_after(p, "/slow/");
        send_all(fd, head(200, "OK", {"Content-Length: " + std::to_string(n)}));
        for (std::size_t i = 0; i < n; i += 1024) {
            if (!send_all(fd, pattern(i, std::min(n, i + 1024)))) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return true;
    }
    if (p.starts_with("/range/") || p.starts_with("/range-weak/")) {
        const bool is_weak = p.starts_with("/range-weak/");
        const std::size_t n = number_after(p, is_weak ? "/range-weak/" : "/range/");
        const std::string etag = is_weak ? "W/\"r1\"" : "\"r1\"";
        std::size_t start = 0;
        const std::string range = req.header("Range");
        if (range.starts_with("bytes=") && req.header("If-Range") == etag) {
            start = std::strtoull(range.c_str() + 6, nullptr, 10);
            std::lock_guard lock(counters_mutex);
            ++range_requests[key];
        }
        std::vector<std::string> fields{"Accept-Ranges: bytes", "ETag: " + etag,
                                        "Content-Length: " + std::to_string(n - start)};
        std::string out = start == 0 ? head(200, "OK", fields)
                                     : head(206, "Partial Content",
                                            [&] {
                                                fields.push_back("Content-Range: bytes " + std::to_string(start) + "-" +
                                                                 std::to_string(n - 1) + "/" + std::to_string(n));
                                                return fields;
                                            }());
        if (is_faulty) {
            send_all(fd, out + pattern(start, start + (n - start) / 2));
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            reset_close(fd);
            return false;
        }
        return send_all(fd, out + pattern(start, n));
    }
    if (p == "/stats") {
        std::lock_guard lock(counters_mutex);
        // The key is a path+query with its own '&'s: it is everything after "key=".
        const std::string k = req.query.starts_with("key=") ? req.query.substr(4) : std::string();
        // The stats request itself is counted too; keep the numbers about `k` only.
        return send_all(fd, head(200, "OK", {"Content-Length: " +
                                             std::to_string(("attempts=" + std::to_string(attempts[k]) +
                                                             " ranges=" + std::to_string(range_requests[k])).size())}) +
                                "attempts=" + std::to_string(attempts[k]) + " ranges=" +
                                std::to_string(range_requests[k]));
    }
    if (p == "/auth") {
        if (req.header("Authorization") == "Basic dXNlcjpzZWNyZXQ=") {
            return simple(200, "OK", "welcome");
        }
        return simple(401, "Unauthorized", "who are you", {"WWW-Authenticate: Basic realm=\"t\""});
    }
    if (p == "/garbage") {
        send_all(fd, "NOT HTTP AT ALL\r\n\r\n");
        return false;
    }
    if (p.starts_with("/files/") && !files_root.empty()) {
        return serve_file(req, simple);
    }
    return simple(404, "Not Found", "no such path: " + p);
}

void tunnel(int client, const std::string& authority)
{
    const auto colon = authority.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(authority.c_str() + colon + 1)));
    std::string host = authority.substr(0, colon);
    if (host == "localhost") {
        host = "127.0.0.1";
    }
    const int up = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
        ::connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        send_all(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        ::close(up);
        return;
    }
    send_all(client, "HTTP/1.1 200 Connection established\r\n\r\n");
    pollfd fds[2] = {{client, POLLIN, 0}, {up, POLLIN, 0}};
    char buffer[16384];
    while (::poll(fds, 2, 30000) > 0) {
        for (int i = 0; i < 2; ++i) {
            if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                const ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
                if (n <= 0 || !send_all(fds[1 - i].fd, std::string_view(buffer, static_cast<std::size_t>(n)))) {
                    ::close(up);
                    return;
                }
            }
        }
    }
    ::close(up);
}

void handle(int fd)
{
    const int conn_id = ++connection_serial;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string buffer;
    while (auto req = read_request(fd, buffer)) {
        if (req->method == "CONNECT") {
            tunnel(fd, req->target);
            break;
        }
        const bool proxied = req->target.starts_with("http://");
        if (!serve(fd, *req, conn_id, proxied)) {
            // serve() may have closed fd already (RST); closing the number again could hit
            // another connection's descriptor.
            if (is_fd_closed) {
                return;
            }
            break;
        }
    }
    ::close(fd);
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc > 1) {
        files_root = argv[1];
    }
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener, 128) != 0) {
        std::perror("fault_server: bind/listen");
        return 1;
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    server_port = ntohs(addr.sin_port);
    std::printf("%d\n", server_port);
    std::fflush(stdout);
    std::thread([] {
        char c;
        while (::read(0, &c, 1) > 0) {
        }
        std::_Exit(0);
    }).detach();
    std::thread([] {
        std::this_thread::sleep_for(std::chrono::seconds(300));
        std::_Exit(0);
    }).detach();
    while (true) {
        const int fd = ::accept(listener, nullptr, nullptr);
        if (fd >= 0) {
            std::thread(handle, fd).detach();
        }
    }
}
