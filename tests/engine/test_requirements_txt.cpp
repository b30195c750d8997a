// requirements.txt as lockfiles use it: the line machinery (lockfile/requirements_lines.hpp) and
// the parser (lockfile/requirements_txt.hpp), checked against pip's behaviour, against what pip
// itself makes of real pip-compile / uv output (tests/data/requirements/*.expected), and on error
// paths (code, where, message quoting the text).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <pkg/engine/errc.hpp>

#include "lockfile/requirements_lines.hpp"
#include "lockfile/requirements_txt.hpp"

namespace fs = std::filesystem;
using namespace pkg::lockfile;
using pkg::errc;

namespace {

const fs::path data_dir = fs::path(PKG_TEST_SOURCE_DIR) / "data" / "requirements";

std::string slurp(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// An in-memory file tree and environment for the parser.
struct fake_world {
    std::map<std::string, std::string> files;  // key: lexically normal generic path
    std::map<std::string, std::string> env;
    mutable std::vector<std::string> reads;

    parse_options options() const
    {
        parse_options o;
        o.read_file = [this](const fs::path& p) -> pkg::result<std::string> {
            const std::string key = p.lexically_normal().generic_string();
            reads.push_back(key);
            auto it = files.find(key);
            if (it == files.end()) {
                return pkg::fail(std::make_error_code(std::errc::no_such_file_or_directory),
                                 "open failed: No such file or directory", key);
            }
            return it->second;
        };
        o.getenv = [this](std::string_view name) -> std::optional<std::string> {
            auto it = env.find(std::string(name));
            if (it == env.end()) {
                return std::nullopt;
            }
            return it->second;
        };
        return o;
    }
};

requirements_file parse_ok(std::string_view text, const fake_world& world = {}, std::string_view name = "lock.txt")
{
    auto parsed = parse_requirements_text(text, name, world.options());
    if (!parsed) {
        FAIL("unexpected error: " << parsed.error().to_string());
    }
    return std::move(*parsed);
}

pkg::error parse_error(std::string_view text, const fake_world& world = {}, std::string_view name = "lock.txt")
{
    auto parsed = parse_requirements_text(text, name, world.options());
    REQUIRE_FALSE(parsed.has_value());
    return parsed.error();
}

std::string hex(char c, std::size_t n) { return std::string(n, c); }
const std::string sha_a = "sha256:" + hex('a', 64);
const std::string sha_b = "sha256:" + hex('b', 64);

std::vector<std::string> texts(const std::vector<lines::numbered_line>& lines)
{
    std::vector<std::string> out;
    for (const auto& l : lines) {
        out.push_back(std::to_string(l.number) + ":" + l.text);
    }
    return out;
}

std::vector<std::string> split(const std::string& s, char sep)
{
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(s);
    while (std::getline(in, item, sep)) {
        out.push_back(item);
    }
    if (!s.empty() && s.back() == sep) {
        out.emplace_back();
    }
    return out;
}

std::string join(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& item : items) {
        out += out.empty() ? "" : ",";
        out += item;
    }
    return out;
}

/// One requirement in the same shape as make_expected.py writes.
std::string oracle_line(const requirement_entry& e)
{
    std::vector<std::string> clauses;
    for (const auto& c : e.requirement.specifiers.clauses()) {
        clauses.push_back(c.to_string());
    }
    std::sort(clauses.begin(), clauses.end());
    std::vector<std::string> hashes;
    for (const auto& h : e.hashes) {
        hashes.push_back(h.algorithm + ":" + h.digest);
    }
    std::sort(hashes.begin(), hashes.end());
    return e.requirement.normalized_name + "\t" + join(clauses) + "\t" + join(e.requirement.extras) + "\t" +
           (e.requirement.env_marker ? e.requirement.env_marker->to_string() : "") + "\t" + join(hashes);
}

}  // namespace

// ---- line machinery -----------------------------------------------------------------------------

TEST_CASE("physical lines split like str.splitlines", "[requirements]")
{
    using lines::split_physical_lines;
    CHECK(split_physical_lines("").empty());
    CHECK(texts(split_physical_lines("a\n")) == std::vector<std::string>{"1:a"});
    CHECK(texts(split_physical_lines("a\n\nb")) == std::vector<std::string>{"1:a", "2:", "3:b"});
    CHECK(texts(split_physical_lines("a\r\nb\rc\fd\ve")) ==
          std::vector<std::string>{"1:a", "2:b", "3:c", "4:d", "5:e"});
    CHECK(texts(split_physical_lines("a\xe2\x80\xa8" "b\xc2\x85" "c\x1e" "d")) ==
          std::vector<std::string>{"1:a", "2:b", "3:c", "4:d"});
    // A lone 0xC2 or a different 3-byte character is not a terminator.
    CHECK(texts(split_physical_lines("a\xc2\xa0" "b\xe2\x80\x99")) ==
          std::vector<std::string>{"1:a\xc2\xa0" "b\xe2\x80\x99"});
}

TEST_CASE("continuations join like pip, comments end them", "[requirements]")
{
    auto logical = [](std::string_view text) { return texts(lines::logical_lines(text)); };
    CHECK(logical("foo==1 \\\n    --hash=x \\\n    --hash=y\nbar") ==
          std::vector<std::string>{"1:foo==1     --hash=x     --hash=y", "4:bar"});
    // A whole-line comment ends a continuation (pip-compile's "# via" after the last hash).
    CHECK(logical("foo==1 \\\n    # via bar\nbaz==2") == std::vector<std::string>{"1:foo==1", "3:baz==2"});
    // A comment line ending in a backslash does not continue.
    CHECK(logical("# note \\\nfoo==1") == std::vector<std::string>{"2:foo==1"});
    // A backslash followed by a space is not a continuation (pip has the same rule).
    CHECK(logical("foo==1 \\ \nbar") == std::vector<std::string>{"1:foo==1 \\", "2:bar"});
    // A continuation at the end of the file ends there.
    CHECK(logical("foo==1 \\") == std::vector<std::string>{"1:foo==1"});
    // str.strip("\\"): every backslash at either end goes.
    CHECK(logical("\\foo\\\\\nbar") == std::vector<std::string>{"1:foobar"});
    // A trailing comment before a backslash swallows the joined next line, as in pip.
    CHECK(logical("foo==1 # pinned \\\nbar==2\nbaz") == std::vector<std::string>{"1:foo==1", "3:baz"});
}

TEST_CASE("comments start at the line start or after whitespace", "[requirements]")
{
    using lines::strip_comment;
    CHECK(strip_comment("# all comment") == "");
    CHECK(strip_comment("foo==1 # pinned") == "foo==1");
    CHECK(strip_comment("foo==1\t#pinned") == "foo==1");
    CHECK(strip_comment("https://h/x/foo-1.0-py3-none-any.whl#sha256=ab") ==
          "https://h/x/foo-1.0-py3-none-any.whl#sha256=ab");
    CHECK(strip_comment("  foo  ") == "foo");
    CHECK(lines::is_comment_line("   # x"));
    CHECK_FALSE(lines::is_comment_line("x # y"));
    CHECK_FALSE(lines::is_comment_line(""));
}

TEST_CASE("${VAR} expands upper-case names only, unset or empty stay as written", "[requirements]")
{
    std::map<std::string, std::string> env{{"HOST", "mirror.test"}, {"EMPTY", ""}, {"A", "${B}"}, {"B", "b"},
                                           {"lower", "no"}};
    lines::getenv_function getenv = [&](std::string_view name) -> std::optional<std::string> {
        auto it = env.find(std::string(name));
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    using lines::expand_env_vars;
    CHECK(expand_env_vars("-i https://${HOST}/simple", getenv) == "-i https://mirror.test/simple");
    CHECK(expand_env_vars("${UNSET}/x", getenv) == "${UNSET}/x");
    CHECK(expand_env_vars("${EMPTY}/x", getenv) == "${EMPTY}/x");
    CHECK(expand_env_vars("${lower} $HOST ${} ${HOST", getenv) == "${lower} $HOST ${} ${HOST");
    CHECK(expand_env_vars("${HOST}${HOST}", getenv) == "mirror.testmirror.test");
    CHECK(expand_env_vars("${A}", getenv) == "${B}");  // replacement text is not scanned again
    CHECK(expand_env_vars("$${HOST}", getenv) == "$mirror.test");
}

TEST_CASE("the requirement ends at the first token starting with '-'", "[requirements]")
{
    auto parts = lines::break_args_options("foo==1 ; python_version < \"3.11\" --hash=sha256:x -i y");
    CHECK(parts.args == "foo==1 ; python_version < \"3.11\"");
    CHECK(parts.options == "--hash=sha256:x -i y");
    parts = lines::break_args_options("--pre");
    CHECK(parts.args.empty());
    CHECK(parts.options == "--pre");
    parts = lines::break_args_options("foo==1\t--hash=sha256:x");
    CHECK(parts.args == "foo==1");
    CHECK(parts.options == "--hash=sha256:x");
    parts = lines::break_args_options("foo-bar==1");  // '-' inside a token is not an option
    CHECK(parts.args == "foo-bar==1");
    CHECK(parts.options.empty());
}

TEST_CASE("options split like shlex", "[requirements]")
{
    using V = std::vector<std::string>;
    CHECK(*lines::shell_split("-r  a.txt\t--pre") == V{"-r", "a.txt", "--pre"});
    CHECK(*lines::shell_split("-r 'my file.txt'") == V{"-r", "my file.txt"});
    CHECK(*lines::shell_split("-r \"a \\\"b\\\" \\$c\"") == V{"-r", "a \"b\" \\$c"});
    CHECK(*lines::shell_split("a\\ b 'x'\"y\"z ''") == V{"a b", "xyz", ""});
    CHECK(lines::shell_split("").value().empty());
    auto unclosed = lines::shell_split("-r 'oops");
    REQUIRE_FALSE(unclosed);
    CHECK(unclosed.error().code == errc::invalid_requirements_file);
    CHECK_THAT(unclosed.error().message, Catch::Contains("never closed") && Catch::Contains("'-r 'oops'"));
    auto trailing = lines::shell_split("-r a\\");
    REQUIRE_FALSE(trailing);
    CHECK_THAT(trailing.error().message, Catch::Contains("lone '\\'"));
}

TEST_CASE("option tokens parse like optparse", "[requirements]")
{
    using lines::option_kind;
    auto parse = [](std::vector<std::string> tokens) { return lines::parse_line_options(tokens); };
    auto one = [&](std::vector<std::string> tokens) {
        auto p = parse(std::move(tokens));
        REQUIRE(p);
        REQUIRE(p->options.size() == 1);
        return p->options.front();
    };
    CHECK(one({"-r", "a.txt"}) == lines::line_option{option_kind::requirement, "-r", "a.txt"});
    CHECK(one({"-ra.txt"}) == lines::line_option{option_kind::requirement, "-r", "a.txt"});
    CHECK(one({"--requirement=a.txt"}) == lines::line_option{option_kind::requirement, "--requirement", "a.txt"});
    CHECK(one({"--requirement", "a.txt"}).value == "a.txt");
    CHECK(one({"--requirem", "a.txt"}).kind == option_kind::requirement);  // unique prefix
    CHECK(one({"--extra-index", "u"}).kind == option_kind::extra_index_url);
    CHECK(one({"--pypi-url", "u"}).kind == option_kind::index_url);
    CHECK(one({"-i", "u"}).kind == option_kind::index_url);
    CHECK(one({"--index-url=u"}).value == "u");
    CHECK(one({"--hash", "sha256:x"}) == lines::line_option{option_kind::hash, "--hash", "sha256:x"});
    CHECK(one({"--pre"}) == lines::line_option{option_kind::pre, "--pre", ""});
    CHECK(one({"-C", "k=v"}).kind == option_kind::config_settings);
    CHECK(one({"-c", "-weird-name.txt"}).value == "-weird-name.txt");  // values may start with '-'
    CHECK(one({"--constraint="}).value.empty());

    auto p = parse({"--pre", "stray", "--", "--no-index"});
    REQUIRE(p);
    CHECK(p->options.size() == 1);
    CHECK(p->extra_args == std::vector<std::string>{"stray", "--no-index"});

    auto error_of = [&](std::vector<std::string> tokens) {
        auto r = parse(std::move(tokens));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::invalid_requirements_file);
        return r.error().message;
    };
    CHECK_THAT(error_of({"--frobnicate"}), Catch::Contains("unknown option '--frobnicate'"));
    CHECK_THAT(error_of({"--frob=1"}), Catch::Contains("unknown option '--frob'"));
    CHECK_THAT(error_of({"-x"}), Catch::Contains("unknown option '-x'"));
    CHECK_THAT(error_of({"--no"}), Catch::Contains("ambiguous") && Catch::Contains("--no-binary, --no-index"));
    CHECK_THAT(error_of({"--req", "a.txt"}), Catch::Contains("--require-hashes, --requirement"));
    CHECK_THAT(error_of({"-r"}), Catch::Contains("'-r' needs a value"));
    CHECK_THAT(error_of({"--index-url"}), Catch::Contains("'--index-url' needs a value"));
    CHECK_THAT(error_of({"--pre=1"}), Catch::Contains("'--pre' takes no value"));
    CHECK(lines::option_name(option_kind::index_url) == "--index-url");
}

TEST_CASE("credentials in URLs never reach messages", "[requirements]")
{
    using lines::redact_credentials;
    CHECK(redact_credentials("-i https://user:tok@h.invalid/simple x") == "-i https://****@h.invalid/simple x");
    CHECK(redact_credentials("https://tok@h/a http://h/b@c 'ftp://u@h'") == "https://****@h/a http://h/b@c 'ftp://****@h'");
    CHECK(redact_credentials("no urls @ all") == "no urls @ all");
    CHECK(redact_credentials("https://") == "https://");

    fake_world world;
    world.env["TOKEN"] = "s3cret";
    auto e = parse_error("-i https://me:${TOKEN}@h.invalid/simple --bogus\n", world);
    CHECK_THAT(e.message, Catch::Contains("https://****@h.invalid/simple") && !Catch::Contains("s3cret"));
    auto parsed = parse_ok("foo==1 --index-url=https://${TOKEN}@h.invalid/simple\n", world);
    REQUIRE(parsed.warnings.size() == 1);
    CHECK_THAT(parsed.warnings[0], !Catch::Contains("s3cret"));
}

TEST_CASE("hashes: strong algorithms, exact hex length, lower case", "[requirements]")
{
    auto h = lines::parse_hash("SHA256:" + hex('A', 64));
    REQUIRE(h);
    CHECK(h->algorithm == "sha256");
    CHECK(h->digest == hex('a', 64));
    CHECK(lines::parse_hash("sha384:" + hex('0', 96)).has_value());
    CHECK(lines::parse_hash("sha512:" + hex('f', 128)).has_value());
    CHECK(lines::hash_hex_length("sha512") == 128);
    CHECK(lines::hash_hex_length("md5") == 0);

    auto message_of = [](const std::string& value) {
        auto r = lines::parse_hash(value);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::invalid_requirements_file);
        return r.error().message;
    };
    CHECK_THAT(message_of("md5:" + hex('a', 32)), Catch::Contains("'md5'") && Catch::Contains("sha256, sha384"));
    CHECK_THAT(message_of("sha256:abc"), Catch::Contains("3 hex digits") && Catch::Contains("needs 64"));
    CHECK_THAT(message_of("sha384:" + hex('a', 64)), Catch::Contains("needs 96"));
    CHECK_THAT(message_of("sha256:" + hex('a', 63) + "g"), Catch::Contains("not a hex digit: 'g'"));
    CHECK_THAT(message_of(hex('a', 64)), Catch::Contains("algorithm:hex"));
}

// ---- real lockfiles -----------------------------------------------------------------------------

TEST_CASE("real pip-compile and uv lockfiles parse as pip parses them", "[requirements]")
{
    const char* fixture = GENERATE("pip-compile-black", "pip-compile-requests-socks", "pip-compile-py310-markers",
                                   "uv-black", "uv-requests-socks", "uv-py310-markers", "uv-universal-black",
                                   "uv-universal-markers");
    INFO(fixture);
    const fs::path path = data_dir / (std::string(fixture) + ".txt");
    parse_options options;
    options.getenv = [](std::string_view) { return std::nullopt; };
    auto parsed = parse_requirements_file(path, options);
    REQUIRE(parsed);
    const auto expected = split(slurp(data_dir / (std::string(fixture) + ".expected")), '\n');
    std::vector<std::string> got;
    for (const auto& entry : parsed->requirements) {
        got.push_back(oracle_line(entry));
        CHECK(entry.location.file == path.string());
        CHECK(entry.location.line > 0);
    }
    got.emplace_back();  // the oracle file ends with a newline
    CHECK(got == expected);
    CHECK(parsed->constraints.empty());
    CHECK(parsed->warnings.empty());
    if (std::string_view(fixture).starts_with("pip-compile")) {
        CHECK(parsed->find_links == std::vector<std::string>{"/opt/wheels"});
    } else {
        CHECK(parsed->find_links.empty());
    }
}

TEST_CASE("pip-compile output: locations, extras and hashes in detail", "[requirements]")
{
    auto parsed = parse_requirements_file(data_dir / "pip-compile-requests-socks.txt");
    REQUIRE(parsed);
    REQUIRE(parsed->requirements.size() == 6);
    const auto& requests = parsed->requirements[4];
    CHECK(requests.requirement.name == "requests");
    CHECK(requests.requirement.extras == std::vector<std::string>{"socks"});
    CHECK(requests.requirement.specifiers.to_string() == "==2.34.2");
    CHECK(requests.hashes.size() == 2);
    // The first physical line of the continued requirement.
    const auto text = slurp(data_dir / "pip-compile-requests-socks.txt");
    const auto at = text.find("requests[socks]==");
    REQUIRE(at != std::string::npos);
    CHECK(requests.location.line == 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
    CHECK_FALSE(parsed->index_url);
}

TEST_CASE("uv --universal output keeps one pin per marker", "[requirements]")
{
    auto parsed = parse_requirements_file(data_dir / "uv-universal-black.txt");
    REQUIRE(parsed);
    std::vector<const requirement_entry*> platformdirs;
    for (const auto& e : parsed->requirements) {
        if (e.requirement.normalized_name == "platformdirs") {
            platformdirs.push_back(&e);
        }
    }
    REQUIRE(platformdirs.size() == 2);
    CHECK(platformdirs[0]->requirement.specifiers.to_string() == "==4.12.4");
    CHECK(platformdirs[1]->requirement.specifiers.to_string() == "==4.14.7");
    pkg::pep508::marker_environment py310;
    py310.python_version = "3.10";
    py310.python_full_version = "3.10.13";
    pkg::pep508::marker_environment py311 = py310;
    py311.python_version = "3.11";
    py311.python_full_version = "3.11.7";
    CHECK(platformdirs[0]->requirement.applies_to(py310));
    CHECK_FALSE(platformdirs[0]->requirement.applies_to(py311));
    CHECK(platformdirs[1]->requirement.applies_to(py311));
}

TEST_CASE("a synthetic 5,000-requirement lockfile", "[requirements]")
{
    std::string text = "# generated\n--only-binary :all:\n";
    for (int i = 0; i < 5000; ++i) {
        char digest[65];
        std::snprintf(digest, sizeof digest, "%064x", i);
        text += "Package_" + std::to_string(i) + "==1." + std::to_string(i % 97) + ".0";
        text += (i % 3 == 0) ? " ; python_version >= \"3.8\"" : "";
        text += " \\\n    --hash=sha256:" + std::string(digest) + " \\\n    --hash=sha512:" + hex('c', 128) + "\n";
        text += "    # via -r requirements.in\n";
    }
    auto parsed = parse_ok(text);
    REQUIRE(parsed.requirements.size() == 5000);
    CHECK(parsed.only_binary == std::vector<std::string>{":all:"});
    const auto& last = parsed.requirements.back();
    CHECK(last.requirement.normalized_name == "package-4999");
    CHECK(last.requirement.specifiers.to_string() == "==1.52.0");
    REQUIRE(last.hashes.size() == 2);
    CHECK(last.hashes[0].digest.ends_with("1387"));  // 4999 in hex
    CHECK(last.location.line == 3 + 4 * 4999);
    CHECK(parsed.requirements[3].requirement.env_marker.has_value());
    CHECK_FALSE(parsed.requirements[4].requirement.env_marker.has_value());
}

// ---- includes -----------------------------------------------------------------------------------

TEST_CASE("requirements: -r and -c in every spelling, relative to the including file", "[requirements]")
{
    fake_world world;
    world.files["locks/sub/a.txt"] = "a==1\n-r ../b.txt\n";
    world.files["locks/b.txt"] = "b==2\n";
    world.files["locks/c.txt"] = "c==3\n";
    world.files["locks/d.txt"] = "d==4\n";
    world.files["locks/cons.txt"] = "e<5\n-r nested.txt\n";
    world.files["locks/nested.txt"] = "f==6\n";
    auto parsed = parse_ok("-r sub/a.txt\n--requirement=c.txt\n-rd.txt\ntop==0\n--constraint cons.txt\n", world,
                           "locks/main.txt");
    std::vector<std::string> names;
    for (const auto& e : parsed.requirements) {
        names.push_back(e.requirement.normalized_name + "@" + e.location.file + ":" + std::to_string(e.location.line));
    }
    CHECK(names == std::vector<std::string>{"a@locks/sub/a.txt:1", "b@locks/b.txt:1", "c@locks/c.txt:1",
                                            "d@locks/d.txt:1", "top@locks/main.txt:4", "f@locks/nested.txt:1"});
    REQUIRE(parsed.constraints.size() == 1);  // -r inside a constraints file adds requirements (as pip)
    CHECK(parsed.constraints[0].requirement.normalized_name == "e");
    CHECK(parsed.constraints[0].location.file == "locks/cons.txt");
}

TEST_CASE("several includes on one line all take effect, a diamond is not a cycle", "[requirements]")
{
    fake_world world;
    world.files["a.txt"] = "-r common.txt\na==1\n";
    world.files["b.txt"] = "-r common.txt\nb==1\n";
    world.files["common.txt"] = "common==1 --hash=" + sha_a + "\n";
    auto parsed = parse_ok("-r a.txt -r b.txt --pre\n", world);
    std::vector<std::string> names;
    for (const auto& e : parsed.requirements) {
        names.push_back(e.requirement.normalized_name);
    }
    CHECK(names == std::vector<std::string>{"common", "a", "b"});  // the repeat merged away
    CHECK(parsed.pre);
}

TEST_CASE("include cycles are errors naming the chain", "[requirements]")
{
    fake_world world;
    world.files["a.txt"] = "six==1\n-r b.txt\n";
    world.files["b.txt"] = "# b\n-r ./a.txt\n";
    auto e = parse_error("-r a.txt\n", world, "top.txt");
    CHECK(e.code == errc::requirements_include_cycle);
    CHECK(e.where == "b.txt:2");
    CHECK_THAT(e.message, Catch::Contains("'-r ./a.txt'") && Catch::Contains("a.txt -> b.txt -> a.txt"));

    world.files["self.txt"] = "-c self.txt\n";
    e = parse_error("-r self.txt\n", world);
    CHECK(e.code == errc::requirements_include_cycle);
    CHECK(e.where == "self.txt:1");

    // The top-level text is part of the chain too.
    world.files["back.txt"] = "-r lock.txt\n";
    e = parse_error("-r back.txt\n", world, "lock.txt");
    CHECK(e.code == errc::requirements_include_cycle);
    CHECK_THAT(e.message, Catch::Contains("lock.txt -> back.txt -> lock.txt"));
}

TEST_CASE("includes are bounded in depth and in number", "[requirements]")
{
    fake_world world;
    for (int i = 0; i < 70; ++i) {  // a chain, no cycle, deeper than 64
        world.files["deep" + std::to_string(i) + ".txt"] = "-r deep" + std::to_string(i + 1) + ".txt\n";
    }
    auto e = parse_error("-r deep0.txt\n", world);
    CHECK(e.code == errc::invalid_requirements_file);
    CHECK(e.where == "deep62.txt:1");  // lock.txt and deep0..deep62 are 64 open files
    CHECK_THAT(e.message, Catch::Contains("'-r deep63.txt' nests requirements files more than 64 deep"));

    for (int i = 0; i < 20; ++i) {  // each level includes the next twice: 2^20 reads without a cap
        world.files["fan" + std::to_string(i) + ".txt"] =
            "-r fan" + std::to_string(i + 1) + ".txt\n-r fan" + std::to_string(i + 1) + ".txt\n";
    }
    world.files["fan20.txt"] = "leaf==1\n";
    world.reads.clear();
    e = parse_error("-r fan0.txt\n", world);
    CHECK(e.code == errc::invalid_requirements_file);
    CHECK_THAT(e.message, Catch::Contains("more than 4096 includes"));
    CHECK(world.reads.size() == 4096);
}

TEST_CASE("include errors: missing file, network URL, file: URL", "[requirements]")
{
    fake_world world;
    auto e = parse_error("x==1\n-r missing.txt\n", world);
    CHECK(e.code == errc::invalid_requirements_file);
    CHECK(e.where == "lock.txt:2");
    CHECK_THAT(e.message, Catch::Contains("'missing.txt'") && Catch::Contains("No such file"));

    e = parse_error("-r https://example.invalid/req.txt\n", world);
    CHECK(e.code == errc::unsupported);
    CHECK(e.where == "lock.txt:1");
    CHECK_THAT(e.message, Catch::Contains("'https://example.invalid/req.txt'") && Catch::Contains("network"));
    e = parse_error("-c file://otherhost/x.txt\n", world);
    CHECK(e.code == errc::unsupported);

    world.files["/abs/dir/my req.txt"] = "z==1\n";
    auto parsed = parse_ok("-r file:///abs/dir/my%20req.txt\n", world);
    REQUIRE(parsed.requirements.size() == 1);
    CHECK(parsed.requirements[0].location.file == "/abs/dir/my req.txt");

    e = parse_error("-r ''\n", world);
    CHECK(e.code == errc::invalid_requirements_file);
    CHECK_THAT(e.message, Catch::Contains("names no file"));
}

TEST_CASE("includes on disk, with the environment and find-links", "[requirements]")
{
    parse_options options;
    options.getenv = [](std::string_view name) -> std::optional<std::string> {
        if (name == "PKG_TEST_EXTRA_INDEX") {
            return "http://127.0.0.1:9/simple";
        }
        return std::nullopt;
    };
    const fs::path top = data_dir / "includes" / "top.txt";
    auto parsed = parse_requirements_file(top, options);
    REQUIRE(parsed);
    REQUIRE(parsed->requirements.size() == 2);
    const auto& idna = parsed->requirements[0];
    CHECK(idna.requirement.normalized_name == "idna");
    CHECK(idna.location.file == (top.parent_path() / "sub/base.txt").lexically_normal().generic_string());
    CHECK(idna.location.line == 2);
    REQUIRE(idna.hashes.size() == 1);
    CHECK(idna.hashes[0].digest == "c36e3b1e3b6a8e2b1b0f3f8d9c1d3e5f7a9b0c2d4e6f8a0b2c4d6e8f0a2b4c6d");
    CHECK(parsed->requirements[1].requirement.normalized_name == "six");
    CHECK(parsed->requirements[1].location.line == 4);
    CHECK(parsed->extra_index_urls == std::vector<std::string>{"http://127.0.0.1:9/simple"});
    CHECK(parsed->find_links ==
          std::vector<std::string>{(top.parent_path() / "wheels").lexically_normal().generic_string()});
    REQUIRE(parsed->constraints.size() == 1);
    CHECK(parsed->constraints[0].requirement.specifiers.to_string() == "<3");

    auto cycle = parse_requirements_file(data_dir / "includes" / "cycle_a.txt");
    REQUIRE_FALSE(cycle);
    CHECK(cycle.error().code == errc::requirements_include_cycle);
    CHECK_THAT(cycle.error().where, Catch::EndsWith("cycle_b.txt:1"));

    auto missing = parse_requirements_file(data_dir / "includes" / "no-such-file.txt");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == errc::invalid_requirements_file);
    CHECK_THAT(missing.error().where, Catch::EndsWith("no-such-file.txt"));
    CHECK_THAT(missing.error().message, Catch::Contains("No such file"));
}

TEST_CASE("includes through a symlink are one file for cycle detection", "[requirements]")
{
    const fs::path dir = fs::path(PKG_TEST_BINARY_DIR) / "requirements-symlink-cycle";
    fs::remove_all(dir);
    fs::create_directories(dir / "real");
    std::ofstream(dir / "real" / "a.txt") << "-r ../link/b.txt\n";
    // Lexically "link/a.txt" and "real/a.txt" differ; only resolving the symlink finds the cycle.
    std::ofstream(dir / "real" / "b.txt") << "-r a.txt\n";
    fs::create_directory_symlink("real", dir / "link");
    auto parsed = parse_requirements_file(dir / "real" / "a.txt");
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == errc::requirements_include_cycle);
    fs::remove_all(dir);
}

// ---- options ------------------------------------------------------------------------------------

TEST_CASE("global options are recorded", "[requirements]")
{
    fake_world world;
    world.env["TOKEN"] = "s3cret";
    auto parsed = parse_ok("-i https://a.invalid/simple\n"
                           "--index-url=https://${TOKEN}@b.invalid/simple\n"
                           "--extra-index-url https://c.invalid/simple --extra-index-url=https://c.invalid/simple\n"
                           "--extra-index-url https://d.invalid/simple\n"
                           "--no-index\n--pre\n--prefer-binary\n--require-hashes\n"
                           "--trusted-host c.invalid --trusted-host c.invalid\n"
                           "-f ./wheels\n--find-links https://e.invalid/links\n-f /abs/w\n",
                           world, "dir/lock.txt");
    CHECK(parsed.index_url == "https://s3cret@b.invalid/simple");
    CHECK(parsed.extra_index_urls == std::vector<std::string>{"https://c.invalid/simple", "https://d.invalid/simple"});
    CHECK(parsed.no_index);
    CHECK(parsed.pre);
    CHECK(parsed.prefer_binary);
    CHECK(parsed.require_hashes);
    CHECK(parsed.trusted_hosts == std::vector<std::string>{"c.invalid"});
    CHECK(parsed.find_links == std::vector<std::string>{"dir/wheels", "https://e.invalid/links", "/abs/w"});
    CHECK(parsed.warnings.empty());

    auto defaults = parse_ok("x==1\n");
    CHECK_FALSE(defaults.index_url);
    CHECK_FALSE(defaults.no_index);
    CHECK_FALSE(defaults.pre);
    CHECK_FALSE(defaults.prefer_binary);
    CHECK_FALSE(defaults.require_hashes);
}

TEST_CASE("requirements: --only-binary and --no-binary follow pip's FormatControl", "[requirements]")
{
    auto parsed = parse_ok("--no-binary Foo_Bar,baz\n--only-binary foo.bar\n");
    CHECK(parsed.no_binary == std::vector<std::string>{"baz"});
    CHECK(parsed.only_binary == std::vector<std::string>{"foo-bar"});
    parsed = parse_ok("--no-binary x\n--only-binary :all:\n");
    CHECK(parsed.no_binary.empty());
    CHECK(parsed.only_binary == std::vector<std::string>{":all:"});
    parsed = parse_ok("--only-binary :all:,:none:,y\n");
    CHECK(parsed.only_binary == std::vector<std::string>{"y"});
    parsed = parse_ok("--only-binary :all:,y\n");  // pip drops names after :all: without :none:
    CHECK(parsed.only_binary == std::vector<std::string>{":all:"});
    auto e = parse_error("--only-binary=-x\n");
    CHECK(e.where == "lock.txt:1");
    CHECK_THAT(e.message, Catch::Contains("'--only-binary'") && Catch::Contains("'-x'"));
    e = parse_error("--no-binary 'bad name'\n");
    CHECK_THAT(e.message, Catch::Contains("'bad name'") && Catch::Contains("not a valid project name"));
}

TEST_CASE("harmless and misplaced options become warnings", "[requirements]")
{
    auto parsed = parse_ok("--use-feature=truststore\n"
                           "--hash=" + sha_a + "\n"
                           "foo==1 -i https://x.invalid/simple --global-option=--fast -C k=v --hash " + sha_b + "\n");
    REQUIRE(parsed.requirements.size() == 1);
    CHECK(parsed.requirements[0].hashes.size() == 1);
    CHECK_FALSE(parsed.index_url);  // pip ignores -i on a requirement line as well
    REQUIRE(parsed.warnings.size() == 5);
    CHECK_THAT(parsed.warnings[0], Catch::StartsWith("lock.txt:1: ") && Catch::Contains("--use-feature"));
    CHECK_THAT(parsed.warnings[1], Catch::StartsWith("lock.txt:2: ") && Catch::Contains("no requirement"));
    CHECK_THAT(parsed.warnings[2], Catch::StartsWith("lock.txt:3: ") && Catch::Contains("'-i'"));
    CHECK_THAT(parsed.warnings[3], Catch::Contains("--global-option"));
    CHECK_THAT(parsed.warnings[4], Catch::Contains("-C k=v"));
}

TEST_CASE("option errors cite the option and the line", "[requirements]")
{
    auto e = parse_error("x==1\n\n--frobnicate yes\n");
    CHECK(e.code == errc::invalid_requirements_file);
    CHECK(e.where == "lock.txt:3");
    CHECK_THAT(e.message, Catch::Contains("'--frobnicate'") && Catch::Contains("'--frobnicate yes'"));

    e = parse_error("foo==1 --hash=md5:" + hex('a', 32) + "\n");
    CHECK(e.where == "lock.txt:1");
    CHECK_THAT(e.message, Catch::Contains("'md5'"));

    e = parse_error("foo==1 \\\n  --hash=sha256:abc\n");
    CHECK(e.where == "lock.txt:1");
    CHECK_THAT(e.message, Catch::Contains("'sha256:abc'"));

    e = parse_error("--pre foo==1\n");
    CHECK_THAT(e.message, Catch::Contains("unexpected 'foo==1'"));
    e = parse_error("foo==1 --hash " + sha_a + " bar==2\n");
    CHECK_THAT(e.message, Catch::Contains("unexpected 'bar==2'"));

    e = parse_error("-r 'unterminated\n");
    CHECK(e.where == "lock.txt:1");
    CHECK_THAT(e.message, Catch::Contains("never closed"));
}

TEST_CASE("hashes collect across continuation lines, deduplicated and lower-cased", "[requirements]")
{
    auto parsed = parse_ok("foo==1 \\\n  --hash=SHA256:" + hex('A', 64) + " \\\n  --hash " + sha_a + " \\\n  --hash='" +
                           sha_b + "'\n");
    REQUIRE(parsed.requirements.size() == 1);
    const auto& hashes = parsed.requirements[0].hashes;
    REQUIRE(hashes.size() == 2);
    CHECK(hashes[0] == hash_digest{"sha256", hex('a', 64)});
    CHECK(hashes[1] == hash_digest{"sha256", hex('b', 64)});
}

// ---- requirement lines --------------------------------------------------------------------------

TEST_CASE("editable, VCS and source distributions are unsupported", "[requirements]")
{
    struct bad_case {
        std::string line;
        std::string quote;
    };
    const bad_case cases[] = {
        {"-e ./project", "'-e ./project'"},
        {"--editable=git+https://h.invalid/r.git#egg=r", "editable"},
        {"git+https://h.invalid/r.git@v1#egg=r", "VCS"},
        {"r @ git+https://h.invalid/r.git@v1", "VCS"},
        {"https://h.invalid/p/foo-1.0.tar.gz", "'foo-1.0.tar.gz'"},
        {"foo @ https://h.invalid/p/foo-1.0.zip", "source distribution"},
        {"./dist/foo-1.0.tar.gz", "source distribution"},
        {"./src/project", "does not point at a wheel"},
        {"ftp://h.invalid/foo-1.0-py3-none-any.whl", "URL scheme 'ftp'"},
    };
    for (const auto& c : cases) {
        INFO(c.line);
        auto e = parse_error("ok==1\n" + c.line + "\n");
        CHECK(e.code == errc::unsupported);
        CHECK(e.where == "lock.txt:2");
        CHECK_THAT(e.message, Catch::Contains(c.quote));
    }
}

TEST_CASE("bare wheel URLs and paths take their name from the wheel filename", "[requirements]")
{
    fake_world world;
    const std::string digest = hex('d', 64);
    auto parsed = parse_ok("https://h.invalid/x/Foo_Bar-1.0-py3-none-any.whl#sha256=" + digest +
                               "; python_version < \"3.13\"\n"
                               "./dist/baz-2.0-1-cp311-cp311-manylinux_2_17_x86_64.whl[Extra_One,two] ; os_name == \"posix\"\n"
                               "/abs/qux-3.0-py3-none-any.whl --hash=" + sha_a + "\n"
                               "named @ dist/named-1.0-py3-none-any.whl\n",
                           world, "proj/lock.txt");
    REQUIRE(parsed.requirements.size() == 4);
    const auto& foo = parsed.requirements[0];
    CHECK(foo.requirement.name == "Foo_Bar");
    CHECK(foo.requirement.normalized_name == "foo-bar");
    CHECK(foo.requirement.url == "https://h.invalid/x/Foo_Bar-1.0-py3-none-any.whl#sha256=" + digest);
    CHECK(foo.requirement.specifiers.empty());
    REQUIRE(foo.requirement.env_marker);
    CHECK(foo.requirement.env_marker->to_string() == "python_version < \"3.13\"");
    CHECK(foo.hashes == std::vector<hash_digest>{{"sha256", digest}});

    const std::string proj = fs::absolute("proj").lexically_normal().generic_string();
    const auto& baz = parsed.requirements[1];
    CHECK(baz.requirement.normalized_name == "baz");
    CHECK(baz.requirement.url == "file://" + proj + "/dist/baz-2.0-1-cp311-cp311-manylinux_2_17_x86_64.whl");
    CHECK(baz.requirement.extras == std::vector<std::string>{"extra-one", "two"});
    REQUIRE(baz.requirement.env_marker);
    CHECK(baz.requirement.env_marker->to_string() == "os_name == \"posix\"");

    const auto& qux = parsed.requirements[2];
    CHECK(qux.requirement.url == "file:///abs/qux-3.0-py3-none-any.whl");
    CHECK(qux.hashes.size() == 1);

    const auto& named = parsed.requirements[3];
    CHECK(named.requirement.normalized_name == "named");
    CHECK(named.requirement.url == "file://" + proj + "/dist/named-1.0-py3-none-any.whl");
    CHECK(world.reads.empty());  // wheels are named, never read, while parsing

    // A path with a space is percent-encoded in its file URL.
    parsed = parse_ok("/w d/a-1-py3-none-any.whl\n");
    REQUIRE(parsed.requirements.size() == 1);
    CHECK(parsed.requirements[0].requirement.url == "file:///w%20d/a-1-py3-none-any.whl");
}

TEST_CASE("wheel URL problems are errors", "[requirements]")
{
    auto e = parse_error("other @ https://h.invalid/foo-1.0-py3-none-any.whl\n");
    CHECK(e.code == errc::invalid_requirements_file);
    CHECK(e.where == "lock.txt:1");
    CHECK_THAT(e.message, Catch::Contains("'other'") && Catch::Contains("'foo'"));

    e = parse_error("https://h.invalid/notawheel.whl\n");
    CHECK(e.code == errc::invalid_requirements_file);
    CHECK_THAT(e.message, Catch::Contains("'notawheel.whl'") && Catch::Contains("not a valid wheel filename"));

    e = parse_error("./foo-not.a.version-py3-none-any.whl\n");
    CHECK(e.code == errc::invalid_requirements_file);
    CHECK_THAT(e.message, Catch::Contains("'foo-not.a.version-py3-none-any.whl'") && Catch::Contains("version"));

    e = parse_error("https://h.invalid/foo-1.0-py3-none-any.whl#sha256=abc\n");
    CHECK_THAT(e.message, Catch::Contains("'sha256:abc'"));

    auto parsed = parse_ok("https://h.invalid/foo-1.0-py3-none-any.whl#md5=" + hex('1', 32) + "\n");
    REQUIRE(parsed.requirements.size() == 1);
    CHECK(parsed.requirements[0].hashes.empty());
    REQUIRE(parsed.warnings.size() == 1);
    CHECK_THAT(parsed.warnings[0], Catch::Contains("md5"));
}

TEST_CASE("invalid requirement text is wrapped with the location", "[requirements]")
{
    auto e = parse_error("good==1\nbad name==1\n");
    CHECK(e.code == errc::invalid_requirements_file);
    CHECK(e.where == "lock.txt:2");
    CHECK_THAT(e.message, Catch::StartsWith("invalid requirement 'bad name==1'"));

    e = parse_error("foo==1 ; python_version <<< '3'\n");
    CHECK(e.where == "lock.txt:1");
    CHECK_THAT(e.message, Catch::Contains("python_version <<< '3'"));

    e = parse_error("./dist/foo-1.0-py3-none-any.whl ; nonsense ==\n");
    CHECK_THAT(e.message, Catch::Contains("invalid marker"));

    const std::string long_line = "x" + std::string(5000, 'y') + " ==1 junk";
    e = parse_error(long_line + "\n");
    CHECK(e.message.size() < 600);  // the quote is shortened
}

TEST_CASE("a lockfile pins each name once per marker", "[requirements]")
{
    auto e = parse_error("numpy==1.26.0\nsix==1\nnumpy==1.25.0\n");
    CHECK(e.code == errc::invalid_requirements_file);
    CHECK(e.where == "lock.txt:3");
    CHECK_THAT(e.message, Catch::Contains("'==1.25.0'") && Catch::Contains("'==1.26.0'") &&
                              Catch::Contains("lock.txt:1"));

    // Across an include, with names spelled differently.
    fake_world world;
    world.files["base.txt"] = "Foo_Bar==1\n";
    e = parse_error("-r base.txt\nfoo.bar==2\n", world);
    CHECK(e.where == "lock.txt:2");
    CHECK_THAT(e.message, Catch::Contains("base.txt:1"));

    // Different markers may pin differently; equal markers are compared in canonical form.
    auto parsed = parse_ok("numpy==1.24.4 ; python_version < '3.9'\nnumpy==1.26.4 ; python_version >= '3.9'\n");
    CHECK(parsed.requirements.size() == 2);
    e = parse_error("numpy==1.24.4 ; python_version<'3.9'\nnumpy==1.26.4 ; python_version < \"3.9\"\n");
    CHECK(e.where == "lock.txt:2");

    // An exact repeat merges, uniting extras; clause order does not matter.
    parsed = parse_ok("req[a]>=1,<2 --hash=" + sha_a + "\nreq[b]<2,>=1 --hash=" + sha_a + "\n");
    REQUIRE(parsed.requirements.size() == 1);
    CHECK(parsed.requirements[0].requirement.extras == std::vector<std::string>{"a", "b"});
    CHECK(parsed.requirements[0].location.line == 1);

    // Same pin, different hashes: ambiguous.
    e = parse_error("req==1 --hash=" + sha_a + "\nreq==1 --hash=" + sha_b + "\n");
    CHECK(e.where == "lock.txt:2");
    CHECK_THAT(e.message, Catch::Contains("different --hash sets"));

    // Same name as a URL and as a pin.
    e = parse_error("foo==1\nhttps://h.invalid/foo-1-py3-none-any.whl\n");
    CHECK(e.where == "lock.txt:2");
}

TEST_CASE("constraints: checked among themselves, no extras", "[requirements]")
{
    fake_world world;
    world.files["c.txt"] = "foo<2\nfoo<3\n";
    auto e = parse_error("foo==1\n-c c.txt\n", world);
    CHECK(e.where == "c.txt:2");
    CHECK_THAT(e.message, Catch::StartsWith("constraint 'foo'"));
    world.files["c.txt"] = "foo[x]<2\n";
    e = parse_error("-c c.txt\n", world);
    CHECK(e.where == "c.txt:1");
    CHECK_THAT(e.message, Catch::Contains("'foo[x]<2'") && Catch::Contains("extras"));
    // A requirement and a constraint for one name are fine.
    world.files["c.txt"] = "foo<2\n";
    auto parsed = parse_ok("foo==1\n-c c.txt\n", world);
    CHECK(parsed.requirements.size() == 1);
    CHECK(parsed.constraints.size() == 1);
}

TEST_CASE("environment variables expand in requirements and includes", "[requirements]")
{
    fake_world world;
    world.env["DIR"] = "shared";
    world.env["VER"] = "2.0";
    world.files["shared/x.txt"] = "x==1\n";
    auto parsed = parse_ok("-r ${DIR}/x.txt\nfoo==${VER}\n", world);
    REQUIRE(parsed.requirements.size() == 2);
    CHECK(parsed.requirements[1].requirement.specifiers.to_string() == "==2.0");
    // Unset: left as written, so the requirement is invalid and the message shows the variable.
    auto e = parse_error("foo==${NOPE}\n", world);
    CHECK_THAT(e.message, Catch::Contains("${NOPE}"));
    // A value containing '#' is not a comment: expansion runs after comments are removed.
    world.env["FRAG"] = "#sha256=" + hex('e', 64);
    parsed = parse_ok("https://h.invalid/foo-1-py3-none-any.whl${FRAG}\n", world);
    CHECK(parsed.requirements[0].hashes.size() == 1);
}

TEST_CASE("encodings: UTF-8 with or without BOM, others refused", "[requirements]")
{
    auto parsed = parse_ok("\xef\xbb\xbf" "foo==1\n");
    REQUIRE(parsed.requirements.size() == 1);
    CHECK(parsed.requirements[0].requirement.name == "foo");

    auto e = parse_error(std::string("\xff\xfe" "f\0o\0", 6));
    CHECK(e.code == errc::unsupported);
    CHECK(e.where == "lock.txt");
    CHECK_THAT(e.message, Catch::Contains("UTF-16"));

    e = parse_error("foo==1\n# caf\xe9\n");
    CHECK(e.code == errc::invalid_requirements_file);
    CHECK(e.where == "lock.txt:2");
    CHECK_THAT(e.message, Catch::Contains("UTF-8") && Catch::Contains("'# caf'"));
    // Valid multi-byte UTF-8 in comments is fine.
    CHECK(parse_ok("foo==1  # caf\xc3\xa9 \xe2\x9c\x93\n").requirements.size() == 1);
}

TEST_CASE("the default reader and environment are the real ones", "[requirements]")
{
    const fs::path dir = fs::path(PKG_TEST_BINARY_DIR) / "requirements-default-reader";
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "lock.txt") << "-r inc.txt\nfoo==${PKG_TEST_REQ_VERSION}\n";
    std::ofstream(dir / "inc.txt") << "bar==1\n";
    ::setenv("PKG_TEST_REQ_VERSION", "3.1", 1);
    auto parsed = parse_requirements_file(dir / "lock.txt");
    ::unsetenv("PKG_TEST_REQ_VERSION");
    REQUIRE(parsed);
    REQUIRE(parsed->requirements.size() == 2);
    CHECK(parsed->requirements[0].location.file == (dir / "inc.txt").lexically_normal().generic_string());
    CHECK(parsed->requirements[1].requirement.specifiers.to_string() == "==3.1");

    auto is_dir = parse_requirements_file(dir);
    REQUIRE_FALSE(is_dir);
    CHECK(is_dir.error().code == errc::invalid_requirements_file);
    CHECK_THAT(is_dir.error().message, Catch::Contains("directory"));
    fs::remove_all(dir);
}
