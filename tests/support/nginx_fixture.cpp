#include "support/nginx_fixture.hpp"

#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace pkg::test {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& content)
{
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << content;
    if (!out) {
        throw std::runtime_error("nginx_fixture: cannot write " + path.string());
    }
}

std::string read_file(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void openssl(const std::vector<std::string>& args)
{
    std::vector<std::string> argv{"/usr/bin/openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run_process(argv);
    if (r.exit_code != 0) {
        throw std::runtime_error("nginx_fixture: openssl " + args.front() + " failed: " + r.err);
    }
}

// A port nobody listens on right now (nginx cannot listen on port 0). Racy by nature: the
// caller retries with new ports when nginx fails to bind.
int free_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("nginx_fixture: cannot find a free port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool answers(int port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

void make_certificate(const fs::path& dir, const std::string& name, const std::string& san)
{
    const std::string key = (dir / (name + ".key")).string();
    const std::string csr = (dir / (name + ".csr")).string();
    const std::string ext = (dir / (name + ".ext")).string();
    write_file(ext, "subjectAltName=" + san + "\n");
    openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             key, "-out", csr, "-subj", "/CN=" + name});
    openssl({"x509", "-req", "-in", csr, "-CA", (dir / "ca.pem").string(), "-CAkey",
             (dir / "ca.key").string(), "-CAcreateserial", "-days", "2", "-extfile", ext, "-out",
             (dir / (name + ".pem")).string()});
}

}  // namespace

nginx_fixture::nginx_fixture(std::vector<std::pair<std::string, std::string>> files)
{
    std::string templ = (fs::temp_directory_path() / "pkg-nginx-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
        throw std::runtime_error("nginx_fixture: mkdtemp failed");
    }
    dir_ = templ;
    const fs::path dir(dir_);
    root_ = (dir / "root").string();
    fs::create_directories(root_);
    fs::create_directories(dir / "tmp");
    for (const auto& [path, content] : files) {
        write_file(fs::path(root_) / path, content);
    }
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", (dir / "ca.key").string(), "-out", (dir / "ca.pem").string(), "-days",
             "2", "-subj", "/CN=pkg test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
    ca_file_ = (dir / "ca.pem").string();
    make_certificate(dir, "localhost", "DNS:localhost,IP:127.0.0.1");
    make_certificate(dir, "wrong.example", "DNS:wrong.example");

    std::string last_log;
    for (int tries = 0; tries < 5; ++tries) {
        http_port_ = free_port();
        https_port_ = free_port();
        wrong_port_ = free_port();
        const std::string d = dir_;
        const std::string conf =
            "daemon off;\nmaster_process off;\nuser root;\nworker_processes 1;\n"
            "error_log " + d + "/error.log;\npid " + d + "/nginx.pid;\n"
            "events { worker_connections 128; }\n"
            "http {\n  access_log off;\n"
            "  client_body_temp_path " + d + "/tmp/body;\n  proxy_temp_path " + d + "/tmp/proxy;\n"
            "  fastcgi_temp_path " + d + "/tmp/fcgi;\n  uwsgi_temp_path " + d + "/tmp/uwsgi;\n"
            "  scgi_temp_path " + d + "/tmp/scgi;\n"
            "  types { text/html html; application/json json; text/plain txt; }\n"
            "  default_type application/octet-stream;\n  sendfile on;\n  keepalive_timeout 30s;\n"
            "  gzip on;\n  gzip_types application/json text/plain;\n  gzip_min_length 32;\n"
            "  server { listen 127.0.0.1:" + std::to_string(http_port_) + "; root " + root_ + "; }\n"
            "  server { listen 127.0.0.1:" + std::to_string(https_port_) + " ssl; root " + root_ + ";\n"
            "    ssl_certificate " + d + "/localhost.pem; ssl_certificate_key " + d + "/localhost.key;\n"
            "    ssl_protocols TLSv1.2 TLSv1.3; }\n"
            "  server { listen 127.0.0.1:" + std::to_string(wrong_port_) + " ssl; root " + root_ + ";\n"
            "    ssl_certificate " + d + "/wrong.example.pem; ssl_certificate_key " + d + "/wrong.example.key;\n"
            "    ssl_protocols TLSv1.2 TLSv1.3; }\n"
            "}\n";
        write_file(dir / "nginx.conf", conf);

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, (dir / "stdout.log").c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        std::vector<std::string> args{"/usr/sbin/nginx", "-p", dir_, "-c",
                                      (dir / "nginx.conf").string()};
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            throw std::runtime_error("nginx_fixture: cannot start /usr/sbin/nginx");
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        bool exited = false;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exited = true;
                break;
            }
            if (answers(http_port_) && answers(https_port_) && answers(wrong_port_)) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (!exited) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        pid_ = -1;
        last_log = read_file(dir / "error.log") + read_file(dir / "stdout.log");
    }
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    throw std::runtime_error("nginx_fixture: nginx did not start: " + last_log);
}

nginx_fixture::~nginx_fixture()
{
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

std::string nginx_fixture::http_url(const std::string& path) const
{
    return "http://127.0.0.1:" + std::to_string(http_port_) + path;
}

std::string nginx_fixture::https_url(const std::string& path) const
{
    return "https://localhost:" + std::to_string(https_port_) + path;
}

std::string nginx_fixture::wrong_name_url(const std::string& path) const
{
    return "https://localhost:" + std::to_string(wrong_port_) + path;
}

}  // namespace pkg::test
