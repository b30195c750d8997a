#pragma once
/// \file
/// The engine's own version, as the `pkg` command and embedders report it.

#include <string_view>

namespace pkg {

/// pkg's version ("0.1.0"). Thread-safe; the string lives for the whole program.
std::string_view engine_version() noexcept;

}  // namespace pkg
