#pragma once
/// \file
/// Error codes of the package domain (`pkg::errc`), used in `pkg::error::code`.

#include <system_error>

namespace pkg {

/// Why an engine operation failed. Values are stable: programs may switch on them.
enum class errc {
    invalid_version = 1,         ///< Text is not a PEP 440 version.
    invalid_specifier,           ///< Text is not a PEP 440 version specifier (set).
    invalid_name,                ///< Text is not a valid project name (PEP 508 / core metadata).
    invalid_marker,              ///< Text is not a PEP 508 environment marker.
    invalid_requirement,         ///< Text is not a PEP 508 requirement.
    invalid_wheel_filename,      ///< Not a PEP 427 wheel filename.
    invalid_tag,                 ///< Not a PEP 425 compatibility tag.
    invalid_requirements_file,   ///< A requirements file line could not be understood.
    requirements_include_cycle,  ///< `-r`/`-c` includes form a cycle.
    unsupported,                 ///< Valid input that pkg does not support (yet); message says what.
    // Zip archives (engine/src/zip).
    invalid_zip,         ///< A zip archive is malformed, inconsistent, or uses a feature pkg refuses.
    unsafe_zip_path,     ///< A zip entry name could escape the target or is not a portable path.
    zip_limit_exceeded,  ///< A zip archive exceeds a configured limit (size, entries, ratio).
    // Package index (engine/src/index): project pages and wheel selection.
    invalid_url,                 ///< A URL (or a link relative to one) that cannot be resolved.
    invalid_index_page,          ///< A PEP 503/691 project page that cannot be parsed.
    unsupported_api_version,     ///< A project page of a simple API major version other than 1.
    no_compatible_wheel,         ///< No file on the page is an installable wheel for the pin.
    // Cache (engine/src/cache).
    cache_locked,         ///< The cache lock stayed busy past the timeout; message names the holder.
    corrupt_cache_entry,  ///< A cache file (archive manifest, pointer) is malformed; treated as a miss.
    not_a_cache,          ///< Refused to clean or prune a directory that is not a pkg cache.
    no_cache_directory,   ///< No cache directory could be determined (no PKG_CACHE_DIR, XDG, HOME).
    // Interpreters and virtual environments (engine/src/python).
    interpreter_not_found,       ///< No Python interpreter where discovery or `--python` looked.
    interpreter_query_failed,    ///< The interpreter ran but did not answer pkg's query usably.
    venv_exists,                 ///< The target is already a virtual environment (see --clear).
    venv_target_not_empty,       ///< The target is a non-empty directory that is not a venv, or a file.
    // Wheel pipeline (engine/src/pipeline).
    hash_mismatch,    ///< Downloaded bytes do not have the expected (pinned or index) SHA-256.
    record_mismatch,  ///< A wheel's RECORD disagrees with its files (missing, extra, size, hash).
    invalid_wheel,    ///< A wheel archive lacks what a wheel must hold (its .dist-info/RECORD).
    // Package index client (engine/src/index): configuration, fetching, HTTP cache.
    no_index_configured,  ///< No index URL from flags, PKG_INDEX_URL, PIP_INDEX_URL or pip.conf.
    project_not_found,    ///< No configured index or find-links location knows the project.
    offline_miss,         ///< `--offline` and the cache lacks what is needed.
    // Installing into an environment (engine/src/install).
    file_collision,         ///< The .dist-info is there already, or a directory is in the way.
    invalid_record,         ///< An installed package's RECORD is malformed or names a path outside the environment.
    invalid_entry_point,    ///< A wheel's entry_points.txt or WHEEL metadata cannot be understood.
    environment_locked,     ///< Another process holds the environment's lock past the timeout.
    not_an_environment,     ///< The target is not a usable Python environment.
    not_installed,          ///< `uninstall` of a package that is not installed.
    requirement_not_pinned, ///< A lockfile line is not an exact `==` pin (pkg installs lockfiles).
    missing_hash,           ///< `--require-hashes` and a requirement has no hash.
};

/// The category of `pkg::errc` (name "pkg").
const std::error_category& engine_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), engine_category()};
}

}  // namespace pkg

template <>
struct std::is_error_code_enum<pkg::errc> : std::true_type {};
