#include "zip/name_tree.hpp"

#include <cstring>

#include <fmt/format.h>

#include <pkg/engine/errc.hpp>

#include "zip/entry_name.hpp"

namespace pkg::zip {

result<void> name_tree::add(std::string_view name, bool is_directory)
{
    std::uint32_t parent = 0;
    std::size_t start = 0;
    std::string key;
    while (true) {
        const std::size_t slash = name.find('/', start);
        const bool is_last = slash == std::string_view::npos;
        const std::string_view component =
            name.substr(start, is_last ? std::string_view::npos : slash - start);

        key.resize(sizeof parent);
        std::memcpy(key.data(), &parent, sizeof parent);
        key.append(component);
        auto [it, inserted] = children_.try_emplace(key, static_cast<std::uint32_t>(nodes_.size()));
        const std::uint32_t node = it->second;
        const node_kind wanted = !is_last       ? node_kind::implicit_directory
                                 : is_directory ? node_kind::directory
                                                : node_kind::file;
        if (inserted) {
            nodes_.push_back(wanted);
        } else {
            const node_kind have = nodes_[node];
            const std::string_view prefix = name.substr(0, is_last ? name.size() : slash);
            if (have == node_kind::file && !is_last) {
                return fail(errc::invalid_zip,
                            fmt::format("entry {} needs {} to be a directory, but an earlier "
                                        "entry is a file of that name",
                                        quote_entry_name(name), quote_entry_name(prefix)));
            }
            if (is_last) {
                if (have == wanted) {
                    return fail(errc::invalid_zip,
                                fmt::format("duplicate entry name {}", quote_entry_name(name)));
                }
                if (have == node_kind::implicit_directory && wanted == node_kind::directory) {
                    nodes_[node] = node_kind::directory; // "a/" listed after "a/b": fine
                } else {
                    return fail(errc::invalid_zip,
                                fmt::format("entry {} is both a file and a directory in this "
                                            "archive",
                                            quote_entry_name(prefix)));
                }
            }
        }
        if (is_last) {
            break;
        }
        parent = node;
        start = slash + 1;
    }
    ++entries_;
    return {};
}

} // namespace pkg::zip
