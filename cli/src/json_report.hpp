#pragma once
/// \file
/// The JSON documents the commands print on stdout with --json (and `list --format json`).
///
/// install/sync: {"command", "environment", "python", "python_version", "dry_run",
///   "installed", "replaced", "removed", "unchanged": [{"name", "version", "previous_version"?,
///   "source": "cache"|"network"|"local", "wheel", "files"}], "skipped": [name…],
///   "warnings": [text…], "downloaded_bytes", "network_requests", "timings_ms": {"total", "fetch", "install"}}
/// uninstall: {"command", "environment", "dry_run", "removed": […], "warnings": […],
///   "timings_ms": {"total"}}
/// list: [{"name", "version", "installer"}] (pip list --format json, plus the installer)
/// failure: {"command", "error": {"message", "where", "hint", "category", "value"}}
/// Every function is pure.

#include <chrono>
#include <string>
#include <string_view>

#include <pkg/engine/install.hpp>
#include <pkg/io/error.hpp>

namespace pkg::cli {

/// "cache", "network", "local". Pure.
[[nodiscard]] const char* to_string(pkg::package_source source) noexcept;

/// The install/sync document; `command` is "install" or "sync".
[[nodiscard]] std::string install_report_json(std::string_view command,
                                              const pkg::install_report& report);

/// The uninstall document.
[[nodiscard]] std::string uninstall_report_json(const pkg::uninstall_report& report,
                                                bool is_dry_run, std::chrono::milliseconds elapsed);

/// The listing as pip's `list --format json` array (with "installer" added).
[[nodiscard]] std::string listing_json(const pkg::environment_listing& listing);

/// The failure document of `command`.
[[nodiscard]] std::string error_json(std::string_view command, const pkg::error& e);

}  // namespace pkg::cli
