// PEP 503 HTML project pages. A single forward scan over the body: every loop advances the
// position, and every search for a terminator (`>`, `-->`, a closing quote, `</script`) starts
// where the previous one stopped, so the cost is linear in the body whatever its shape.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pkg/engine/errc.hpp>

#include "http/url.hpp"
#include "index/page_support.hpp"
#include "index/project_page.hpp"
#include "wheel/tags.hpp"

namespace pkg::index {
namespace {

using pkg::quote_for_message;

// Every relative link is resolved against <base href>, so each anchor's URL is at least as long
// as it: a long base on a page of many tiny anchors would multiply the body's size in memory
// (a 1 MB base and 100k anchors is 100 GB). Real bases are short URLs; longer ones are refused.
constexpr std::size_t max_base_href_bytes = 2048;

bool is_space(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

bool is_alpha(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

char lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        out += lower(c);
    }
    return out;
}

std::string_view trimmed(std::string_view text) noexcept
{
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

void append_utf8(std::string& out, std::uint32_t cp)
{
    // NUL, surrogates and values past Unicode become U+FFFD, as an HTML parser does.
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        cp = 0xfffd;
    }
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

// Decodes one character reference starting at text[i] == '&'. Returns the number of bytes
// consumed (0: not a reference we decode; the caller keeps the '&').
std::size_t decode_reference(std::string_view text, std::size_t i, std::string& out)
{
    std::size_t j = i + 1;
    if (j < text.size() && text[j] == '#') {
        ++j;
        const bool is_hex = j < text.size() && (text[j] == 'x' || text[j] == 'X');
        if (is_hex) {
            ++j;
        }
        std::uint32_t value = 0;
        const std::size_t digits_start = j;
        while (j < text.size()) {
            const char c = text[j];
            int digit = -1;
            if (c >= '0' && c <= '9') {
                digit = c - '0';
            } else if (is_hex && c >= 'a' && c <= 'f') {
                digit = c - 'a' + 10;
            } else if (is_hex && c >= 'A' && c <= 'F') {
                digit = c - 'A' + 10;
            }
            if (digit < 0) {
                break;
            }
            // Saturate: anything past U+10FFFF is replaced anyway.
            value = value > 0x10ffff ? value
                                     : value * (is_hex ? 16 : 10) + static_cast<unsigned>(digit);
            ++j;
        }
        if (j == digits_start) {
            return 0;
        }
        if (j < text.size() && text[j] == ';') {
            ++j; // optional, as in HTML
        }
        append_utf8(out, value);
        return j - i;
    }
    static constexpr std::array<std::pair<std::string_view, char>, 5> named = {{
        {"amp;", '&'},
        {"lt;", '<'},
        {"gt;", '>'},
        {"quot;", '"'},
        {"apos;", '\''},
    }};
    const std::string_view rest = text.substr(j);
    for (const auto& [name, value] : named) {
        if (rest.starts_with(name)) {
            out += value;
            return 1 + name.size();
        }
    }
    return 0;
}

std::string decode_entities(std::string_view text)
{
    if (text.find('&') == std::string_view::npos) {
        return std::string(text); // the common case: nothing to decode
    }
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] == '&') {
            if (const std::size_t used = decode_reference(text, i, out); used > 0) {
                i += used;
                continue;
            }
        }
        out += text[i];
        ++i;
    }
    return out;
}

struct attribute {
    std::string name;  // lower case
    std::string value; // entities decoded
};

struct start_tag {
    std::string name; // lower case
    std::vector<attribute> attributes;

    // HTML keeps the first of duplicate attributes.
    const std::string* find(std::string_view attribute_name) const
    {
        for (const attribute& a : attributes) {
            if (a.name == attribute_name) {
                return &a.value;
            }
        }
        return nullptr;
    }
};

struct raw_anchor {
    std::size_t offset = 0; // of the '<', for messages
    start_tag tag;
    std::string text;
};

struct scan_result {
    std::vector<raw_anchor> anchors;
    std::optional<std::string> base_href;
    std::optional<std::string> repository_version;
};

class html_scanner {
public:
    html_scanner(std::string_view body, std::string_view page_url)
        : body_(body), page_url_(page_url)
    {
    }

    result<scan_result> scan()
    {
        scan_result out;
        std::optional<raw_anchor> open_anchor;
        const auto close_anchor = [&] {
            if (open_anchor) {
                out.anchors.push_back(std::move(*open_anchor));
                open_anchor.reset();
            }
        };
        while (pos_ < body_.size()) {
            const std::size_t lt = body_.find('<', pos_);
            const std::size_t text_end = lt == std::string_view::npos ? body_.size() : lt;
            if (open_anchor) {
                open_anchor->text += decode_entities(body_.substr(pos_, text_end - pos_));
            }
            if (lt == std::string_view::npos) {
                pos_ = body_.size();
                break;
            }
            pos_ = lt;
            const std::string_view rest = body_.substr(pos_);
            if (rest.starts_with("<!--")) {
                const std::size_t end = body_.find("-->", pos_ + 4);
                if (end == std::string_view::npos) {
                    return unterminated("comment", lt);
                }
                pos_ = end + 3;
            } else if (rest.starts_with("<!") || rest.starts_with("<?")) {
                const std::size_t end = body_.find('>', pos_ + 2);
                if (end == std::string_view::npos) {
                    return unterminated("declaration", lt);
                }
                pos_ = end + 1;
            } else if (rest.starts_with("</") && rest.size() > 2 && is_alpha(rest[2])) {
                pos_ += 2;
                const std::string name = read_tag_name();
                const std::size_t end = body_.find('>', pos_);
                if (end == std::string_view::npos) {
                    return unterminated("</" + name + "> end tag", lt);
                }
                pos_ = end + 1;
                if (name == "a" || name == "body" || name == "html") {
                    close_anchor();
                }
            } else if (rest.size() > 1 && is_alpha(rest[1])) {
                ++pos_;
                auto tag = read_start_tag(lt);
                if (!tag) {
                    return fail(std::move(tag).error());
                }
                if (tag->name == "a") {
                    close_anchor(); // an <a> inside an <a> closes the first, as in HTML
                    open_anchor = raw_anchor{lt, std::move(*tag), {}};
                } else if (tag->name == "base") {
                    if (const std::string* href = tag->find("href"); href && !out.base_href) {
                        out.base_href = *href;
                    }
                } else if (tag->name == "meta") {
                    const std::string* name = tag->find("name");
                    const std::string* content = tag->find("content");
                    if (name && content && lowered(trimmed(*name)) == "pypi:repository-version" &&
                        !out.repository_version) {
                        out.repository_version = *content;
                    }
                } else if (tag->name == "script" || tag->name == "style") {
                    // Raw text: a '<' inside does not start a tag.
                    const std::size_t end = find_end_tag(tag->name);
                    if (end == std::string_view::npos) {
                        return unterminated("<" + tag->name + "> element", lt);
                    }
                    pos_ = end;
                }
            } else {
                if (open_anchor) {
                    open_anchor->text += '<';
                }
                ++pos_;
            }
        }
        if (open_anchor) {
            return detail::page_error(
                page_url_, "the <a> element at byte " + std::to_string(open_anchor->offset) + " (" +
                               quote_for_message(excerpt(open_anchor->offset)) +
                               ") is never closed; the page looks cut off");
        }
        return out;
    }

private:
    std::string excerpt(std::size_t at) const { return std::string(body_.substr(at, 60)); }

    tl::unexpected<error> unterminated(std::string_view what, std::size_t at) const
    {
        return detail::page_error(
            page_url_, "unterminated " + std::string(what) + " at byte " + std::to_string(at) +
                           " (" + quote_for_message(excerpt(at)) + "); the page looks cut off");
    }

    std::string read_tag_name()
    {
        const std::size_t start = pos_;
        while (pos_ < body_.size() && !is_space(body_[pos_]) && body_[pos_] != '/' &&
               body_[pos_] != '>') {
            ++pos_;
        }
        return lowered(body_.substr(start, pos_ - start));
    }

    // pos_ is just after '<'. Reads the name and attributes up to and including '>'.
    result<start_tag> read_start_tag(std::size_t lt)
    {
        start_tag tag;
        tag.name = read_tag_name();
        while (true) {
            while (pos_ < body_.size() && (is_space(body_[pos_]) || body_[pos_] == '/')) {
                ++pos_;
            }
            if (pos_ >= body_.size()) {
                return unterminated("<" + tag.name + " tag", lt);
            }
            if (body_[pos_] == '>') {
                ++pos_;
                return tag;
            }
            // An attribute name runs to space, '/', '>' or '='; a leading '=' belongs to it.
            const std::size_t name_start = pos_;
            ++pos_;
            while (pos_ < body_.size() && !is_space(body_[pos_]) && body_[pos_] != '/' &&
                   body_[pos_] != '>' && body_[pos_] != '=') {
                ++pos_;
            }
            attribute attr{lowered(body_.substr(name_start, pos_ - name_start)), {}};
            std::size_t after_name = pos_;
            while (after_name < body_.size() && is_space(body_[after_name])) {
                ++after_name;
            }
            if (after_name < body_.size() && body_[after_name] == '=') {
                pos_ = after_name + 1;
                while (pos_ < body_.size() && is_space(body_[pos_])) {
                    ++pos_;
                }
                if (pos_ >= body_.size()) {
                    return unterminated("<" + tag.name + " tag", lt);
                }
                const char quote = body_[pos_];
                if (quote == '"' || quote == '\'') {
                    const std::size_t close = body_.find(quote, pos_ + 1);
                    if (close == std::string_view::npos) {
                        return unterminated("quoted attribute value in a <" + tag.name + " tag",
                                            lt);
                    }
                    attr.value = decode_entities(body_.substr(pos_ + 1, close - pos_ - 1));
                    pos_ = close + 1;
                } else {
                    const std::size_t start = pos_;
                    while (pos_ < body_.size() && !is_space(body_[pos_]) && body_[pos_] != '>') {
                        ++pos_;
                    }
                    attr.value = decode_entities(body_.substr(start, pos_ - start));
                }
            }
            tag.attributes.push_back(std::move(attr));
        }
    }

    // From pos_, the offset of the next `</name` (any case), or npos.
    std::size_t find_end_tag(std::string_view name) const
    {
        std::size_t at = pos_;
        while (true) {
            at = body_.find("</", at);
            if (at == std::string_view::npos) {
                return at;
            }
            const std::string_view candidate = body_.substr(at + 2, name.size());
            if (lowered(candidate) == name) {
                return at;
            }
            at += 2;
        }
    }

    std::string_view body_;
    std::string_view page_url_;
    std::size_t pos_ = 0;
};

// The hashes in a link's fragment: `sha256=<hex>`, several joined by '&'. Other keys (`egg=`,
// `subdirectory=`) are not hashes and are skipped.
hash_map fragment_hashes(std::string_view fragment, std::string_view filename,
                         std::string_view page_url, std::vector<std::string>& warnings)
{
    hash_map out;
    while (!fragment.empty()) {
        const std::size_t amp = fragment.find('&');
        const std::string_view item = fragment.substr(0, amp);
        fragment = amp == std::string_view::npos ? std::string_view{} : fragment.substr(amp + 1);
        const std::size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
            continue;
        }
        const std::string algorithm = lowered(item.substr(0, eq));
        const auto length = detail::fragment_hash_length(algorithm);
        if (!length) {
            continue;
        }
        const std::string_view value = item.substr(eq + 1);
        const auto hex = detail::lower_hex(value);
        if (!hex || hex->size() != *length) {
            warnings.push_back(io::redact_url(page_url) + ": ignored the " + algorithm + " hash " +
                               quote_for_message(value) + " of " + quote_for_message(filename) +
                               " (expected " + std::to_string(*length) + " hex digits)");
            continue;
        }
        out.emplace(algorithm, *hex);
    }
    return out;
}

core_metadata_info metadata_attribute(std::string_view raw, std::string_view filename,
                                      std::string_view page_url, std::vector<std::string>& warnings)
{
    core_metadata_info out;
    const std::string value = lowered(trimmed(raw));
    if (value == "false") {
        return out;
    }
    out.is_available = true;
    if (value.empty() || value == "true") {
        return out;
    }
    const std::size_t eq = value.find('=');
    const auto hex =
        eq == std::string::npos ? std::nullopt : detail::lower_hex(value.substr(eq + 1));
    if (!hex || eq == 0) {
        warnings.push_back(io::redact_url(page_url) + ": the core metadata attribute " +
                           quote_for_message(raw) + " of " + quote_for_message(filename) +
                           " is neither \"true\" nor <hash>=<hex>; metadata taken as available "
                           "without a hash");
        return out;
    }
    out.hashes.emplace(value.substr(0, eq), *hex);
    return out;
}

} // namespace

result<project_page> parse_simple_html(std::string_view body, std::string_view page_url)
{
    html_scanner scanner(body, page_url);
    auto scanned = scanner.scan();
    if (!scanned) {
        return fail(std::move(scanned).error());
    }

    project_page page;
    page.url = std::string(page_url);
    if (scanned->repository_version) {
        auto version = detail::parse_api_version(
            *scanned->repository_version, "<meta name=\"pypi:repository-version\">", page_url);
        if (!version) {
            return fail(std::move(version).error());
        }
        page.api = *version;
        if (auto warning = detail::api_version_warning(page.api, page_url)) {
            page.warnings.push_back(std::move(*warning));
        }
    }

    std::string base = std::string(page_url);
    if (scanned->base_href && scanned->base_href->size() > max_base_href_bytes) {
        return detail::page_error(
            page_url, "the <base href> of " + std::to_string(scanned->base_href->size()) +
                          " bytes (" + quote_for_message(*scanned->base_href) +
                          ") is longer than the " + std::to_string(max_base_href_bytes) +
                          " bytes pkg accepts");
    }
    if (scanned->base_href) {
        auto resolved = io::resolve_url(page_url, *scanned->base_href);
        if (!resolved) {
            return detail::page_error(
                page_url, "cannot resolve <base href=" + quote_for_message(*scanned->base_href) +
                              ">: " + resolved.error().message);
        }
        base = std::string(io::without_fragment(*resolved));
    }

    const std::string where = io::redact_url(page_url);
    for (raw_anchor& anchor : scanned->anchors) {
        const std::string* href = anchor.tag.find("href");
        const std::string text(trimmed(anchor.text));
        if (!href) {
            page.warnings.push_back(where + ": ignored the <a> at byte " +
                                    std::to_string(anchor.offset) + " (" + quote_for_message(text) +
                                    "): it has no href");
            continue;
        }
        auto resolved = io::resolve_url(base, *href);
        if (!resolved) {
            return detail::page_error(
                page_url, "cannot resolve the link " + quote_for_message(*href) + " of " +
                              quote_for_message(text) + ": " + resolved.error().message);
        }
        index_file file;
        file.url = std::string(io::without_fragment(*resolved));
        const std::string segment = io::last_path_segment(file.url);
        if (text.empty() && segment.empty()) {
            page.warnings.push_back(where + ": ignored the <a> at byte " +
                                    std::to_string(anchor.offset) + " (href " +
                                    quote_for_message(*href) + "): it names no file");
            continue;
        }
        if (text == segment) {
            file.filename = text;
        } else if (segment.ends_with(".whl") || text.empty()) {
            if (!text.empty()) {
                page.warnings.push_back(where + ": the link text " + quote_for_message(text) +
                                        " differs from its URL's filename " +
                                        quote_for_message(segment) +
                                        "; using the URL's, which is what is downloaded");
            }
            file.filename = segment;
        } else {
            page.warnings.push_back(where + ": the link text " + quote_for_message(text) +
                                    " differs from its URL's last segment " +
                                    quote_for_message(segment) + "; using the link text");
            file.filename = text;
        }

        const io::url_reference parts = io::split_url(*resolved);
        if (parts.fragment) {
            file.hashes = fragment_hashes(*parts.fragment, file.filename, page_url, page.warnings);
        }
        if (const std::string* requires_python = anchor.tag.find("data-requires-python")) {
            file.requires_python = std::string(trimmed(*requires_python));
        }
        if (const std::string* yanked = anchor.tag.find("data-yanked")) {
            file.is_yanked = true;
            file.yank_reason = std::string(trimmed(*yanked));
        }
        const std::string* metadata = anchor.tag.find("data-core-metadata");
        if (!metadata) {
            metadata = anchor.tag.find("data-dist-info-metadata");
        }
        if (metadata) {
            file.core_metadata =
                metadata_attribute(*metadata, file.filename, page_url, page.warnings);
        }
        page.files.push_back(std::move(file));
    }
    return page;
}

} // namespace pkg::index
