#include "interrupt.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <stdexcept>

namespace pkg::cli {
namespace {

// Shared with the handlers, hence globals; std::atomic<int> is lock-free here, so the handlers
// may use it.
std::atomic<int> pipe_read_fd{-1};
std::atomic<int> pipe_write_fd{-1};
std::atomic<int> signal_count{0};
std::atomic<int> first_signal_number{0};
static_assert(std::atomic<int>::is_always_lock_free);

struct sigaction previous_int{};
struct sigaction previous_term{};

extern "C" void on_signal(int signal_number)
{
    const int saved_errno = errno;
    if (signal_count.fetch_add(1) > 0) {
        // The second signal: the user wants out now. Leave the terminal on a fresh line.
        static constexpr char newline[] = "\n";
        [[maybe_unused]] const auto ignored = ::write(STDERR_FILENO, newline, 1);
        ::_exit(128 + signal_number);
    }
    int expected = 0;
    first_signal_number.compare_exchange_strong(expected, signal_number);
    const char byte = static_cast<char>(signal_number);
    [[maybe_unused]] const auto ignored = ::write(pipe_write_fd.load(), &byte, 1);
    errno = saved_errno;
}

}  // namespace

interrupt_scope::interrupt_scope()
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        throw std::runtime_error("pkg: cannot create the signal pipe");
    }
    pipe_read_fd = fds[0];
    pipe_write_fd = fds[1];
    signal_count = 0;
    first_signal_number = 0;
    struct sigaction action{};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, &previous_int);
    ::sigaction(SIGTERM, &action, &previous_term);
}

interrupt_scope::~interrupt_scope()
{
    ::sigaction(SIGINT, &previous_int, nullptr);
    ::sigaction(SIGTERM, &previous_term, nullptr);
    ::close(pipe_read_fd.exchange(-1));
    ::close(pipe_write_fd.exchange(-1));
}

int interrupt_scope::wait(std::chrono::milliseconds timeout)
{
    pollfd fd{pipe_read_fd.load(), POLLIN, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(timeout.count()));
    if (ready <= 0) {
        return 0;  // timeout, or EINTR from our own handler: the byte is read next time
    }
    int signal_number = 0;
    char bytes[16];
    ssize_t n = 0;
    while ((n = ::read(fd.fd, bytes, sizeof bytes)) > 0) {
        for (ssize_t i = 0; i < n; ++i) {
            if (bytes[i] != 0) {
                signal_number = bytes[i];
            }
        }
    }
    return signal_number;
}

void interrupt_scope::wake()
{
    const char byte = 0;  // 0 = no signal, just "look again"
    [[maybe_unused]] const auto ignored = ::write(pipe_write_fd.load(), &byte, 1);
}

int interrupt_scope::first_signal() const { return first_signal_number.load(); }

}  // namespace pkg::cli
