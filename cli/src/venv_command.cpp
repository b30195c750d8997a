#include "venv_command.hpp"

#include <cstdio>

#include <fmt/core.h>

#include <pkg/engine/errc.hpp>
#include <pkg/engine/venv.hpp>

#include "exit_codes.hpp"

namespace pkg::cli {
namespace {

// `path` as a shell word the user can paste: single-quoted unless it is plain.
std::string shell_word(const std::string& path)
{
    if (!path.empty() && path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                "0123456789-_./+,@%:=") == std::string::npos) {
        return path;
    }
    std::string out = "'";
    for (char c : path) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

}  // namespace

venv_command::venv_command(CLI::App& app)
    : sub_(app.add_subcommand("venv", "Create a virtual environment"))
{
    sub_->add_option("path", path_, "Where to create it")->capture_default_str();
    sub_->add_option("-p,--python", python_,
                     "Base interpreter: a path, a program on PATH (python3.11) or a version "
                     "(3.11); default: python3 on PATH");
    sub_->add_flag("--clear", clear_, "Replace an existing virtual environment at PATH");
    sub_->add_option("--prompt", prompt_, "Prompt prefix shown while it is active");
    sub_->add_flag("--seed", seed_, "Install pip (and setuptools before Python 3.12) into it, from the interpreter's bundled wheels");
}

bool venv_command::is_selected() const { return sub_->parsed(); }

int venv_command::run(const std::vector<std::string>& argv) const
{
    pkg::venv_options options;
    options.path = path_;
    options.python = python_;
    options.prompt = prompt_;
    options.clear = clear_;
    options.seed = seed_;
    options.command = argv;
    const auto report = pkg::create_venv(options);
    if (!report) {
        fmt::print(stderr, "pkg venv: error: {}\n", report.error().to_string());
        return report.error().code == pkg::errc::unsupported ? exit_code::not_implemented
                                                             : exit_code::failure;
    }
    fmt::print(stderr,
               "{} virtual environment at {}\nPython {} ({})\nActivate with: . {}\n",
               report->is_replaced ? "Replaced" : "Created", report->path.string(),
               report->python_version, report->base_executable.string(),
               shell_word(path_ + "/bin/activate"));
    for (const auto& line : report->seeded) {
        fmt::print(stderr, "Seeded {}\n", line);
    }
    return exit_code::success;
}

}  // namespace pkg::cli
