// PEP 691 JSON project pages with simdjson On-Demand. On-Demand reads values in document order
// and only once, so the page is walked in two passes: first `meta` alone (a page of another
// major version must fail as such, not as a file whose shape we do not know), then, after a
// rewind, everything else. Every simdjson call is checked through its error code: no
// exceptions leave this file.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <pkg/engine/errc.hpp>

#include "http/url.hpp"
#include "index/page_support.hpp"
#include "index/project_page.hpp"
#include "wheel/tags.hpp"

namespace pkg::index {
namespace {

namespace od = simdjson::ondemand;
using pkg::quote_for_message;

std::string_view type_name(od::json_type type) noexcept
{
    switch (type) {
    case od::json_type::array:
        return "an array";
    case od::json_type::object:
        return "an object";
    case od::json_type::number:
        return "a number";
    case od::json_type::string:
        return "a string";
    case od::json_type::boolean:
        return "a boolean";
    case od::json_type::null:
        return "null";
    }
    return "an unknown value";
}

std::string lowered(std::string_view text)
{
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

class json_page_parser {
public:
    explicit json_page_parser(std::string_view page_url) : page_url_(page_url) {}

    result<project_page> parse(std::string_view body)
    {
        const simdjson::padded_string padded(body.data(), body.size());
        od::parser parser;
        od::document doc;
        if (const auto code = parser.iterate(padded).get(doc)) {
            return not_json(code, "the page");
        }
        page_.url = std::string(page_url_);

        od::object root;
        if (const auto code = doc.get_object().get(root)) {
            return code == simdjson::INCORRECT_TYPE ? malformed("the page is not a JSON object")
                                                    : not_json(code, "the page");
        }
        od::value meta;
        if (const auto code = root.find_field_unordered("meta").get(meta)) {
            if (code != simdjson::NO_SUCH_FIELD) {
                return not_json(code, "the page");
            }
        } else if (auto read = read_meta(meta); !read) {
            return fail(std::move(read).error());
        }

        doc.rewind();
        if (const auto code = doc.get_object().get(root)) {
            return not_json(code, "the page");
        }
        for (auto field : root) {
            std::string_view key;
            od::value value;
            if (const auto code = field.unescaped_key().get(key)) {
                return not_json(code, "a key of the page object");
            }
            if (const auto code = field.value().get(value)) {
                return not_json(code, "the value of \"" + std::string(key) + "\"");
            }
            if (key == "name") {
                auto name = read_string(value, "\"name\"");
                if (!name) {
                    return fail(std::move(name).error());
                }
                page_.name = std::move(*name);
            } else if (key == "files") {
                if (auto read = read_files(value); !read) {
                    return fail(std::move(read).error());
                }
            } else if (key == "versions") {
                if (auto read = read_versions(value); !read) {
                    return fail(std::move(read).error());
                }
            }
            // "meta" was read in the first pass; other keys are ignored as PEP 691 asks.
        }
        // simdjson 3.0 documents have no at_end(); current_location() is OUT_OF_BOUNDS there.
        const char* rest = nullptr;
        if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) {
            return malformed("there is content after the top-level JSON object");
        }
        return std::move(page_);
    }

private:
    tl::unexpected<error> malformed(std::string what) const
    {
        return detail::page_error(page_url_, "malformed JSON project page: " + what);
    }

    tl::unexpected<error> not_json(simdjson::error_code code, std::string_view context) const
    {
        return detail::page_error(page_url_, "the JSON project page is not valid JSON (" +
                                                 std::string(simdjson::error_message(code)) +
                                                 ", reading " + std::string(context) + ")");
    }

    result<od::json_type> type_of(od::value& value, std::string_view context) const
    {
        od::json_type type{};
        if (const auto code = value.type().get(type)) {
            return not_json(code, context);
        }
        return type;
    }

    tl::unexpected<error> wrong_type(std::string_view context, od::json_type type,
                                     std::string_view expected) const
    {
        return malformed(std::string(context) + " is " + std::string(type_name(type)) +
                         ", expected " + std::string(expected));
    }

    result<std::string> read_string(od::value& value, std::string_view context) const
    {
        auto type = type_of(value, context);
        if (!type) {
            return fail(std::move(type).error());
        }
        if (*type != od::json_type::string) {
            return wrong_type(context, *type, "a string");
        }
        std::string_view text;
        if (const auto code = value.get_string().get(text)) {
            return not_json(code, context);
        }
        return std::string(text);
    }

    // A string, or null (= absent).
    result<std::optional<std::string>> read_optional_string(od::value& value,
                                                            std::string_view context) const
    {
        auto type = type_of(value, context);
        if (!type) {
            return fail(std::move(type).error());
        }
        if (*type == od::json_type::null) {
            return std::optional<std::string>{};
        }
        auto text = read_string(value, context);
        if (!text) {
            return fail(std::move(text).error());
        }
        return std::optional<std::string>(std::move(*text));
    }

    result<void> read_meta(od::value& meta)
    {
        od::object object;
        auto type = type_of(meta, "\"meta\"");
        if (!type) {
            return fail(std::move(type).error());
        }
        if (*type != od::json_type::object) {
            return wrong_type("\"meta\"", *type, "an object");
        }
        if (const auto code = meta.get_object().get(object)) {
            return not_json(code, "\"meta\"");
        }
        for (auto field : object) {
            std::string_view key;
            od::value value;
            if (const auto code = field.unescaped_key().get(key)) {
                return not_json(code, "a key of \"meta\"");
            }
            if (const auto code = field.value().get(value)) {
                return not_json(code, "\"meta\"");
            }
            if (key != "api-version") {
                continue;
            }
            auto text = read_string(value, "\"meta\".\"api-version\"");
            if (!text) {
                return fail(std::move(text).error());
            }
            auto version = detail::parse_api_version(*text, "\"meta\".\"api-version\"", page_url_);
            if (!version) {
                return fail(std::move(version).error());
            }
            page_.api = *version;
            if (auto warning = detail::api_version_warning(page_.api, page_url_)) {
                page_.warnings.push_back(std::move(*warning));
            }
        }
        return {};
    }

    result<void> read_versions(od::value& value)
    {
        auto type = type_of(value, "\"versions\"");
        if (!type) {
            return fail(std::move(type).error());
        }
        if (*type != od::json_type::array) {
            return wrong_type("\"versions\"", *type, "an array of strings");
        }
        od::array array;
        if (const auto code = value.get_array().get(array)) {
            return not_json(code, "\"versions\"");
        }
        for (auto element : array) {
            od::value item;
            if (const auto code = element.get(item)) {
                return not_json(code, "\"versions\"");
            }
            auto text = read_string(item, "an entry of \"versions\"");
            if (!text) {
                return fail(std::move(text).error());
            }
            page_.versions.push_back(std::move(*text));
        }
        return {};
    }

    result<void> read_files(od::value& value)
    {
        auto type = type_of(value, "\"files\"");
        if (!type) {
            return fail(std::move(type).error());
        }
        if (*type != od::json_type::array) {
            return wrong_type("\"files\"", *type, "an array of objects");
        }
        od::array array;
        if (const auto code = value.get_array().get(array)) {
            return not_json(code, "\"files\"");
        }
        std::size_t index = 0;
        for (auto element : array) {
            od::value item;
            if (const auto code = element.get(item)) {
                return not_json(code, "\"files\"");
            }
            auto file = read_file(item, index);
            if (!file) {
                return fail(std::move(file).error());
            }
            page_.files.push_back(std::move(*file));
            ++index;
        }
        return {};
    }

    // An object of algorithm → hex digest. Non-hex digests are dropped with a warning.
    result<hash_map> read_hashes(od::value& value, const std::string& context,
                                 std::string_view filename)
    {
        auto type = type_of(value, context);
        if (!type) {
            return fail(std::move(type).error());
        }
        if (*type != od::json_type::object) {
            return wrong_type(context, *type, "an object of hex digests");
        }
        od::object object;
        if (const auto code = value.get_object().get(object)) {
            return not_json(code, context);
        }
        hash_map out;
        for (auto field : object) {
            std::string_view key;
            od::value digest;
            if (const auto code = field.unescaped_key().get(key)) {
                return not_json(code, context);
            }
            const std::string algorithm = lowered(key);
            if (const auto code = field.value().get(digest)) {
                return not_json(code, context);
            }
            auto digest_type = type_of(digest, context);
            if (!digest_type) {
                return fail(std::move(digest_type).error());
            }
            // The context string is built only for the error: this loop runs for every hash.
            if (*digest_type != od::json_type::string) {
                return wrong_type(context + "." + quote_for_message(algorithm), *digest_type,
                                  "a string");
            }
            std::string_view text;
            if (const auto code = digest.get_string().get(text)) {
                return not_json(code, context);
            }
            auto hex = detail::lower_hex(text);
            const auto expected = detail::fragment_hash_length(algorithm);
            if (!hex || (expected && hex->size() != *expected)) {
                page_.warnings.push_back(io::redact_url(page_url_) + ": ignored the " + algorithm +
                                         " hash " + quote_for_message(text) + " of " +
                                         quote_for_message(filename) + " in " + context +
                                         " (not a hex digest of the right length)");
                continue;
            }
            out.insert_or_assign(algorithm, std::move(*hex));
        }
        return out;
    }

    result<core_metadata_info> read_core_metadata(od::value& value, const std::string& context,
                                                  std::string_view filename)
    {
        auto type = type_of(value, context);
        if (!type) {
            return fail(std::move(type).error());
        }
        core_metadata_info out;
        if (*type == od::json_type::boolean) {
            bool flag = false;
            if (const auto code = value.get_bool().get(flag)) {
                return not_json(code, context);
            }
            out.is_available = flag;
            return out;
        }
        if (*type != od::json_type::object) {
            return wrong_type(context, *type, "a boolean or an object of hashes");
        }
        auto hashes = read_hashes(value, context, filename);
        if (!hashes) {
            return fail(std::move(hashes).error());
        }
        out.is_available = true;
        out.hashes = std::move(*hashes);
        return out;
    }

    result<index_file> read_file(od::value& value, std::size_t index)
    {
        const std::string where = "files[" + std::to_string(index) + "]";
        auto type = type_of(value, where);
        if (!type) {
            return fail(std::move(type).error());
        }
        if (*type != od::json_type::object) {
            return wrong_type(where, *type, "an object");
        }
        od::object object;
        if (const auto code = value.get_object().get(object)) {
            return not_json(code, where);
        }
        index_file file;
        std::optional<std::string> raw_url;
        bool has_filename = false;
        std::optional<core_metadata_info> core_metadata;
        std::optional<core_metadata_info> dist_info_metadata;
        // Once the filename is known, messages name the file, not just its position.
        std::string label = where;
        for (auto field : object) {
            std::string_view key_view;
            od::value item;
            if (const auto code = field.unescaped_key().get(key_view)) {
                return not_json(code, "a key of " + where);
            }
            const std::string key(key_view);
            const std::string context = label + "." + key;
            if (const auto code = field.value().get(item)) {
                return not_json(code, context);
            }
            if (key == "filename") {
                auto text = read_string(item, context);
                if (!text) {
                    return fail(std::move(text).error());
                }
                file.filename = std::move(*text);
                has_filename = true;
                label = where + " (" + quote_for_message(file.filename) + ")";
            } else if (key == "url") {
                auto text = read_string(item, context);
                if (!text) {
                    return fail(std::move(text).error());
                }
                raw_url = std::move(*text);
            } else if (key == "hashes") {
                auto hashes = read_hashes(item, context, file.filename);
                if (!hashes) {
                    return fail(std::move(hashes).error());
                }
                file.hashes = std::move(*hashes);
            } else if (key == "requires-python") {
                auto text = read_optional_string(item, context);
                if (!text) {
                    return fail(std::move(text).error());
                }
                file.requires_python = text->value_or(std::string());
            } else if (key == "yanked") {
                auto yanked = type_of(item, context);
                if (!yanked) {
                    return fail(std::move(yanked).error());
                }
                if (*yanked == od::json_type::boolean) {
                    bool flag = false;
                    if (const auto code = item.get_bool().get(flag)) {
                        return not_json(code, context);
                    }
                    file.is_yanked = flag;
                } else if (*yanked == od::json_type::string) {
                    auto reason = read_string(item, context);
                    if (!reason) {
                        return fail(std::move(reason).error());
                    }
                    file.is_yanked = true;
                    file.yank_reason = std::move(*reason);
                } else {
                    return wrong_type(context, *yanked, "a boolean or a string");
                }
            } else if (key == "core-metadata" || key == "dist-info-metadata") {
                auto info = read_core_metadata(item, context, file.filename);
                if (!info) {
                    return fail(std::move(info).error());
                }
                (key == "core-metadata" ? core_metadata : dist_info_metadata) = std::move(*info);
            } else if (key == "size") {
                auto size_type = type_of(item, context);
                if (!size_type) {
                    return fail(std::move(size_type).error());
                }
                std::uint64_t size = 0;
                if (*size_type != od::json_type::number || item.get_uint64().get(size)) {
                    return malformed(context + " must be a non-negative integer (a byte count)");
                }
                file.size_bytes = size;
            } else if (key == "upload-time") {
                auto text = read_optional_string(item, context);
                if (!text) {
                    return fail(std::move(text).error());
                }
                file.upload_time = std::move(*text);
            }
        }
        if (!has_filename) {
            return malformed(where + " has no \"filename\"");
        }
        if (!raw_url) {
            return malformed(where + " (" + quote_for_message(file.filename) + ") has no \"url\"");
        }
        // PEP 714: the new key wins; the old one is read for indexes that only send it.
        if (core_metadata) {
            file.core_metadata = std::move(*core_metadata);
        } else if (dist_info_metadata) {
            file.core_metadata = std::move(*dist_info_metadata);
        }
        auto resolved = io::resolve_url(page_url_, *raw_url);
        if (!resolved) {
            return detail::page_error(
                page_url_, "cannot resolve the URL " + quote_for_message(*raw_url) + " of " +
                               quote_for_message(file.filename) + ": " + resolved.error().message);
        }
        file.url = std::string(io::without_fragment(*resolved));
        return file;
    }

    std::string_view page_url_;
    project_page page_;
};

} // namespace

result<project_page> parse_simple_json(std::string_view body, std::string_view page_url)
{
    json_page_parser parser(page_url);
    return parser.parse(body);
}

} // namespace pkg::index
