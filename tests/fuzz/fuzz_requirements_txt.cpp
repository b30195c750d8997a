// libFuzzer target for the requirements.txt parser and its line machinery.
// Everything stays in memory: `-r`/`-c` of a file named "other.txt" (in any directory) reads a
// fixed small file, every other include fails cleanly, and `${VAR}` sees a fixed environment.
// Properties: nothing crashes or loops; errors carry a requirements-file code and a location;
// on success every hash is a lower-case strong digest of the right length, every entry has a
// location and a normalised name, and logical lines never contain a line terminator.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <pkg/engine/errc.hpp>

#include "lockfile/requirements_lines.hpp"
#include "lockfile/requirements_txt.hpp"

namespace {

void check(bool condition)
{
    if (!condition) {
        std::abort();
    }
}

const pkg::lockfile::parse_options& options()
{
    static const pkg::lockfile::parse_options o = [] {
        pkg::lockfile::parse_options opts;
        opts.read_file = [](const std::filesystem::path& path) -> pkg::result<std::string> {
            if (path.filename() == "other.txt") {
                return std::string("six==1.16.0 --hash=sha256:"
                                   "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254\n"
                                   "-c ./other.txt\n");  // a cycle back to itself
            }
            return pkg::fail(std::make_error_code(std::errc::no_such_file_or_directory),
                             "open failed: No such file or directory", path.string());
        };
        opts.getenv = [](std::string_view name) -> std::optional<std::string> {
            if (name == "A") {
                return std::string("a==1");
            }
            if (name == "R") {
                return std::string("-r other.txt");
            }
            return std::nullopt;
        };
        return opts;
    }();
    return o;
}

void check_entry(const pkg::lockfile::requirement_entry& entry)
{
    check(entry.location.line > 0);
    check(!entry.location.file.empty());
    check(!entry.requirement.normalized_name.empty());
    for (const auto& hash : entry.hashes) {
        check(pkg::lockfile::lines::hash_hex_length(hash.algorithm) == hash.digest.size());
        for (const char c : hash.digest) {
            check((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        }
    }
    (void)entry.requirement.to_string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    for (const auto& line : pkg::lockfile::lines::logical_lines(text)) {
        check(line.number > 0);
        check(line.text.find('\n') == std::string::npos && line.text.find('\r') == std::string::npos);
        const auto parts = pkg::lockfile::lines::break_args_options(line.text);
        if (auto tokens = pkg::lockfile::lines::shell_split(parts.options)) {
            (void)pkg::lockfile::lines::parse_line_options(*tokens);
        }
    }

    auto parsed = pkg::lockfile::parse_requirements_text(text, "dir/lock.txt", options());
    if (!parsed) {
        const auto& e = parsed.error();
        check(e.code == pkg::errc::invalid_requirements_file || e.code == pkg::errc::requirements_include_cycle ||
              e.code == pkg::errc::unsupported);
        check(!e.where.empty());
        check(!e.message.empty());
        return 0;
    }
    for (const auto& entry : parsed->requirements) {
        check_entry(entry);
    }
    for (const auto& entry : parsed->constraints) {
        check_entry(entry);
        check(entry.requirement.extras.empty());
    }
    for (const auto& warning : parsed->warnings) {
        check(warning.find(": ") != std::string::npos);
    }
    return 0;
}
