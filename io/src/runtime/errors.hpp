#pragma once
/// \file
/// Error values of the coroutine runtime: cancellation, abandoned work, exceptions turned into
/// `pkg::error`. Internal header of io/.
///
/// Convention for every runtime awaitable (slots, once_map, fan_out): cancellation while waiting is
/// reported as a `pkg::error` whose code compares equal to `std::errc::operation_canceled`, never
/// as an exception. (Asio itself still throws `boost::system::system_error(operation_aborted)` at
/// the *next* `co_await` of a coroutine that was cancelled; that is how a cancelled coroutine
/// tree unwinds.)

#include <exception>
#include <string_view>
#include <system_error>

#include <pkg/io/error.hpp>

namespace pkg::io {

/// Why a runtime operation failed, beyond cancellation (which uses `std::errc::operation_canceled`).
enum class runtime_errc {
    unhandled_exception = 1,  ///< A coroutine or callable threw something that is not a system error.
    abandoned,                ///< The object that would have completed the wait was destroyed first.
};

/// The category of `runtime_errc` (name "pkg.runtime"). Thread-safe.
const std::error_category& runtime_category() noexcept;

/// Makes `runtime_errc` usable as a `std::error_code`.
inline std::error_code make_error_code(runtime_errc e) noexcept
{
    return {static_cast<int>(e), runtime_category()};
}

/// A cancellation error: code `std::errc::operation_canceled`, message "<what> was cancelled".
[[nodiscard]] error cancelled_error(std::string_view what);

/// True when `e` reports a cancellation (generic ECANCELED or Asio's operation_aborted).
[[nodiscard]] bool is_cancelled(const error& e) noexcept;

/// Turns the exception in `ep` (must be non-null) into an error value about `what`.
/// `boost::system::system_error` and `std::system_error` keep their code (so a cancelled Asio
/// operation stays a cancellation), `std::bad_alloc` becomes `std::errc::not_enough_memory`,
/// anything else `runtime_errc::unhandled_exception`; the message cites `what()`.
[[nodiscard]] error error_from_exception(const std::exception_ptr& ep, std::string_view what);

}  // namespace pkg::io

template <>
struct std::is_error_code_enum<pkg::io::runtime_errc> : std::true_type {};
