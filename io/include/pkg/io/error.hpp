#pragma once
/// \file
/// pkg's error value and result type, shared by every component.
///
/// Expected failures (bad input, network faults, hash mismatches, lock contention) are values:
/// functions return `pkg::result<T>`, a `tl::expected<T, pkg::error>`. A `pkg::error` carries a
/// `std::error_code` (from a pkg category such as `pkg::errc` or `pkg::io::errc`, or the system
/// category for OS errors) plus the words a user reads: what failed, where, and what to do.

#include <string>
#include <system_error>
#include <utility>

#include <tl/expected.hpp>

namespace pkg {

/// An error as a value. Cheap to move; copyable so one outcome can reach many waiters.
struct error {
    /// What kind of failure this is, for programs: compare with `pkg::errc::…`, `std::errc::…`.
    std::error_code code;
    /// One line for people: the thing, the cause ("sha256 mismatch for x.whl (expected …, got …)").
    std::string message;
    /// Where it happened: "file:line", a URL (credentials redacted) or a path; may be empty.
    std::string where;
    /// What the user can do about it; may be empty.
    std::string hint;

    /// "where: message (hint)" with the empty parts left out.
    [[nodiscard]] std::string to_string() const;

    /// Prepends context to `where` ("lock.txt:3" then "black 24.1.0" gives "black 24.1.0: lock.txt:3").
    [[nodiscard]] error with_context(std::string_view outer) const&;
    [[nodiscard]] error with_context(std::string_view outer) &&;
};

/// The result of an operation that can fail in an expected way.
template <class T>
using result = tl::expected<T, error>;

/// Builds the unexpected branch of a `result`: `return pkg::fail(errc::invalid_version, "…", where);`
[[nodiscard]] inline tl::unexpected<error> fail(std::error_code code, std::string message,
                                                std::string where = {}, std::string hint = {})
{
    return tl::unexpected<error>(
        error{code, std::move(message), std::move(where), std::move(hint)});
}

/// Same, from an existing error.
[[nodiscard]] inline tl::unexpected<error> fail(error e) { return tl::unexpected<error>(std::move(e)); }

/// An error from an errno value, naming the operation and the path it concerned.
[[nodiscard]] error system_error(int errno_value, std::string_view operation, std::string_view path);

}  // namespace pkg
