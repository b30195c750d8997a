#pragma once
/// \file
/// Decompressing zip entries (stored or deflate) with libdeflate, checking size and CRC-32.
///
/// Thread-safety: every function here may run on any number of threads at once. Each thread
/// lazily allocates one libdeflate decompressor (about 32 KiB) and keeps it until it exits, so a
/// CPU pool pays the allocation once per worker, not per entry.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <pkg/io/error.hpp>

#include "zip/zip_reader.hpp"

namespace pkg::zip {

/// The entry's uncompressed bytes. Fails (`errc::invalid_zip`, naming the entry and its local
/// header offset) when the data is not a valid deflate stream, the stream does not use exactly
/// `compressed_size` bytes, it inflates to a size other than `uncompressed_size`, or the CRC-32 of
/// the result differs from `crc32`. A deflate entry with no compressed bytes and size 0 is empty
/// (as zipfile reads it).
result<std::vector<std::byte>> inflate_entry(const zip_entry& entry);

/// Same, into `out`, which must be exactly `entry.uncompressed_size` bytes (else
/// `errc::invalid_zip` before anything is written). For callers that reuse or map buffers.
result<void> inflate_entry_to(const zip_entry& entry, std::span<std::byte> out);

/// Outcome of inflating a raw deflate stream without checking it against a header.
struct raw_inflate_result {
    bool is_ok = false;             ///< a complete stream fit in `out`
    bool is_output_full = false;    ///< the stream produces more than `out` holds
    std::size_t consumed_bytes = 0; ///< input used by the stream (when is_ok)
    std::size_t produced_bytes = 0; ///< output written (when is_ok)
};

/// Inflates the deflate stream at the start of `in` into `out` with this thread's decompressor.
/// Returns is_ok == false for corrupt or truncated data. Throws std::bad_alloc only if the
/// thread's decompressor cannot be allocated.
raw_inflate_result inflate_raw(std::span<const std::byte> in, std::span<std::byte> out);

/// CRC-32 (zip's polynomial) of `bytes`, continuing from `crc` (0 to start).
std::uint32_t crc32(std::span<const std::byte> bytes, std::uint32_t crc = 0);

} // namespace pkg::zip
