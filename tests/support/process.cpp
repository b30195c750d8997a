#include "support/process.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <utility>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/files.hpp"

extern char** environ;

namespace pkg::test {

process_result run_process(const std::vector<std::string>& argv)
{
    int out_pipe[2];
    int err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);

    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);

    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv.at(0).c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (rc != 0) {
        close(out_pipe[0]);
        close(err_pipe[0]);
        throw std::runtime_error("posix_spawn failed for " + argv.at(0));
    }

    process_result result;
    std::array<pollfd, 2> fds{pollfd{out_pipe[0], POLLIN, 0}, pollfd{err_pipe[0], POLLIN, 0}};
    std::array<std::string*, 2> sinks{&result.out, &result.err};
    int open_count = 2;
    char buf[4096];
    while (open_count > 0) {
        if (poll(fds.data(), fds.size(), -1) < 0) {
            continue;
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            const ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<std::size_t>(n));
            } else {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_count;
            }
        }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

namespace {

// Starts `args` with fd 1 opened on `out` and fd 2 on `err`, or a copy of fd 1 when they are the
// same file (two separate opens would overwrite each other's output).
child spawn_to(const std::vector<std::string>& args, std::filesystem::path out,
               std::filesystem::path err)
{
    child c;
    c.out = std::move(out);
    c.err = std::move(err);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, c.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    if (c.err == c.out) {
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
    } else {
        posix_spawn_file_actions_addopen(&actions, 2, c.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
    }
    std::vector<char*> argv;
    for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&c.pid, argv.at(0), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    INFO("posix_spawn " << args.at(0) << ": " << std::generic_category().message(rc));
    REQUIRE(rc == 0);
    return c;
}

} // namespace

std::filesystem::path test_python()
{
    for (const char* candidate :
         {"/usr/bin/python3", "/root/.pyenv/versions/3.11.7/bin/python3.11"}) {
        if (::access(candidate, X_OK) == 0) {
            return candidate;
        }
    }
    return {};
}

child::child(child&& other) noexcept
    : pid(std::exchange(other.pid, -1)), out(std::move(other.out)), err(std::move(other.err)),
      is_reaped(other.is_reaped)
{
}

child::~child()
{
    if (pid > 0 && !is_reaped) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
}

child spawn(const std::vector<std::string>& args, const std::filesystem::path& log_base)
{
    std::filesystem::path out = log_base;
    out += ".out";
    std::filesystem::path err = log_base;
    err += ".err";
    return spawn_to(args, std::move(out), std::move(err));
}

child spawn_merged(const std::vector<std::string>& args, const std::filesystem::path& log)
{
    return spawn_to(args, log, log);
}

int wait_exit(child& c)
{
    int status = 0;
    while (::waitpid(c.pid, &status, 0) < 0) {
        REQUIRE(errno == EINTR);
    }
    c.is_reaped = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string output_of(const child& c)
{
    if (c.err == c.out) {
        return read_text(c.out);
    }
    return read_text(c.out) + read_text(c.err);
}

bool wait_for_output(const child& c, const std::string& text)
{
    for (int i = 0; i < 30000; ++i) {
        std::ifstream in(c.out, std::ios::binary);
        const std::string so_far((std::istreambuf_iterator<char>(in)), {});
        if (so_far.find(text) != std::string::npos) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
}

} // namespace pkg::test
