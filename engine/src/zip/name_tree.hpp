#pragma once
/// \file
/// The set of paths an archive's entries create, to catch entries that would land on one path.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <pkg/io/error.hpp>

namespace pkg::zip {

/// A tree of path components. Adding a name costs O(its length), whatever the archive holds, so
/// an archive of 200,000 deep names cannot make the check quadratic.
class name_tree {
public:
    /// Records `name` (already checked by `validate_entry_name`; a directory's trailing '/'
    /// removed, `is_directory` telling which it was). Fails (`errc::invalid_zip`) when the path
    /// was already added (exactly, or as a file and a directory, which are one path once
    /// written), when a file is added where an earlier entry needs a directory, or when a
    /// parent of `name` is an earlier file. Names compare byte for byte, case-sensitively,
    /// as zip does. Not thread-safe.
    result<void> add(std::string_view name, bool is_directory);

    /// Number of explicit entries added.
    std::size_t size() const { return entries_; }

private:
    enum class node_kind : std::uint8_t { implicit_directory, directory, file };

    std::unordered_map<std::string, std::uint32_t> children_;     ///< parent id bytes + component
    std::vector<node_kind> nodes_{node_kind::implicit_directory}; ///< [0] is the root
    std::size_t entries_ = 0;
};

} // namespace pkg::zip
