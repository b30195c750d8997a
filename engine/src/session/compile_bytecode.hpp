#pragma once
/// \file
/// `--compile-bytecode`: byte-compiling exactly the Python files a run installed, with the
/// environment's own interpreter (`python -I -m compileall -q <files>`), several interpreter
/// processes in parallel (compileall compiles files named on its command line one by one; its
/// `-j` only parallelizes directories, and handing it directories would also compile other
/// packages' files sharing a namespace directory).

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <pkg/io/error.hpp>

namespace pkg::session {

/// The `.py` files inside site-packages that the RECORD of each `.dist-info` in `dist_infos`
/// lists (absolute paths; scripts and other files outside the RECORD's site directory are left
/// out, as pip does). Errors: a RECORD that cannot be read, naming it.
[[nodiscard]] result<std::vector<std::filesystem::path>>
python_files_of(const std::vector<std::filesystem::path>& dist_infos);

/// What compiling did.
struct compile_outcome {
    std::size_t files = 0;               ///< files handed to the interpreter
    std::vector<std::string> warnings;   ///< failed compiles (syntax errors in shipped files…)
};

/// Compiles `files` with `python` in up to `workers` processes at once (0: one per CPU).
/// A file that does not compile (pip installs such wheels too) is a warning, not an error.
/// Errors: the interpreter cannot be started, naming it. Blocking; thread-safe.
[[nodiscard]] result<compile_outcome> compile_bytecode(const std::filesystem::path& python,
                                                       const std::vector<std::filesystem::path>& files,
                                                       unsigned workers = 0);

}  // namespace pkg::session
