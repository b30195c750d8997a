#pragma once
/// \file
/// The RECORD of an installed distribution, as installers write and read it: reading it back
/// (for uninstall and collision checks) and writing it (CSV that Python's csv module reads,
/// `path,sha256=<urlsafe base64 no padding>,size`, RECORD itself as `path,,`).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

namespace pkg::installer {

/// One file of an installed RECORD, resolved.
struct recorded_file {
    std::filesystem::path path;  ///< absolute, lexically normal
    std::string text;            ///< the path as RECORD writes it
    std::string sha256;          ///< its RECORD hash (urlsafe base64, no padding); "" if none
    std::size_t line_number = 0;
};

/// Reads `<dist_info>/RECORD` and resolves every path against the `.dist-info`'s parent
/// (absolute paths are kept). Errors: `errc::invalid_record` naming the RECORD (missing: "no
/// RECORD, cannot tell which files belong to it"; malformed CSV citing the line).
/// Thread-safety: safe from any thread.
[[nodiscard]] result<std::vector<recorded_file>> read_installed_record(
    const std::filesystem::path& dist_info);

/// One line to write.
struct record_entry {
    std::string path;  ///< relative to the `.dist-info`'s parent, '/'-separated
    std::string hash;  ///< urlsafe base64 of the SHA-256 without padding; empty: no hash
    std::uint64_t size_bytes = 0;
    bool has_size = true;
};

/// The RECORD text for `entries` in the given order, '\n' line ends, fields quoted the way
/// Python's csv writer quotes them (only fields holding `,`, `"`, CR or LF). Pure.
[[nodiscard]] std::string format_record(const std::vector<record_entry>& entries);

/// SHA-256 of `bytes` in RECORD's encoding (urlsafe base64, no padding). Pure.
[[nodiscard]] std::string record_hash(std::string_view bytes);

}  // namespace pkg::installer
