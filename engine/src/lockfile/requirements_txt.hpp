#pragma once
/// \file
/// requirements.txt as lockfiles use it (pip-compile, `uv pip compile`, `pip freeze`):
/// comments (`#` at line start or after whitespace), blank lines, backslash continuations,
/// `--hash=algo:hex` (several per requirement, `--hash algo:hex` too), `-r/--requirement` and
/// `-c/--constraint` (paths relative to the including file; cycles are errors), `-i/--index-url`,
/// `--extra-index-url`, `-f/--find-links`, `--no-index`, `--only-binary`/`--no-binary`,
/// `--pre`, `--trusted-host`, `--prefer-binary` (recorded), `${VAR}` expansion (upper-case names,
/// from the environment; unset → left as written, like pip), extras, markers, `name @ url`,
/// and bare wheel URLs/paths (the name is taken from the wheel filename).
/// `-e`/`--editable` and sdist-only lines are rejected with `errc::unsupported`.
/// Every error cites `file:line` and the offending text.
///
/// The line-level steps (splitting, continuations, comments, `${VAR}`, option tokenising, hash
/// checks) live in `lockfile/requirements_lines.hpp`. Beyond pip's rules, on purpose:
/// - `--hash` takes sha256/sha384/sha512 only, in any case, and the digest must have the
///   algorithm's exact hex length; both are stored lower case. A `#sha256=…` fragment on a wheel
///   URL counts as a hash too.
/// - Bare wheel paths and `name @ ./path` are resolved against the directory of the file that
///   names them (pip uses the working directory) and become absolute `file://` URLs; the name is
///   the wheel filename's distribution field. `name @ …whl` must name the wheel's own project.
/// - Includes by `http(s)://` URL are refused (`errc::unsupported`: pkg reads no files over the
///   network); `file:` URLs are read as paths. Every option on an option line takes effect,
///   including several `-r`/`-c` (pip honours only the first include of a line).
/// - Options that do nothing on a requirement line (`-i` after a requirement, …), a `--hash` on
///   a line without a requirement, and the build-only `--global-option`, `--config-settings`,
///   `--use-feature` are recorded in `warnings`. Unknown options and stray arguments after the
///   options are errors.
/// - One requirement set must be unambiguous: the same normalised name with the same marker
///   (or both without) pinned differently, or with different hash sets, is an error citing both
///   places; exact repeats are merged (extras united). Different markers may pin differently.
///   Constraints are checked the same way among themselves and may not carry extras.
/// - The text must be UTF-8 (a UTF-8 byte-order mark is skipped); UTF-16/32 files are refused.
/// - Includes nest at most 64 deep and number at most 4096 per parse (diamonds multiply).
/// - Messages and warnings show URLs with their user-info replaced by `****`; the parsed values
///   (`index_url`, requirement URLs) keep them.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

#include "pep508/requirement.hpp"

namespace pkg::lockfile {

/// A `--hash=algorithm:digest` option.
struct hash_digest {
    std::string algorithm;  ///< lower case: "sha256", "sha384", "sha512", …
    std::string digest;     ///< lower-case hex
    friend bool operator==(const hash_digest&, const hash_digest&) = default;
};

/// Where a line came from, for error messages and reports.
struct source_location {
    std::string file;       ///< path as given/resolved ("lock.txt", "sub/base.txt")
    std::uint32_t line = 0; ///< 1-based line of the requirement's first physical line
};

struct requirement_entry {
    pep508::requirement requirement;
    std::vector<hash_digest> hashes;
    source_location location;
};

/// Everything a requirements file (with its includes) says.
struct requirements_file {
    std::vector<requirement_entry> requirements;   ///< in file order, includes expanded in place
    std::vector<requirement_entry> constraints;    ///< from `-c` files
    std::optional<std::string> index_url;          ///< last `-i` wins (as pip)
    std::vector<std::string> extra_index_urls;     ///< in order, without duplicates
    std::vector<std::string> find_links;           ///< relative paths resolved against the file
    bool no_index = false;
    bool pre = false;
    bool prefer_binary = false;
    std::vector<std::string> only_binary;  ///< ":all:", ":none:" or normalised names
    std::vector<std::string> no_binary;
    std::vector<std::string> trusted_hosts;
    bool require_hashes = false;           ///< `--require-hashes` was given
    std::vector<std::string> warnings;     ///< ignored options etc., each "file:line: text"
};

struct parse_options {
    /// Looks up `${VAR}`; defaults to the process environment.
    std::function<std::optional<std::string>(std::string_view)> getenv;
    /// Reads an included file; defaults to reading from disk. Lets tests and fuzzers stay in memory.
    std::function<result<std::string>(const std::filesystem::path&)> read_file;
};

/// Parses the file at `path` and everything it includes. Errors: `errc::invalid_requirements_file`
/// (also when a file cannot be read), `errc::requirements_include_cycle`, `errc::unsupported`;
/// `where` is "file:line" (just the path when the top-level file cannot be read).
/// Thread-safe as long as `options`' functions are.
result<requirements_file> parse_requirements_file(const std::filesystem::path& path,
                                                  const parse_options& options = {});

/// Parses `text` as if it were the file `name` (includes resolve relative to `name`'s directory).
/// Same errors and thread-safety as `parse_requirements_file`.
result<requirements_file> parse_requirements_text(std::string_view text, std::string_view name,
                                                  const parse_options& options = {});

}  // namespace pkg::lockfile
