#include "support/files.hpp"

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <random>
#include <system_error>
#include <thread>

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

namespace stdfs = std::filesystem;

namespace pkg::test {

scratch_dir::scratch_dir(std::string_view area, std::string_view tag, const stdfs::path& base)
{
    static std::atomic<int> counter{0};
    std::random_device random;
    std::string parent(area);
    parent += "-scratch";
    // Built by appending: GCC 12 at -O3 warns falsely (-Wrestrict, GCC PR105329) about
    // `"literal" + std::to_string(n)`.
    std::string name(tag);
    name += '-';
    name += std::to_string(::getpid());
    name += '-';
    name += std::to_string(counter++);
    name += '-';
    name += std::to_string(random());
    path = base / parent / name;
    // Another test's destructor may rmdir the shared parent between create_directories making
    // it and making `path` in it (ENOENT); that race is retried, anything else fails at once.
    std::error_code ec;
    for (int attempt = 0; attempt < 100; ++attempt) {
        stdfs::create_directories(path, ec);
        if (ec != std::errc::no_such_file_or_directory) {
            break;
        }
    }
    INFO(path.string() << ": " << ec.message());
    REQUIRE_FALSE(ec);
}

scratch_dir::~scratch_dir()
{
    std::error_code ec;
    // remove_all copes with read-only files, not with directories it cannot list or write.
    stdfs::permissions(path, stdfs::perms::owner_all, stdfs::perm_options::add, ec);
    for (auto it = stdfs::recursive_directory_iterator(path, ec);
         !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_directory(ec) && !it->is_symlink(ec)) {
            stdfs::permissions(it->path(), stdfs::perms::owner_all, stdfs::perm_options::add, ec);
        }
    }
    stdfs::remove_all(path, ec);
    ::rmdir(path.parent_path().c_str()); // The shared parent goes once the last test is done.
}

stdfs::path fresh_dir(std::string_view parent, std::string_view name)
{
    static std::atomic<int> counter{0};
    std::string leaf(name);
    leaf += '-';
    leaf += std::to_string(::getpid());
    leaf += '-';
    leaf += std::to_string(counter.fetch_add(1));
    const stdfs::path dir = stdfs::path(PKG_TEST_BINARY_DIR) / parent / leaf;
    stdfs::remove_all(dir);
    stdfs::create_directories(dir);
    return dir;
}

std::string read_text(const stdfs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    INFO("reading " << p.string());
    REQUIRE(in);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const stdfs::path& p, const std::string& text)
{
    std::ofstream out(p, std::ios::binary);
    out << text;
    out.close();
    INFO("writing " << p.string());
    REQUIRE(out);
}

bool path_exists(const stdfs::path& p)
{
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
}

bool wait_for_file(const stdfs::path& p)
{
    for (int i = 0; i < 30000; ++i) {
        if (path_exists(p)) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
}

} // namespace pkg::test
