#pragma once
/// \file
/// The exit codes of the pkg command. Stable: scripts may rely on them; README lists them.

namespace pkg::cli::exit_code {

inline constexpr int success = 0;          ///< Done (or nothing to do).
inline constexpr int failure = 1;          ///< The command ran and failed (see stderr).
inline constexpr int usage = 2;            ///< Bad command line.
inline constexpr int not_implemented = 3;  ///< The command exists in the plan but not yet here.

}  // namespace pkg::cli::exit_code
