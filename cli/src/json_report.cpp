#include "json_report.hpp"

#include <cstdint>
#include <vector>

#include "json_writer.hpp"

namespace pkg::cli {
namespace {

std::uint64_t ms(std::chrono::milliseconds d)
{
    return d.count() < 0 ? 0 : static_cast<std::uint64_t>(d.count());
}

void packages(json_writer& json, std::string_view key, const std::vector<pkg::package_report>& list)
{
    json.key(key).begin_array();
    for (const auto& p : list) {
        json.begin_object().member("name", p.name).member("version", p.version);
        if (!p.previous_version.empty()) {
            json.member("previous_version", p.previous_version);
        }
        json.member("source", to_string(p.source))
            .member("wheel", p.wheel)
            .member("files", p.files)
            .end_object();
    }
    json.end_array();
}

void strings(json_writer& json, std::string_view key, const std::vector<std::string>& list)
{
    json.key(key).begin_array();
    for (const auto& s : list) {
        json.value(s);
    }
    json.end_array();
}

}  // namespace

const char* to_string(pkg::package_source source) noexcept
{
    switch (source) {
    case pkg::package_source::cache: return "cache";
    case pkg::package_source::network: return "network";
    case pkg::package_source::local: return "local";
    }
    return "unknown";
}

std::string install_report_json(std::string_view command, const pkg::install_report& report)
{
    json_writer json;
    json.begin_object()
        .member("command", command)
        .member("environment", report.environment.string())
        .member("python", report.python.string())
        .member("python_version", report.python_version)
        .member("dry_run", report.is_dry_run);
    packages(json, "installed", report.installed);
    packages(json, "replaced", report.replaced);
    packages(json, "removed", report.removed);
    packages(json, "unchanged", report.unchanged);
    strings(json, "skipped", report.skipped);
    strings(json, "warnings", report.warnings);
    json.member("downloaded_bytes", report.downloaded_bytes)
        .member("network_requests", report.network_requests)
        .key("timings_ms")
        .begin_object()
        .member("total", ms(report.elapsed))
        .member("fetch", ms(report.fetch_time))
        .member("install", ms(report.install_time))
        .end_object()
        .end_object();
    return json.str();
}

std::string uninstall_report_json(const pkg::uninstall_report& report, bool is_dry_run,
                                  std::chrono::milliseconds elapsed)
{
    json_writer json;
    json.begin_object()
        .member("command", "uninstall")
        .member("environment", report.environment.string())
        .member("dry_run", is_dry_run);
    packages(json, "removed", report.removed);
    strings(json, "warnings", report.warnings);
    json.key("timings_ms").begin_object().member("total", ms(elapsed)).end_object().end_object();
    return json.str();
}

std::string listing_json(const pkg::environment_listing& listing)
{
    json_writer json;
    json.begin_array();
    for (const auto& p : listing.packages) {
        json.begin_object()
            .member("name", p.name)
            .member("version", p.version)
            .member("installer", p.installer)
            .end_object();
    }
    json.end_array();
    return json.str();
}

std::string error_json(std::string_view command, const pkg::error& e)
{
    json_writer json;
    json.begin_object()
        .member("command", command)
        .key("error")
        .begin_object()
        .member("message", e.message.empty() ? e.code.message() : e.message)
        .member("where", e.where)
        .member("hint", e.hint)
        .member("category", e.code.category().name())
        .member("value", static_cast<std::int64_t>(e.code.value()))
        .end_object()
        .end_object();
    return json.str();
}

}  // namespace pkg::cli
