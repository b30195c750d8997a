// libFuzzer target for PEP 691 JSON project pages (and Content-Type dispatch).
// Properties: nothing crashes; failures are page errors; every parsed file has an absolute URL
// without fragment that resolves to itself, lower-case hex hashes, and a core-metadata hash
// only when metadata is available; a compatible wheel on the page is selectable.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <pkg/engine/errc.hpp>

#include "http/url.hpp"
#include "index/project_page.hpp"
#include "index/select.hpp"
#include "wheel/wheel_filename.hpp"

namespace {

void check(bool condition)
{
    if (!condition) {
        std::abort();
    }
}

const pkg::wheel::tag_list& supported()
{
    static const pkg::wheel::tag_list list = [] {
        pkg::wheel::interpreter_description d;
        d.glibc = std::pair{2U, 36U};
        return pkg::wheel::tag_list::for_interpreter(d);
    }();
    return list;
}

bool is_lower_hex(std::string_view text)
{
    for (const char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return !text.empty();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::string_view page_url = "https://index.example/simple/pkg/";

    auto page = pkg::index::parse_simple_json(text, page_url);
    if (!page) {
        const auto code = page.error().code;
        check(code == pkg::errc::invalid_index_page || code == pkg::errc::unsupported_api_version);
        check(!page.error().message.empty());
        check(page.error().where == page_url);
    } else {
        check(page->api.major == 1);
        for (const pkg::index::index_file& file : page->files) {
            check(file.url.find('#') == std::string::npos);
            check(pkg::io::split_url(file.url).scheme.has_value());
            const auto again = pkg::io::resolve_url(page_url, file.url);
            check(again.has_value() && *again == file.url);
            for (const auto& [algorithm, hex] : file.hashes) {
                check(is_lower_hex(hex));
            }
            check(file.core_metadata.is_available || file.core_metadata.hashes.empty());
            auto wheel = pkg::wheel::wheel_filename::parse(file.filename);
            if (wheel && wheel->priority(supported())) {
                check(pkg::index::select_wheel(*page, wheel->normalized_name, wheel->version,
                                               supported(), {})
                          .has_value());
            }
        }
    }

    // Dispatch must agree with the direct call for the JSON media type.
    const auto dispatched =
        pkg::index::parse_project_page("application/vnd.pypi.simple.v1+json", text, page_url);
    check(dispatched.has_value() == page.has_value());
    if (dispatched && page) {
        check(dispatched->files.size() == page->files.size());
    }
    return 0;
}
