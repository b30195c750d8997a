#pragma once
/// \file
/// A wheel's RECORD (`<name>.dist-info/RECORD`, PEP 376/427, "Recording installed files"):
/// parsing its CSV and checking it against the files a wheel unpacked to.
///
/// Rules applied (the wheel spec, made practical):
/// - every regular file of the archive is listed, with `sha256=<urlsafe base64, no padding>` and
///   its size in bytes, both matching the bytes; other hash algorithms are refused (no wheel
///   builder writes them and pkg records sha256 only);
/// - RECORD itself, RECORD.jws and RECORD.p7s (signatures, which cannot hash the file listing
///   them) may be listed without hash and size, or not at all;
/// - a line for a file the archive does not hold is an error, and so is a path listed twice with
///   different values (exact duplicate lines are tolerated: some old builders wrote them);
/// - directory entries of the zip are not files and need no line.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

namespace pkg::pipeline {

/// One RECORD line.
struct record_line {
    std::string path;
    std::string hash; ///< "sha256=..." as written, or empty
    std::string size; ///< decimal text as written, or empty
    std::size_t line_number = 0;
};

/// Parses RECORD's CSV (Python's csv dialect: `,` separated, `"` quoting with `""` escapes,
/// '\n' or "\r\n" line ends; blank lines skipped). `where` names the file in errors.
/// Errors: `errc::record_mismatch` citing the line (unterminated quote, not 3 fields).
/// Pure; thread-safe.
[[nodiscard]] result<std::vector<record_line>> parse_record(std::string_view text,
                                                            std::string_view where);

/// A file the wheel unpacked to.
struct unpacked_file {
    std::uint64_t size_bytes = 0;
    std::string sha256_b64; ///< urlsafe base64 without padding of the content's SHA-256
};

/// Checks `lines` (of `record_path`, e.g. `pip-23.0.1.dist-info/RECORD`) against `files`
/// (zip path → what was written) with the rules in the file comment. Returns the set of paths
/// listed without a hash (RECORD and its signatures), which the archive manifest records as
/// unhashed.
/// Errors: `errc::record_mismatch` naming the path and what RECORD says vs what the archive
/// holds. Pure; thread-safe.
[[nodiscard]] result<std::vector<std::string>>
check_record(const std::vector<record_line>& lines, std::string_view record_path,
             const std::map<std::string, unpacked_file>& files);

/// Urlsafe base64 without padding (RECORD's hash encoding) of `bytes`. Pure.
[[nodiscard]] std::string base64_urlsafe_nopad(std::string_view bytes);

} // namespace pkg::pipeline
