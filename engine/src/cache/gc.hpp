#pragma once
/// \file
/// Garbage collection of the cache: prune (what nothing references), clean (everything, or some
/// projects), and measuring size. Callers hold the cache lock exclusively (or were forced); see
/// cache.hpp for the layout these functions walk.
///
/// Removal goes through `rename_aside_then_remove`: an archive disappears from its name in one
/// rename and is deleted afterwards, so a reader that raced past the lock (a forced run) sees a
/// complete archive or none, never a half-deleted one.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include <pkg/engine/cache.hpp>
#include <pkg/io/error.hpp>

#include "cache/cache.hpp"

namespace pkg::cache {

/// When a staging tree counts as abandoned.
struct prune_options {
    /// Staging trees in tmp/ whose mtime is older than `now - staging_max_age` are removed. A
    /// live install touches its tree within seconds, so an hour is plenty; a future mtime
    /// (clock stepped back, files from another machine) is fresh: we never assume time moves
    /// forward, and a later prune removes the tree once the clock has passed it.
    std::chrono::seconds staging_max_age{3600};
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

/// Removes, in this order: top-level entries that are not pkg's (old bucket versions, leftovers
/// of interrupted removals), abandoned staging trees, leftovers of interrupted removals inside
/// wheels-v1 and simple-v1 (`.*.removing.*`), pointers that dangle or do not have the
/// form pkg writes, empty pointer directories (not reported), and archives no pointer
/// references (plus non-archive entries in archive-v1). Non-symlink files next to pointers are
/// kept (future HTTP metadata).
/// Errors: `pkg::system_error` naming the entry that could not be listed or removed; what was
/// removed before the error is lost from the report (the cache stays consistent).
[[nodiscard]] result<cache_removal_report> prune(const cache& c, const prune_options& options = {});

/// `names` empty: removes every top-level entry except the lock file (and its owner sidecar),
/// CACHEDIR.TAG and .gitignore (the directory stays a tagged, empty cache). Otherwise, for each
/// project (PEP 503-normalized): `wheels-v1/*/<name>/`, `simple-v1/*/<name>.*`, then the
/// archives those pointers referenced that no remaining pointer references.
/// Errors: `errc::invalid_name` citing a bad name (nothing removed); as `prune`.
[[nodiscard]] result<cache_removal_report> clean(const cache& c,
                                                 std::span<const std::string> names);

/// Size of the tree at `root` (zero if missing); see `cache_size_report` for what is counted.
/// Errors: `pkg::system_error` naming an entry that cannot be listed (EACCES); entries that
/// vanish while walking are skipped.
[[nodiscard]] result<cache_size_report> measure_size(const std::filesystem::path& root);

}  // namespace pkg::cache
