// libFuzzer target for the streaming zip reader.
// Input: 2 bytes choosing a split point, then the archive. The archive is read once whole and
// once in two chunks split there; properties: nothing crashes, both readings agree (same entries
// or the same error message), an accepted archive lists exactly the entries handed out, and every
// accepted entry inflates or fails cleanly.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "zip/inflate.hpp"
#include "zip/zip_reader.hpp"

namespace {

#define check(condition) check_at((condition), #condition, __LINE__)

void check_at(bool condition, const char* text, int line)
{
    if (!condition) {
        std::fprintf(stderr, "fuzz_zip_reader.cpp:%d: check failed: %s\n", line, text);
        std::abort();
    }
}

struct outcome {
    std::vector<pkg::zip::zip_entry> entries;
    std::string error;
    std::size_t listed = 0;
};

outcome read(std::span<const std::byte> archive, std::size_t split)
{
    pkg::zip::limits lim;
    lim.max_total_uncompressed_bytes = std::uint64_t{64} << 20; // stay far below -rss_limit_mb
    pkg::zip::zip_stream_reader reader(lim);
    outcome out;
    for (const auto part : {archive.first(split), archive.subspan(split)}) {
        if (auto r = reader.feed(part); !r) {
            out.error = r.error().message;
            check(!out.error.empty());
            return out;
        }
        while (auto e = reader.next_entry()) {
            out.entries.push_back(std::move(*e));
        }
    }
    auto summary = reader.finish();
    if (!summary) {
        out.error = summary.error().message;
        check(!out.error.empty());
        return out;
    }
    out.listed = summary->entries.size();
    check(summary->archive_bytes == archive.size());
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2) {
        return 0;
    }
    const std::size_t choice = static_cast<std::size_t>(data[0]) << 8 | data[1];
    const auto archive = std::as_bytes(std::span<const std::uint8_t>(data + 2, size - 2));
    const std::size_t split = archive.empty() ? 0 : choice % (archive.size() + 1);

    const outcome whole = read(archive, archive.size());
    const outcome parts = read(archive, split);
    check(whole.error == parts.error);
    if (!whole.error.empty()) {
        return 0; // entries handed out before the error depend on the chunking
    }
    check(whole.entries.size() == parts.entries.size());
    check(whole.listed == whole.entries.size());
    for (std::size_t i = 0; i < whole.entries.size(); ++i) {
        const auto& a = whole.entries[i];
        const auto& b = parts.entries[i];
        check(a.name == b.name && a.data == b.data && a.crc32 == b.crc32 &&
              a.uncompressed_size == b.uncompressed_size);
        auto inflated = pkg::zip::inflate_entry(a);
        if (inflated) {
            check(inflated->size() == a.uncompressed_size);
            check(pkg::zip::crc32(*inflated) == a.crc32);
        } else {
            check(!inflated.error().message.empty());
        }
    }
    return 0;
}
