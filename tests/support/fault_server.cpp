#include "support/fault_server.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

extern char** environ;

namespace pkg::test {

fault_server::fault_server(const std::filesystem::path& document_root)
{
    int in_pipe[2];
    int out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
        throw std::runtime_error("fault_server: pipe failed");
    }
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        ::close(in_pipe[0]);
        ::close(in_pipe[1]);
        throw std::runtime_error("fault_server: pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    std::string program = PKG_TEST_HELPER_fault_server;
    std::string root = document_root.string();
    std::vector<char*> argv{program.data()};
    if (!root.empty()) {
        argv.push_back(root.data());
    }
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    stdin_ = in_pipe[1];
    if (rc != 0) {
        ::close(out_pipe[0]);
        ::close(stdin_);
        throw std::runtime_error("fault_server: cannot start " + program);
    }
    std::string line;
    char c = 0;
    while (::read(out_pipe[0], &c, 1) == 1 && c != '\n') {
        line += c;
    }
    ::close(out_pipe[0]);
    try {
        port_ = std::stoi(line);
    } catch (const std::exception&) {
        ::close(stdin_);
        ::waitpid(pid_, nullptr, 0);
        throw std::runtime_error("fault_server: no port on its stdout (got \"" + line + "\")");
    }
}

fault_server::~fault_server()
{
    ::close(stdin_);
    ::waitpid(pid_, nullptr, 0);
}

std::string fault_server::url(const std::string& path) const
{
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string fault_server::localhost_url(const std::string& path) const
{
    return "http://localhost:" + std::to_string(port_) + path;
}

}  // namespace pkg::test
