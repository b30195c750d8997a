#include "summary.hpp"

#include <algorithm>
#include <cstdio>
#include <tuple>
#include <vector>

#include <fmt/core.h>

#include <pkg/engine/cache.hpp>

#include "exit_codes.hpp"
#include "json_report.hpp"

namespace pkg::cli {
namespace {

std::string packages(std::size_t n)
{
    return fmt::format("{} package{}", n, n == 1 ? "" : "s");
}

// One " + name==version" / " - name==version" / " ~ name==version" (reinstalled) line; sorted by
// name, a removal before the addition of another version.
struct change {
    std::string name;
    char sign;
    std::string version;
};

std::string change_lines(std::vector<change> changes)
{
    std::sort(changes.begin(), changes.end(), [](const change& a, const change& b) {
        // Signs compared in reverse: '-' (0x2d) > '+' (0x2b), so a removal comes first.
        return std::tie(a.name, b.sign) < std::tie(b.name, a.sign);
    });
    std::string out;
    for (const auto& c : changes) {
        out += fmt::format(" {} {}=={}\n", c.sign, c.name, c.version);
    }
    return out;
}

}  // namespace

std::string format_duration(std::chrono::milliseconds elapsed)
{
    const auto ms = elapsed.count();
    if (ms < 1000) {
        return fmt::format("{} ms", ms);
    }
    if (ms < 60'000) {
        return fmt::format("{:.2f} s", static_cast<double>(ms) / 1000.0);
    }
    return fmt::format("{} min {} s", ms / 60'000, (ms % 60'000) / 1000);
}

std::string install_summary(const pkg::install_report& report, bool is_verbose)
{
    std::string out;
    if (is_verbose) {
        for (const auto& skipped : report.skipped) {
            out += fmt::format("Skipped {} (its markers do not apply to this environment)\n",
                               skipped);
        }
    }
    const std::size_t added = report.installed.size() + report.replaced.size();
    const std::size_t removed = report.removed.size();
    if (added == 0 && removed == 0) {
        out += fmt::format("Nothing to do: {} already installed\n",
                           packages(report.unchanged.size()));
        return out;
    }
    std::vector<change> changes;
    std::size_t downloaded = 0;
    for (const auto& p : report.installed) {
        changes.push_back({p.name, '+', p.version});
        downloaded += p.source == pkg::package_source::network ? 1 : 0;
    }
    for (const auto& p : report.replaced) {
        if (p.previous_version == p.version) {
            changes.push_back({p.name, '~', p.version});  // reinstalled, same version
        } else {
            changes.push_back({p.name, '+', p.version});
            if (!p.previous_version.empty()) {
                changes.push_back({p.name, '-', p.previous_version});
            }
        }
        downloaded += p.source == pkg::package_source::network ? 1 : 0;
    }
    for (const auto& p : report.removed) {
        changes.push_back({p.name, '-', p.version});
    }
    if (report.is_dry_run) {
        if (added > 0) {
            out += fmt::format("Would install {}\n", packages(added));
        }
        if (removed > 0) {
            out += fmt::format("Would remove {}\n", packages(removed));
        }
        out += change_lines(std::move(changes));
        out += "Dry run: nothing was changed\n";
        return out;
    }
    if (downloaded > 0 || report.downloaded_bytes > 0) {
        out += fmt::format("Downloaded {} ({}) in {}\n", packages(downloaded),
                           pkg::format_bytes(report.downloaded_bytes),
                           format_duration(report.fetch_time));
    }
    if (added > 0) {
        out += fmt::format("Installed {} in {}\n", packages(added), format_duration(report.elapsed));
    }
    if (removed > 0) {
        out += fmt::format("Removed {}{}\n", packages(removed),
                           added > 0 ? std::string{} : " in " + format_duration(report.elapsed));
    }
    out += change_lines(std::move(changes));
    return out;
}

std::string uninstall_summary(const pkg::uninstall_report& report, bool is_dry_run,
                              std::chrono::milliseconds elapsed)
{
    std::vector<change> changes;
    for (const auto& p : report.removed) {
        changes.push_back({p.name, '-', p.version});
    }
    std::string out = is_dry_run
                          ? fmt::format("Would uninstall {}\n", packages(report.removed.size()))
                          : fmt::format("Uninstalled {} in {}\n", packages(report.removed.size()),
                                        format_duration(elapsed));
    out += change_lines(std::move(changes));
    if (is_dry_run) {
        out += "Dry run: nothing was changed\n";
    }
    return out;
}

void print_warnings(const std::vector<std::string>& warnings)
{
    for (const auto& w : warnings) {
        fmt::print(stderr, "warning: {}\n", w);
    }
}

void print_error(const pkg::error& e)
{
    std::string text = "error: " + (e.message.empty() ? e.code.message() : e.message) + "\n";
    if (!e.where.empty()) {
        text += "  where: " + e.where + "\n";
    }
    if (!e.hint.empty()) {
        text += "  hint: " + e.hint + "\n";
    }
    std::fputs(text.c_str(), stderr);
    std::fflush(stderr);
}

int report_failure(std::string_view command, const pkg::error& e, int signal_number, bool is_json)
{
    if (is_json) {
        fmt::print("{}", error_json(command, e));
        std::fflush(stdout);
    }
    print_error(e);
    if (signal_number != 0 && e.code == std::errc::operation_canceled) {
        return exit_code::cancelled_by(signal_number);
    }
    return exit_code::failure;
}

}  // namespace pkg::cli
