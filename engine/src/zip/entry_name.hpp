#pragma once
/// \file
/// Validation of zip entry names before anything is written under them.
///
/// A wheel's entry names become paths below an install or cache directory, so a name that could
/// leave that directory, alias another entry, or mean different things on different systems is
/// rejected outright (never skipped: a skipped entry is a file other installers do write).

#include <cstddef>
#include <string>
#include <string_view>

#include <pkg/io/error.hpp>

namespace pkg::zip {

/// Bounds on entry names; part of `zip::limits`.
struct name_limits {
    std::size_t max_name_bytes = 4096; ///< PATH_MAX on Linux
    std::size_t max_depth = 64;        ///< path components, directories included
};

/// What a valid name denotes.
struct entry_name_kind {
    bool is_directory = false; ///< the name ends in '/'
};

/// Checks that `name` is a safe relative path: non-empty, at most `lim.max_name_bytes` bytes and
/// `lim.max_depth` components, strict UTF-8 (no overlong forms, surrogates or code points above
/// U+10FFFF), no NUL, no C0/C1 control characters or DEL, no backslash, not absolute, no drive
/// letter (`C:`), and no empty (`a//b`), `.` or `..` component. A single trailing '/' marks a
/// directory. Errors are `errc::unsafe_zip_path` (`errc::zip_limit_exceeded` for the two
/// limits), each with its own message quoting the name (control bytes escaped as `\xNN`).
/// Pure function; thread-safe.
result<entry_name_kind> validate_entry_name(std::string_view name, const name_limits& lim = {});

/// `name` in single quotes with bytes outside printable ASCII written as `\xNN`, cut after 200
/// bytes, for error messages. Pure function.
std::string quote_entry_name(std::string_view name);

} // namespace pkg::zip
