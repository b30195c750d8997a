#include "cache/digest.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

namespace pkg::cache {

std::string sha256_hex(std::string_view bytes)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) !=
        1) {
        // Only an OpenSSL without SHA-256 (a broken installation) gets here: not an input problem.
        throw std::runtime_error("OpenSSL EVP_Digest(sha256) failed");
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::size_t{length} * 2);
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0x0f];
    }
    return out;
}

bool is_sha256_hex(std::string_view text) noexcept
{
    if (text.size() != 64) {
        return false;
    }
    for (char ch : text) {
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
            return false;
        }
    }
    return true;
}

}  // namespace pkg::cache
