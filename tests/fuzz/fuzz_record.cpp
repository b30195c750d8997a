// libFuzzer target for the RECORD parser and checker (engine/src/pipeline/record.hpp).
// Properties: nothing crashes; every parsed line has exactly the fields the text gave, a line
// number within the text, and checking any parse against a small set of files either succeeds
// or fails with a message (never throws).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "pipeline/record.hpp"

namespace {

void check(bool condition)
{
    if (!condition) {
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto lines = pkg::pipeline::parse_record(text, "RECORD");
    if (!lines) {
        check(!lines.error().message.empty());
        return 0;
    }
    std::size_t newlines = 0;
    for (char c : text) {
        newlines += c == '\n' ? 1 : 0;
    }
    for (const auto& line : *lines) {
        check(line.line_number >= 1 && line.line_number <= newlines + 1);
    }
    const std::map<std::string, pkg::pipeline::unpacked_file> files = {
        {"a.py", {3, pkg::pipeline::base64_urlsafe_nopad("not a real digest, 32 bytes long")}},
        {"d-1.dist-info/RECORD", {static_cast<std::uint64_t>(size), ""}},
    };
    auto checked = pkg::pipeline::check_record(*lines, "d-1.dist-info/RECORD", files);
    check(checked || !checked.error().message.empty());
    return 0;
}
