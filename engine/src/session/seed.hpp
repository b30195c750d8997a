#pragma once
/// \file
/// `pkg venv --seed`: pip (and setuptools before Python 3.12, as `python -m venv` does) put into
/// a fresh environment by pkg's own installer, from the wheels the interpreter bundles for
/// ensurepip — offline, no index needed, the same bytes `python -m venv` would install.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

#include "python/interpreter.hpp"

namespace pkg::session {

/// Where the seed wheels are: `<base_prefix>/lib/pythonX.Y/ensurepip/_bundled/` when it holds a
/// pip wheel, else Debian's `/usr/share/python-wheels/` (Debian strips the bundled copies), else
/// nullopt. `share_dir` replaces the Debian folder in tests.
[[nodiscard]] std::optional<std::filesystem::path>
find_seed_wheels(const python::interpreter_facts& facts,
                 const std::filesystem::path& share_dir = "/usr/share/python-wheels");

/// Installs the seed packages found in `wheel_dir` into the environment whose interpreter is
/// `venv_python`, through `pkg::install` (find-links only, a `pip==X` lockfile written to a
/// temporary directory). `cache_dir` is the pkg cache to use (empty: a temporary one).
/// Returns the installed `name==version` lines.
/// Errors: `errc::unsupported` when `wheel_dir` has no pip wheel; install errors.
[[nodiscard]] result<std::vector<std::string>>
seed_environment(const std::filesystem::path& venv_python, const python::interpreter_facts& facts,
                 const std::filesystem::path& wheel_dir, const std::filesystem::path& cache_dir,
                 const std::function<std::optional<std::string>(std::string_view)>& getenv);

}  // namespace pkg::session
