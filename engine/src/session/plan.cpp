// Pins from lockfiles and the plan against an environment (see plan.hpp for the rules).

#include "session/plan.hpp"

#include <algorithm>
#include <map>

#include <fmt/core.h>

#include <pkg/engine/errc.hpp>

#include "pep440/specifier.hpp"

namespace pkg::session {
namespace {

std::string where_of(const lockfile::source_location& loc)
{
    return fmt::format("{}:{}", loc.file, loc.line);
}

bool iequals(std::string_view a, std::string_view b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        return lower(x) == lower(y);
    });
}

// The pin of `entry`, or requirement_not_pinned explaining why not.
result<pin> pin_of(const lockfile::requirement_entry& entry)
{
    const auto& req = entry.requirement;
    const auto not_pinned = [&](std::string why) {
        return fail(errc::requirement_not_pinned,
                    fmt::format("{} is not pinned to one version: {}", req.to_string(), why),
                    where_of(entry.location),
                    "pkg installs lockfiles: write every requirement as name==version "
                    "(pip-compile or `uv pip compile` produce such files)");
    };
    if (req.url) {
        return not_pinned("direct URL requirements are not supported yet");
    }
    const auto clauses = req.specifiers.clauses();
    if (clauses.empty()) {
        return not_pinned("it has no version");
    }
    if (clauses.size() != 1) {
        return not_pinned("it has several version clauses");
    }
    const auto& clause = clauses.front();
    pin p;
    p.name = req.normalized_name;
    p.display_name = req.name;
    p.location = entry.location;
    if (clause.oper() == pep440::op::equal && !clause.is_wildcard() && clause.operand()) {
        p.version = *clause.operand();
        p.version_text = p.version.to_string();
    } else if (clause.oper() == pep440::op::arbitrary && clause.operand()) {
        p.version = *clause.operand();
        p.version_text = std::string(clause.arbitrary_text());
        p.is_arbitrary = true;
    } else {
        return not_pinned(fmt::format("'{}' is not an exact == pin", clause.to_string()));
    }
    for (const auto& h : entry.hashes) {
        if (h.algorithm == "sha256") {
            p.sha256.push_back(h.digest);
        }
    }
    if (p.sha256.empty() && !entry.hashes.empty()) {
        return fail(errc::unsupported,
                    fmt::format("{}: only sha256 hashes can be checked, the pin has {}",
                                p.to_string(), entry.hashes.front().algorithm),
                    where_of(entry.location), "add --hash=sha256:… (pip-compile writes sha256)");
    }
    return p;
}

}  // namespace

std::string pin::to_string() const
{
    return fmt::format("{}{}{}", name, is_arbitrary ? "===" : "==", version_text);
}

result<pin_set> select_pins(const std::vector<lockfile::requirements_file>& files,
                            bool require_hashes, const pep508::marker_environment& target)
{
    pin_set out;
    out.is_hash_checking = require_hashes;
    std::vector<std::pair<pin, bool>> all;  // pin, applies
    for (const auto& file : files) {
        out.is_hash_checking = out.is_hash_checking || file.require_hashes;
        for (const auto& entry : file.requirements) {
            auto p = pin_of(entry);
            if (!p) {
                return fail(p.error());
            }
            out.is_hash_checking = out.is_hash_checking || !entry.hashes.empty();
            const bool applies = entry.requirement.applies_to(target);
            if (!applies) {
                out.skipped.push_back(entry.requirement.to_string());
            }
            all.emplace_back(std::move(*p), applies);
        }
    }
    std::map<std::string, pin> by_name;
    for (auto& [p, applies] : all) {
        if (!applies) {
            continue;
        }
        if (out.is_hash_checking && p.sha256.empty()) {
            return fail(errc::missing_hash,
                        fmt::format("{} has no --hash, but hash checking is on (--require-hashes "
                                    "or another requirement carries a hash)",
                                    p.to_string()),
                        where_of(p.location),
                        "add --hash=sha256:<digest> for every file of the pin, e.g. with "
                        "pip-compile --generate-hashes");
        }
        auto [it, is_new] = by_name.emplace(p.name, p);
        if (is_new) {
            continue;
        }
        pin& seen = it->second;
        const bool same_version = p.is_arbitrary || seen.is_arbitrary
                                      ? iequals(p.version_text, seen.version_text)
                                      : p.version == seen.version;
        if (!same_version) {
            return fail(errc::invalid_requirements_file,
                        fmt::format("{} conflicts with {} at {}: both apply to this interpreter",
                                    p.to_string(), seen.to_string(), where_of(seen.location)),
                        where_of(p.location), "keep one pin per project for this target");
        }
        // The same version twice (e.g. from two files): accept the union of the hashes.
        for (auto& h : p.sha256) {
            if (std::find(seen.sha256.begin(), seen.sha256.end(), h) == seen.sha256.end()) {
                seen.sha256.push_back(h);
            }
        }
    }
    for (auto& [name, p] : by_name) {
        out.pins.push_back(std::move(p));
    }
    return out;
}

bool is_seed_package(std::string_view normalized_name) noexcept
{
    return normalized_name == "pip" || normalized_name == "setuptools" ||
           normalized_name == "wheel";
}

bool is_egg_info(const installer::installed_dist& dist)
{
    return dist.dist_info.extension() == ".egg-info";
}

namespace {

bool satisfies(const pin& p, const installer::installed_dist& dist)
{
    if (p.is_arbitrary) {
        return iequals(p.version_text, dist.version);
    }
    auto v = pep440::version::parse(dist.version);
    if (!v) {
        return dist.version == p.version_text;
    }
    // As `==` matches: a pin without a local label accepts any label (`==1.0` is satisfied by
    // an installed 1.0+cpu, which is what selecting a wheel for it may have installed).
    return p.version.has_local() ? *v == p.version
                                 : compare_public(*v, p.version) == std::strong_ordering::equal;
}

}  // namespace

result<plan> make_plan(const std::vector<pin>& pins,
                       const std::vector<installer::installed_dist>& installed,
                       const plan_options& options)
{
    std::map<std::string, std::vector<const installer::installed_dist*>> by_name;
    for (const auto& d : installed) {
        by_name[d.normalized_name].push_back(&d);
    }
    plan out;
    for (const auto& p : pins) {
        auto it = by_name.find(p.name);
        if (it == by_name.end()) {
            out.installs.push_back({p, {}});
            continue;
        }
        const auto& dists = it->second;
        if (!options.reinstall && dists.size() == 1 && satisfies(p, *dists.front())) {
            out.unchanged.push_back({p, *dists.front()});
            continue;
        }
        planned_install change{p, {}};
        for (const auto* d : dists) {
            if (is_egg_info(*d)) {
                return fail(errc::unsupported,
                            fmt::format("{} {} is installed as .egg-info, which pkg cannot "
                                        "uninstall, so it cannot be replaced by {}",
                                        d->name, d->version, p.to_string()),
                            d->dist_info.string(),
                            "remove it with the tool that installed it (pip uninstall), then "
                            "run pkg again");
            }
            change.previous.push_back(*d);
        }
        out.installs.push_back(std::move(change));
    }
    if (options.sync) {
        for (const auto& entry : by_name) {
            const std::string& name = entry.first;
            const auto& dists = entry.second;
            const bool is_pinned = std::any_of(pins.begin(), pins.end(),
                                               [&](const pin& p) { return p.name == name; });
            if (is_pinned || (!options.remove_seed_packages && is_seed_package(name))) {
                continue;
            }
            for (const auto* d : dists) {
                if (is_egg_info(*d)) {
                    out.warnings.push_back(fmt::format(
                        "{} {} is installed as .egg-info and was not removed (pkg only "
                        "uninstalls packages that have a RECORD): {}",
                        d->name, d->version, d->dist_info.string()));
                    continue;
                }
                out.removals.push_back(*d);
            }
        }
    }
    return out;
}

}  // namespace pkg::session
