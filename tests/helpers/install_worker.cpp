// A process for the crash tests of engine/src/install (tests/engine/test_install_wheel.cpp):
// installs and uninstalls one archive into an environment over and over until it is killed.
//
//   install_worker <archive_dir> <ready_file> <prefix> <purelib> <platlib> <scripts> <data>
//                  <include> <python>
//
// Each round scans site-packages: if the archive's project is installed it is uninstalled,
// otherwise installed (file index rebuilt from the RECORDs each time, as a new process would).
// After the first round it creates <ready_file>. Exit 1 (with the error on stderr) when an
// operation fails, 2 on usage errors; it never exits 0 (the test kills it).

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "cache/manifest.hpp"
#include "install/install_wheel.hpp"

int main(int argc, char** argv)
{
    if (argc != 10) {
        std::fprintf(stderr, "usage: install_worker <archive_dir> <ready_file> <prefix> <purelib> "
                             "<platlib> <scripts> <data> <include> <python>\n");
        return 2;
    }
    const std::filesystem::path archive = argv[1];
    const std::filesystem::path ready = argv[2];
    pkg::installer::target_scheme scheme;
    scheme.prefix = argv[3];
    scheme.purelib = argv[4];
    scheme.platlib = argv[5];
    scheme.scripts = argv[6];
    scheme.data = argv[7];
    scheme.include = argv[8];
    scheme.python = argv[9];
    auto manifest = pkg::cache::read_manifest(archive);
    if (!manifest) {
        std::fprintf(stderr, "%s\n", manifest.error().to_string().c_str());
        return 1;
    }
    pkg::installer::install_request request;
    request.archive_dir = archive;
    request.manifest = std::make_shared<const pkg::cache::archive_manifest>(std::move(*manifest));
    pkg::installer::linker links(pkg::link_mode::hardlink);
    for (bool is_first = true;; is_first = false) {
        auto dists = pkg::installer::scan_site_packages({scheme.purelib, scheme.platlib});
        if (!dists) {
            std::fprintf(stderr, "scan: %s\n", dists.error().to_string().c_str());
            return 1;
        }
        const pkg::installer::installed_dist* mine = nullptr;
        for (const auto& d : *dists) {
            if (d.normalized_name == request.manifest->name) {
                mine = &d;
            }
        }
        if (mine != nullptr) {
            if (auto out = pkg::installer::uninstall_dist(*mine, scheme); !out) {
                std::fprintf(stderr, "uninstall: %s\n", out.error().to_string().c_str());
                return 1;
            }
        } else {
            auto owners = pkg::installer::file_owners::build(*dists);
            if (!owners) {
                std::fprintf(stderr, "owners: %s\n", owners.error().to_string().c_str());
                return 1;
            }
            if (auto out = pkg::installer::install_wheel(request, scheme, links, *owners); !out) {
                std::fprintf(stderr, "install: %s\n", out.error().to_string().c_str());
                return 1;
            }
        }
        if (is_first) {
            std::ofstream(ready) << "ready\n";
        }
    }
}
