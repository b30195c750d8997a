#include "install_command.hpp"

#include <cstdio>
#include <utility>

#include <fmt/core.h>

#include <pkg/engine/install.hpp>

#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "json_report.hpp"
#include "progress.hpp"
#include "summary.hpp"

namespace pkg::cli {

install_command::install_command(CLI::App& app, const std::string& cache_dir, bool is_sync)
    : sub_(app.add_subcommand(
          is_sync ? "sync" : "install",
          is_sync ? "Make an environment hold exactly the packages of lockfiles (removes the rest, "
                    "except pip, setuptools and wheel)"
                  : "Install the pinned packages of lockfiles (-r FILE) into an environment")),
      cache_dir_(cache_dir),
      is_sync_(is_sync)
{
    // Global options such as --cache-dir may also follow the subcommand.
    sub_->fallthrough();
    flags_.register_on(*sub_, is_sync);
}

bool install_command::is_selected() const { return sub_->parsed(); }

int install_command::run() const
{
    const std::string command = is_sync_ ? "sync" : "install";
    auto options = flags_.to_options(cache_dir_, is_sync_);
    if (!options) {
        print_error(options.error());
        return exit_code::usage;
    }
    const output_flags& output = flags_.output;
    progress_display display(choose_progress_style(output), output.is_verbose);
    options->on_progress = [&display](const pkg::progress_event& e) { display.on_event(e); };

    auto [report, signal_number] = run_interruptible<pkg::install_report>(
        [&options](std::function<void(pkg::result<pkg::install_report>)> on_done) {
            return pkg::async_install(std::move(*options), std::move(on_done));
        },
        display);
    display.clear();
    if (!report) {
        return report_failure(command, report.error(), signal_number, output.is_json);
    }
    if (output.is_json) {
        fmt::print("{}", install_report_json(command, *report));
        std::fflush(stdout);
    }
    if (!output.is_json) {
        // Warnings are shown also with -q (as pip and uv do): they say something went
        // differently than asked.
        print_warnings(report->warnings);
    }
    if (!output.is_quiet && !output.is_json) {
        std::fputs(install_summary(*report, output.is_verbose).c_str(), stderr);
    }
    return exit_code::success;
}

}  // namespace pkg::cli
