// libFuzzer target for PEP 503 HTML project pages, URL resolution and wheel selection.
// Properties: nothing crashes or hangs (the scanner is linear); every parsed file has an
// absolute URL (a scheme, no fragment, no unescaped space or control byte) that resolves to
// itself; hashes are lower-case hex under lower-case names; a page file that is a wheel
// compatible with the interpreter is always selectable for its own name and version.

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

void check_page(const pkg::index::project_page& page)
{
    for (const pkg::index::index_file& file : page.files) {
        check(!file.url.empty());
        check(file.url.find('#') == std::string::npos);
        for (const char c : file.url) {
            check(static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f);
        }
        check(pkg::io::split_url(file.url).scheme.has_value());
        const auto again = pkg::io::resolve_url(page.url, file.url);
        check(again.has_value() && *again == file.url);
        for (const auto& [algorithm, hex] : file.hashes) {
            check(!algorithm.empty() && is_lower_hex(hex));
        }
        auto wheel = pkg::wheel::wheel_filename::parse(file.filename);
        if (wheel && wheel->priority(supported())) {
            const auto chosen = pkg::index::select_wheel(page, wheel->normalized_name,
                                                         wheel->version, supported(), {});
            check(chosen.has_value());
            check(chosen->file_index < page.files.size());
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    static constexpr std::string_view page_urls[] = {
        "https://index.example/simple/pkg/",
        "file:///srv/index/simple/pkg/index.html",
        "http://u:p@index.example:8080/a/b/../simple/pkg?x=1#top",
    };
    const std::string_view page_url = page_urls[size % 3];

    if (auto page = pkg::index::parse_simple_html(text, page_url)) {
        check_page(*page);
    } else {
        const auto code = page.error().code;
        check(code == pkg::errc::invalid_index_page || code == pkg::errc::unsupported_api_version);
        check(!page.error().message.empty());
    }

    // The same bytes as "base\nreference" for the URL resolver alone.
    const std::size_t newline = text.find('\n');
    if (newline != std::string_view::npos) {
        const std::string_view base = text.substr(0, newline);
        const std::string_view reference = text.substr(newline + 1);
        if (auto resolved = pkg::io::resolve_url(base, reference)) {
            const auto again = pkg::io::resolve_url(base, *resolved);
            check(again.has_value() && *again == *resolved);
        }
        (void)pkg::io::redact_url(base);
        (void)pkg::io::last_path_segment(reference);
    }
    return 0;
}
