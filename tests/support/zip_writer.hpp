#pragma once
// A small zip writer for tests: valid archives of every shape the reader must accept, and knobs to
// corrupt them in the ways attackers do. Independent of the reader (its own constants and
// encoders), so the two cannot share a misreading of the format.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pkg::test {

struct zip_writer_entry {
    std::string name;
    std::string content;                    ///< uncompressed bytes
    std::uint16_t method = 8;               ///< 0 stored, 8 deflate; others write `content` as is
    bool data_descriptor = false;           ///< flag bit 3, sizes and CRC after the data
    bool descriptor_signature = true;       ///< write the optional 50 4b 07 08
    bool descriptor_sizes_in_local = false; ///< bit 3, yet the local header has the real values
    std::optional<std::uint32_t> unix_mode; ///< made by unix with this mode; else made by DOS
    std::uint16_t extra_flags = 0;          ///< OR-ed into both headers' flags
    bool utf8_flag = true;                  ///< set flag bit 11 when the name is not ASCII

    // Corruption knobs: each overrides one field or layout decision.
    std::optional<std::string> raw_data; ///< written as the compressed bytes instead
    std::optional<std::string> central_name;
    std::optional<std::uint32_t> local_crc, central_crc, descriptor_crc;
    std::optional<std::uint64_t> local_compressed_size, local_uncompressed_size;
    std::optional<std::uint64_t> central_compressed_size, central_uncompressed_size;
    std::optional<std::uint64_t> descriptor_uncompressed_size;
    std::optional<std::uint64_t> central_offset; ///< the local header offset the CD claims
    std::optional<std::uint16_t> central_method, central_flags, central_disk;
    bool in_central = true;         ///< false: a local header no CD entry lists
    bool central_only = false;      ///< a CD entry with no local header
    bool duplicate_central = false; ///< a second CD entry for the same local header
    std::string bytes_after;        ///< hidden bytes after the entry (and its descriptor)
};

struct zip_writer_options {
    bool force_zip64 = false; ///< ZIP64 extra fields everywhere, ZIP64 end record and locator
    std::string comment;
    std::string prefix;               ///< bytes before the first local header
    std::string bytes_before_central; ///< hidden bytes after the last entry
    std::string bytes_before_end;     ///< hidden bytes before the end record
    std::string bytes_after_end;      ///< trailing bytes after the comment
    std::optional<std::uint64_t> end_entries, end_cd_offset, end_cd_size;
    std::optional<std::uint16_t> end_disk;
    std::optional<std::uint16_t> comment_length;       ///< declared comment length
    std::optional<std::uint64_t> zip64_locator_offset; ///< offset the locator claims
    std::optional<std::uint64_t> zip64_entries;
};

/// The archive's bytes.
std::string write_zip(const std::vector<zip_writer_entry>& entries,
                      const zip_writer_options& options = {});

/// Raw deflate (no zlib wrapper) of `data` with libdeflate at `level`.
std::string deflate_raw(std::string_view data, int level = 6);

/// Zip's CRC-32 of `data`.
std::uint32_t crc32_of(std::string_view data);

} // namespace pkg::test
