#pragma once
/// \file
/// The exit codes of the pkg command. Stable: scripts may rely on them; README lists them.

namespace pkg::cli::exit_code {

inline constexpr int success = 0;          ///< Done, or nothing to do.
inline constexpr int failure = 1;          ///< The command ran and failed (see stderr).
inline constexpr int usage = 2;            ///< Bad command line: unknown option, bad value.
inline constexpr int not_implemented = 3;  ///< A feature pkg does not have yet (`venv --seed`).
/// Cancelled by a signal: 128 + its number, so 130 for Ctrl-C (SIGINT), 143 for SIGTERM. The
/// environment is consistent: every package is either complete or absent.
inline constexpr int interrupted = 130;

/// The exit code for an operation cancelled by `signal_number`.
[[nodiscard]] constexpr int cancelled_by(int signal_number) { return 128 + signal_number; }

}  // namespace pkg::cli::exit_code
