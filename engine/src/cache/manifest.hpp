#pragma once
/// \file
/// The archive manifest: what an unpacked wheel tree in `archive-v1/<id>/` contains, written by
/// the unzip pipeline inside the staging tree before it is published, so installing from the
/// cache never re-reads or re-parses RECORD.
///
/// On disk: `<archive>/.pkg-archive`, UTF-8 text, '\n' line ends, fields separated by one space,
/// lines in exactly this order (version 1):
///
///     pkg-archive 1                       format name and version; other versions are a miss
///     wheel six-1.16.0-py2.py3-none-any.whl
///     name six                            PEP 503 normalized, equal to the filename's
///     version 1.16.0                      as in the filename (PEP 440-equal to it)
///     tags py2.py3-none-any               the filename's compressed tag triple, lower case
///     sha256 <64 lower-case hex>          of the .whl file; equals the archive id
///     wheel-size 11053                    bytes of the .whl file
///     unpacked-size 34669                 sum of the file sizes below
///     files 2                             number of file lines that follow
///     - 34549 <hash> six.py               one line per regular file of the tree:
///     x 120 - bin/tool                       'x' executable or '-', size in bytes, the
///                                            sha256 as RECORD writes it (urlsafe base64 of the
///                                            32 bytes, no padding, 43 characters) or '-' for
///                                            none (RECORD itself), then the relative path
///                                            ('/'-separated, the rest of the line)
///     end                                 nothing may follow
///
/// Numbers are decimal without sign or leading zeros. Paths have no empty, `.` or `..`
/// components, no leading '/', no '\\', no control characters, no duplicates, and are never
/// `.pkg-archive` itself. The parser is strict: anything else is a corrupt entry, which lookups
/// treat as a cache miss (the archive is fetched again). A new layout gets a new version number.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

namespace pkg::cache {

/// Name of the manifest file inside an archive tree.
inline constexpr std::string_view manifest_file_name = ".pkg-archive";

/// One regular file of an archive tree.
struct manifest_file {
    /// Relative, '/'-separated path inside the archive tree (as in RECORD).
    std::string path;
    std::uint64_t size_bytes = 0;
    /// SHA-256 as RECORD writes it without the `sha256=` prefix (urlsafe base64, no padding);
    /// empty when the file has no hash (RECORD itself).
    std::string hash;
    /// The zip entry's executable bit (installers keep it on scripts and data files).
    bool is_executable = false;

    friend bool operator==(const manifest_file&, const manifest_file&) = default;
};

/// What an archive tree holds; see the file comment for the on-disk form.
struct archive_manifest {
    std::string wheel_filename;  ///< `six-1.16.0-py2.py3-none-any.whl`
    std::string name;            ///< PEP 503 normalized project name
    std::string version;         ///< the filename's version text
    std::string tags;            ///< the filename's compressed tags, `py2.py3-none-any`
    std::string sha256;          ///< lower-case hex digest of the wheel file = archive id
    std::uint64_t wheel_size_bytes = 0;
    std::uint64_t unpacked_size_bytes = 0;  ///< sum of `files[i].size_bytes`
    std::vector<manifest_file> files;

    friend bool operator==(const archive_manifest&, const archive_manifest&) = default;
};

/// The manifest's text (version 1). Validates first, with the parser's rules, so whatever this
/// writes `parse_manifest` reads back equal.
/// Errors: `errc::corrupt_cache_entry` naming the field or file path and why (a path with a
/// newline, a name that does not match the filename, a size sum that does not add up, …).
/// Pure; thread-safe.
[[nodiscard]] result<std::string> format_manifest(const archive_manifest& manifest);

/// Parses a manifest's text strictly. `where` names the source in errors (a path).
/// Errors: `errc::corrupt_cache_entry` citing the line number and the offending text.
/// Pure; thread-safe.
[[nodiscard]] result<archive_manifest> parse_manifest(std::string_view text,
                                                      std::string_view where = {});

/// Writes `<archive_dir>/.pkg-archive` atomically (temp file + rename, mode 0644).
/// Errors: as `format_manifest`; filesystem errors naming the path.
/// Thread-safety: safe for distinct trees; the caller owns its staging tree.
[[nodiscard]] result<void> write_manifest(const std::filesystem::path& archive_dir,
                                          const archive_manifest& manifest);

/// Reads and parses `<archive_dir>/.pkg-archive`.
/// Errors: `errc::corrupt_cache_entry` for a missing (ENOENT), unreadable or malformed manifest,
/// naming the path; lookups turn any error into a cache miss.
/// Thread-safety: safe from any thread (published manifests are never written again).
[[nodiscard]] result<archive_manifest> read_manifest(const std::filesystem::path& archive_dir);

}  // namespace pkg::cache
