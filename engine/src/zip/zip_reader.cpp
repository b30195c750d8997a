#include "zip/zip_reader.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include <pkg/engine/errc.hpp>

#include "zip/inflate.hpp"

// Record layouts (PKWARE APPNOTE 6.3, sections 4.3.7–4.3.16, 4.5.3); all fields little-endian.
//   local file header   50 4b 03 04, needed u16, flags u16, method u16, time u16, date u16,
//                       crc u32, csize u32, usize u32, name_len u16, extra_len u16 (30 bytes),
//                       name, extra
//   data descriptor     [50 4b 07 08] crc u32, csize, usize (u32 each, u64 with ZIP64)
//   central header      50 4b 01 02, made_by u16, needed u16, flags u16, method u16, time u16,
//                       date u16, crc u32, csize u32, usize u32, name_len u16, extra_len u16,
//                       comment_len u16, disk u16, internal u16, external u32, offset u32
//                       (46 bytes), name, extra, comment
//   ZIP64 end record    50 4b 06 06, record_size u64, made_by u16, needed u16, disk u32,
//                       cd_disk u32, entries_on_disk u64, entries u64, cd_size u64,
//                       cd_offset u64 (56 bytes), extensible data
//   ZIP64 locator       50 4b 06 07, disk u32, zip64_end_offset u64, disks u32 (20 bytes)
//   end record          50 4b 05 06, disk u16, cd_disk u16, entries_on_disk u16, entries u16,
//                       cd_size u32, cd_offset u32, comment_len u16 (22 bytes), comment
//   ZIP64 extra field   id 0x0001: in a local header usize u64, csize u64; in a central header
//                       only the fields whose 32-bit value is 0xFFFFFFFF (0xFFFF for disk), in
//                       the order usize, csize, offset, disk.

namespace pkg::zip {
namespace {

constexpr std::uint32_t sig_local = 0x04034b50;
constexpr std::uint32_t sig_central = 0x02014b50;
constexpr std::uint32_t sig_descriptor = 0x08074b50;
constexpr std::uint32_t sig_zip64_end = 0x06064b50;
constexpr std::uint32_t sig_zip64_locator = 0x07064b50;
constexpr std::uint32_t sig_end = 0x06054b50;
constexpr std::uint32_t sig_digital_signature = 0x05054b50;

constexpr std::size_t local_header_bytes = 30;
constexpr std::size_t central_header_bytes = 46;
constexpr std::size_t zip64_end_bytes = 56;
constexpr std::size_t zip64_locator_bytes = 20;
constexpr std::size_t end_record_bytes = 22;

constexpr std::uint32_t max32 = 0xFFFFFFFF;
constexpr std::uint16_t max16 = 0xFFFF;

constexpr std::uint16_t flag_encrypted = 1U << 0;
constexpr std::uint16_t flag_descriptor = 1U << 3;
constexpr std::uint16_t flag_patched = 1U << 5;
constexpr std::uint16_t flag_strong_encryption = 1U << 6;
constexpr std::uint16_t flag_utf8 = 1U << 11;
constexpr std::uint16_t flag_masked_header = 1U << 13;
/// Flags whose meaning changes how an entry is read: local and central must agree on them.
/// (Bits 1–2 only record the deflate level used.)
constexpr std::uint16_t compared_flags =
    flag_encrypted | flag_descriptor | flag_utf8 | flag_masked_header;

constexpr std::uint16_t extra_zip64 = 0x0001;
constexpr unsigned made_by_unix = 3;

std::uint16_t le16(std::span<const std::byte> s, std::size_t at)
{
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(s[at]) |
                                      std::to_integer<unsigned>(s[at + 1]) << 8);
}

std::uint32_t le32(std::span<const std::byte> s, std::size_t at)
{
    return static_cast<std::uint32_t>(le16(s, at)) | static_cast<std::uint32_t>(le16(s, at + 2))
                                                         << 16;
}

std::uint64_t le64(std::span<const std::byte> s, std::size_t at)
{
    return static_cast<std::uint64_t>(le32(s, at)) | static_cast<std::uint64_t>(le32(s, at + 4))
                                                         << 32;
}

std::string_view as_text(std::span<const std::byte> s)
{
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}

tl::unexpected<error> invalid(std::string message)
{
    return fail(errc::invalid_zip, std::move(message));
}

std::string method_name(std::uint16_t method)
{
    switch (method) {
    case 1:
        return "shrink (1)";
    case 6:
        return "implode (6)";
    case 9:
        return "deflate64 (9)";
    case 12:
        return "bzip2 (12)";
    case 14:
        return "lzma (14)";
    case 93:
        return "zstd (93)";
    case 95:
        return "xz (95)";
    case 96:
        return "jpeg (96)";
    case 97:
        return "wavpack (97)";
    case 98:
        return "ppmd (98)";
    default:
        return fmt::format("unknown method ({})", method);
    }
}

std::string entry_at(std::string_view name, std::uint64_t offset)
{
    return fmt::format("entry {} (local header at offset {})", quote_entry_name(name), offset);
}

std::string signature_text(std::span<const std::byte> s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < 4; ++i) {
        out += fmt::format("{:02x}", std::to_integer<unsigned>(s[i]));
    }
    return out;
}

/// Extra fields as (id, data) pairs; fails if their lengths do not tile the extra area exactly.
struct extra_field {
    std::uint16_t id = 0;
    std::span<const std::byte> data;
};

result<std::vector<extra_field>> split_extra(std::span<const std::byte> extra,
                                             std::string_view what)
{
    std::vector<extra_field> fields;
    std::size_t at = 0;
    while (at < extra.size()) {
        if (extra.size() - at < 4) {
            return invalid(fmt::format("{}: extra field area ends inside a field header "
                                       "({} bytes left at position {})",
                                       what, extra.size() - at, at));
        }
        const std::uint16_t id = le16(extra, at);
        const std::uint16_t size = le16(extra, at + 2);
        if (extra.size() - at - 4 < size) {
            return invalid(fmt::format("{}: extra field 0x{:04x} declares {} bytes but only {} "
                                       "remain",
                                       what, id, size, extra.size() - at - 4));
        }
        for (const extra_field& f : fields) {
            if (f.id == id && id == extra_zip64) {
                return invalid(fmt::format("{}: two ZIP64 extra fields", what));
            }
        }
        fields.push_back({id, extra.subspan(at + 4, size)});
        at += 4 + size;
    }
    return fields;
}

std::optional<std::span<const std::byte>> find_zip64(const std::vector<extra_field>& fields)
{
    for (const extra_field& f : fields) {
        if (f.id == extra_zip64) {
            return f.data;
        }
    }
    return std::nullopt;
}

} // namespace

zip_stream_reader::zip_stream_reader(limits lim) : limits_(lim) {}

std::span<const std::byte> zip_stream_reader::available() const
{
    return std::span<const std::byte>(buffer_).subspan(pos_);
}

void zip_stream_reader::consume(std::size_t n)
{
    pos_ += n;
    offset_ += n;
}

result<void> zip_stream_reader::feed(std::span<const std::byte> bytes)
{
    if (error_) {
        return fail(*error_);
    }
    fed_ += bytes.size();
    // Large entries: copy straight from the caller's chunk into the entry, not via buffer_.
    while (state_ == state::entry_data && pos_ == buffer_.size() && !bytes.empty()) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(current_remaining_, bytes.size()));
        current_.data.insert(current_.data.end(), bytes.begin(), bytes.begin() + n);
        bytes = bytes.subspan(n);
        offset_ += n;
        current_remaining_ -= n;
        if (current_remaining_ == 0) {
            if (current_.has_data_descriptor) {
                state_ = state::descriptor;
            } else if (auto r = complete_entry(); !r) {
                state_ = state::failed;
                error_ = r.error();
                return fail(r.error());
            }
        }
    }
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    while (true) {
        auto progressed = step();
        if (!progressed) {
            state_ = state::failed;
            error_ = progressed.error();
            buffer_.clear();
            buffer_.shrink_to_fit();
            return fail(progressed.error());
        }
        if (!*progressed) {
            break;
        }
    }
    // Drop consumed bytes once they are most of the buffer, so copying stays linear.
    if (pos_ == buffer_.size()) {
        buffer_.clear();
        pos_ = 0;
    } else if (pos_ > 65536 && pos_ > buffer_.size() / 2) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos_));
        pos_ = 0;
    }
    return {};
}

std::optional<zip_entry> zip_stream_reader::next_entry()
{
    if (ready_.empty()) {
        return std::nullopt;
    }
    zip_entry e = std::move(ready_.front());
    ready_.pop_front();
    return e;
}

result<bool> zip_stream_reader::step()
{
    switch (state_) {
    case state::signature:
        return step_signature();
    case state::local_header:
        return step_local_header();
    case state::entry_data:
        return step_entry_data();
    case state::descriptor:
        return step_descriptor();
    case state::descriptor_search:
        return step_descriptor_search();
    case state::central_header:
        return step_central_header();
    case state::zip64_end:
        return step_zip64_end();
    case state::zip64_locator:
        return step_zip64_locator();
    case state::end_record:
        return step_end_record();
    case state::done:
        if (!available().empty()) {
            // No byte count: it would depend on how the stream was chunked.
            return invalid(fmt::format("trailing data after the end of central directory record "
                                       "(from offset {}); nothing may follow the archive",
                                       offset_));
        }
        return false;
    case state::failed:
        return false;
    }
    return false;
}

std::string zip_stream_reader::describe_state() const
{
    switch (state_) {
    case state::signature:
        return "the next record's signature";
    case state::local_header:
        return "a local file header";
    case state::entry_data:
    case state::descriptor_search:
        return fmt::format("the data of {}", entry_at(current_.name, current_.local_header_offset));
    case state::descriptor:
        return fmt::format("the data descriptor of {}",
                           entry_at(current_.name, current_.local_header_offset));
    case state::central_header:
        return "a central directory header";
    case state::zip64_end:
        return "the ZIP64 end of central directory record";
    case state::zip64_locator:
        return "the ZIP64 end of central directory locator";
    case state::end_record:
        return "the end of central directory record";
    case state::done:
    case state::failed:
        break;
    }
    return "nothing";
}

result<bool> zip_stream_reader::step_signature()
{
    const auto in = available();
    if (in.size() < 4) {
        return false;
    }
    const std::uint32_t sig = le32(in, 0);
    const bool in_central = !central_.empty();
    if (sig == sig_local && !in_central) {
        state_ = state::local_header;
        return true;
    }
    if (sig == sig_central) {
        if (central_.empty()) {
            central_directory_offset_ = offset_;
        }
        state_ = state::central_header;
        return true;
    }
    if (sig == sig_zip64_end || sig == sig_end) {
        if (central_.empty()) {
            central_directory_offset_ = offset_;
        }
        central_directory_end_ = offset_;
        if (auto r = check_all_local_headers_matched(); !r) {
            return fail(r.error());
        }
        state_ = sig == sig_end ? state::end_record : state::zip64_end;
        return true;
    }
    if (offset_ == 0) {
        if (sig == sig_descriptor) {
            return invalid("the archive starts with the split/spanned archive marker "
                           "(50 4b 07 08): multi-part archives are not supported");
        }
        return invalid(fmt::format("not a zip archive: it starts with bytes {} instead of a "
                                   "local file header (50 4b 03 04)",
                                   signature_text(in)));
    }
    if (sig == sig_digital_signature) {
        return invalid(fmt::format("central directory digital signature record at offset {} is "
                                   "not supported",
                                   offset_));
    }
    if (in_central) {
        return invalid(fmt::format("unexpected bytes {} at offset {} inside the central "
                                   "directory (after {} headers)",
                                   signature_text(in), offset_, central_.size()));
    }
    if (sig == sig_local) {
        return invalid(fmt::format("local file header at offset {} after the central directory "
                                   "began",
                                   offset_));
    }
    const std::string after = locals_.empty()
                                  ? std::string("the start")
                                  : entry_at(locals_.back().name, locals_.back().offset);
    return invalid(fmt::format("unexpected bytes {} at offset {} after {}: hidden data between "
                               "entries (expected a local or central header)",
                               signature_text(in), offset_, after));
}

result<bool> zip_stream_reader::step_local_header()
{
    const auto in = available();
    if (in.size() < local_header_bytes) {
        return false;
    }
    const std::size_t name_len = le16(in, 26);
    const std::size_t extra_len = le16(in, 28);
    const std::size_t total = local_header_bytes + name_len + extra_len;
    if (in.size() < total) {
        return false;
    }
    const std::uint64_t at = offset_;
    const std::uint16_t flags = le16(in, 6);
    const std::uint16_t method = le16(in, 8);
    const std::uint32_t crc = le32(in, 14);
    const std::uint32_t csize32 = le32(in, 18);
    const std::uint32_t usize32 = le32(in, 22);
    const std::string_view name = as_text(in.subspan(local_header_bytes, name_len));
    const std::string here = entry_at(name, at);

    if (locals_.size() >= limits_.max_entries) {
        return fail(
            errc::zip_limit_exceeded,
            fmt::format("{}: the archive has more than {} entries", here, limits_.max_entries));
    }
    if ((flags & flag_encrypted) != 0 || (flags & flag_strong_encryption) != 0) {
        return invalid(fmt::format("{} is encrypted (flags 0x{:04x}); encrypted archives are not "
                                   "supported",
                                   here, flags));
    }
    if ((flags & flag_masked_header) != 0) {
        return invalid(fmt::format("{} has a masked local header (flag bit 13, central directory "
                                   "encryption), which is not supported",
                                   here));
    }
    if (method == 99) {
        return invalid(fmt::format("{} is AES-encrypted (method 99); encrypted archives are not "
                                   "supported",
                                   here));
    }
    if (method != method_stored && method != method_deflate) {
        return invalid(fmt::format("{} uses compression method {}; only stored (0) and deflate "
                                   "(8) are supported",
                                   here, method_name(method)));
    }
    if ((flags & flag_patched) != 0) {
        return invalid(
            fmt::format("{} is patched data (flag bit 5), which is not supported", here));
    }
    if ((flags & flag_utf8) == 0 &&
        std::any_of(name.begin(), name.end(), [](char c) { return (c & 0x80) != 0; })) {
        // Without bit 11 zipfile decodes the name as CP437: another reader would see another name.
        return invalid(fmt::format("{} has a non-ASCII name without the UTF-8 flag (bit 11), so "
                                   "readers disagree on its name",
                                   here));
    }
    auto kind = validate_entry_name(name, limits_.names);
    if (!kind) {
        error e = std::move(kind.error());
        e.message += fmt::format(" (local header at offset {})", at);
        return fail(std::move(e));
    }
    auto extras = split_extra(in.subspan(local_header_bytes + name_len, extra_len), here);
    if (!extras) {
        return fail(extras.error());
    }
    std::uint64_t csize = csize32;
    std::uint64_t usize = usize32;
    const auto zip64 = find_zip64(*extras);
    if (zip64) {
        if (zip64->size() < 16) {
            return invalid(fmt::format("{}: its ZIP64 extra field has {} bytes; a local header's "
                                       "needs 16 (both sizes)",
                                       here, zip64->size()));
        }
        const std::uint64_t u64 = le64(*zip64, 0);
        const std::uint64_t c64 = le64(*zip64, 8);
        if ((usize32 != max32 && usize32 != u64) || (csize32 != max32 && csize32 != c64)) {
            return invalid(fmt::format("{}: sizes in the header ({}, {}) disagree with its ZIP64 "
                                       "extra field ({}, {})",
                                       here, csize32, usize32, c64, u64));
        }
        usize = u64;
        csize = c64;
    } else if (usize32 == max32 || csize32 == max32) {
        return invalid(fmt::format("{}: size 0xffffffff without a ZIP64 extra field", here));
    }
    auto added =
        names_.add(kind->is_directory ? name.substr(0, name.size() - 1) : name, kind->is_directory);
    if (!added) {
        error e = std::move(added.error());
        e.message += fmt::format(" (local header at offset {})", at);
        return fail(std::move(e));
    }

    current_ = zip_entry{};
    current_.name = std::string(name);
    current_.is_directory = kind->is_directory;
    current_.method = method;
    current_.flags = flags;
    current_.has_data_descriptor = (flags & flag_descriptor) != 0;
    current_.crc32 = crc;
    current_.compressed_size = csize;
    current_.uncompressed_size = usize;
    current_.local_header_offset = at;
    current_has_zip64_ = zip64.has_value();
    consume(total);

    const bool sizes_known = !current_.has_data_descriptor || csize != 0 || usize != 0;
    if (sizes_known) {
        if (auto r = check_sizes(current_); !r) {
            return fail(r.error());
        }
        current_remaining_ = csize;
        // The size is only a claim until the bytes arrive: reserve a bounded amount up front.
        current_.data.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(csize, 64U << 20)));
        state_ = state::entry_data;
    } else {
        search_position_ = 0;
        candidates_tried_ = 0;
        refused_candidate_.reset();
        state_ = state::descriptor_search;
    }
    return true;
}

result<void> zip_stream_reader::check_sizes(const zip_entry& e) const
{
    const std::string here = entry_at(e.name, e.local_header_offset);
    if (e.method == method_stored && e.compressed_size != e.uncompressed_size) {
        return invalid(fmt::format("{}: stored entry with compressed size {} but uncompressed "
                                   "size {}",
                                   here, e.compressed_size, e.uncompressed_size));
    }
    if (e.is_directory && e.uncompressed_size != 0) {
        return invalid(
            fmt::format("{}: directory entry with {} bytes of data", here, e.uncompressed_size));
    }
    if (limits_.max_ratio != 0 && e.uncompressed_size > limits_.ratio_exempt_bytes &&
        e.uncompressed_size / limits_.max_ratio >= std::max<std::uint64_t>(e.compressed_size, 1)) {
        return fail(errc::zip_limit_exceeded,
                    fmt::format("{}: {} compressed bytes claim to inflate to {} bytes, a ratio "
                                "over the limit of {}:1 (zip bomb?)",
                                here, e.compressed_size, e.uncompressed_size, limits_.max_ratio));
    }
    if (e.uncompressed_size > limits_.max_total_uncompressed_bytes - total_uncompressed_) {
        return fail(errc::zip_limit_exceeded,
                    fmt::format("{}: total uncompressed size would exceed the limit of {} bytes "
                                "({} so far, this entry {})",
                                here, limits_.max_total_uncompressed_bytes, total_uncompressed_,
                                e.uncompressed_size));
    }
    return {};
}

result<bool> zip_stream_reader::step_entry_data()
{
    const auto in = available();
    if (current_remaining_ > 0) {
        if (in.empty()) {
            return false;
        }
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(current_remaining_, in.size()));
        current_.data.insert(current_.data.end(), in.begin(), in.begin() + n);
        consume(n);
        current_remaining_ -= n;
        if (current_remaining_ > 0) {
            return false;
        }
    }
    if (current_.has_data_descriptor) {
        state_ = state::descriptor;
        return true;
    }
    if (auto r = complete_entry(); !r) {
        return fail(r.error());
    }
    return true;
}

result<bool> zip_stream_reader::step_descriptor()
{
    // Sizes are known from the local header: the descriptor must repeat them. Any valid archive
    // has at least an end record (22 bytes) after a descriptor, so waiting for the longest form
    // cannot stall a good stream.
    const std::size_t size_bytes = current_has_zip64_ ? 8 : 4;
    const std::size_t longest = 4 + 4 + 2 * size_bytes;
    const auto in = available();
    if (in.size() < longest) {
        return false;
    }
    const auto read_size = [&](std::size_t at) {
        return size_bytes == 8 ? le64(in, at) : std::uint64_t{le32(in, at)};
    };
    const auto matches = [&](std::size_t at) {
        const std::uint32_t crc = le32(in, at);
        return (current_.crc32 == 0 || crc == current_.crc32) &&
               read_size(at + 4) == current_.compressed_size &&
               read_size(at + 4 + size_bytes) == current_.uncompressed_size;
    };
    std::size_t at = 0;
    if (le32(in, 0) == sig_descriptor && matches(4)) {
        at = 4;
    } else if (!matches(0)) {
        return invalid(
            fmt::format("{}: data descriptor at offset {} (crc {:08x}, sizes {}, {}) "
                        "disagrees with the local header (crc {:08x}, sizes {}, {})",
                        entry_at(current_.name, current_.local_header_offset), offset_,
                        le32(in, le32(in, 0) == sig_descriptor ? 4 : 0),
                        read_size(le32(in, 0) == sig_descriptor ? 8 : 4),
                        read_size(le32(in, 0) == sig_descriptor ? 8 + size_bytes : 4 + size_bytes),
                        current_.crc32, current_.compressed_size, current_.uncompressed_size));
    }
    current_.crc32 = le32(in, at);
    consume(at + 4 + 2 * size_bytes);
    if (auto r = complete_entry(); !r) {
        return fail(r.error());
    }
    return true;
}

result<bool> zip_stream_reader::step_descriptor_search()
{
    const std::size_t size_bytes = current_has_zip64_ ? 8 : 4;
    const std::size_t plain = 4 + 2 * size_bytes; // descriptor without signature
    const std::size_t longest = 4 + plain;
    const auto in = available();
    const std::string here = entry_at(current_.name, current_.local_header_offset);
    const auto read_size = [&](std::size_t at) {
        return size_bytes == 8 ? le64(in, at) : std::uint64_t{le32(in, at)};
    };

    if (current_.method == method_stored) {
        // Stored data has no end marker: only an empty entry (descriptor right here) is certain.
        if (in.size() < longest) {
            return false;
        }
        const std::size_t at = le32(in, 0) == sig_descriptor ? 4 : 0;
        if (le32(in, at) != 0 || read_size(at + 4) != 0 || read_size(at + 4 + size_bytes) != 0) {
            return invalid(fmt::format("{}: stored entry with a data descriptor and no sizes in "
                                       "its local header; its end cannot be found while "
                                       "streaming",
                                       here));
        }
        current_.crc32 = 0;
        current_.compressed_size = 0;
        current_.uncompressed_size = 0;
        consume(at + plain);
        if (auto r = complete_entry(); !r) {
            return fail(r.error());
        }
        return true;
    }

    while (search_position_ + longest <= in.size()) {
        const std::size_t p = search_position_++;
        std::size_t at = 0;
        if (le32(in, p) == sig_descriptor && read_size(p + 8) == p) {
            at = p + 4;
        } else if (read_size(p + 4) == p) {
            at = p;
        } else {
            continue;
        }
        if (++candidates_tried_ > limits_.max_descriptor_candidates) {
            return invalid(fmt::format("{}: more than {} positions look like the end of its "
                                       "data; giving up on finding its data descriptor",
                                       here, limits_.max_descriptor_candidates));
        }
        zip_entry candidate;
        candidate.name = current_.name;
        candidate.is_directory = current_.is_directory;
        candidate.method = current_.method;
        candidate.local_header_offset = current_.local_header_offset;
        candidate.crc32 = le32(in, at);
        candidate.compressed_size = p;
        candidate.uncompressed_size = read_size(at + 4 + size_bytes);
        if (auto r = check_sizes(candidate); !r) {
            // Four data bytes equal their own offset about once per 4 GiB: a false candidate
            // with random sizes must not fail a good archive. If no later position ends the
            // entry, this is the error finish() reports.
            if (!refused_candidate_) {
                refused_candidate_ = std::move(r.error());
            }
            continue;
        }
        if (p > 0 || candidate.uncompressed_size > 0) {
            std::vector<std::byte> out(static_cast<std::size_t>(candidate.uncompressed_size));
            const raw_inflate_result r = inflate_raw(in.first(p), out);
            if (!r.is_ok || r.consumed_bytes != p || r.produced_bytes != out.size() ||
                crc32(out) != candidate.crc32) {
                continue; // not the end of the deflate stream: keep looking
            }
        }
        current_.crc32 = candidate.crc32;
        current_.compressed_size = candidate.compressed_size;
        current_.uncompressed_size = candidate.uncompressed_size;
        current_.data.assign(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(p));
        consume(at + 4 + 2 * size_bytes);
        if (auto r = complete_entry(); !r) {
            return fail(r.error());
        }
        return true;
    }
    return false;
}

result<void> zip_stream_reader::complete_entry()
{
    // Known sizes were checked at the header; this covers the ones learnt from a descriptor.
    if (auto r = check_sizes(current_); !r) {
        return fail(r.error());
    }
    total_uncompressed_ += current_.uncompressed_size;
    local_record rec;
    rec.name = current_.name;
    rec.offset = current_.local_header_offset;
    rec.compressed_size = current_.compressed_size;
    rec.uncompressed_size = current_.uncompressed_size;
    rec.crc32 = current_.crc32;
    rec.method = current_.method;
    rec.flags = current_.flags;
    rec.is_directory = current_.is_directory;
    local_by_offset_.emplace(rec.offset, locals_.size());
    locals_.push_back(std::move(rec));
    ready_.push_back(std::move(current_));
    current_ = zip_entry{};
    state_ = state::signature;
    return {};
}

result<bool> zip_stream_reader::step_central_header()
{
    const auto in = available();
    if (in.size() < central_header_bytes) {
        return false;
    }
    const std::size_t name_len = le16(in, 28);
    const std::size_t extra_len = le16(in, 30);
    const std::size_t comment_len = le16(in, 32);
    const std::size_t total = central_header_bytes + name_len + extra_len + comment_len;
    if (in.size() < total) {
        return false;
    }
    const std::uint64_t at = offset_;
    const std::uint16_t made_by = le16(in, 4);
    const std::uint16_t flags = le16(in, 8);
    const std::uint16_t method = le16(in, 10);
    const std::uint32_t crc = le32(in, 16);
    std::uint64_t csize = le32(in, 20);
    std::uint64_t usize = le32(in, 24);
    std::uint64_t disk = le16(in, 34);
    const std::uint32_t external = le32(in, 38);
    std::uint64_t local_offset = le32(in, 42);
    const std::string_view name = as_text(in.subspan(central_header_bytes, name_len));
    const std::string here =
        fmt::format("central directory entry {} at offset {}", quote_entry_name(name), at);

    auto extras = split_extra(in.subspan(central_header_bytes + name_len, extra_len), here);
    if (!extras) {
        return fail(extras.error());
    }
    if (const auto zip64 = find_zip64(*extras)) {
        // Only the fields that overflowed are present, in this order (APPNOTE 4.5.3).
        std::size_t pos = 0;
        const auto take = [&](std::uint64_t& field, std::size_t width) -> bool {
            if (zip64->size() - pos < width) {
                return false;
            }
            field = width == 8 ? le64(*zip64, pos) : le32(*zip64, pos);
            pos += width;
            return true;
        };
        if ((usize == max32 && !take(usize, 8)) || (csize == max32 && !take(csize, 8)) ||
            (local_offset == max32 && !take(local_offset, 8)) ||
            (disk == max16 && !take(disk, 4))) {
            return invalid(fmt::format("{}: its ZIP64 extra field ({} bytes) lacks a value the "
                                       "header defers to it",
                                       here, zip64->size()));
        }
    } else if (usize == max32 || csize == max32 || local_offset == max32) {
        return invalid(fmt::format("{}: value 0xffffffff without a ZIP64 extra field", here));
    }
    if (disk != 0) {
        return invalid(fmt::format("{}: starts on disk {}; multi-disk archives are not supported",
                                   here, disk));
    }
    const auto found = local_by_offset_.find(local_offset);
    if (found == local_by_offset_.end()) {
        return invalid(fmt::format("{}: points at offset {}, where there is no local file header",
                                   here, local_offset));
    }
    local_record& local = locals_[found->second];
    if (local.is_matched) {
        return invalid(fmt::format("{}: a second central directory entry for the local header at "
                                   "offset {} ({})",
                                   here, local_offset, quote_entry_name(local.name)));
    }
    if (name != local.name) {
        return invalid(fmt::format("{}: name differs from the local header's {} at offset {}", here,
                                   quote_entry_name(local.name), local_offset));
    }
    if (method != local.method) {
        return invalid(fmt::format("{}: method {} differs from the local header's {}", here, method,
                                   local.method));
    }
    if ((flags & compared_flags) != (local.flags & compared_flags)) {
        return invalid(fmt::format("{}: flags 0x{:04x} differ from the local header's 0x{:04x}",
                                   here, flags, local.flags));
    }
    if (crc != local.crc32) {
        return invalid(fmt::format("{}: CRC-32 {:08x} differs from the local header's {:08x}", here,
                                   crc, local.crc32));
    }
    if (csize != local.compressed_size) {
        return invalid(fmt::format("{}: compressed size {} differs from the {} bytes the local "
                                   "header delimits",
                                   here, csize, local.compressed_size));
    }
    if (usize != local.uncompressed_size) {
        return invalid(fmt::format("{}: uncompressed size {} differs from the local header's {}",
                                   here, usize, local.uncompressed_size));
    }

    zip_entry_info info;
    info.name = local.name;
    info.is_directory = local.is_directory;
    info.method = method;
    info.crc32 = crc;
    info.compressed_size = csize;
    info.uncompressed_size = usize;
    info.local_header_offset = local_offset;
    if ((made_by >> 8) == made_by_unix) {
        const std::uint32_t mode = external >> 16;
        const std::uint32_t type = mode & 0170000;
        if (type == 0120000) {
            return invalid(fmt::format("{}: is a symbolic link (unix mode {:o}); wheels cannot "
                                       "contain symlinks",
                                       here, mode));
        }
        if (type == 0040000 && !local.is_directory) {
            return invalid(fmt::format("{}: unix mode {:o} says directory but the name does not "
                                       "end in '/'",
                                       here, mode));
        }
        if (type != 0 && type != 0100000 && type != 0040000) {
            return invalid(
                fmt::format("{}: is a device, FIFO or socket (unix mode {:o})", here, mode));
        }
        info.unix_mode = mode;
        info.is_executable = !local.is_directory && (mode & 0111) != 0;
    }
    local.is_matched = true;
    central_.push_back(std::move(info));
    const auto tail = in.subspan(total - zip64_locator_bytes, zip64_locator_bytes);
    before_end_record_.assign(tail.begin(), tail.end());
    consume(total);
    state_ = state::signature;
    return true;
}

result<void> zip_stream_reader::check_all_local_headers_matched() const
{
    for (const local_record& local : locals_) {
        if (!local.is_matched) {
            return invalid(fmt::format("{} has no central directory entry (hidden from readers "
                                       "that use the central directory)",
                                       entry_at(local.name, local.offset)));
        }
    }
    return {};
}

result<bool> zip_stream_reader::step_zip64_end()
{
    const auto in = available();
    if (in.size() < zip64_end_bytes) {
        return false;
    }
    const std::uint64_t record_size = le64(in, 4);
    const std::uint32_t disk = le32(in, 16);
    const std::uint32_t cd_disk = le32(in, 20);
    const std::uint64_t entries_on_disk = le64(in, 24);
    const std::uint64_t entries = le64(in, 32);
    const std::uint64_t cd_size = le64(in, 40);
    const std::uint64_t cd_offset = le64(in, 48);
    const std::string here =
        fmt::format("ZIP64 end of central directory record at offset {}", offset_);
    if (record_size != zip64_end_bytes - 12) {
        return invalid(fmt::format("{}: record size {} (extensible data is not supported; "
                                   "expected 44)",
                                   here, record_size));
    }
    if (disk != 0 || cd_disk != 0) {
        return invalid(fmt::format("{}: disk {} / central directory disk {}; multi-disk archives "
                                   "are not supported",
                                   here, disk, cd_disk));
    }
    if (entries != central_.size() || entries_on_disk != central_.size()) {
        return invalid(fmt::format("{}: declares {} entries ({} on this disk) but the central "
                                   "directory has {}",
                                   here, entries, entries_on_disk, central_.size()));
    }
    if (cd_offset != central_directory_offset_) {
        return invalid(fmt::format("{}: central directory offset {} but it starts at {}", here,
                                   cd_offset, central_directory_offset_));
    }
    if (cd_size != central_directory_end_ - central_directory_offset_) {
        return invalid(fmt::format("{}: central directory size {} but it is {} bytes", here,
                                   cd_size, central_directory_end_ - central_directory_offset_));
    }
    zip64_end_offset_ = offset_;
    zip64_entries_ = entries;
    zip64_cd_size_ = cd_size;
    zip64_cd_offset_ = cd_offset;
    consume(zip64_end_bytes);
    state_ = state::zip64_locator;
    return true;
}

result<bool> zip_stream_reader::step_zip64_locator()
{
    const auto in = available();
    if (in.size() < zip64_locator_bytes) {
        return false;
    }
    const std::string here =
        fmt::format("ZIP64 end of central directory locator at offset {}", offset_);
    if (le32(in, 0) != sig_zip64_locator) {
        return invalid(fmt::format("expected a ZIP64 end of central directory locator at offset "
                                   "{}, found bytes {}",
                                   offset_, signature_text(in)));
    }
    const std::uint32_t disk = le32(in, 4);
    const std::uint64_t end_offset = le64(in, 8);
    const std::uint32_t disks = le32(in, 16);
    if (disk != 0 || disks > 1) {
        return invalid(fmt::format("{}: disk {} of {} disks; multi-disk archives are not "
                                   "supported",
                                   here, disk, disks));
    }
    if (end_offset != *zip64_end_offset_) {
        return invalid(fmt::format("{}: points at offset {} but the ZIP64 end record is at {}",
                                   here, end_offset, *zip64_end_offset_));
    }
    before_end_record_.assign(in.begin(), in.begin() + zip64_locator_bytes);
    consume(zip64_locator_bytes);
    state_ = state::end_record;
    return true;
}

result<bool> zip_stream_reader::step_end_record()
{
    const auto in = available();
    if (in.size() < end_record_bytes) {
        return false;
    }
    if (le32(in, 0) != sig_end) {
        return invalid(fmt::format("expected the end of central directory record at offset {}, "
                                   "found bytes {}",
                                   offset_, signature_text(in)));
    }
    const std::size_t comment_len = le16(in, 20);
    if (in.size() < end_record_bytes + comment_len) {
        return false;
    }
    const std::string here = fmt::format("end of central directory record at offset {}", offset_);
    const std::uint16_t disk = le16(in, 4);
    const std::uint16_t cd_disk = le16(in, 6);
    const std::uint16_t entries_on_disk = le16(in, 8);
    const std::uint16_t entries = le16(in, 10);
    const std::uint32_t cd_size = le32(in, 12);
    const std::uint32_t cd_offset = le32(in, 16);
    const bool zip64 = zip64_end_offset_.has_value();
    const auto agrees = [&](std::uint64_t value, std::uint64_t sentinel, std::uint64_t actual) {
        return value == actual || (zip64 && value == sentinel);
    };
    if (!agrees(disk, max16, 0) || !agrees(cd_disk, max16, 0)) {
        return invalid(fmt::format("{}: disk {} / central directory disk {}; multi-disk archives "
                                   "are not supported",
                                   here, disk, cd_disk));
    }
    if (!agrees(entries, max16, central_.size()) ||
        !agrees(entries_on_disk, max16, central_.size())) {
        return invalid(fmt::format("{}: declares {} entries ({} on this disk) but the central "
                                   "directory has {}",
                                   here, entries, entries_on_disk, central_.size()));
    }
    if (!agrees(cd_offset, max32, central_directory_offset_)) {
        return invalid(fmt::format("{}: central directory offset {} but it starts at {}", here,
                                   cd_offset, central_directory_offset_));
    }
    if (!agrees(cd_size, max32, central_directory_end_ - central_directory_offset_)) {
        return invalid(fmt::format("{}: central directory size {} but it is {} bytes", here,
                                   cd_size, central_directory_end_ - central_directory_offset_));
    }
    if (!zip64 && before_end_record_.size() == zip64_locator_bytes &&
        le32(before_end_record_, 0) == sig_zip64_locator) {
        return invalid(fmt::format("{}: the 20 bytes before it look like a ZIP64 locator but no "
                                   "ZIP64 end record was present (readers would disagree)",
                                   here));
    }
    const std::string_view comment = as_text(in.subspan(end_record_bytes, comment_len));
    if (comment.find("PK\x05\x06") != std::string_view::npos) {
        return invalid(fmt::format("{}: the archive comment contains an end of central directory "
                                   "signature (readers that search from the end would disagree)",
                                   here));
    }
    comment_ = std::string(comment);
    consume(end_record_bytes + comment_len);
    state_ = state::done;
    return true;
}

result<zip_archive_summary> zip_stream_reader::finish()
{
    if (error_) {
        return fail(*error_);
    }
    if (state_ == state::descriptor_search && refused_candidate_) {
        error_ = *refused_candidate_;
        state_ = state::failed;
        return fail(*refused_candidate_);
    }
    if (state_ != state::done) {
        error e{make_error_code(errc::invalid_zip),
                fmt::format("archive truncated: the stream ended after {} bytes while reading {}",
                            fed_, describe_state()),
                {},
                {}};
        error_ = e;
        state_ = state::failed;
        return fail(std::move(e));
    }
    zip_archive_summary s;
    s.entries = central_;
    s.archive_bytes = fed_;
    s.total_uncompressed_bytes = total_uncompressed_;
    s.central_directory_offset = central_directory_offset_;
    s.is_zip64 = zip64_end_offset_.has_value();
    s.comment = comment_;
    return s;
}

} // namespace pkg::zip
