#include "python/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

extern char** environ;

namespace pkg::python {
namespace {

// Owns a file descriptor; closes it once.
class fd_guard {
public:
    explicit fd_guard(int fd = -1) noexcept : fd_(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() { reset(); }
    int get() const noexcept { return fd_; }
    void reset() noexcept
    {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_;
};

// Owns posix_spawn_file_actions_t.
class spawn_actions {
public:
    spawn_actions() { posix_spawn_file_actions_init(&actions_); }
    spawn_actions(const spawn_actions&) = delete;
    spawn_actions& operator=(const spawn_actions&) = delete;
    ~spawn_actions() { posix_spawn_file_actions_destroy(&actions_); }
    posix_spawn_file_actions_t* get() noexcept { return &actions_; }

private:
    posix_spawn_file_actions_t actions_{};
};

int wait_for(pid_t pid)
{
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

}  // namespace

result<process_output> run_captured(const std::vector<std::string>& argv, run_options options)
{
    if (argv.empty()) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "run_captured: no program given");
    }
    const std::string& program = argv.front();
    std::array<int, 2> out_pipe{-1, -1};
    std::array<int, 2> err_pipe{-1, -1};
    if (::pipe2(out_pipe.data(), O_CLOEXEC) != 0) {
        return fail(system_error(errno, "pipe2", program));
    }
    fd_guard out_read(out_pipe[0]);
    fd_guard out_write(out_pipe[1]);
    if (::pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
        return fail(system_error(errno, "pipe2", program));
    }
    fd_guard err_read(err_pipe[0]);
    fd_guard err_write(err_pipe[1]);

    spawn_actions actions;
    posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(actions.get(), out_write.get(), 1);
    posix_spawn_file_actions_adddup2(actions.get(), err_write.get(), 2);

    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));  // posix_spawn's signature is not const
    }
    args.push_back(nullptr);

    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, program.c_str(), actions.get(), nullptr, args.data(), environ);
    out_write.reset();  // the child holds its own copies; EOF arrives when it exits
    err_write.reset();
    if (rc != 0) {
        return fail(system_error(rc, "posix_spawn", program));
    }

    process_output result;
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    std::array<pollfd, 2> fds{pollfd{out_read.get(), POLLIN, 0}, pollfd{err_read.get(), POLLIN, 0}};
    std::array<std::string*, 2> sinks{&result.out, &result.err};
    int open_count = 2;
    std::array<char, 16384> buffer{};
    while (open_count > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.is_timed_out = true;
            break;
        }
        const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()) + 1);
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int saved = errno;
            ::kill(pid, SIGKILL);
            wait_for(pid);
            return fail(system_error(saved, "poll on the output of", program));
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
            if (n > 0) {
                const auto room = options.max_output_bytes - std::min(options.max_output_bytes,
                                                                      sinks[i]->size());
                sinks[i]->append(buffer.data(), std::min(room, static_cast<std::size_t>(n)));
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                fds[i].fd = -1;  // closed by the guards below
                --open_count;
            }
        }
    }
    if (result.is_timed_out) {
        ::kill(pid, SIGKILL);
    }
    const int status = wait_for(pid);
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
    }
    return result;
}

}  // namespace pkg::python
