// pkg_consumer PYTHON WORKDIR
//
// Embeds pkg through its installed public API only (find_package(pkg) + pkg::engine; see
// CMakeLists.txt), the way a build system or IDE helper would: checks the library's version,
// queries and prunes a cache under WORKDIR, creates a virtual environment there with PYTHON, and
// prints what each call reported. Every call's result is checked, including the expected errors
// (which must arrive as values with pkg's error codes). Exit status 0 only if all checks pass.
//
// WORKDIR must not exist yet or be empty: the program owns it.

#include <pkg/engine/build_info.hpp>
#include <pkg/engine/cache.hpp>
#include <pkg/engine/errc.hpp>
#include <pkg/engine/venv.hpp>
#include <pkg/io/error.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

namespace {

namespace fs = std::filesystem;

// Counts failed checks; main's exit status.
class checker {
public:
    // Records `condition`; prints "ok" or "FAIL" with `what`.
    void expect(bool condition, std::string_view what)
    {
        std::printf("  %s: %.*s\n", condition ? "ok" : "FAIL", static_cast<int>(what.size()),
                    what.data());
        if (!condition) {
            ++failures_;
        }
    }

    // An unexpected error from the library: printed in full (where, message, hint).
    void unexpected_error(std::string_view call, const pkg::error& e)
    {
        std::printf("  FAIL: %.*s: %s (code %d, category %s)\n", static_cast<int>(call.size()),
                    call.data(), e.to_string().c_str(), e.code.value(), e.code.category().name());
        ++failures_;
    }

    [[nodiscard]] int failures() const { return failures_; }

private:
    int failures_ = 0;
};

void check_version(checker& check)
{
    std::printf("engine version\n");
    const std::string_view version = pkg::engine_version();
    std::printf("  pkg::engine_version() = %.*s\n", static_cast<int>(version.size()), version.data());
    check.expect(version == PKG_CONSUMER_EXPECTED_VERSION,
                 "the library is the version find_package found (" PKG_CONSUMER_EXPECTED_VERSION ")");
}

void check_cache(checker& check, const fs::path& workdir)
{
    std::printf("cache\n");
    pkg::cache_options options;
    options.cache_dir = (workdir / "cache").string();

    const auto dir = pkg::cache_dir(options);
    if (!dir) {
        check.unexpected_error("cache_dir", dir.error());
        return;
    }
    std::printf("  cache_dir = %s\n", dir->c_str());
    check.expect(fs::path(*dir) == workdir / "cache", "cache_dir is the directory given");

    const auto empty = pkg::cache_size(options);
    if (!empty) {
        check.unexpected_error("cache_size (missing directory)", empty.error());
        return;
    }
    check.expect(empty->files == 0 && empty->apparent_bytes == 0,
                 "a cache that does not exist yet is empty");

    const auto pruned = pkg::cache_prune(options, /*force=*/false);
    if (!pruned) {
        check.unexpected_error("cache_prune (missing directory)", pruned.error());
    } else {
        std::printf("  cache_prune: removed %zu entries, freed %s\n", pruned->removed.size(),
                    pkg::format_bytes(pruned->freed_bytes).c_str());
        check.expect(pruned->removed.empty(), "pruning a missing cache removes nothing");
    }

    // A directory that is not a pkg cache: its size is still reported, but pkg refuses to prune
    // it, and says so with an error value carrying pkg's own error code.
    fs::create_directories(workdir / "cache");
    {
        std::ofstream file(workdir / "cache" / "not-a-pkg-file", std::ios::binary);
        file << std::string(4096, 'x');
    }
    const auto size = pkg::cache_size(options);
    if (!size) {
        check.unexpected_error("cache_size", size.error());
    } else {
        std::printf("  cache_size: %llu files, %s apparent, %s allocated\n",
                    static_cast<unsigned long long>(size->files),
                    pkg::format_bytes(size->apparent_bytes).c_str(),
                    pkg::format_bytes(size->allocated_bytes).c_str());
        check.expect(size->files == 1 && size->apparent_bytes == 4096,
                     "cache_size counts the one 4096-byte file");
    }
    const auto refused = pkg::cache_prune(options, /*force=*/false);
    if (refused) {
        check.expect(false, "cache_prune refuses a directory without pkg's CACHEDIR.TAG");
    } else {
        std::printf("  cache_prune error (expected): %s\n", refused.error().to_string().c_str());
        check.expect(refused.error().code == pkg::errc::not_a_cache,
                     "the refusal is pkg::errc::not_a_cache");
        check.expect(std::string_view(refused.error().code.category().name()) == "pkg",
                     "its category is pkg's");
        check.expect(fs::exists(workdir / "cache" / "not-a-pkg-file"), "nothing was deleted");
    }
}

void check_venv(checker& check, const std::string& python, const fs::path& workdir)
{
    std::printf("venv\n");
    pkg::venv_options options;
    options.path = workdir / "env";
    options.python = python;
    options.command = {"pkg_consumer", python, workdir.string()};

    const auto created = pkg::create_venv(options);
    if (!created) {
        check.unexpected_error("create_venv", created.error());
        return;
    }
    std::printf("  created %s: Python %s, base %s\n", created->path.c_str(),
                created->python_version.c_str(), created->base_executable.c_str());
    check.expect(created->path == workdir / "env", "the environment is where it was asked for");
    check.expect(created->python_version.starts_with("3."), "the interpreter is a Python 3");
    check.expect(fs::exists(created->python), "its bin/python exists");
    check.expect(fs::is_regular_file(workdir / "env" / "pyvenv.cfg"), "pyvenv.cfg exists");
    check.expect(!created->is_replaced, "nothing was replaced");

    const auto again = pkg::create_venv(options);
    if (again) {
        check.expect(false, "a second create_venv without clear is refused");
    } else {
        std::printf("  create_venv again (expected error): %s\n",
                    again.error().to_string().c_str());
        check.expect(again.error().code == pkg::errc::venv_exists,
                     "the refusal is pkg::errc::venv_exists");
    }

    options.clear = true;
    const auto replaced = pkg::create_venv(options);
    if (!replaced) {
        check.unexpected_error("create_venv (clear)", replaced.error());
        return;
    }
    check.expect(replaced->is_replaced, "with clear the environment is replaced");
    check.expect(fs::exists(replaced->python), "the new bin/python exists");

    // Next step, once the install API (<pkg/engine/installer.hpp>) is public: install a lockfile
    // from a local test index into this environment with a progress callback, cancel a second
    // install midway, and show the environment is still consistent (issue 8).
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s PYTHON WORKDIR\n", argc > 0 ? argv[0] : "pkg_consumer");
        return 2;
    }
    const std::string python = argv[1];
    std::error_code ec;
    const fs::path workdir = fs::absolute(argv[2], ec);
    if (ec || (fs::exists(workdir) && !fs::is_empty(workdir))) {
        std::fprintf(stderr, "pkg_consumer: %s: WORKDIR must be a new or empty directory\n", argv[2]);
        return 2;
    }
    fs::create_directories(workdir, ec);
    if (ec) {
        std::fprintf(stderr, "pkg_consumer: cannot create %s: %s\n", workdir.c_str(),
                     ec.message().c_str());
        return 2;
    }

    checker check;
    check_version(check);
    check_cache(check, workdir);
    check_venv(check, python, workdir);

    if (check.failures() != 0) {
        std::printf("pkg_consumer: %d check(s) FAILED\n", check.failures());
        return 1;
    }
    std::printf("pkg_consumer: all checks passed\n");
    return 0;
}
