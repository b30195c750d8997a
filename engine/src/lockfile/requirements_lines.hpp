#pragma once
/// \file
/// The line-level machinery of requirements files, separate from what a line means so that each
/// step can be tested alone. The steps run in pip's order (`pip/_internal/req/req_file.py`):
///
/// 1. `split_physical_lines`: split like Python's `str.splitlines()` (`\n`, `\r\n`, `\r`, `\v`,
///    `\f`, `\x1c`–`\x1e`, and the UTF-8 forms of U+0085, U+2028, U+2029).
/// 2. `join_continuations`: a line ending in `\` is joined with the next one, unless it is a
///    whole-line comment (`#` first, maybe after whitespace). A whole-line comment also ends a
///    continuation. The joined line keeps the number of its first physical line. A `\` followed
///    by trailing spaces is not a continuation (pip's behaviour too).
/// 3. `strip_comment`: a `#` at the start or after whitespace starts a comment up to the end of
///    the logical line (so `pkg.whl#sha256=…` keeps its fragment); then surrounding whitespace
///    goes and blank lines are dropped.
/// 4. `expand_env_vars`: `${NAME}` with NAME in `[A-Z0-9_]+` is replaced by the variable's value
///    when it is set and non-empty, otherwise left as written (pip does the same).
/// 5. `break_args_options`: the requirement text is every space-separated token before the
///    first one starting with `-`; the rest are options, split like a POSIX shell
///    (`shell_split`) and parsed like optparse (`parse_line_options`).
///
/// All functions are pure and thread-safe. Errors carry an empty `where`; the caller adds
/// "file:line" with `error::with_context`.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkg/io/error.hpp>

#include "lockfile/requirements_txt.hpp"

namespace pkg::lockfile::lines {

/// One line of text with the 1-based number of the physical line it starts on.
struct numbered_line {
    std::uint32_t number = 0;
    std::string text;
    friend bool operator==(const numbered_line&, const numbered_line&) = default;
};

/// Step 1: splits `text` into physical lines without their terminators (see the file comment).
/// A final terminator does not start an extra empty line.
std::vector<numbered_line> split_physical_lines(std::string_view text);

/// True if `line` is a whole-line comment: `#` first, possibly after whitespace.
bool is_comment_line(std::string_view line) noexcept;

/// Step 2: joins backslash continuations (see the file comment). As pip does, every leading and
/// trailing `\` of a continued line is removed before joining, and a whole-line comment that ends
/// a continuation is appended after a space so that step 3 removes it.
std::vector<numbered_line> join_continuations(std::vector<numbered_line> lines);

/// Step 3 for one line: removes the comment (from the first `#` that starts the line or follows
/// whitespace, together with that whitespace) and trims whitespace at both ends.
std::string strip_comment(std::string_view line);

/// Steps 1–3: the logical lines of a file, comments and blank lines removed.
std::vector<numbered_line> logical_lines(std::string_view text);

/// Looks up an environment variable; nullopt when unset.
using getenv_function = std::function<std::optional<std::string>(std::string_view)>;

/// Step 4: replaces each `${NAME}` (NAME upper-case letters, digits, `_`) whose value is set and
/// non-empty. The replacement text is not scanned again.
std::string expand_env_vars(std::string_view line, const getenv_function& getenv);

/// A logical line cut into its requirement part and its options part.
struct args_and_options {
    std::string args;     ///< the requirement text (tokens before the first `-…` token)
    std::string options;  ///< the rest, unsplit
};

/// Step 5a: cuts at the first space- or tab-separated token that starts with `-`. (pip splits on
/// spaces only; a tab before `--hash` would otherwise end up inside the requirement text.)
args_and_options break_args_options(std::string_view line);

/// Step 5b: splits like Python's `shlex.split` (POSIX mode, no comments): whitespace separates,
/// `'…'` is literal, `"…"` honours `\"`, `\\`, `\$`, `` \` `` and `\` before a newline, and a
/// bare `\` escapes the next character. Errors: an unclosed quote or a trailing `\`.
result<std::vector<std::string>> shell_split(std::string_view text);

/// The options pkg understands in requirements files (pip's set for requirements files).
enum class option_kind {
    index_url,        ///< `-i`, `--index-url`, `--pypi-url`
    extra_index_url,  ///< `--extra-index-url`
    no_index,         ///< `--no-index`
    constraint,       ///< `-c`, `--constraint`
    requirement,      ///< `-r`, `--requirement`
    editable,         ///< `-e`, `--editable`
    find_links,       ///< `-f`, `--find-links`
    no_binary,        ///< `--no-binary`
    only_binary,      ///< `--only-binary`
    prefer_binary,    ///< `--prefer-binary`
    require_hashes,   ///< `--require-hashes`
    pre,              ///< `--pre`
    trusted_host,     ///< `--trusted-host`
    use_feature,      ///< `--use-feature`
    global_option,    ///< `--global-option`
    hash,             ///< `--hash`
    config_settings,  ///< `-C`, `--config-settings`
};

/// One option found on a line.
struct line_option {
    option_kind kind = option_kind::hash;
    std::string spelling;  ///< the name as the line spelled it ("-r", "--requirement", "--req")
    std::string value;     ///< empty for flags
    friend bool operator==(const line_option&, const line_option&) = default;
};

/// What `parse_line_options` found.
struct parsed_options {
    std::vector<line_option> options;  ///< in line order
    std::vector<std::string> extra_args;  ///< tokens that are not options or option values
};

/// Step 5c: parses option tokens the way optparse does: `--name=value`, `--name value`, a unique
/// prefix of a long name (`--extra-index` for `--extra-index-url`), `-rvalue`, `-r value`, and
/// `--` ending the options. A value is taken from the next token even if it starts with `-`.
/// Errors (message names the option): unknown option, ambiguous prefix, missing value, a value
/// given to a flag (`--pre=1`).
result<parsed_options> parse_line_options(const std::vector<std::string>& tokens);

/// The canonical long spelling of an option, e.g. "--index-url".
std::string_view option_name(option_kind kind) noexcept;

/// Parses a `--hash` value `algorithm:hex`. The algorithm must be sha256, sha384 or sha512 (any
/// case; pip's strong hashes) and the digest exactly 64, 96 or 128 hex digits; both come back in
/// lower case. Errors cite the value and say what is wrong.
result<hash_digest> parse_hash(std::string_view value);

/// `text` with the user-info of every `scheme://user:secret@host` URL replaced by `****`, for
/// messages and warnings: index URLs often carry tokens, e.g. from `${VAR}` expansion.
std::string redact_credentials(std::string_view text);

/// The hex length of a known algorithm's digest (sha256 → 64), or 0 if the algorithm is unknown.
std::size_t hash_hex_length(std::string_view lower_case_algorithm) noexcept;

}  // namespace pkg::lockfile::lines
