#include "uninstall_command.hpp"

#include <chrono>
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

uninstall_command::uninstall_command(CLI::App& app, const std::string& cache_dir)
    : sub_(app.add_subcommand("uninstall", "Remove installed packages")), cache_dir_(cache_dir)
{
    sub_->fallthrough();
    sub_->add_option("names", names_, "Project names (any spelling: Foo_Bar, foo-bar)")
        ->required()
        ->type_name("NAME");
    flags_.register_on(*sub_, true);
    sub_->add_flag("--dry-run", dry_run_, "Say what would be removed, remove nothing")
        ->envname("PKG_DRY_RUN");
    sub_->add_flag("-y,--yes", is_yes_, "Accepted for pip compatibility: pkg never asks");
}

bool uninstall_command::is_selected() const { return sub_->parsed(); }

int uninstall_command::run() const
{
    pkg::uninstall_options options;
    static_cast<pkg::environment_options&>(options) = flags_.to_options(cache_dir_);
    options.names = names_;
    options.dry_run = dry_run_;
    const output_flags& output = flags_.output;
    progress_display display(choose_progress_style(output), output.is_verbose);
    options.on_progress = [&display](const pkg::progress_event& e) { display.on_event(e); };

    const auto started = std::chrono::steady_clock::now();
    auto [report, signal_number] = run_interruptible<pkg::uninstall_report>(
        [&options](std::function<void(pkg::result<pkg::uninstall_report>)> on_done) {
            return pkg::async_uninstall(std::move(options), std::move(on_done));
        },
        display);
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    display.clear();
    if (!report) {
        return report_failure("uninstall", report.error(), signal_number, output.is_json);
    }
    if (output.is_json) {
        fmt::print("{}", uninstall_report_json(*report, dry_run_, elapsed));
        std::fflush(stdout);
    }
    if (!output.is_json) {
        // Warnings are shown also with -q (as pip and uv do): they say something went
        // differently than asked.
        print_warnings(report->warnings);
    }
    if (!output.is_quiet && !output.is_json) {
        std::fputs(uninstall_summary(*report, dry_run_, elapsed).c_str(), stderr);
    }
    return exit_code::success;
}

}  // namespace pkg::cli
