// An install opens the cache, then takes the shared lock; a `cache clean` may run in between.
// Holding the shared lock must be enough to use the cache: the buckets are there again.

#include <filesystem>
#include <span>
#include <string>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "cache/cache.hpp"
#include "cache/gc.hpp"

namespace stdfs = std::filesystem;

TEST_CASE("cache: a clean between open and lock_shared leaves the install a usable cache",
          "[cache][gc]")
{
    const stdfs::path root = stdfs::path(PKG_TEST_BINARY_DIR) / "cache-lock-race" /
                             ("c-" + std::to_string(::getpid()));
    stdfs::remove_all(root);
    auto opened = pkg::cache::cache::open(root);
    REQUIRE(opened.has_value());
    const pkg::cache::cache& c = *opened;

    // The cleaner runs after open(): every bucket is gone.
    auto cleaned = pkg::cache::clean(c, std::span<const std::string>{});
    REQUIRE(cleaned.has_value());
    REQUIRE_FALSE(stdfs::exists(c.bucket("tmp")));
    REQUIRE_FALSE(stdfs::exists(c.bucket("archive-v1")));

    auto held = c.lock_shared(std::chrono::milliseconds(1000));
    REQUIRE(held.has_value());
    CHECK(stdfs::is_directory(c.bucket("tmp")));
    CHECK(stdfs::is_directory(c.bucket("archive-v1")));
    CHECK(stdfs::is_directory(c.bucket("wheels-v1")));
    auto staging = c.create_staging();
    CHECK(staging.has_value());
    stdfs::remove_all(root);
}
