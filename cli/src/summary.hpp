#pragma once
/// \file
/// What people read after an operation: the summary of an install, sync or uninstall (like
/// uv's: counts, time, then one sorted "+ name==version" / "- name==version" line per change),
/// and errors with their where and hint.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/engine/install.hpp>
#include <pkg/io/error.hpp>

namespace pkg::cli {

/// "412 ms", "3.21 s", "2 min 5 s". Pure.
[[nodiscard]] std::string format_duration(std::chrono::milliseconds elapsed);

/// The summary of an install or sync, lines ending in '\n':
/// "Nothing to do: N packages already installed" for a no-op; otherwise "Downloaded …",
/// "Installed N packages in T", "Removed N packages", then " - name==old" / " + name==new"
/// lines sorted by name (removals first for one name), " ~ name==version" for a reinstall of
/// the same version. A dry run says "Would install …".
/// `is_verbose` adds warnings' context and skipped requirements. Warnings are not included
/// (see print_warnings). Pure.
[[nodiscard]] std::string install_summary(const pkg::install_report& report, bool is_verbose);

/// The summary of an uninstall: "Uninstalled N packages in T" then " - name==version" lines
/// (sorted). `is_dry_run` says "Would uninstall". Pure.
[[nodiscard]] std::string uninstall_summary(const pkg::uninstall_report& report, bool is_dry_run,
                                            std::chrono::milliseconds elapsed);

/// Prints "warning: <text>" on stderr for each warning.
void print_warnings(const std::vector<std::string>& warnings);

/// Prints `e` on stderr as "error: <message>" followed by "  where: …" and "  hint: …" lines
/// when those parts are set.
void print_error(const pkg::error& e);

/// Reports a failed `command` and returns its exit code: with `is_json` the error document on
/// stdout, and always `print_error` on stderr. A cancellation caused by `signal_number` (0 if
/// none) gives exit_code::cancelled_by(signal_number), anything else exit_code::failure.
[[nodiscard]] int report_failure(std::string_view command, const pkg::error& e, int signal_number,
                                 bool is_json);

}  // namespace pkg::cli
