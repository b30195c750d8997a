// libFuzzer target for the HTTP cache's entry parser and its Cache-Control reader
// (engine/src/index/http_cache.hpp).
// Properties: nothing crashes; an entry that parses serializes to bytes that parse back to an
// equal entry; freshness and Cache-Control parsing accept any bytes.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "index/http_cache.hpp"

namespace {

void check(bool condition)
{
    if (!condition) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    (void)pkg::index::parse_cache_control(text);
    auto parsed = pkg::index::parse_http_cache_entry(text, "fuzz.http");
    if (!parsed) {
        check(!parsed.error().message.empty());
        return 0;
    }
    const std::string again = pkg::index::serialize_http_cache_entry(*parsed);
    auto back = pkg::index::parse_http_cache_entry(again, "fuzz.http");
    check(back.has_value());
    check(*back == *parsed);
    check(pkg::index::serialize_http_cache_entry(*back) == again);
    (void)pkg::index::is_fresh(*parsed, std::chrono::system_clock::time_point{});
    (void)pkg::index::is_fresh(*parsed, std::chrono::system_clock::now());
    return 0;
}
