#include "zip/inflate.hpp"

#include <cstring>
#include <new>

#include <fmt/format.h>
#include <libdeflate.h>

#include <pkg/engine/errc.hpp>

namespace pkg::zip {
namespace {

/// One decompressor per thread: libdeflate's decompressors are not thread-safe, and allocating
/// one per entry would cost more than inflating a small file.
class thread_decompressor {
public:
    thread_decompressor() : d_(libdeflate_alloc_decompressor()) {}
    ~thread_decompressor() { libdeflate_free_decompressor(d_); }
    thread_decompressor(const thread_decompressor&) = delete;
    thread_decompressor& operator=(const thread_decompressor&) = delete;

    libdeflate_decompressor* get() const
    {
        if (d_ == nullptr) {
            throw std::bad_alloc();
        }
        return d_;
    }

private:
    libdeflate_decompressor* d_;
};

libdeflate_decompressor* decompressor()
{
    thread_local const thread_decompressor instance;
    return instance.get();
}

std::string where(const zip_entry& e)
{
    return fmt::format("entry {} (local header at offset {})", quote_entry_name(e.name),
                       e.local_header_offset);
}

} // namespace

std::uint32_t crc32(std::span<const std::byte> bytes, std::uint32_t crc)
{
    return libdeflate_crc32(crc, bytes.data(), bytes.size());
}

raw_inflate_result inflate_raw(std::span<const std::byte> in, std::span<std::byte> out)
{
    std::byte dummy{}; // libdeflate wants valid pointers even for empty buffers
    std::size_t consumed = 0;
    std::size_t produced = 0;
    const libdeflate_result r = libdeflate_deflate_decompress_ex(
        decompressor(), in.empty() ? &dummy : in.data(), in.size(),
        out.empty() ? &dummy : out.data(), out.size(), &consumed, &produced);
    raw_inflate_result result;
    result.is_ok = r == LIBDEFLATE_SUCCESS;
    result.is_output_full = r == LIBDEFLATE_INSUFFICIENT_SPACE;
    if (result.is_ok) {
        result.consumed_bytes = consumed;
        result.produced_bytes = produced;
    }
    return result;
}

result<void> inflate_entry_to(const zip_entry& entry, std::span<std::byte> out)
{
    if (out.size() != entry.uncompressed_size) {
        return fail(errc::invalid_zip,
                    fmt::format("{}: output buffer has {} bytes, the entry {}", where(entry),
                                out.size(), entry.uncompressed_size));
    }
    if (entry.data.size() != entry.compressed_size) {
        return fail(errc::invalid_zip,
                    fmt::format("{}: holds {} compressed bytes but declares {}", where(entry),
                                entry.data.size(), entry.compressed_size));
    }
    if (entry.method == method_stored) {
        if (entry.compressed_size != entry.uncompressed_size) {
            return fail(errc::invalid_zip,
                        fmt::format("{}: stored entry with compressed size {} and uncompressed "
                                    "size {}",
                                    where(entry), entry.compressed_size, entry.uncompressed_size));
        }
        if (!out.empty()) {
            std::memcpy(out.data(), entry.data.data(), out.size());
        }
    } else if (entry.method == method_deflate) {
        // An empty member written with method 8 and no deflate stream at all: zipfile reads it
        // as empty, and there is nothing to misread.
        if (!(entry.data.empty() && out.empty())) {
            const raw_inflate_result r = inflate_raw(entry.data, out);
            if (r.is_output_full) {
                return fail(errc::invalid_zip,
                            fmt::format("{}: deflate data inflates to more than the declared {} "
                                        "bytes",
                                        where(entry), entry.uncompressed_size));
            }
            if (!r.is_ok) {
                return fail(errc::invalid_zip,
                            fmt::format("{}: corrupt or truncated deflate data ({} bytes)",
                                        where(entry), entry.data.size()));
            }
            if (r.produced_bytes != out.size()) {
                return fail(errc::invalid_zip,
                            fmt::format("{}: deflate data inflates to {} bytes, the header "
                                        "declares {}",
                                        where(entry), r.produced_bytes, out.size()));
            }
            if (r.consumed_bytes != entry.data.size()) {
                return fail(errc::invalid_zip,
                            fmt::format("{}: deflate stream ends after {} of its {} compressed "
                                        "bytes",
                                        where(entry), r.consumed_bytes, entry.data.size()));
            }
        }
    } else {
        return fail(errc::invalid_zip, fmt::format("{}: compression method {} cannot be inflated",
                                                   where(entry), entry.method));
    }
    const std::uint32_t actual = crc32(out);
    if (actual != entry.crc32) {
        return fail(errc::invalid_zip,
                    fmt::format("{}: CRC-32 of the inflated data is {:08x}, the header says "
                                "{:08x}",
                                where(entry), actual, entry.crc32));
    }
    return {};
}

result<std::vector<std::byte>> inflate_entry(const zip_entry& entry)
{
    std::vector<std::byte> out(entry.uncompressed_size);
    if (auto r = inflate_entry_to(entry, out); !r) {
        return fail(std::move(r.error()));
    }
    return out;
}

} // namespace pkg::zip
