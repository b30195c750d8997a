#pragma once
/// \file
/// A push-style streaming zip reader that validates everything a seeking reader would see.
///
/// The wheel pipeline feeds it an HTTP body in chunks of any size. It parses local file headers in
/// stream order and hands out each entry once its compressed bytes are complete; the central
/// directory, ZIP64 records and end record that follow are then parsed and checked against the
/// local headers, so that the archive means exactly one thing (CVE-2025-54368, "zip confusion":
/// an archive that extracts differently with a streaming and a central-directory reader).
///
/// What is accepted (anything else is an error, never skipped):
/// - entries back to back from offset 0 (no prefix, no gaps), then the central directory, then an
///   optional ZIP64 end record + locator, then the end record, its comment, and nothing more;
/// - methods stored (0) and deflate (8); no encryption, no patched data, one disk;
/// - data descriptors (flag bit 3, with or without their optional signature; 8-byte sizes when
///   the local header has a ZIP64 extra field): when the local header carries the sizes they
///   delimit the data and the descriptor must repeat them; when it carries zeros the end of a
///   deflate entry is found by trying each position whose following bytes read as a descriptor
///   giving that very length, and accepting the first where the deflate stream inflates to
///   exactly the descriptor's size and CRC (the stream is self-delimiting, so this is the one
///   end any reader finds). A stored entry with unknown sizes cannot be delimited and is
///   rejected unless it is empty (descriptor right after the header);
/// - every central directory entry matches one local header by offset, with equal name,
///   method, flags (bits 0, 3, 11, 13), CRC-32 and sizes; counts, directory offset and size,
///   ZIP64 locator offset agree; names are distinct paths (see name_tree);
/// - unix modes (version made by 3): regular files and directories only; no symlinks, devices,
///   FIFOs or sockets.
///
/// Memory: one entry's compressed bytes are held until the caller takes the entry; libdeflate
/// needs whole input, so a wheel's largest member sets the peak. Input that `feed` cannot consume
/// at once is copied into an internal buffer (member data of known size goes straight into its
/// entry), so feed network-sized chunks rather than a whole multi-GB archive in one call. An entry
/// with a data descriptor and no sizes in its local header is inflated once to find its end, and
/// again by the caller.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <pkg/io/error.hpp>

#include "zip/entry_name.hpp"
#include "zip/name_tree.hpp"

namespace pkg::zip {

/// Bounds against zip bombs and resource exhaustion. Exceeding one is `errc::zip_limit_exceeded`.
struct limits {
    /// Sum of declared uncompressed sizes. 16 GiB: the largest wheels on PyPI (CUDA/ROCm builds
    /// of torch) are 4–6 GiB compressed.
    std::uint64_t max_total_uncompressed_bytes = std::uint64_t{16} << 30;
    std::uint64_t max_entries = 200'000;
    /// Largest uncompressed/compressed ratio of one entry. Deflate cannot exceed about 1032:1, so
    /// this mostly rejects sizes that lie; it also bounds what inflating a small entry allocates.
    /// 0: no limit.
    std::uint64_t max_ratio = 1000;
    /// Entries up to this many uncompressed bytes are exempt from `max_ratio`.
    std::uint64_t ratio_exempt_bytes = std::uint64_t{1} << 20;
    /// Positions tried as the end of one deflate entry with a data descriptor; a legitimate
    /// archive needs one (a false candidate needs a 32-bit coincidence).
    unsigned max_descriptor_candidates = 16;
    name_limits names;
};

/// The zip compression methods pkg inflates.
inline constexpr std::uint16_t method_stored = 0;
inline constexpr std::uint16_t method_deflate = 8;

/// One complete entry from the stream: its local header's facts (descriptor values where the
/// entry has one) and its compressed bytes.
struct zip_entry {
    std::string name; ///< as stored; validated; directories end in '/'
    bool is_directory = false;
    std::uint16_t method = 0;         ///< method_stored or method_deflate
    std::uint16_t flags = 0;          ///< general purpose bit flag of the local header
    bool has_data_descriptor = false; ///< flag bit 3
    std::uint32_t crc32 = 0;
    std::uint64_t compressed_size = 0;
    std::uint64_t uncompressed_size = 0;
    std::uint64_t local_header_offset = 0;
    std::vector<std::byte> data; ///< the compressed bytes (compressed_size of them)
};

/// What the central directory says of an entry, after it was matched with its local header.
/// Pair it with the `zip_entry` handed out earlier by `local_header_offset`.
struct zip_entry_info {
    std::string name;
    bool is_directory = false;
    /// Unix mode has an execute bit (pip and uv then chmod +x); false when not made on unix.
    bool is_executable = false;
    std::optional<std::uint32_t> unix_mode; ///< external attributes >> 16, made on unix only
    std::uint16_t method = 0;
    std::uint32_t crc32 = 0;
    std::uint64_t compressed_size = 0;
    std::uint64_t uncompressed_size = 0;
    std::uint64_t local_header_offset = 0;
};

/// The validated archive, known once the last byte was read.
struct zip_archive_summary {
    std::vector<zip_entry_info> entries; ///< central directory order
    std::uint64_t archive_bytes = 0;
    std::uint64_t total_uncompressed_bytes = 0;
    std::uint64_t central_directory_offset = 0;
    bool is_zip64 = false; ///< a ZIP64 end record was present
    std::string comment;
};

/// Parses one zip archive pushed to it in chunks. Not thread-safe: one stream, one thread at a
/// time (the entries it hands out may be inflated on any thread). After the first error every
/// call returns that error.
class zip_stream_reader {
public:
    explicit zip_stream_reader(limits lim = {});

    /// Consumes the next bytes of the archive (any length, including 0). Completed entries queue
    /// up for `next_entry`. Fails (`errc::invalid_zip`, `errc::unsafe_zip_path`,
    /// `errc::zip_limit_exceeded`) as soon as the bytes so far prove the archive bad; messages
    /// name the entry, the stream offset and what was expected vs found.
    result<void> feed(std::span<const std::byte> bytes);

    /// The oldest completed entry not yet taken, moved out; nullopt if none is ready.
    std::optional<zip_entry> next_entry();

    /// Declares the end of the stream and returns the validated archive. Fails if the stream
    /// ended before the end record and its comment were complete ("truncated"), or with the
    /// error an earlier call reported. Entries not yet taken stay available.
    result<zip_archive_summary> finish();

    /// Bytes fed so far.
    std::uint64_t bytes_fed() const { return fed_; }

private:
    enum class state : std::uint8_t {
        signature,         ///< next 4 bytes say what comes
        local_header,      ///< a local file header
        entry_data,        ///< compressed bytes of known length
        descriptor,        ///< a data descriptor after data of known length
        descriptor_search, ///< deflate data of unknown length, then its descriptor
        central_header,    ///< a central directory file header
        zip64_end,         ///< the ZIP64 end of central directory record
        zip64_locator,     ///< the ZIP64 end of central directory locator
        end_record,        ///< the end of central directory record and comment
        done,              ///< nothing may follow
        failed,
    };

    /// A local header's facts kept for matching the central directory.
    struct local_record {
        std::string name;
        std::uint64_t offset = 0;
        std::uint64_t compressed_size = 0;
        std::uint64_t uncompressed_size = 0;
        std::uint32_t crc32 = 0;
        std::uint16_t method = 0;
        std::uint16_t flags = 0;
        bool is_directory = false;
        bool is_matched = false;
    };

    std::span<const std::byte> available() const;
    void consume(std::size_t n);
    /// One parsing step: true if it made progress, false if it needs more bytes.
    result<bool> step();
    result<bool> step_signature();
    result<bool> step_local_header();
    result<bool> step_entry_data();
    result<bool> step_descriptor();
    result<bool> step_descriptor_search();
    result<bool> step_central_header();
    result<bool> step_zip64_end();
    result<bool> step_zip64_locator();
    result<bool> step_end_record();
    result<void> check_sizes(const zip_entry& e) const;
    result<void> check_all_local_headers_matched() const;
    result<void> complete_entry();
    std::string describe_state() const;

    limits limits_;
    state state_ = state::signature;
    std::optional<error> error_;

    std::vector<std::byte> buffer_; ///< bytes received and not yet consumed start at pos_
    std::size_t pos_ = 0;
    std::uint64_t offset_ = 0; ///< stream offset of buffer_[pos_]
    std::uint64_t fed_ = 0;

    zip_entry current_;
    bool current_has_zip64_ = false;
    std::uint64_t current_remaining_ = 0; ///< entry_data: bytes still to copy
    std::size_t search_position_ = 0;     ///< descriptor_search: next candidate end, from pos_
    unsigned candidates_tried_ = 0;
    std::optional<error> refused_candidate_; ///< first candidate end that broke a limit

    std::deque<zip_entry> ready_;
    std::vector<local_record> locals_;
    std::unordered_map<std::uint64_t, std::size_t> local_by_offset_;
    name_tree names_;
    std::uint64_t total_uncompressed_ = 0;

    std::uint64_t central_directory_offset_ = 0;
    std::vector<zip_entry_info> central_;
    std::optional<std::uint64_t> zip64_end_offset_;
    std::uint64_t zip64_entries_ = 0;
    std::uint64_t zip64_cd_size_ = 0;
    std::uint64_t zip64_cd_offset_ = 0;
    std::uint64_t central_directory_end_ = 0;
    /// The 20 bytes before the end record: a reader that finds the end record from the back looks
    /// there for a ZIP64 locator, so one must be there exactly when we parsed one.
    std::vector<std::byte> before_end_record_;
    std::string comment_;
};

} // namespace pkg::zip
