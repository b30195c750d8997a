#pragma once
/// \file
/// Finding the target Python interpreter and learning about it.
///
/// Discovery (`find_interpreter`) decides which executable to use; querying
/// (`query_interpreter`) runs it once with `query_script()` and keeps the answer in the
/// interpreter cache bucket, valid exactly as long as the files it was learnt from are unchanged.
///
/// Cache entry format (`<bucket>/<16 hex of FNV-1a 64 of the executable's absolute path>.json`,
/// one JSON object, written atomically):
/// ```
/// {"format": 2,
///  "path": "/proj/.venv/bin/python",          executable as found (absolute, not resolved)
///  "link_text": "/usr/bin/python3.11" | null, its own symlink text, if it is a symlink
///  "resolved": "/usr/bin/python3.11",         realpath of "path"
///  "stat": {"mtime_sec", "mtime_nsec", "size", "ino", "dev"},  of "resolved"
///  "pyvenv_cfg": {same five} | null,          of <dir of path>/../pyvenv.cfg, null if absent
///  "facts": {...}}                            the query script's answer, verbatim
/// ```
/// Only native (ELF) executables are cached: a script such as a pyenv shim picks the interpreter
/// it runs from the environment and the current directory each time, which no stat captures.
/// An entry is used only when every recorded value equals the current one ("recorded, not
/// newer": a clock may go backwards, a file may be replaced by an older one). Anything else —
/// an unreadable or malformed entry, another path (a digest collision) — is a miss.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pkg/io/error.hpp>

#include "pep508/marker.hpp"
#include "python/subprocess.hpp"
#include "wheel/tags.hpp"

namespace pkg::python {

/// Reads an environment variable; nullopt when unset. Injected so discovery is testable.
using getenv_function = std::function<std::optional<std::string>(std::string_view)>;

/// The process environment `find_interpreter` looks at.
struct discovery_environment {
    getenv_function getenv;         ///< empty → the real environment (::getenv)
    std::filesystem::path cwd;      ///< empty → std::filesystem::current_path()
};

/// Which rule found the interpreter.
enum class interpreter_source {
    explicit_path,  ///< `--python` named a path
    explicit_name,  ///< `--python` named a program (`python3.11`, `3.11`) found on PATH
    virtual_env,    ///< $VIRTUAL_ENV/bin/python
    dot_venv,       ///< <cwd or a parent>/.venv/bin/python
    search_path,    ///< `python3` on PATH
};

/// What discovery found.
struct interpreter_location {
    std::filesystem::path executable;  ///< absolute; symlinks not resolved (a venv's bin/python)
    interpreter_source source = interpreter_source::search_path;
};

/// Which places discovery may look at besides an explicit request.
struct discovery_options {
    /// Consider $VIRTUAL_ENV and `.venv` directories (an installer's target); false for
    /// `pkg venv`, whose base interpreter is never the environment being (re)created.
    bool is_environment_allowed = true;
};

/// Finds the interpreter, in this order: `request` when given (containing `/`: a path relative
/// to cwd; `3` or `3.11`: `python3`/`python3.11` on PATH; any other word: that program on PATH),
/// else `$VIRTUAL_ENV/bin/python`, else `.venv/bin/python` in cwd or the nearest parent holding
/// `.venv/pyvenv.cfg`, else `python3` on PATH. PATH entries are searched in order; an empty
/// entry means cwd; a candidate must be a regular file (after symlinks) executable by us.
/// Errors: `errc::interpreter_not_found`, naming the request or the variable and every place
/// tried (a `$VIRTUAL_ENV` or `.venv` without `bin/python` is an error, not skipped: the user
/// meant that environment).
/// Thread-safety: safe if `env.getenv` is.
[[nodiscard]] result<interpreter_location> find_interpreter(
    const std::optional<std::string>& request, const discovery_environment& env,
    discovery_options options = {});

/// sys.version_info.
struct python_version {
    unsigned major = 0;
    unsigned minor = 0;
    unsigned micro = 0;
    std::string releaselevel;  ///< "alpha", "beta", "candidate", "final"
    unsigned serial = 0;

    /// "3.11.7", plus "a1"/"b2"/"rc1" for pre-releases (PEP 440 spelling).
    std::string to_string() const;
};

/// Install locations (sysconfig scheme keys).
struct install_scheme {
    std::filesystem::path purelib;
    std::filesystem::path platlib;
    std::filesystem::path scripts;
    std::filesystem::path data;
    std::filesystem::path include;
};

/// Everything pkg learns from one interpreter.
struct interpreter_facts {
    python_version version;
    std::string implementation_name;     ///< sys.implementation.name, e.g. "cpython"
    std::string implementation_version;  ///< PEP 508 implementation_version
    std::filesystem::path executable;    ///< sys.executable
    std::filesystem::path base_executable;  ///< sys._base_executable (or sys.executable)
    std::filesystem::path prefix;        ///< sys.prefix
    std::filesystem::path base_prefix;   ///< sys.base_prefix
    pep508::marker_environment markers;
    install_scheme scheme;               ///< absolute; the venv scheme inside a venv
    std::string scheme_name;             ///< which sysconfig scheme `scheme` came from
    install_scheme venv_layout;          ///< relative to a new venv's root
    /// The scheme a venv made from this interpreter has, with its root spelled `venv_anchor`
    /// (paths outside the venv, such as include/ under the base prefix, are absolute): what lets
    /// pkg know a fresh venv's facts from its base interpreter's without starting it.
    install_scheme venv_scheme;
    std::string venv_scheme_name;        ///< "venv" (3.11+) or "posix_prefix"
    std::filesystem::path venv_anchor;   ///< the placeholder root in `venv_scheme`
    std::optional<std::pair<unsigned, unsigned>> glibc;
    std::optional<std::pair<unsigned, unsigned>> musl;
    std::string elf_interpreter;         ///< the executable's dynamic loader, "" if unknown
    std::string machine;                 ///< platform.machine()
    std::string abiflags;                ///< sys.abiflags
    std::string soabi;                   ///< sysconfig SOABI, "" if none
    bool is_gil_disabled = false;        ///< Py_GIL_DISABLED (free-threaded build)
    unsigned pointer_bits = 64;          ///< 32 or 64
    std::string sys_platform;            ///< sys.platform

    /// sys.prefix differs from sys.base_prefix.
    bool is_virtual_environment() const { return prefix != base_prefix; }

    /// What tag generation needs: short implementation name (cp, pp, or the name), the ABI
    /// (`cp` + version + abiflags for CPython, from SOABI otherwise), os and arch (a 32-bit
    /// interpreter on a 64-bit kernel reports i686/armv8l as packaging does), libc versions.
    wheel::interpreter_description tag_description() const;
};

/// Parses the query script's JSON answer. `source` names where it came from, for messages.
/// Errors: `errc::interpreter_query_failed` citing the missing or mistyped key or the JSON
/// error, `errc::unsupported` when the script reported `{"error": …}` (too old a Python).
/// Thread-safety: pure.
[[nodiscard]] result<interpreter_facts> parse_facts(std::string_view json,
                                                    std::string_view source);

/// Runs a program the way `run_captured` does. Injected so tests can count or fake spawns.
using process_runner =
    std::function<result<process_output>(const std::vector<std::string>& argv,
                                         std::chrono::milliseconds timeout)>;

/// How `query_interpreter` asks.
struct query_options {
    /// The cache bucket directory (`<cache>/interpreter-v1`); created if missing. Empty: no
    /// caching, always ask.
    std::filesystem::path cache_bucket;
    process_runner runner;  ///< empty → run_captured
    std::chrono::milliseconds timeout{std::chrono::seconds(20)};
};

/// The answer of `query_interpreter`.
struct interpreter_info {
    std::filesystem::path executable;  ///< as given (absolute)
    std::filesystem::path resolved;    ///< realpath of it
    interpreter_facts facts;
    bool is_from_cache = false;
};

/// Learns the facts of the interpreter at `executable` (made absolute against the current
/// directory, symlinks kept: a venv's `bin/python` must be run as itself). Uses the cache entry
/// if its recorded stats equal the current ones (native executables only, see the file
/// comment). A venv not seen before whose `bin/python` is a symlink to the interpreter named by
/// its pyvenv.cfg `home` (and without system site-packages) is known from that base
/// interpreter's facts (cached, or queried once) with `venv_facts_from_base`: no process is
/// started for a fresh venv. Otherwise runs `<executable> -I -c <script>` once
/// (stdin /dev/null, `timeout`) and writes a new entry atomically. A corrupt entry is replaced;
/// failing to write the cache is not an error (the answer is still right, just not kept).
/// Errors: `errc::interpreter_not_found` (no such file, or not executable), from the runner
/// (spawn failures), `errc::interpreter_query_failed` (non-zero exit with the last stderr
/// line, a signal, a timeout, output that is not the expected JSON — cited),
/// `errc::unsupported` (Python too old).
/// Thread-safety: safe to call concurrently, also for the same executable and bucket (the last
/// atomic write wins; every reader sees a complete entry).
[[nodiscard]] result<interpreter_info> query_interpreter(const std::filesystem::path& executable,
                                                         const query_options& options = {});

/// The facts the interpreter of the venv at `root`, run as `executable`, answers, given its
/// base interpreter's facts (`base` must not itself be a venv's): sys.prefix and the scheme
/// move to the venv, everything else (version, tags, markers, base prefix) is the base's.
/// Thread-safety: pure.
interpreter_facts venv_facts_from_base(const interpreter_facts& base,
                                       const std::filesystem::path& root,
                                       const std::filesystem::path& executable);

/// The cache file name for an executable path: 16 lower-case hex digits + ".json".
/// Thread-safety: pure.
std::string cache_file_name(const std::filesystem::path& executable);

}  // namespace pkg::python
