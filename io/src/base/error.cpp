#include <pkg/io/error.hpp>

#include <cstring>
#include <string>

namespace pkg {

std::string error::to_string() const
{
    std::string out;
    if (!where.empty()) {
        out += where;
        out += ": ";
    }
    out += message.empty() ? code.message() : message;
    if (!hint.empty()) {
        out += " (";
        out += hint;
        out += ')';
    }
    return out;
}

error error::with_context(std::string_view outer) const&
{
    error copy = *this;
    return std::move(copy).with_context(outer);
}

error error::with_context(std::string_view outer) &&
{
    if (!outer.empty()) {
        where = where.empty() ? std::string(outer) : std::string(outer) + ": " + where;
    }
    return std::move(*this);
}

error system_error(int errno_value, std::string_view operation, std::string_view path)
{
    std::string msg(operation);
    msg += " failed: ";
    msg += std::generic_category().message(errno_value);
    return error{std::error_code(errno_value, std::generic_category()), std::move(msg),
                 std::string(path), {}};
}

}  // namespace pkg
