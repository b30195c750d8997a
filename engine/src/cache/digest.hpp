#pragma once
/// \file
/// SHA-256 helpers the cache needs for names: archive ids (the wheel's digest, lower-case hex)
/// and index keys (a digest of the canonical index URL).

#include <string>
#include <string_view>

namespace pkg::cache {

/// Lower-case hex SHA-256 of `bytes` (64 characters). Pure; thread-safe.
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

/// True if `text` is exactly 64 lower-case hex digits (an archive id). Pure.
[[nodiscard]] bool is_sha256_hex(std::string_view text) noexcept;

}  // namespace pkg::cache
