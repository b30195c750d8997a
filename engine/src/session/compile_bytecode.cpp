// Byte-compiling installed files (see compile_bytecode.hpp).

#include "session/compile_bytecode.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/core.h>

#include "python/subprocess.hpp"

namespace stdfs = std::filesystem;

namespace pkg::session {
namespace {

// The first CSV field of a RECORD line (paths with commas are quoted, "" escapes a quote).
std::string first_field(std::string_view line)
{
    if (line.empty() || line.front() != '"') {
        return std::string(line.substr(0, line.find(',')));
    }
    std::string out;
    for (std::size_t i = 1; i < line.size(); ++i) {
        if (line[i] == '"') {
            if (i + 1 < line.size() && line[i + 1] == '"') {
                out += '"';
                ++i;
                continue;
            }
            break;
        }
        out += line[i];
    }
    return out;
}

std::string last_line(const std::string& text)
{
    auto end = text.find_last_not_of("\r\n");
    if (end == std::string::npos) {
        return {};
    }
    const auto start = text.rfind('\n', end);
    return text.substr(start == std::string::npos ? 0 : start + 1,
                       end + 1 - (start == std::string::npos ? 0 : start + 1));
}

}  // namespace

result<std::vector<stdfs::path>> python_files_of(const std::vector<stdfs::path>& dist_infos)
{
    std::set<stdfs::path> files;
    for (const auto& dist_info : dist_infos) {
        const auto record = dist_info / "RECORD";
        std::ifstream in(record, std::ios::binary);
        if (!in) {
            return fail(system_error(errno, "reading", record.string()));
        }
        const auto site = dist_info.parent_path();
        std::string line;
        while (std::getline(in, line)) {
            if (!line.empty() && line.back() == '\r') {
                line.pop_back();
            }
            const std::string path = first_field(line);
            if (path.size() < 4 || !path.ends_with(".py") || path.starts_with("../") ||
                path.starts_with('/')) {
                continue;
            }
            files.insert(site / path);
        }
    }
    return std::vector<stdfs::path>(files.begin(), files.end());
}

result<compile_outcome> compile_bytecode(const stdfs::path& python,
                                         const std::vector<stdfs::path>& files, unsigned workers)
{
    compile_outcome out;
    out.files = files.size();
    if (files.empty()) {
        return out;
    }
    if (workers == 0) {
        workers = std::max(1u, std::thread::hardware_concurrency());
    }
    // At least ~64 files per process: starting an interpreter costs more than compiling a few.
    const std::size_t chunks =
        std::clamp<std::size_t>((files.size() + 63) / 64, 1, workers);
    std::vector<std::vector<std::string>> argvs(chunks);
    for (auto& argv : argvs) {
        argv = {python.string(), "-I", "-m", "compileall", "-q"};
    }
    for (std::size_t i = 0; i < files.size(); ++i) {
        argvs[i % chunks].push_back(files[i].string());
    }
    std::vector<std::optional<result<python::process_output>>> outputs(chunks);
    {
        std::vector<std::thread> threads;
        for (std::size_t c = 1; c < chunks; ++c) {
            threads.emplace_back([&, c] {
                outputs[c].emplace(python::run_captured(
                    argvs[c], python::run_options{.timeout = std::chrono::minutes(30)}));
            });
        }
        outputs[0].emplace(python::run_captured(
            argvs[0], python::run_options{.timeout = std::chrono::minutes(30)}));
        for (auto& t : threads) {
            t.join();
        }
    }
    for (auto& o : outputs) {
        if (!*o) {
            return fail(o->error().with_context("compiling bytecode"));
        }
        const auto& p = **o;
        if (p.exit_code != 0) {
            const std::string detail = last_line(p.out.empty() ? p.err : p.out);
            out.warnings.push_back(fmt::format(
                "compiling bytecode: {} ended with {} {}{}", python.string(),
                p.is_timed_out ? "a timeout" : p.signal != 0 ? "signal" : "exit code",
                p.is_timed_out ? std::string() : std::to_string(p.signal != 0 ? p.signal : p.exit_code),
                detail.empty() ? std::string() : ": " + detail));
        }
    }
    return out;
}

}  // namespace pkg::session
