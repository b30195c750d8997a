#pragma once
// Runs programs for tests that drive real processes: to completion with output captured
// (run_process), or in the background with output in files (spawn, wait_exit).

#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

namespace pkg::test {

struct process_result {
    int exit_code = -1; ///< exit status, or 128 + signal number
    std::string out;    ///< stdout
    std::string err;    ///< stderr
};

/// Runs `argv` (argv[0] is a path) with stdin from /dev/null and waits for it.
process_result run_process(const std::vector<std::string>& argv);

/// The Python interpreter tests run: Debian's /usr/bin/python3 (it starts fastest), else pyenv's
/// 3.11.7; empty if neither is executable (callers skip with a WARN then).
std::filesystem::path test_python();

/// A helper process running in the background, its stdout and stderr in files.
///
/// A failed REQUIRE can leave it unreaped: the destructor then kills (SIGKILL) and reaps it, so
/// no helper outlives its test or writes into the next one. Move-only; a moved-from child owns
/// no process. Not thread-safe.
struct child {
    pid_t pid = -1;
    std::filesystem::path out; ///< the file its stdout goes to
    std::filesystem::path err; ///< the file its stderr goes to (the same as `out` when merged)
    bool is_reaped = false;

    child() = default;
    /// Takes over `other`'s process; `other` then owns none.
    child(child&& other) noexcept;
    child& operator=(child&&) = delete;
    /// Kills and reaps the process unless wait_exit already reaped it.
    ~child();
};

/// Starts `args` (args[0] is a path) with stdin inherited, stdout to `<log_base>.out` and stderr
/// to `<log_base>.err` (both created or truncated). REQUIREs that the spawn succeeded.
child spawn(const std::vector<std::string>& args, const std::filesystem::path& log_base);

/// Like spawn, but stdout and stderr both go, interleaved, to the one file `log`.
child spawn_merged(const std::vector<std::string>& args, const std::filesystem::path& log);

/// Waits for `c` to end (retrying on EINTR, REQUIREing any other waitpid error) and marks it
/// reaped. Returns its exit code, or 128 + the signal number for a killed process.
int wait_exit(child& c);

/// Everything `c` wrote so far: its stdout file, then its stderr file (once when merged).
/// REQUIREs that the files exist.
std::string output_of(const child& c);

/// Waits until `c` has printed `text` to stdout and says whether it did. The bound (about 30 s)
/// only keeps a broken helper from hanging the run; nothing about timing may be asserted on it.
bool wait_for_output(const child& c, const std::string& text);

} // namespace pkg::test
