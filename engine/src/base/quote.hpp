#pragma once
/// \file
/// Quoting untrusted input inside error messages, the same way in every parser.

#include <cstddef>
#include <string>
#include <string_view>

namespace pkg {

/// `text` in double quotes for an error message: `"` and `\` escaped, control and non-ASCII bytes
/// as `\xNN`, cut after `max_bytes` with "..." after the closing quote, so one bad line cannot
/// flood a log or a terminal. Thread-safe.
std::string quote_for_message(std::string_view text, std::size_t max_bytes = 200);

/// `text` in double quotes exactly as written (no escaping), cut after `max_bytes` with "..."
/// inside the quotes: the form PEP 440 errors use (their tests pin the raw text). Thread-safe.
std::string quote_verbatim(std::string_view text, std::size_t max_bytes = 120);

}  // namespace pkg
