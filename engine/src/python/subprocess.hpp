#pragma once
/// \file
/// Running a short-lived helper program (an interpreter answering a query) and capturing what it
/// prints: no shell, stdin from /dev/null, a deadline after which the child is killed.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <pkg/io/error.hpp>

namespace pkg::python {

/// What a finished child left behind.
struct process_output {
    int exit_code = -1;      ///< exit status when it exited normally, else -1
    int signal = 0;          ///< the signal that ended it, else 0
    bool is_timed_out = false;  ///< it ran past the deadline and was killed with SIGKILL
    std::string out;         ///< everything it wrote to stdout (up to the output limit)
    std::string err;         ///< everything it wrote to stderr (up to the output limit)
};

/// How `run_captured` runs a child.
struct run_options {
    /// The child is killed (SIGKILL) when it has not finished by then.
    std::chrono::milliseconds timeout{std::chrono::seconds(20)};
    /// Bytes kept per stream; more is read and dropped so the child never blocks on a full pipe.
    std::size_t max_output_bytes = 4u << 20;
};

/// Runs `argv` (argv[0] is the program's path; it is not looked up on PATH and no shell is
/// involved) with the caller's environment, stdin from /dev/null, stdout and stderr captured
/// through pipes, and waits for it (reaping it even on timeout).
/// Errors: `pkg::system_error` naming argv[0] when the pipes cannot be made or posix_spawn fails
/// (ENOENT, EACCES, ENOEXEC…). A child that runs and fails is not an error here: the caller
/// reads `exit_code`, `signal`, `is_timed_out`.
/// Thread-safety: safe to call from several threads (pipes are close-on-exec, so concurrent
/// children do not inherit each other's ends).
[[nodiscard]] result<process_output> run_captured(const std::vector<std::string>& argv,
                                                  run_options options = {});

}  // namespace pkg::python
