#include "session/seed.hpp"

#include <cstdlib>
#include <map>
#include <system_error>

#include <fmt/core.h>

#include <pkg/engine/errc.hpp>
#include <pkg/engine/install.hpp>

#include "fs/atomic_file.hpp"
#include "fs/remove_tree.hpp"
#include "wheel/wheel_filename.hpp"

namespace pkg::session {

namespace fs = std::filesystem;

namespace {

/// The seed projects for this interpreter, in install order.
std::vector<std::string> seed_projects(const python::interpreter_facts& facts)
{
    // Before 3.12 `python -m venv` also installs setuptools; 3.12 dropped it.
    if (facts.version.major == 3 && facts.version.minor < 12) {
        return {"pip", "setuptools"};
    }
    return {"pip"};
}

/// The newest-looking wheel per seed project in `dir` (by filename; one per project is normal).
std::map<std::string, wheel::wheel_filename> seed_wheels_in(const fs::path& dir,
                                                          const std::vector<std::string>& projects)
{
    std::map<std::string, wheel::wheel_filename> found;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        auto parsed = wheel::wheel_filename::parse(it->path().filename().string());
        if (!parsed) {
            continue;
        }
        for (const auto& project : projects) {
            if (parsed->normalized_name != project) {
                continue;
            }
            auto [slot, is_new] = found.try_emplace(project, *parsed);
            if (!is_new && slot->second.version < parsed->version) {
                slot->second = *parsed;
            }
        }
    }
    return found;
}

}  // namespace

std::optional<fs::path> find_seed_wheels(const python::interpreter_facts& facts,
                                         const fs::path& share_dir)
{
    const fs::path bundled = facts.base_prefix / "lib" /
                             fmt::format("python{}.{}", facts.version.major, facts.version.minor) /
                             "ensurepip" / "_bundled";
    for (const auto& dir : {bundled, share_dir}) {
        if (seed_wheels_in(dir, {"pip"}).contains("pip")) {
            return dir;
        }
    }
    return std::nullopt;
}

result<std::vector<std::string>>
seed_environment(const fs::path& venv_python, const python::interpreter_facts& facts,
                 const fs::path& wheel_dir, const fs::path& cache_dir,
                 const std::function<std::optional<std::string>(std::string_view)>& getenv)
{
    const auto projects = seed_projects(facts);
    const auto wheels = seed_wheels_in(wheel_dir, projects);
    if (!wheels.contains("pip")) {
        return fail(errc::unsupported, "no pip wheel to seed the environment with",
                    wheel_dir.string(),
                    "create the environment without --seed, then pkg install pip from a lockfile");
    }

    // The seed lockfile lives in a private temporary directory, removed whatever happens.
    std::string pattern = (fs::temp_directory_path() / "pkg-seed.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        return fail(system_error(errno, "mkdtemp", pattern));
    }
    const fs::path temp = pattern;
    struct remove_on_exit {
        fs::path dir;
        ~remove_on_exit() { (void)io::remove_tree(dir); }
    } guard{temp};

    std::string lock;
    std::vector<std::string> lines;
    for (const auto& project : projects) {
        if (auto it = wheels.find(project); it != wheels.end()) {
            lines.push_back(fmt::format("{}=={}", project, it->second.version.to_string()));
            lock += lines.back() + "\n";
        }
    }
    const fs::path lockfile = temp / "seed.txt";
    if (auto written = io::atomic_write_file(lockfile, lock); !written) {
        return fail(written.error());
    }

    install_options options;
    options.python = venv_python.string();
    options.requirements = {lockfile};
    options.index.find_links = {wheel_dir.string()};
    options.index.no_index = true;
    options.getenv = getenv;
    options.cache.getenv = getenv;
    if (cache_dir.empty()) {
        options.no_cache = true;
    } else {
        options.cache.cache_dir = cache_dir.string();
    }
    auto report = install(options);
    if (!report) {
        return fail(report.error());
    }
    return lines;
}

}  // namespace pkg::session
