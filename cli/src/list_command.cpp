#include "list_command.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include <pkg/engine/install.hpp>

#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "json_report.hpp"
#include "progress.hpp"
#include "summary.hpp"

namespace pkg::cli {
namespace {

// pip's `list` table: left-aligned columns one space apart, a dashed rule under the header.
std::string columns(const std::vector<pkg::installed_package>& packages, bool with_installer)
{
    if (packages.empty()) {
        return {};
    }
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"Package", "Version"});
    if (with_installer) {
        rows.back().emplace_back("Installer");
    }
    for (const auto& p : packages) {
        rows.push_back({p.name, p.version});
        if (with_installer) {
            rows.back().push_back(p.installer);
        }
    }
    std::vector<std::size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            widths[i] = std::max(widths[i], row[i].size());
        }
    }
    std::vector<std::string> rule;
    for (const auto w : widths) {
        rule.emplace_back(w, '-');
    }
    rows.insert(rows.begin() + 1, rule);
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += i == 0 ? "" : " ";
            line += row[i];
            line.append(widths[i] - row[i].size(), ' ');
        }
        line.erase(line.find_last_not_of(' ') + 1);
        out += line + "\n";
    }
    return out;
}

std::string freeze_lines(const std::vector<pkg::installed_package>& packages)
{
    std::string out;
    for (const auto& p : packages) {
        out += p.name + "==" + p.version + "\n";
    }
    return out;
}

}  // namespace

list_command::list_command(CLI::App& app, const std::string& cache_dir)
    : list_(app.add_subcommand("list", "List the packages installed in an environment")),
      freeze_(app.add_subcommand(
          "freeze", "Print the installed packages as name==version lines (pip freeze --all)")),
      cache_dir_(cache_dir)
{
    list_->fallthrough();
    freeze_->fallthrough();
    list_flags_.register_on(*list_, true);
    list_->add_option("--format", format_, "columns (default), freeze, or json (as --json)")
        ->check(CLI::IsMember({"columns", "freeze", "json"}))
        ->envname("PKG_LIST_FORMAT");
    freeze_flags_.register_on(*freeze_, false);
}

bool list_command::is_selected() const { return list_->parsed() || freeze_->parsed(); }

int list_command::run() const
{
    const bool is_freeze = freeze_->parsed();
    const environment_flags& flags = is_freeze ? freeze_flags_ : list_flags_;
    const std::string format = is_freeze ? "freeze" : (flags.output.is_json ? "json" : format_);
    pkg::environment_options options = flags.to_options(cache_dir_);
    progress_display display(progress_style::none, false);

    auto [listing, signal_number] = run_interruptible<pkg::environment_listing>(
        [&options](std::function<void(pkg::result<pkg::environment_listing>)> on_done) {
            return pkg::async_list(std::move(options), std::move(on_done));
        },
        display);
    if (!listing) {
        return report_failure(is_freeze ? "freeze" : "list", listing.error(), signal_number,
                              format == "json");
    }
    auto packages = listing->packages;
    std::sort(packages.begin(), packages.end(), [](const auto& a, const auto& b) {
        return a.normalized_name < b.normalized_name;
    });
    if (format == "json") {
        auto sorted = *listing;
        sorted.packages = std::move(packages);
        fmt::print("{}", listing_json(sorted));
    } else if (format == "freeze") {
        fmt::print("{}", freeze_lines(packages));
    } else {
        fmt::print("{}", columns(packages, flags.output.is_verbose));
    }
    std::fflush(stdout);
    return exit_code::success;
}

}  // namespace pkg::cli
