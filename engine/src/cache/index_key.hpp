#pragma once
/// \file
/// The short, stable directory name of a package index inside `wheels-v1/` and `simple-v1/`.

#include <string>
#include <string_view>

namespace pkg::cache {

/// The canonical form of an index URL, so spellings of one index share cache entries:
/// scheme and host lower-cased, credentials (`user:pass@`) dropped (they must never reach the
/// disk, and the same index seen with other credentials is the same index), the scheme's
/// default port dropped (`:443` for https, `:80` for http), the fragment dropped, trailing
/// slashes of the path removed. The path and query are kept as written (servers may treat
/// their case as significant). Text without `://` (a local directory) is kept as written minus
/// trailing slashes. Pure; never fails.
[[nodiscard]] std::string canonical_index_url(std::string_view url);

/// `wheels-v1/<index-key>/...`: the first 16 lower-case hex digits of the SHA-256 of
/// `canonical_index_url(url)` (64 bits: collisions between the few indexes one cache sees are
/// negligible). Pure; never fails.
[[nodiscard]] std::string index_key(std::string_view url);

}  // namespace pkg::cache
