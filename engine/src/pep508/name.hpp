#pragma once
/// \file
/// Project names: validity (core metadata `Name`) and PEP 503 normalisation.

#include <string>
#include <string_view>

#include <pkg/io/error.hpp>

namespace pkg::pep508 {

/// True if `name` is a valid project name: ASCII letters/digits, with `.`, `-`, `_` allowed
/// inside but not at either end (`^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`, case-insensitive).
bool is_valid_name(std::string_view name) noexcept;

/// PEP 503 normal form: lower case, every run of `-`, `_`, `.` replaced by one `-`.
/// Does not validate; call `is_valid_name` (or `parse_name`) first where input is untrusted.
std::string normalize_name(std::string_view name);

/// Validates and normalises in one step (`errc::invalid_name`, message cites the text).
result<std::string> parse_name(std::string_view name);

}  // namespace pkg::pep508
