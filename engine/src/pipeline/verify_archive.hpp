#pragma once
/// \file
/// Re-checking a published archive tree against its manifest (a `pkg cache verify` building
/// block; the crash and cross-process tests use it to prove no partial archive is ever served).

#include <filesystem>

#include <pkg/io/error.hpp>

#include "cache/manifest.hpp"

namespace pkg::pipeline {

/// Reads `<dir>/.pkg-archive` and checks that the tree holds exactly its files (plus the
/// manifest and directories), each with the recorded size, SHA-256 (where recorded) and
/// executable bit. Reads every byte: meant for checks, not the install path.
/// Errors: `errc::corrupt_cache_entry` naming the file and what differs (missing, extra,
/// size, hash, mode); manifest read errors. Thread-safety: safe on trees nobody writes.
[[nodiscard]] result<cache::archive_manifest> verify_archive(const std::filesystem::path& dir);

} // namespace pkg::pipeline
