#pragma once
// Runs a program and captures its exit status and output, for tests that drive real processes.

#include <string>
#include <vector>

namespace pkg::test {

struct process_result {
    int exit_code = -1;  ///< exit status, or 128 + signal number
    std::string out;     ///< stdout
    std::string err;     ///< stderr
};

/// Runs `argv` (argv[0] is a path) with stdin from /dev/null and waits for it.
process_result run_process(const std::vector<std::string>& argv);

}  // namespace pkg::test
