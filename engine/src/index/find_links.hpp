#pragma once
/// \file
/// `--find-links` locations as project pages: a local directory of wheels listed once, and the
/// files of one project picked out of a directory listing or an HTML page that lists many
/// projects' files (pip's "flat" pages).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

#include "index/project_page.hpp"

namespace pkg::index {

/// The `.whl` files of one local directory (not recursive), sorted by name.
struct local_wheel_directory {
    std::filesystem::path dir;           ///< absolute, as configured
    std::vector<std::string> filenames;  ///< regular files (or links to them) ending in `.whl`
};

/// Lists `dir`. Entries that are not regular files after following links are skipped, as are
/// names not ending in `.whl`.
/// Errors: `pkg::system_error` naming the directory (ENOENT: the hint says it was given as a
/// find-links location; ENOTDIR, EACCES). Blocking; thread-safe.
[[nodiscard]] result<local_wheel_directory> list_wheel_directory(const std::filesystem::path& dir);

/// The normalized project name a distribution filename starts with: the text before the first
/// `-` (wheel and sdist names escape `-` in the name), PEP 503-normalized. Pure.
[[nodiscard]] std::string filename_project(std::string_view filename);

/// A synthetic page for `normalized_name` from a directory listing: one file per wheel whose
/// `filename_project` is that name, `url` = the absolute path, page `url` = the directory.
/// Pure.
[[nodiscard]] project_page local_project_page(const local_wheel_directory& listing,
                                              std::string_view normalized_name);

/// The files of `page` (an HTML find-links page listing any projects) that belong to
/// `normalized_name` by `filename_project`, with the page's URL, API version and warnings.
/// Pure.
[[nodiscard]] project_page filter_project_files(const project_page& page,
                                                std::string_view normalized_name);

}  // namespace pkg::index
