#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <pkg/engine/errc.hpp>

#include "support/zip_writer.hpp"
#include "zip/entry_name.hpp"
#include "zip/inflate.hpp"
#include "zip/name_tree.hpp"
#include "zip/zip_reader.hpp"

using pkg::test::write_zip;
using pkg::test::zip_writer_entry;
using pkg::test::zip_writer_options;
using pkg::zip::zip_archive_summary;
using pkg::zip::zip_entry;
using pkg::zip::zip_stream_reader;

namespace {

std::span<const std::byte> bytes_of(std::string_view s)
{
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

std::string text_of(const std::vector<std::byte>& v)
{
    return {reinterpret_cast<const char*>(v.data()), v.size()};
}

/// An entry as the tests compare it: everything the reader reports plus the inflated bytes.
struct read_entry {
    std::string name;
    bool is_directory = false;
    bool is_executable = false;
    std::uint16_t method = 0;
    std::uint32_t crc32 = 0;
    std::uint64_t compressed_size = 0;
    std::uint64_t offset = 0;
    std::string content;
    friend bool operator==(const read_entry&, const read_entry&) = default;
};

struct read_archive {
    std::vector<read_entry> entries;
    zip_archive_summary summary;
};

/// Chunk sizes: 0 means the whole archive in one feed; a negative value means random sizes in
/// [1, -value] from a fixed seed.
pkg::result<read_archive> read_zip(std::string_view archive, long chunk,
                                   const pkg::zip::limits& lim = {})
{
    zip_stream_reader reader(lim);
    std::vector<zip_entry> entries;
    std::mt19937 random(12345);
    std::size_t at = 0;
    while (at < archive.size()) {
        std::size_t n = archive.size() - at;
        if (chunk > 0) {
            n = std::min<std::size_t>(n, static_cast<std::size_t>(chunk));
        } else if (chunk < 0) {
            n = std::min<std::size_t>(n, std::uniform_int_distribution<std::size_t>(
                                             1, static_cast<std::size_t>(-chunk))(random));
        }
        if (auto r = reader.feed(bytes_of(archive.substr(at, n))); !r) {
            return pkg::fail(r.error());
        }
        at += n;
        while (auto e = reader.next_entry()) {
            entries.push_back(std::move(*e));
        }
    }
    auto summary = reader.finish();
    if (!summary) {
        return pkg::fail(summary.error());
    }
    read_archive out;
    out.summary = std::move(*summary);
    if (out.summary.entries.size() != entries.size()) {
        return pkg::fail(pkg::errc::invalid_zip, "test: entry count differs from summary");
    }
    std::map<std::uint64_t, const pkg::zip::zip_entry_info*> info_by_offset;
    for (const auto& info : out.summary.entries) {
        info_by_offset[info.local_header_offset] = &info;
    }
    for (const zip_entry& e : entries) {
        auto inflated = pkg::zip::inflate_entry(e);
        if (!inflated) {
            return pkg::fail(inflated.error());
        }
        read_entry r;
        r.name = e.name;
        r.is_directory = e.is_directory;
        r.is_executable = info_by_offset.at(e.local_header_offset)->is_executable;
        r.method = e.method;
        r.crc32 = e.crc32;
        r.compressed_size = e.compressed_size;
        r.offset = e.local_header_offset;
        r.content = text_of(*inflated);
        out.entries.push_back(std::move(r));
    }
    return out;
}

read_archive read_ok(std::string_view archive, long chunk = 0, const pkg::zip::limits& lim = {})
{
    auto r = read_zip(archive, chunk, lim);
    INFO("chunk " << chunk << ": " << (r ? std::string("ok") : r.error().to_string()));
    REQUIRE(r.has_value());
    return std::move(*r);
}

/// The error reading (and inflating) the archive, the same whatever the chunking.
pkg::error read_error(std::string_view archive, const pkg::zip::limits& lim = {})
{
    auto whole = read_zip(archive, 0, lim);
    REQUIRE_FALSE(whole.has_value());
    for (long chunk : {1L, 7L, -100L}) {
        auto split = read_zip(archive, chunk, lim);
        REQUIRE_FALSE(split.has_value());
        CHECK(split.error().message == whole.error().message);
        CHECK(split.error().code == whole.error().code);
    }
    return whole.error();
}

std::string pattern(std::size_t n, unsigned seed)
{
    // Compressible but not trivial: words from a small vocabulary.
    static const char* const words[] = {"import ", "def ", "return ", "self",  ".",   "(",    ")",
                                        ":\n    ", "pkg",  "zip",     "wheel", " = ", "None", "\n"};
    std::mt19937 random(seed);
    std::string out;
    while (out.size() < n) {
        out += words[random() % std::size(words)];
    }
    out.resize(n);
    return out;
}

std::string random_bytes(std::size_t n, unsigned seed)
{
    std::mt19937 random(seed);
    std::string out(n, '\0');
    for (char& c : out) {
        c = static_cast<char>(random());
    }
    return out;
}

zip_writer_entry file(std::string name, std::string content, std::uint16_t method = 8)
{
    zip_writer_entry e;
    e.name = std::move(name);
    e.content = std::move(content);
    e.method = method;
    return e;
}

std::vector<zip_writer_entry> sample_entries()
{
    std::vector<zip_writer_entry> v;
    v.push_back(file("pkg/", "", 0));
    v.back().unix_mode = 040755;
    v.push_back(file("pkg/__init__.py", pattern(5000, 1)));
    v.back().unix_mode = 0100644;
    v.push_back(file("pkg/data.bin", random_bytes(3000, 2), 0));
    v.push_back(file("pkg/empty.txt", "", 0));
    v.push_back(file("pkg/empty-deflated.txt", "", 8));
    v.push_back(file("bin/tool", "#!/bin/sh\necho hi\n"));
    v.back().unix_mode = 0100755;
    v.push_back(file("pkg/described.py", pattern(20000, 3)));
    v.back().data_descriptor = true;
    v.push_back(file("pkg/described-nosig.py", pattern(7000, 4)));
    v.back().data_descriptor = true;
    v.back().descriptor_signature = false;
    v.push_back(file("pkg/described-known.py", pattern(900, 5)));
    v.back().data_descriptor = true;
    v.back().descriptor_sizes_in_local = true;
    v.push_back(file("pkg/stored-empty-described", "", 0));
    v.back().data_descriptor = true;
    v.push_back(file("pkg/ünïcode.txt", "utf-8 name"));
    v.push_back(file("pkg/sub/deeper/x.txt", "x"));
    return v;
}

void check_sample(const read_archive& a, const std::vector<zip_writer_entry>& written)
{
    REQUIRE(a.entries.size() == written.size());
    for (std::size_t i = 0; i < written.size(); ++i) {
        INFO(written[i].name);
        CHECK(a.entries[i].name == written[i].name);
        CHECK(a.entries[i].content == written[i].content);
        CHECK(a.entries[i].is_directory == written[i].name.ends_with('/'));
        CHECK(a.entries[i].is_executable ==
              (written[i].unix_mode && !written[i].name.ends_with('/') &&
               (*written[i].unix_mode & 0111) != 0));
        CHECK(a.summary.entries[i].name == written[i].name);
        CHECK(a.summary.entries[i].unix_mode == written[i].unix_mode);
    }
}

std::string sha256_hex(std::string_view data)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    REQUIRE(EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) == 1);
    std::string out;
    for (unsigned i = 0; i < length; ++i) {
        out += fmt::format("{:02x}", digest[i]);
    }
    return out;
}

std::string slurp(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

TEST_CASE("zip reader reads every entry shape, whatever the chunking", "[zip]")
{
    const auto entries = sample_entries();
    for (const bool zip64 : {false, true}) {
        zip_writer_options options;
        options.force_zip64 = zip64;
        options.comment = "a comment";
        const std::string archive = write_zip(entries, options);
        INFO("zip64 " << zip64);
        const read_archive whole = read_ok(archive);
        check_sample(whole, entries);
        CHECK(whole.summary.is_zip64 == zip64);
        CHECK(whole.summary.comment == "a comment");
        CHECK(whole.summary.archive_bytes == archive.size());
        std::uint64_t total = 0;
        for (const auto& e : entries) {
            total += e.content.size();
        }
        CHECK(whole.summary.total_uncompressed_bytes == total);
        for (const long chunk : {1L, 7L, 65536L, -1000L, -3L}) {
            INFO("chunk " << chunk);
            const read_archive split = read_ok(archive, chunk);
            CHECK(split.entries == whole.entries);
        }
    }
}

TEST_CASE("zip reader hands entries out as soon as they are complete", "[zip]")
{
    const std::string archive = write_zip({file("a.txt", "aaa"), file("b.txt", pattern(100, 9))});
    zip_stream_reader reader;
    const auto b = bytes_of(archive);
    // "a.txt": 30-byte header + 5-byte name + deflated data; feed up to the second header.
    const std::size_t second = archive.find("PK\x03\x04", 4);
    REQUIRE(second != std::string::npos);
    REQUIRE(reader.feed(b.first(second - 1)));
    CHECK_FALSE(reader.next_entry().has_value());
    REQUIRE(reader.feed(b.subspan(second - 1, 1)));
    auto a = reader.next_entry();
    REQUIRE(a.has_value());
    CHECK(a->name == "a.txt");
    CHECK(text_of(*pkg::zip::inflate_entry(*a)) == "aaa");
    CHECK_FALSE(reader.next_entry().has_value());
    REQUIRE(reader.feed(b.subspan(second)));
    REQUIRE(reader.next_entry().has_value());
    auto summary = reader.finish();
    REQUIRE(summary.has_value());
    CHECK(summary->entries.size() == 2);
    CHECK(reader.bytes_fed() == archive.size());
}

TEST_CASE("zip reader reads an empty archive", "[zip]")
{
    const read_archive a = read_ok(write_zip({}));
    CHECK(a.entries.empty());
    CHECK(a.summary.entries.empty());
}

TEST_CASE("zip reader reads 10,000 entries", "[zip]")
{
    std::vector<zip_writer_entry> entries;
    for (int i = 0; i < 10000; ++i) {
        entries.push_back(file(fmt::format("pkg/m{}/f{}.py", i % 97, i), pattern(i % 300, i),
                               i % 3 == 0 ? 0 : 8));
        entries.back().data_descriptor = i % 5 == 0;
        // Stored data with a descriptor is only delimited when the local header has the sizes.
        entries.back().descriptor_sizes_in_local = i % 3 == 0;
    }
    const std::string archive = write_zip(entries);
    const read_archive whole = read_ok(archive);
    REQUIRE(whole.entries.size() == 10000);
    for (int i = 0; i < 10000; i += 997) {
        CHECK(whole.entries[i].name == entries[i].name);
        CHECK(whole.entries[i].content == entries[i].content);
    }
    CHECK(read_ok(archive, 7).entries == whole.entries);

    zip_writer_options zip64;
    zip64.force_zip64 = true;
    CHECK(read_ok(write_zip(entries, zip64), 65536).entries.size() == 10000);
}

TEST_CASE("zip reader reads a 64 MiB entry, with and without a data descriptor", "[zip]")
{
    // 64 copies of 1 MiB of text-like bytes, each copy slightly changed (cheap to generate).
    std::string big;
    const std::string block = pattern(1U << 20, 77);
    for (int i = 0; i < 64; ++i) {
        big += block;
        big[big.size() - 1 - static_cast<std::size_t>(i) * 1000] = static_cast<char>('A' + i);
    }
    auto entry = file("big.bin", big);
    const std::string plain = write_zip({entry, file("after.txt", "after")});
    entry.data_descriptor = true;
    const std::string described = write_zip({entry, file("after.txt", "after")});
    // Whole, HTTP-sized chunks, and small random chunks (the descriptor search across feeds).
    for (const auto& [archive, chunk] :
         {std::pair{&plain, 0L}, std::pair{&plain, 65536L}, std::pair{&described, 0L},
          std::pair{&described, -5000L}}) {
        {
            const read_archive a = read_ok(*archive, chunk);
            REQUIRE(a.entries.size() == 2);
            CHECK(a.entries[0].content.size() == big.size());
            CHECK(a.entries[0].content == big);
            CHECK(a.entries[1].content == "after");
        }
    }
}

TEST_CASE("zip reader reads Debian's wheels exactly as Python's zipfile extracts them", "[zip]")
{
    const std::filesystem::path data = std::filesystem::path(PKG_TEST_SOURCE_DIR) / "data/zip";
    for (const char* wheel : {"pip-23.0.1-py3-none-any.whl", "setuptools-66.1.1-py3-none-any.whl",
                              "wheel-0.38.4-py3-none-any.whl"}) {
        const std::filesystem::path path =
            std::filesystem::path("/usr/share/python-wheels") / wheel;
        if (!std::filesystem::exists(path)) {
            WARN("skipping " << wheel << ": " << path << " is not installed (python3-pip-whl)");
            continue;
        }
        INFO(wheel);
        const std::string archive = slurp(path);
        std::vector<std::string> expected;
        {
            std::ifstream manifest(data / (std::string(wheel) + ".manifest"));
            for (std::string line; std::getline(manifest, line);) {
                expected.push_back(line);
            }
        }
        REQUIRE(expected.size() > 10);
        // 1-byte feeds on the smallest wheel only: they cost time, not coverage, on the others.
        const long tiny = std::string_view(wheel).starts_with("wheel-") ? 1L : 7L;
        for (const long chunk : {0L, tiny, 65536L}) {
            const read_archive a = read_ok(archive, chunk);
            // The summary is in central directory order, as zipfile's infolist().
            std::map<std::uint64_t, const read_entry*> by_offset;
            for (const auto& e : a.entries) {
                by_offset[e.offset] = &e;
            }
            std::vector<std::string> actual;
            for (const auto& info : a.summary.entries) {
                const read_entry& e = *by_offset.at(info.local_header_offset);
                actual.push_back(fmt::format("{}\t{}\t{}\t{}", e.name, e.content.size(),
                                             sha256_hex(e.content), e.is_executable ? "x" : "-"));
            }
            CHECK(actual == expected);
        }
    }
}

TEST_CASE("zip entry names: safe paths pass, unsafe ones are rejected with their reason", "[zip]")
{
    using pkg::zip::validate_entry_name;
    for (const char* good : {"a", "a/b/c.py", "pkg-1.0.dist-info/RECORD", "dir/", "a/b/",
                             "ünïcode/名前.py", "ab:c", "x/C:y", "..a", "a..", ".hidden", "a/.b"}) {
        INFO(good);
        auto r = validate_entry_name(good);
        CHECK(r.has_value());
        if (r) {
            CHECK(r->is_directory == std::string_view(good).ends_with('/'));
        }
    }
    struct bad_name {
        std::string name;
        const char* reason;
    };
    const std::vector<bad_name> bad = {
        {"", "the name is empty"},
        {"../x", "'..' path component"},
        {"a/../../x", "'..' path component"},
        {"a/..", "'..' path component"},
        {"/etc/passwd", "absolute path"},
        {"/", "absolute path"},
        {"a\\b", "backslash"},
        {"C:x", "drive letter"},
        {"c:/x", "drive letter"},
        {std::string("a\0b", 3), "NUL byte at position 1"},
        {"a\nb", "control character 0x0a"},
        {"a\x7f", "control character 0x7f"},
        {"a\xc2\x85", "C1 control character U+0085"},
        {"a//b", "empty path component"},
        {"a/./b", "'.' path component"},
        {"./a", "'.' path component"},
        {"a\xff", "not valid UTF-8 (byte 0xff"},
        {"a\xc0\xaf", "not valid UTF-8"},         // overlong '/'
        {"a\xed\xa0\x80", "not valid UTF-8"},     // surrogate
        {"a\xe2\x82", "not valid UTF-8"},         // truncated sequence
        {"a\xf4\x90\x80\x80", "not valid UTF-8"}, // above U+10FFFF
        {"dir//", "empty path component"},
    };
    for (const auto& b : bad) {
        INFO(pkg::zip::quote_entry_name(b.name));
        auto r = validate_entry_name(b.name);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == pkg::errc::unsafe_zip_path);
        CHECK_THAT(r.error().message, Catch::Contains(b.reason));
    }
    auto too_long = validate_entry_name(std::string(4097, 'a'));
    REQUIRE_FALSE(too_long.has_value());
    CHECK(too_long.error().code == pkg::errc::zip_limit_exceeded);
    CHECK_THAT(too_long.error().message, Catch::Contains("4097 bytes long"));
    CHECK(validate_entry_name(std::string(4096, 'a')).has_value());
    std::string deep;
    for (int i = 0; i < 65; ++i) {
        deep += "d/";
    }
    deep += "f";
    auto too_deep = validate_entry_name(deep);
    REQUIRE_FALSE(too_deep.has_value());
    CHECK_THAT(too_deep.error().message, Catch::Contains("nested 66 levels deep"));
    CHECK(validate_entry_name(deep, {.max_name_bytes = 4096, .max_depth = 66}).has_value());
    CHECK(pkg::zip::quote_entry_name(std::string("a\0'\\", 4)) == "'a\\x00\\x27\\x5c'");
}

TEST_CASE("zip name tree: one path, one entry", "[zip]")
{
    const auto conflict = [](std::vector<std::pair<std::string, bool>> names) -> std::string {
        pkg::zip::name_tree tree;
        for (const auto& [name, is_dir] : names) {
            if (auto r = tree.add(name, is_dir); !r) {
                return r.error().message;
            }
        }
        return "";
    };
    CHECK(conflict({{"a", false}, {"b", false}, {"d/a", false}, {"d", true}, {"d/e/f", false}})
              .empty());
    CHECK(conflict({{"A", false}, {"a", false}}).empty()); // case-sensitive, as zip
    CHECK_THAT(conflict({{"a/b", false}, {"a/b", false}}), Catch::Contains("duplicate entry name"));
    CHECK_THAT(conflict({{"d", true}, {"d", true}}), Catch::Contains("duplicate entry name"));
    CHECK_THAT(conflict({{"a", false}, {"a", true}}), Catch::Contains("both a file and a dir"));
    CHECK_THAT(conflict({{"a", true}, {"a", false}}), Catch::Contains("both a file and a dir"));
    CHECK_THAT(conflict({{"a/b", false}, {"a", false}}), Catch::Contains("both a file and a dir"));
    CHECK_THAT(conflict({{"a", false}, {"a/b", false}}),
               Catch::Contains("needs 'a' to be a directory"));
}

namespace {

/// One malicious or broken archive and the words its rejection must contain.
struct attack {
    const char* what;
    std::string archive;
    std::string expected;
    pkg::errc code = pkg::errc::invalid_zip;
    pkg::zip::limits lim = {};
};

std::vector<attack> attacks()
{
    std::vector<attack> v;
    const auto two = [] { return std::vector{file("a.py", pattern(400, 1)), file("b.py", "bbb")}; };
    const auto add = [&](const char* what, std::vector<zip_writer_entry> entries,
                         std::string expected, zip_writer_options options = {},
                         pkg::errc code = pkg::errc::invalid_zip) {
        v.push_back({what, write_zip(entries, options), std::move(expected), code});
    };

    auto e = two();
    e[1].central_name = "c.py";
    add("local/central name mismatch", e, "name differs from the local header's 'b.py'");

    e = two();
    e[0].central_crc = 0x12345678;
    add("CRC mismatch local vs central", e, "CRC-32 12345678 differs from the local header's");

    e = two();
    e[0].central_uncompressed_size = 401;
    add("uncompressed size mismatch local vs central", e,
        "uncompressed size 401 differs from the local header's 400");

    e = two();
    e[0].local_compressed_size = 10; // the data is longer: the rest reads as garbage
    {
        const std::string packed = pkg::test::deflate_raw(e[0].content);
        std::string hex;
        for (std::size_t i = 10; i < 14; ++i) {
            hex += fmt::format("{:02x}", static_cast<unsigned char>(packed[i]));
        }
        add("local size lie (local says N, data is M)", e,
            fmt::format("unexpected bytes {} at offset 44 after entry 'a.py'", hex));
    }

    e = two();
    e[0].central_compressed_size = 9;
    add("central size lie", e, "compressed size 9 differs from the");

    e = two();
    e.push_back(file("ghost.py", "boo"));
    e.back().central_only = true;
    e.back().central_offset = 7;
    add("central entry without local header", e, "where there is no local file header");

    e = two();
    e[1].in_central = false;
    add("local header not in central directory", e, "has no central directory entry");

    e = two();
    e.push_back(file("b.py", "other bytes"));
    add("duplicate names", e, "duplicate entry name 'b.py'");

    e = two();
    e.push_back(file("b.py/", "", 0));
    add("file and directory of one name", e, "both a file and a directory");

    e = two();
    e[0].duplicate_central = true;
    add("duplicate central offsets", e, "a second central directory entry for the local header");

    zip_writer_options trailing;
    trailing.bytes_after_end = "junk";
    add("trailing data after end record", two(),
        fmt::format("trailing data after the end of central directory record (from offset {})",
                    write_zip(two(), trailing).size() - 4),
        trailing);

    e = two();
    e[0].bytes_after = "hidden!!";
    add("data between entries", e, "unexpected bytes 68696464 at offset");

    zip_writer_options before_cd;
    before_cd.bytes_before_central = std::string(40, 'x');
    add("data between last entry and central directory", two(),
        "unexpected bytes 78787878 at offset", before_cd);

    zip_writer_options before_end;
    before_end.bytes_before_end = "sneaky";
    add("data between central directory and end record", two(),
        "inside the central directory (after 2 headers)", before_end);

    zip_writer_options bad_offset;
    bad_offset.end_cd_offset = 3;
    add("bad central directory offset", two(), "central directory offset 3 but it starts at",
        bad_offset);

    zip_writer_options bad_size;
    bad_size.end_cd_size = 1;
    add("bad central directory size", two(), "central directory size 1 but it is", bad_size);

    zip_writer_options count;
    count.end_entries = 3;
    add("end record count mismatch", two(), "declares 3 entries (3 on this disk)", count);

    zip_writer_options multi;
    multi.end_disk = 1;
    add("multi-disk archive", two(), "disk 1 / central directory disk 0; multi-disk", multi);

    e = two();
    e[1].central_disk = 2;
    add("multi-disk entry", e, "starts on disk 2");

    zip_writer_options locator;
    locator.force_zip64 = true;
    locator.zip64_locator_offset = 5;
    add("ZIP64 locator lie", two(), "points at offset 5 but the ZIP64 end record is at", locator);

    zip_writer_options zip64_count;
    zip64_count.force_zip64 = true;
    zip64_count.zip64_entries = 9;
    add("ZIP64 end record count mismatch", two(), "declares 9 entries (9 on this disk)",
        zip64_count);

    add("path traversal", {file("../x", "x")}, "'..' path component (path traversal)", {},
        pkg::errc::unsafe_zip_path);
    add("absolute path", {file("/etc/x", "x")}, "absolute path", {}, pkg::errc::unsafe_zip_path);
    add("backslash", {file("a\\b", "x")}, "contains a backslash", {}, pkg::errc::unsafe_zip_path);
    add("drive letter", {file("C:x", "x")}, "starts with a drive letter", {},
        pkg::errc::unsafe_zip_path);
    add("NUL in name", {file(std::string("a\0.py", 5), "x")}, "NUL byte at position 1", {},
        pkg::errc::unsafe_zip_path);
    add("control character in name", {file("a\x1b[31m.py", "x")}, "control character 0x1b", {},
        pkg::errc::unsafe_zip_path);

    e = {file("link", "/etc/passwd", 0)};
    e[0].unix_mode = 0120777;
    add("symlink entry", e, "is a symbolic link (unix mode 120777)");

    e = {file("fifo", "", 0)};
    e[0].unix_mode = 010644;
    add("FIFO entry", e, "is a device, FIFO or socket");

    e = {file("a.py", "x")};
    e[0].extra_flags = 1;
    add("encrypted flag", e, "is encrypted (flags 0x0001)");

    e = {file("a.py", "x")};
    e[0].method = 14;
    add("unknown method lzma", e, "lzma (14)");

    e = {file("a.py", "x")};
    e[0].method = 93;
    add("unknown method zstd", e, "zstd (93)");

    e = {file("bomb", "")};
    e[0].raw_data = pkg::test::deflate_raw(std::string(1U << 20, '\0'));
    e[0].local_uncompressed_size = std::uint64_t{2} << 30;
    e[0].central_uncompressed_size = std::uint64_t{2} << 30;
    add("zip bomb: ratio", e,
        "claim to inflate to 2147483648 bytes, a ratio over the limit of 1000:1", {},
        pkg::errc::zip_limit_exceeded);

    e = {file("bomb.bin", pattern(3000, 8))};
    e[0].data_descriptor = true;
    e[0].descriptor_uncompressed_size = 3000000000;
    e[0].central_uncompressed_size = 3000000000;
    add("zip bomb behind a data descriptor", e, "claim to inflate to 3000000000 bytes", {},
        pkg::errc::zip_limit_exceeded);

    e = {file("dir/", "", 0)};
    e[0].raw_data = "data!";
    e[0].local_compressed_size = 5;
    e[0].local_uncompressed_size = 5;
    add("directory entry with data", e, "directory entry with 5 bytes of data");

    e = two();
    e[0].local_crc = 0xdeadbeef;
    e[0].central_crc = 0xdeadbeef;
    add("CRC of inflated data wrong", e, "CRC-32 of the inflated data is");

    e = two();
    e[0].raw_data = "\xff\xff\xff\xff";
    add("corrupt deflate data", e, "corrupt or truncated deflate data");

    e = two();
    e[0].local_uncompressed_size = 500;
    e[0].central_uncompressed_size = 500;
    add("deflate size lie", e, "inflates to 400 bytes, the header declares 500");

    e = two();
    e[0].data_descriptor = true;
    e[0].descriptor_sizes_in_local = true;
    e[0].descriptor_uncompressed_size = 77;
    add("data descriptor disagrees with local header", e, "disagrees with the local header");

    e = {file("s.bin", "stored data", 0)};
    e[0].data_descriptor = true;
    add("stored entry with unknown size", e, "its end cannot be found while streaming");

    e = {file("\xc3\xa9.py", "x")};
    e[0].central_flags = 0; // central directory header claims CP437 for the same bytes
    add("UTF-8 flag differs between headers", e, "flags 0x0000 differ from the local header's");

    zip_writer_options prefix;
    prefix.prefix = "#!/bin/sh\nexec python \"$0\"\n";
    add("prepended data", two(), "not a zip archive: it starts with bytes", prefix);

    zip_writer_options fake_end;
    fake_end.comment = "PK\x05\x06 fake end record";
    add("end record signature in comment", two(), "the archive comment contains an end of",
        fake_end);

    zip_writer_options short_comment;
    short_comment.comment = "abc";
    short_comment.comment_length = 1;
    add("comment longer than declared", two(),
        fmt::format("trailing data after the end of central directory record (from offset {})",
                    write_zip(two(), short_comment).size() - 2),
        short_comment);

    v.push_back({"truncated archive", write_zip(two()).substr(0, 100),
                 "archive truncated: the stream ended after 100 bytes"});

    zip_writer_options long_comment;
    long_comment.comment = "abc";
    long_comment.comment_length = 10;
    add("comment shorter than declared", two(), "while reading the end of central directory record",
        long_comment);

    pkg::zip::limits small_total;
    small_total.max_total_uncompressed_bytes = 1000;
    v.push_back({"zip bomb: total size",
                 write_zip({file("a", pattern(600, 1)), file("b", pattern(600, 2))}),
                 "total uncompressed size would exceed the limit of 1000 bytes",
                 pkg::errc::zip_limit_exceeded, small_total});

    pkg::zip::limits few;
    few.max_entries = 1;
    v.push_back({"too many entries", write_zip(two()), "the archive has more than 1 entries",
                 pkg::errc::zip_limit_exceeded, few});

    add("non-UTF-8 name", {file("a\xff.py", "x")}, "not valid UTF-8 (byte 0xff", {},
        pkg::errc::unsafe_zip_path);

    e = {file("caf\x82.py", "x")};
    e[0].utf8_flag = false;
    add("CP437 name", e, "non-ASCII name without the UTF-8 flag");
    return v;
}

} // namespace

TEST_CASE("zip reader rejects each malicious archive with its own message", "[zip]")
{
    const auto all = attacks();
    REQUIRE(all.size() >= 20);
    std::vector<std::string> messages;
    for (const attack& a : all) {
        INFO(a.what);
        const pkg::error e = read_error(a.archive, a.lim);
        INFO(e.to_string());
        CHECK_THAT(e.message, Catch::Contains(a.expected));
        CHECK(e.code == make_error_code(a.code));
        messages.push_back(e.message);
    }
    // ... and no attack's message contains the words expected of another.
    for (std::size_t i = 0; i < all.size(); ++i) {
        for (std::size_t j = 0; j < all.size(); ++j) {
            if (i != j) {
                INFO(all[i].what << " vs " << all[j].what);
                CHECK_THAT(messages[i], !Catch::Contains(all[j].expected));
            }
        }
    }
    // Every rejection names its own cause: no two attacks produce the same text.
    std::sort(messages.begin(), messages.end());
    CHECK(std::adjacent_find(messages.begin(), messages.end()) == messages.end());
}

TEST_CASE("zip reader keeps failing after an error and rejects truncated streams", "[zip]")
{
    const std::string archive = write_zip({file("../evil", "x")});
    zip_stream_reader reader;
    auto first = reader.feed(bytes_of(archive));
    REQUIRE_FALSE(first.has_value());
    auto again = reader.feed(bytes_of("more"));
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().message == first.error().message);
    auto end = reader.finish();
    REQUIRE_FALSE(end.has_value());
    CHECK(end.error().message == first.error().message);

    const std::string good = write_zip({file("a.txt", "aaa")});
    for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{29}, std::size_t{40},
                            good.size() - 23, good.size() - 1}) {
        zip_stream_reader r;
        REQUIRE(r.feed(bytes_of(std::string_view(good).substr(0, cut))));
        auto s = r.finish();
        INFO("cut at " << cut);
        REQUIRE_FALSE(s.has_value());
        CHECK_THAT(s.error().message, Catch::Contains("archive truncated"));
    }
}

TEST_CASE("inflate_entry checks sizes and buffers", "[zip]")
{
    zip_entry e;
    e.name = "x";
    e.method = pkg::zip::method_deflate;
    const std::string data = pattern(1000, 3);
    const std::string packed = pkg::test::deflate_raw(data);
    e.data.assign(bytes_of(packed).begin(), bytes_of(packed).end());
    e.compressed_size = packed.size();
    e.uncompressed_size = data.size();
    e.crc32 = pkg::test::crc32_of(data);
    REQUIRE(pkg::zip::inflate_entry(e).has_value());
    CHECK(text_of(*pkg::zip::inflate_entry(e)) == data);

    std::vector<std::byte> wrong(999);
    auto r = pkg::zip::inflate_entry_to(e, wrong);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("output buffer has 999 bytes"));

    e.uncompressed_size = 999;
    auto small = pkg::zip::inflate_entry(e);
    REQUIRE_FALSE(small.has_value());
    CHECK_THAT(small.error().message, Catch::Contains("inflates to more than the declared 999"));

    e.uncompressed_size = data.size();
    e.data.push_back(std::byte{0});
    e.compressed_size += 1;
    auto longer = pkg::zip::inflate_entry(e);
    REQUIRE_FALSE(longer.has_value());
    CHECK_THAT(longer.error().message, Catch::Contains("deflate stream ends after"));

    e.compressed_size += 1;
    auto mismatch = pkg::zip::inflate_entry(e);
    REQUIRE_FALSE(mismatch.has_value());
    CHECK_THAT(mismatch.error().message, Catch::Contains("compressed bytes but declares"));

    zip_entry stored;
    stored.name = "s";
    stored.method = pkg::zip::method_stored;
    stored.data.assign(3, std::byte{'a'});
    stored.compressed_size = 3;
    stored.uncompressed_size = 4;
    auto s = pkg::zip::inflate_entry(stored);
    REQUIRE_FALSE(s.has_value());
    CHECK_THAT(s.error().message, Catch::Contains("stored entry with compressed size 3"));
}

TEST_CASE("zip reader accepts what Python's zipfile writes, streamed or not", "[zip]")
{
    // The fuzz seeds were written by CPython 3.11's zipfile (2 leading bytes choose a split point):
    // a seekable archive, an unseekable one (data descriptors, one entry forced to ZIP64), a
    // stored one with a comment, and an empty one.
    const std::filesystem::path seeds =
        std::filesystem::path(PKG_TEST_SOURCE_DIR) / "fuzz/corpus/zip_reader";
    std::map<std::string, std::size_t> expected_entries = {{"python_deflate.zip", 4},
                                                           {"python_descriptor.zip", 2},
                                                           {"python_stored_comment.zip", 1},
                                                           {"empty.zip", 0}};
    for (const auto& [name, count] : expected_entries) {
        INFO(name);
        const std::string archive = slurp(seeds / name).substr(2);
        for (const long chunk : {0L, 1L, 13L}) {
            const read_archive a = read_ok(archive, chunk);
            CHECK(a.entries.size() == count);
        }
    }
    const read_archive described = read_ok(slurp(seeds / "python_descriptor.zip").substr(2));
    std::string abc;
    for (int i = 0; i < 50; ++i) {
        abc += "abc";
    }
    CHECK(described.entries[0].content == abc);
    CHECK(described.entries[1].name == "b.txt");
    const read_archive python = read_ok(slurp(seeds / "python_deflate.zip").substr(2));
    CHECK(python.summary.entries[2].name == "bin/tool");
    CHECK(python.summary.entries[2].is_executable);
    CHECK_FALSE(python.summary.entries[0].is_executable);
    CHECK(python.summary.entries[3].is_directory);
    CHECK(read_ok(slurp(seeds / "python_stored_comment.zip").substr(2)).summary.comment ==
          "comment");
}

TEST_CASE("inflate_entry runs on many threads at once", "[zip]")
{
    // Each thread uses its own libdeflate decompressor; entries from one reader are shared.
    std::vector<zip_writer_entry> written;
    for (int i = 0; i < 64; ++i) {
        written.push_back(file(fmt::format("m/{}.py", i), pattern(20000 + i, i)));
    }
    const std::string archive = write_zip(written);
    zip_stream_reader reader;
    REQUIRE(reader.feed(bytes_of(archive)));
    std::vector<zip_entry> entries;
    while (auto e = reader.next_entry()) {
        entries.push_back(std::move(*e));
    }
    REQUIRE(reader.finish().has_value());
    REQUIRE(entries.size() == written.size());
    std::vector<int> good(4, 0);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < good.size(); ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 5; ++round) {
                for (std::size_t i = 0; i < entries.size(); ++i) {
                    auto r = pkg::zip::inflate_entry(entries[(i + t * 16) % entries.size()]);
                    if (r && text_of(*r) == written[(i + t * 16) % entries.size()].content) {
                        ++good[t];
                    }
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (const int g : good) {
        CHECK(g == 5 * 64);
    }
}

TEST_CASE("zip reader skips data that only looks like the end of a described entry", "[zip]")
{
    // A deflate stream of stored blocks carries its bytes verbatim, so they can imitate a data
    // descriptor whose compressed size equals its own position: one claiming a ratio over the
    // limit, one whose length is not where the deflate stream ends.
    const auto le32 = [](std::uint32_t v) {
        std::string out;
        for (int i = 0; i < 4; ++i) {
            out += static_cast<char>((v >> (8 * i)) & 0xFF);
        }
        return out;
    };
    constexpr std::uint32_t block_header = 5; // BFINAL/BTYPE byte, LEN, NLEN
    std::string content(100, 'x');
    content += "CCCC" + le32(block_header + 100) + le32(0xF0000000);
    content += std::string(200 - content.size(), 'y');
    content += "DDDD" + le32(block_header + 200) + le32(50);
    content += std::string(100, 'z');
    const std::string packed = pkg::test::deflate_raw(content, 0);
    REQUIRE(packed.substr(block_header, content.size()) == content);

    auto entry = file("tricky.bin", content);
    entry.raw_data = packed;
    entry.data_descriptor = true;
    entry.descriptor_signature = false;
    const std::string archive = write_zip({entry, file("next.txt", "next")});
    for (const long chunk : {0L, 1L, 9L}) {
        const read_archive a = read_ok(archive, chunk);
        REQUIRE(a.entries.size() == 2);
        CHECK(a.entries[0].content == content);
        CHECK(a.entries[0].compressed_size == packed.size());
        CHECK(a.entries[1].content == "next");
    }

    // With fewer candidates allowed than the data holds, the reader gives up with its reason.
    pkg::zip::limits one;
    one.max_descriptor_candidates = 1;
    const pkg::error e = read_error(archive, one);
    CHECK_THAT(e.message, Catch::Contains("more than 1 positions look like the end of its data"));
}
