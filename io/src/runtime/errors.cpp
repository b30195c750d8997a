#include "runtime/errors.hpp"

#include <new>
#include <string>

#include <boost/system/system_error.hpp>

namespace pkg::io {
namespace {

class runtime_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "pkg.runtime"; }

    std::string message(int value) const override
    {
        switch (static_cast<runtime_errc>(value)) {
        case runtime_errc::unhandled_exception:
            return "unhandled exception";
        case runtime_errc::abandoned:
            return "abandoned: the object completing the wait was destroyed";
        }
        return "unknown pkg.runtime error " + std::to_string(value);
    }
};

}  // namespace

const std::error_category& runtime_category() noexcept
{
    static const runtime_category_impl category;
    return category;
}

error cancelled_error(std::string_view what)
{
    std::string message(what);
    message += " was cancelled";
    return error{std::make_error_code(std::errc::operation_canceled), std::move(message), {}, {}};
}

bool is_cancelled(const error& e) noexcept
{
    return e.code == std::errc::operation_canceled;
}

error error_from_exception(const std::exception_ptr& ep, std::string_view what)
{
    std::string prefix(what);
    try {
        std::rethrow_exception(ep);
    } catch (const boost::system::system_error& e) {
        // Asio reports a cancelled operation as operation_aborted (ECANCELED in the system
        // category); converting keeps it comparable to std::errc::operation_canceled.
        return error{std::error_code(e.code()), prefix + ": " + e.what(), {}, {}};
    } catch (const std::system_error& e) {
        return error{e.code(), prefix + ": " + e.what(), {}, {}};
    } catch (const std::bad_alloc&) {
        return error{std::make_error_code(std::errc::not_enough_memory),
                     prefix + ": out of memory", {}, {}};
    } catch (const std::exception& e) {
        return error{make_error_code(runtime_errc::unhandled_exception),
                     prefix + " threw an exception: " + e.what(), {}, {}};
    } catch (...) {
        return error{make_error_code(runtime_errc::unhandled_exception),
                     prefix + " threw an exception of unknown type", {}, {}};
    }
}

}  // namespace pkg::io
