#pragma once
/// \file
/// A wheel's `entry_points.txt` (the entry points spec: an INI file, `[group]` headers,
/// `name = module:attr.sub [extras]` lines, `#`/`;` comments) as far as installing needs it:
/// the `console_scripts` and `gui_scripts` groups, and the launcher and shebang text an
/// installer writes into the environment's scripts directory.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

namespace pkg::installer {

/// One console or GUI script.
struct entry_point {
    std::string name;    ///< the script's file name in the scripts directory
    std::string module;  ///< dotted module path, e.g. `pip._internal.cli.main`
    std::string attr;    ///< dotted attribute path inside the module, e.g. `main` or `App.run`
    bool is_gui = false;
    std::size_t line_number = 0;  ///< in entry_points.txt, for messages
};

/// Parses `text` (the content of `where`, named in errors) and returns the `console_scripts`
/// then `gui_scripts` entries in file order; other groups are skipped without validation (they
/// are plugin registries for other programs). Names are taken verbatim after trimming.
/// Errors: `errc::invalid_entry_point` citing `where`, the line number and the line: a line
/// without `=` in those groups, an empty or path-like name (`/`, `.`, `..`, NUL), a value that
/// is not `module:attr` with dotted Python identifiers (a bare module has nothing to call), an
/// unterminated `[extras]`, or a name given twice. Pure; thread-safe.
[[nodiscard]] result<std::vector<entry_point>> parse_entry_points(std::string_view text,
                                                                  std::string_view where);

/// pip's rule for the launchers of pip and setuptools, whose wheels carry versioned names
/// (`pip3.11`, `easy_install-3.8`) baked in when they were built: with `python_version` "X.Y",
/// `pip` becomes `pip`, `pipX`, `pipX.Y` and other `pipN[.M]` entries are dropped; `easy_install`
/// becomes `easy_install`, `easy_install-X.Y` and other `easy_install-N.M` are dropped. Entries
/// are returned in a stable order (input order, generated names where their base was). An empty
/// `python_version` returns `entries` unchanged. Pure.
[[nodiscard]] std::vector<entry_point> apply_versioned_script_rule(
    std::vector<entry_point> entries, std::string_view python_version);

/// The first line(s) that make a script run with `python`: `#!<python>\n`, or when the path is
/// longer than 127 bytes (the historical kernel limit for the whole `#!` line) or contains
/// whitespace, a `/bin/sh` trampoline whose second line `exec`s the interpreter and which Python
/// reads as a string literal. Pure.
[[nodiscard]] std::string shebang_for(const std::filesystem::path& python);

/// A launcher script for `ep`: `shebang_for(python)` + an import of the module's first
/// attribute and `sys.exit(<attr>())`. Pure.
[[nodiscard]] std::string launcher_script(const entry_point& ep,
                                          const std::filesystem::path& python);

/// If `content` starts with `#!python` (also `#!pythonw`), the same script with that first line
/// replaced by `shebang_for(python)` (any interpreter arguments on it are dropped, as pip does);
/// otherwise nullopt. Pure.
[[nodiscard]] std::optional<std::string> rewrite_python_shebang(std::string_view content,
                                                 const std::filesystem::path& python);

}  // namespace pkg::installer
