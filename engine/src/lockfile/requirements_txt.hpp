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
    std::vector<std::string> warnings;     ///< ignored options etc., each "file:line: text"
};

struct parse_options {
    /// Looks up `${VAR}`; defaults to the process environment.
    std::function<std::optional<std::string>(std::string_view)> getenv;
    /// Reads an included file; defaults to reading from disk. Lets tests and fuzzers stay in memory.
    std::function<result<std::string>(const std::filesystem::path&)> read_file;
};

/// Parses the file at `path` and everything it includes.
result<requirements_file> parse_requirements_file(const std::filesystem::path& path,
                                                  const parse_options& options = {});

/// Parses `text` as if it were the file `name` (includes resolve relative to `name`'s directory).
result<requirements_file> parse_requirements_text(std::string_view text, std::string_view name,
                                                  const parse_options& options = {});

}  // namespace pkg::lockfile
