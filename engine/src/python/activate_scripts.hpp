#pragma once
/// \file
/// The activation scripts pkg writes into a virtual environment's bin/ (pkg's own text).

#include <filesystem>
#include <string>
#include <string_view>

namespace pkg::python {

/// `bin/activate` for bash, zsh and POSIX sh: sets VIRTUAL_ENV and VIRTUAL_ENV_PROMPT, puts
/// `<venv>/bin` first on PATH, sets PYTHONHOME aside, prefixes PS1 (when set and
/// VIRTUAL_ENV_DISABLE_PROMPT is not) and defines `deactivate`, which restores all of it.
/// Sourcing it while another environment is active deactivates that one first.
/// Thread-safety: pure.
std::string posix_activate_script(const std::filesystem::path& venv, std::string_view prompt);

/// `bin/activate.fish`: the same for fish (the prompt through a wrapped `fish_prompt`).
/// Thread-safety: pure.
std::string fish_activate_script(const std::filesystem::path& venv, std::string_view prompt);

/// `text` as one single-quoted POSIX shell word (`'` becomes `'\''`).
/// Thread-safety: pure.
std::string sh_quote(std::string_view text);

}  // namespace pkg::python
