// libFuzzer target for the archive manifest parser (engine/src/cache/manifest.hpp) and the index
// key canonicalisation.
// Properties: nothing crashes; the format is canonical, so a text that parses is exactly what
// format_manifest writes for the parsed value (and parses back equal); index_key is always 16
// lower-case hex digits.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cache/digest.hpp"
#include "cache/index_key.hpp"
#include "cache/manifest.hpp"

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
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto manifest = pkg::cache::parse_manifest(text, "fuzz")) {
        const auto formatted = pkg::cache::format_manifest(*manifest);
        check(formatted.has_value());
        check(*formatted == text);
        const auto again = pkg::cache::parse_manifest(*formatted);
        check(again.has_value() && *again == *manifest);
    }

    const auto key = pkg::cache::index_key(text);
    check(key.size() == 16 && pkg::cache::is_sha256_hex(key + std::string(48, '0')));
    return 0;
}
