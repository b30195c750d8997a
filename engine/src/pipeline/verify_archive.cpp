#include "pipeline/verify_archive.hpp"

#include <array>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <pkg/engine/errc.hpp>

#include "pipeline/record.hpp"

namespace pkg::pipeline {

result<cache::archive_manifest> verify_archive(const std::filesystem::path& dir)
{
    auto manifest = cache::read_manifest(dir);
    if (!manifest) {
        return fail(manifest.error());
    }
    auto corrupt = [&dir](std::string message) {
        return fail(errc::corrupt_cache_entry, std::move(message), dir.string());
    };
    std::set<std::string> expected;
    for (const cache::manifest_file& file : manifest->files) {
        expected.insert(file.path);
        const std::filesystem::path path = dir / file.path;
        struct ::stat st {};
        if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
            return corrupt(fmt::format("'{}' is missing or not a regular file", file.path));
        }
        if (static_cast<std::uint64_t>(st.st_size) != file.size_bytes) {
            return corrupt(fmt::format("'{}' has {} bytes, the manifest says {}", file.path,
                                       st.st_size, file.size_bytes));
        }
        if (((st.st_mode & S_IXUSR) != 0) != file.is_executable) {
            return corrupt(fmt::format("'{}' has mode {:o}, the manifest says {}", file.path,
                                       st.st_mode & 07777,
                                       file.is_executable ? "executable" : "not executable"));
        }
        if (file.hash.empty()) {
            continue;
        }
        std::ifstream in(path, std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(in),
                                std::istreambuf_iterator<char>()};
        std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
        unsigned int length = 0;
        if (!in.good() && !in.eof()) {
            return corrupt(fmt::format("'{}' cannot be read", file.path));
        }
        if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) !=
            1) {
            throw std::runtime_error("OpenSSL EVP_Digest(sha256) failed");
        }
        const std::string got = base64_urlsafe_nopad(
            std::string_view(reinterpret_cast<const char*>(digest.data()), length));
        if (got != file.hash) {
            return corrupt(
                fmt::format("'{}' hashes to {}, the manifest says {}", file.path, got, file.hash));
        }
    }
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_directory(ec)) {
            continue;
        }
        const std::string relative = it->path().lexically_relative(dir).generic_string();
        if (relative != cache::manifest_file_name && !expected.contains(relative)) {
            return corrupt(fmt::format("'{}' is in the tree but not in the manifest", relative));
        }
    }
    if (ec) {
        return fail(system_error(ec.value(), "list", dir.string()));
    }
    return manifest;
}

} // namespace pkg::pipeline
