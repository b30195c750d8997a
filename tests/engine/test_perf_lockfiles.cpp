// The benchmark's lockfiles (perf/lockfiles/*.txt, real pip-compile output with hashes) must parse:
// they are the shapes pkg meets most.

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "lockfile/requirements_txt.hpp"

namespace fs = std::filesystem;

TEST_CASE("perf lockfiles: every pin of every compiled lockfile parses, with its hashes",
          "[requirements]")
{
    const fs::path dir = fs::path(PKG_TEST_SOURCE_DIR) / ".." / "perf" / "lockfiles";
    int files = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".txt" || entry.path().stem() == "build-constraints") {
            continue;
        }
        ++files;
        INFO(entry.path().string());

        // Count the pins the way a reader would: lines that start with a name and carry "==".
        std::ifstream in(entry.path());
        std::string line;
        std::size_t pins = 0;
        while (std::getline(in, line)) {
            if (!line.empty() && std::isalnum(static_cast<unsigned char>(line[0])) &&
                line.find("==") != std::string::npos) {
                ++pins;
            }
        }

        auto parsed = pkg::lockfile::parse_requirements_file(entry.path());
        REQUIRE(parsed.has_value());
        CHECK(parsed->requirements.size() == pins);
        for (const auto& r : parsed->requirements) {
            INFO(r.requirement.to_string());
            CHECK_FALSE(r.hashes.empty());
            CHECK(r.hashes.front().algorithm == "sha256");
            CHECK(r.hashes.front().digest.size() == 64);
            REQUIRE(r.requirement.specifiers.clauses().size() == 1);
            CHECK(r.requirement.specifiers.clauses()[0].oper() == pkg::pep440::op::equal);
        }
    }
    CHECK(files >= 5);
}
