#include "support/zip_writer.hpp"

#include <stdexcept>

#include <libdeflate.h>

namespace pkg::test {
namespace {

constexpr std::uint32_t full32 = 0xFFFFFFFF;

void put16(std::string& out, std::uint64_t v)
{
    out += static_cast<char>(v & 0xFF);
    out += static_cast<char>((v >> 8) & 0xFF);
}

void put32(std::string& out, std::uint64_t v)
{
    put16(out, v & 0xFFFF);
    put16(out, (v >> 16) & 0xFFFF);
}

void put64(std::string& out, std::uint64_t v)
{
    put32(out, v & full32);
    put32(out, v >> 32);
}

struct written {
    const zip_writer_entry* entry = nullptr;
    std::uint64_t offset = 0;
    std::uint32_t crc = 0;
    std::uint64_t compressed = 0;
    std::uint64_t uncompressed = 0;
    std::uint16_t flags = 0;
};

} // namespace

std::string deflate_raw(std::string_view data, int level)
{
    libdeflate_compressor* c = libdeflate_alloc_compressor(level);
    if (c == nullptr) {
        throw std::runtime_error("libdeflate_alloc_compressor failed");
    }
    std::string out(libdeflate_deflate_compress_bound(c, data.size()), '\0');
    const std::size_t n =
        libdeflate_deflate_compress(c, data.data(), data.size(), out.data(), out.size());
    libdeflate_free_compressor(c);
    if (n == 0) {
        throw std::runtime_error("libdeflate_deflate_compress failed");
    }
    out.resize(n);
    return out;
}

std::uint32_t crc32_of(std::string_view data)
{
    return libdeflate_crc32(0, data.data(), data.size());
}

std::string write_zip(const std::vector<zip_writer_entry>& entries,
                      const zip_writer_options& options)
{
    const bool zip64 = options.force_zip64;
    std::string out = options.prefix;
    std::vector<written> records;

    for (const zip_writer_entry& e : entries) {
        written w;
        w.entry = &e;
        w.crc = crc32_of(e.content);
        w.uncompressed = e.content.size();
        std::string data = e.raw_data      ? *e.raw_data
                           : e.method == 8 ? deflate_raw(e.content)
                                           : e.content;
        w.compressed = data.size();
        w.flags = static_cast<std::uint16_t>(e.extra_flags | (e.data_descriptor ? 0x8 : 0));
        for (const char c : e.utf8_flag ? std::string_view(e.name) : std::string_view()) {
            if ((static_cast<unsigned char>(c) & 0x80) != 0) {
                w.flags |= 0x800; // UTF-8 names, as Python's zipfile marks them
                break;
            }
        }
        if (e.central_only) {
            w.offset = e.central_offset.value_or(out.size());
            records.push_back(w);
            continue;
        }
        w.offset = out.size();

        const bool hide_sizes = e.data_descriptor && !e.descriptor_sizes_in_local;
        const std::uint32_t local_crc = e.local_crc.value_or(hide_sizes ? 0 : w.crc);
        const std::uint64_t local_c =
            e.local_compressed_size.value_or(hide_sizes ? 0 : w.compressed);
        const std::uint64_t local_u =
            e.local_uncompressed_size.value_or(hide_sizes ? 0 : w.uncompressed);
        std::string extra;
        if (zip64) {
            put16(extra, 1);
            put16(extra, 16);
            put64(extra, local_u);
            put64(extra, local_c);
        }
        put32(out, 0x04034b50);
        put16(out, zip64 ? 45 : 20);
        put16(out, w.flags);
        put16(out, e.method);
        put16(out, 0);    // time
        put16(out, 0x21); // date: 1980-01-01
        put32(out, local_crc);
        put32(out, zip64 ? full32 : local_c);
        put32(out, zip64 ? full32 : local_u);
        put16(out, e.name.size());
        put16(out, extra.size());
        out += e.name;
        out += extra;
        out += data;
        if (e.data_descriptor) {
            if (e.descriptor_signature) {
                put32(out, 0x08074b50);
            }
            put32(out, e.descriptor_crc.value_or(w.crc));
            const std::uint64_t u = e.descriptor_uncompressed_size.value_or(w.uncompressed);
            if (zip64) {
                put64(out, w.compressed);
                put64(out, u);
            } else {
                put32(out, w.compressed);
                put32(out, u);
            }
        }
        out += e.bytes_after;
        records.push_back(w);
    }

    out += options.bytes_before_central;
    const std::uint64_t cd_offset = out.size();
    std::uint64_t cd_count = 0;
    for (const written& w : records) {
        const zip_writer_entry& e = *w.entry;
        if (!e.in_central) {
            continue;
        }
        for (int copy = 0; copy < (e.duplicate_central ? 2 : 1); ++copy) {
            const std::string& name = e.central_name ? *e.central_name : e.name;
            const std::uint64_t c = e.central_compressed_size.value_or(w.compressed);
            const std::uint64_t u = e.central_uncompressed_size.value_or(w.uncompressed);
            const std::uint64_t offset = e.central_offset.value_or(w.offset);
            std::string extra;
            if (zip64) {
                put16(extra, 1);
                put16(extra, 24);
                put64(extra, u);
                put64(extra, c);
                put64(extra, offset);
            }
            put32(out, 0x02014b50);
            put16(out, e.unix_mode ? (3 << 8 | 45) : 45);
            put16(out, zip64 ? 45 : 20);
            put16(out, e.central_flags.value_or(w.flags));
            put16(out, e.central_method.value_or(e.method));
            put16(out, 0);
            put16(out, 0x21);
            put32(out, e.central_crc.value_or(w.crc));
            put32(out, zip64 ? full32 : c);
            put32(out, zip64 ? full32 : u);
            put16(out, name.size());
            put16(out, extra.size());
            put16(out, 0); // comment
            put16(out, e.central_disk.value_or(0));
            put16(out, 0); // internal attributes
            put32(out, e.unix_mode ? std::uint64_t{*e.unix_mode} << 16
                                   : (name.ends_with('/') ? 0x10 : 0));
            put32(out, zip64 ? full32 : offset);
            out += name;
            out += extra;
            ++cd_count;
        }
    }
    const std::uint64_t cd_size = out.size() - cd_offset;
    const std::uint64_t end_entries = options.end_entries.value_or(cd_count);
    const std::uint64_t end_cd_offset = options.end_cd_offset.value_or(cd_offset);
    const std::uint64_t end_cd_size = options.end_cd_size.value_or(cd_size);
    if (zip64) {
        const std::uint64_t zip64_end = out.size();
        put32(out, 0x06064b50);
        put64(out, 44);
        put16(out, 3 << 8 | 45);
        put16(out, 45);
        put32(out, options.end_disk.value_or(0));
        put32(out, 0);
        put64(out, options.zip64_entries.value_or(end_entries));
        put64(out, options.zip64_entries.value_or(end_entries));
        put64(out, end_cd_size);
        put64(out, end_cd_offset);
        put32(out, 0x07064b50);
        put32(out, 0);
        put64(out, options.zip64_locator_offset.value_or(zip64_end));
        put32(out, 1);
    }
    out += options.bytes_before_end;
    put32(out, 0x06054b50);
    put16(out, options.end_disk.value_or(0));
    put16(out, 0);
    put16(out, zip64 ? 0xFFFF : end_entries);
    put16(out, zip64 ? 0xFFFF : end_entries);
    put32(out, zip64 ? full32 : end_cd_size);
    put32(out, zip64 ? full32 : end_cd_offset);
    put16(out, options.comment_length.value_or(options.comment.size()));
    out += options.comment;
    out += options.bytes_after_end;
    return out;
}

} // namespace pkg::test
