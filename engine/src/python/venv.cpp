#include <pkg/engine/venv.hpp>

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_EXCHANGE (glibc >= 2.28)
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>

#include <fmt/core.h>

#include <pkg/engine/errc.hpp>

#include "fs/atomic_file.hpp"
#include "fs/publish.hpp"
#include "fs/remove_tree.hpp"
#include "python/activate_scripts.hpp"
#include "python/interpreter.hpp"
#include "session/seed.hpp"

namespace pkg {
namespace {

namespace fs = std::filesystem;

// What is at the target name now, and so how the finished tree is put there.
enum class target_kind {
    missing,         // publish with RENAME_NOREPLACE
    empty_directory, // rename(2) replaces an empty directory in one step
    venv,            // exchange with the old tree (clear), then delete the old one
};

result<target_kind> inspect_target(const fs::path& target, bool clear)
{
    struct stat st {};
    if (::lstat(target.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return target_kind::missing;
        }
        return fail(system_error(errno, "lstat", target.string()));
    }
    if (!S_ISDIR(st.st_mode)) {
        return fail(errc::venv_target_not_empty,
                    S_ISLNK(st.st_mode) ? "a symlink is in the way of the environment"
                                        : "a file is in the way of the environment",
                    target.string(), "choose another path or remove it yourself");
    }
    struct stat cfg {};
    if (::lstat((target / "pyvenv.cfg").c_str(), &cfg) == 0 && S_ISREG(cfg.st_mode)) {
        if (!clear) {
            return fail(errc::venv_exists, "a virtual environment is already there",
                        target.string(), "pass --clear to replace it");
        }
        return target_kind::venv;
    }
    std::error_code ec;
    const bool is_empty = fs::is_empty(target, ec);
    if (ec) {
        return fail(system_error(ec.value(), "read directory", target.string()));
    }
    if (!is_empty) {
        return fail(errc::venv_target_not_empty,
                    "the directory is not empty and is not a virtual environment (no pyvenv.cfg)",
                    target.string(),
                    "pkg never deletes it, not even with --clear: choose another path");
    }
    return target_kind::empty_directory;
}

result<void> make_directories(const fs::path& dir)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return fail(system_error(ec.value(), "mkdir", dir.string()));
    }
    return {};
}

result<void> make_symlink(const fs::path& target_text, const fs::path& link)
{
    if (::symlink(target_text.c_str(), link.c_str()) != 0) {
        return fail(system_error(errno, "symlink", link.string()));
    }
    return {};
}

// `command = …` of pyvenv.cfg: the words joined by spaces, quoted where a shell would need it.
std::string command_line(const std::vector<std::string>& words)
{
    std::string out;
    for (const auto& w : words) {
        if (!out.empty()) {
            out += ' ';
        }
        const bool is_plain =
            !w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789-_./=:+,@%") == std::string::npos;
        out += is_plain ? w : python::sh_quote(w);
    }
    // A line break would end the value early in this line-based format.
    for (char& c : out) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    return out;
}

struct layout_plan {
    fs::path target;    // where the environment will live (written into its files)
    fs::path base;      // resolved base interpreter
    const python::interpreter_facts* facts = nullptr;
    std::string prompt;
    bool is_prompt_explicit = false;
    std::string command;
};

// Builds the whole environment under `root`, with every recorded path naming `plan.target`.
result<void> build_tree(const fs::path& root, const layout_plan& plan)
{
    const auto& f = *plan.facts;
    if (::mkdir(root.c_str(), 0777) != 0) {
        return fail(system_error(errno, "mkdir", root.string()));
    }
    const auto& layout = f.venv_layout;
    const fs::path scripts = layout.scripts.empty() ? fs::path("bin") : layout.scripts;
    for (const fs::path& rel : {scripts, layout.purelib, layout.platlib, layout.include}) {
        if (rel.empty() || rel == ".") {
            continue;
        }
        if (auto made = make_directories(root / rel); !made) {
            return made;
        }
    }
    // venv links lib64 to lib on 64-bit POSIX systems other than macOS, for tools that look
    // for site-packages under lib64.
    if (f.pointer_bits == 64 && f.markers.os_name == "posix" && f.sys_platform != "darwin") {
        struct stat st {};
        if (::lstat((root / "lib64").c_str(), &st) != 0) {
            if (auto linked = make_symlink("lib", root / "lib64"); !linked) {
                return linked;
            }
        }
    }
    std::set<std::string> names{"python", "python3",
                                fmt::format("python{}.{}", f.version.major, f.version.minor)};
    for (const auto& name : names) {
        if (auto linked = make_symlink(plan.base, root / scripts / name); !linked) {
            return linked;
        }
    }

    std::string cfg = fmt::format(
        "home = {}\ninclude-system-site-packages = false\nversion = {}.{}.{}\nexecutable = {}\n"
        "command = {}\n",
        plan.base.parent_path().string(), f.version.major, f.version.minor, f.version.micro,
        plan.base.string(), plan.command);
    if (plan.is_prompt_explicit) {
        cfg += fmt::format("prompt = {}\n", plan.prompt);
    }
    const io::atomic_write_options text_mode{0644, false};
    if (auto written = io::atomic_write_file(root / "pyvenv.cfg", cfg, text_mode); !written) {
        return written;
    }
    if (auto written = io::atomic_write_file(
            root / scripts / "activate", python::posix_activate_script(plan.target, plan.prompt),
            text_mode);
        !written) {
        return written;
    }
    return io::atomic_write_file(root / scripts / "activate.fish",
                                 python::fish_activate_script(plan.target, plan.prompt),
                                 text_mode);
}

// Puts the finished `staging` tree at `target`.
result<bool> commit(const fs::path& staging, const fs::path& target, target_kind kind)
{
    switch (kind) {
    case target_kind::missing: {
        auto published = io::publish_directory(staging, target);
        if (!published) {
            return fail(published.error());
        }
        if (published->is_published_by_other) {
            return fail(errc::venv_exists,
                        "another process created this path while the environment was being built",
                        target.string(), "run again with --clear to replace it");
        }
        return false;
    }
    case target_kind::empty_directory:
        if (::rename(staging.c_str(), target.c_str()) != 0) {
            const int saved = errno;
            (void)io::remove_tree(staging);
            if (saved == ENOTEMPTY || saved == EEXIST) {
                return fail(errc::venv_target_not_empty,
                            "the directory stopped being empty while the environment was built",
                            target.string(), "choose another path");
            }
            return fail(system_error(saved, "rename into place", target.string()));
        }
        return false;
    case target_kind::venv: {
        // One step: the new tree takes the name, the old one takes the staging name.
        if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) ==
            0) {
            if (auto removed = io::remove_tree(staging); !removed) {
                return fail(removed.error().with_context("removing the replaced environment"));
            }
            return true;
        }
        const int saved = errno;
        if (saved != EINVAL && saved != ENOSYS) {
            (void)io::remove_tree(staging);
            return fail(system_error(saved, "renameat2 RENAME_EXCHANGE", target.string()));
        }
        // No exchange on this filesystem: move the old tree aside, then the new one in. Between
        // the two renames the name is briefly missing, never half-made.
        const fs::path aside =
            target.parent_path() / io::unique_sibling_name(target.filename().string(), "removing");
        if (::rename(target.c_str(), aside.c_str()) != 0) {
            const int err = errno;
            (void)io::remove_tree(staging);
            return fail(system_error(err, "rename aside", target.string()));
        }
        if (::rename(staging.c_str(), target.c_str()) != 0) {
            const int err = errno;
            (void)::rename(aside.c_str(), target.c_str());  // put the old one back
            (void)io::remove_tree(staging);
            return fail(system_error(err, "rename into place", target.string()));
        }
        if (auto removed = io::remove_tree(aside); !removed) {
            return fail(removed.error().with_context("removing the replaced environment"));
        }
        return true;
    }
    }
    return false;
}

}  // namespace

result<venv_report> create_venv(const venv_options& options)
{
    fs::path cwd = options.cwd;
    if (cwd.empty()) {
        std::error_code ec;
        cwd = fs::current_path(ec);
        if (ec) {
            return fail(system_error(ec.value(), "getcwd", "."));
        }
    }
    if (options.path.empty()) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "no path given for the virtual environment");
    }
    fs::path target = (options.path.is_absolute() ? options.path : cwd / options.path)
                          .lexically_normal();
    if (!target.has_filename()) {
        target = target.parent_path();  // "env/" → "env"
    }
    if (target == target.root_path() || target.filename() == "..") {
        return fail(errc::venv_target_not_empty, "not a usable place for an environment",
                    target.string(), "name a new directory");
    }
    // Fail early on an occupied target, before spending time on the interpreter.
    auto kind = inspect_target(target, options.clear);
    if (!kind) {
        return fail(kind.error());
    }

    python::discovery_options discovery;
    discovery.is_environment_allowed = false;
    auto location =
        python::find_interpreter(options.python, {options.getenv, cwd}, discovery);
    if (!location) {
        return fail(location.error());
    }
    python::query_options query;
    query.cache_bucket = options.interpreter_cache;
    auto info = python::query_interpreter(location->executable, query);
    if (!info) {
        return fail(info.error());
    }
    const auto& facts = info->facts;
    if (facts.markers.os_name != "posix") {
        return fail(errc::unsupported,
                    fmt::format("only POSIX layouts are made so far; this interpreter reports "
                                "os.name \"{}\"",
                                facts.markers.os_name),
                    location->executable.string());
    }

    // The interpreter's own word for what it is: a pyenv shim or wrapper script found on PATH
    // resolves to itself, but sys.executable names the real binary. An active environment's
    // python (found on PATH) is traced back to the interpreter it was made from:
    // environments are never stacked.
    const fs::path& named = facts.is_virtual_environment() ? facts.base_executable
                                                           : facts.executable;
    fs::path base = info->resolved;
    if (!named.empty()) {
        char* resolved = ::realpath(named.c_str(), nullptr);
        if (resolved == nullptr) {
            return fail(errc::interpreter_not_found,
                        fmt::format("the interpreter reports its executable as {}, which does "
                                    "not resolve",
                                    named.string()),
                        location->executable.string(), "pass --python with another interpreter");
        }
        base = resolved;
        std::free(resolved);  // NOLINT: realpath allocates with malloc
    }

    layout_plan plan;
    plan.target = target;
    plan.base = base;
    plan.facts = &facts;
    plan.is_prompt_explicit = options.prompt.has_value();
    plan.prompt = options.prompt.value_or(target.filename().string());
    plan.command = command_line(options.command.empty()
                                    ? std::vector<std::string>{"pkg", "venv", target.string()}
                                    : options.command);

    // Seeding needs wheels: find them before building anything, so a missing pip wheel costs
    // nothing.
    std::optional<fs::path> seed_wheels;
    if (options.seed) {
        seed_wheels = session::find_seed_wheels(facts);
        if (!seed_wheels) {
            return fail(errc::unsupported,
                        "--seed: this interpreter bundles no pip wheel for ensurepip, and "
                        "/usr/share/python-wheels has none",
                        location->executable.string(),
                        "create the environment without --seed and install pip from a lockfile "
                        "with pkg install");
        }
    }

    if (auto made = make_directories(target.parent_path()); !made) {
        return fail(made.error());
    }
    const fs::path staging =
        target.parent_path() / io::unique_sibling_name(target.filename().string(), "tmp");
    if (auto built = build_tree(staging, plan); !built) {
        (void)io::remove_tree(staging);
        return fail(built.error());
    }
    auto replaced = commit(staging, target, *kind);
    if (!replaced) {
        return fail(replaced.error());
    }

    venv_report report;
    report.path = target;
    report.python_version = facts.version.to_string();
    report.base_executable = base;
    report.python = target / (facts.venv_layout.scripts.empty() ? fs::path("bin")
                                                                 : facts.venv_layout.scripts) /
                    "python";
    report.is_replaced = *replaced;
    if (seed_wheels) {
        // The environment must exist before installing into it (launchers name its python).
        // A failed seed removes the new environment again: no half-made result stays.
        auto seeded = session::seed_environment(
            report.python, facts, *seed_wheels,
            options.interpreter_cache.empty() ? fs::path{} : options.interpreter_cache.parent_path(),
            options.getenv);
        if (!seeded) {
            (void)io::remove_tree(target);
            return fail(seeded.error());
        }
        report.seeded = std::move(*seeded);
    }
    return report;
}

}  // namespace pkg
