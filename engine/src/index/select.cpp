#include "index/select.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <tuple>

#include <pkg/engine/errc.hpp>

#include "http/url.hpp"
#include "pep440/specifier.hpp"
#include "pep508/name.hpp"

namespace pkg::index {
namespace {

// Other files past this many are counted rather than listed: a popular project's page lists
// thousands of files of other versions, and a message is read by people.
constexpr std::size_t max_listed_other_files = 20;
constexpr std::size_t max_listed_versions = 10;
constexpr std::size_t listed_interpreter_tags = 5;

// Source distribution suffixes pip recognises.
constexpr std::array<std::string_view, 11> sdist_suffixes = {
    ".tar.gz", ".tgz",    ".tar.bz2",  ".tbz", ".tar.xz", ".txz",
    ".tlz",    ".tar.lz", ".tar.lzma", ".zip", ".tar",
};

std::string lowered(std::string_view text)
{
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::optional<std::string_view> sdist_stem(std::string_view filename)
{
    const std::string lower = lowered(filename);
    for (const std::string_view suffix : sdist_suffixes) {
        if (lower.ends_with(suffix)) {
            return filename.substr(0, filename.size() - suffix.size());
        }
    }
    return std::nullopt;
}

// An sdist's version: `{name}-{version}` where the name may itself hold '-' (old sdists), so try
// every '-' whose prefix normalises to the project name.
std::optional<pep440::version> sdist_version(std::string_view stem,
                                             std::string_view normalized_name)
{
    for (std::size_t dash = stem.find('-'); dash != std::string_view::npos;
         dash = stem.find('-', dash + 1)) {
        if (pep508::normalize_name(stem.substr(0, dash)) != normalized_name) {
            continue;
        }
        if (auto version = pep440::version::parse(stem.substr(dash + 1))) {
            return std::move(*version);
        }
    }
    return std::nullopt;
}

bool version_matches(const pep440::version& candidate, const pep440::version& pinned)
{
    // PEP 440 `==`: a pin without a local label ignores the candidate's.
    if (pinned.has_local()) {
        return candidate == pinned;
    }
    return compare_public(candidate, pinned) == std::strong_ordering::equal;
}

std::string tags_text(const wheel::wheel_filename& w)
{
    constexpr std::size_t shown = 4;
    const std::vector<wheel::tag> all = w.tags();
    std::string out;
    for (std::size_t i = 0; i < all.size() && i < shown; ++i) {
        out += (i == 0 ? "" : ", ") + all[i].to_string();
    }
    if (all.size() > shown) {
        out += ", … (" + std::to_string(all.size()) + " tags)";
    }
    return out;
}

std::string short_hex(std::string_view hex)
{
    return hex.size() > 16 ? std::string(hex.substr(0, 16)) + "…" : std::string(hex);
}

struct candidate {
    std::size_t file_index = 0;
    wheel::wheel_filename wheel;
    std::size_t priority = 0;
    bool is_exact = false;
    bool is_hash_verified = false;
    bool has_invalid_requires_python = false;
};

struct hash_check {
    bool is_mismatch = false;
    bool is_verified = false;
    std::string detail;
};

hash_check check_hashes(const index_file& file, const std::vector<pinned_hash>& pins)
{
    hash_check out;
    if (pins.empty()) {
        return out;
    }
    bool has_comparable = false;
    for (const pinned_hash& pin : pins) {
        const auto stated = file.hashes.find(lowered(pin.algorithm));
        if (stated == file.hashes.end()) {
            continue;
        }
        has_comparable = true;
        if (stated->second == lowered(pin.hex)) {
            out.is_verified = true;
            return out;
        }
    }
    if (!has_comparable) {
        return out;
    }
    out.is_mismatch = true;
    out.detail = "the index states";
    for (const auto& [algorithm, hex] : file.hashes) {
        out.detail += " " + algorithm + ":" + short_hex(hex);
    }
    out.detail += ", the lockfile pins";
    for (const pinned_hash& pin : pins) {
        out.detail += " " + lowered(pin.algorithm) + ":" + short_hex(lowered(pin.hex));
    }
    return out;
}

struct version_desc {
    bool operator()(const pep440::version& a, const pep440::version& b) const { return b < a; }
};

struct failure_text {
    std::string message;
    std::string hint;
};

failure_text describe_failure(const project_page& page, std::string_view name,
                              const pep440::version& pinned, const wheel::tag_list& tags,
                              const std::vector<rejected_file>& rejected)
{
    const std::string pin = std::string(name) + " " + pinned.to_string();
    std::vector<const rejected_file*> of_pin;
    std::vector<const rejected_file*> others;
    std::set<pep440::version, version_desc> other_wheel_versions;
    std::set<rejection_reason> reasons;
    for (const rejected_file& r : rejected) {
        const bool is_other = r.reason == rejection_reason::wrong_version ||
                              r.reason == rejection_reason::different_project ||
                              r.reason == rejection_reason::unknown_file_type ||
                              (r.reason == rejection_reason::not_a_wheel &&
                               (!r.version || !version_matches(*r.version, pinned)));
        (is_other ? others : of_pin).push_back(&r);
        if (!is_other) {
            reasons.insert(r.reason);
        }
        if (r.reason == rejection_reason::wrong_version && r.version) {
            other_wheel_versions.insert(*r.version);
        }
    }

    std::string message = "no installable wheel for " + pin + ": ";
    if (page.files.empty()) {
        message += "the page lists no files";
    } else {
        message += std::to_string(of_pin.size()) + " of the page's " +
                   std::to_string(page.files.size()) +
                   (page.files.size() == 1 ? " file is" : " files are") + " for " +
                   pinned.to_string() + " and none of them fits";
    }
    const auto line = [&message](const rejected_file& r) {
        message += "\n  " + r.filename + ": " + std::string(to_string(r.reason));
        if (!r.detail.empty()) {
            message += " (" + r.detail + ")";
        }
    };
    for (const rejected_file* r : of_pin) {
        line(*r);
    }
    if (others.size() <= max_listed_other_files) {
        for (const rejected_file* r : others) {
            line(*r);
        }
    } else {
        message += "\n  … and " + std::to_string(others.size()) +
                   " files of other versions or projects, not listed";
        if (!other_wheel_versions.empty()) {
            message += "; versions with wheels on the page:";
            std::size_t shown = 0;
            for (const pep440::version& v : other_wheel_versions) {
                if (shown == max_listed_versions) {
                    message += " … (" + std::to_string(other_wheel_versions.size()) + " in all)";
                    break;
                }
                message += (shown == 0 ? " " : ", ") + v.to_string();
                ++shown;
            }
        }
    }
    const auto supported = tags.tags();
    message += "\n  this interpreter's most preferred tags:";
    for (std::size_t i = 0; i < supported.size() && i < listed_interpreter_tags; ++i) {
        message += (i == 0 ? " " : ", ") + supported[i].to_string();
    }
    message += " (" + std::to_string(supported.size()) + " tags in all)";

    std::string hint;
    const auto add_hint = [&hint](std::string_view text) {
        hint += (hint.empty() ? "" : "; ") + std::string(text);
    };
    if (of_pin.empty()) {
        add_hint("the index has no file of this version: check the pin and the index URL");
    }
    if (reasons.contains(rejection_reason::incompatible_tags)) {
        add_hint("no wheel of this version is built for this interpreter and platform: pin a "
                 "version that has one, or use an index that serves one");
    }
    if (reasons.contains(rejection_reason::not_a_wheel)) {
        add_hint("pkg installs wheels only and does not build source distributions");
    }
    if (reasons.contains(rejection_reason::requires_python)) {
        add_hint("this version does not support the target Python: pin another version or use "
                 "another interpreter");
    }
    if (reasons.contains(rejection_reason::hash_mismatch)) {
        add_hint("the index serves files whose hashes the lockfile does not pin: regenerate the "
                 "lockfile's hashes if the index is trusted");
    }
    if (reasons.contains(rejection_reason::yanked)) {
        add_hint("the files are yanked; allow yanked files for exact pins to use them");
    }
    return {std::move(message), std::move(hint)};
}

} // namespace

std::string_view to_string(rejection_reason reason) noexcept
{
    switch (reason) {
    case rejection_reason::not_a_wheel:
        return "source distribution; pkg installs wheels only";
    case rejection_reason::unknown_file_type:
        return "not a wheel";
    case rejection_reason::invalid_filename:
        return "invalid wheel filename";
    case rejection_reason::different_project:
        return "different project";
    case rejection_reason::wrong_version:
        return "wrong version";
    case rejection_reason::yanked:
        return "yanked";
    case rejection_reason::requires_python:
        return "requires-python excludes the target Python";
    case rejection_reason::hash_mismatch:
        return "hash mismatch";
    case rejection_reason::incompatible_tags:
        return "incompatible tags";
    }
    return "rejected";
}

result<selection> select_wheel(const project_page& page, std::string_view name,
                               const pep440::version& pinned, const wheel::tag_list& tags,
                               const select_options& options)
{
    // Normalising an already normal name is a no-op; doing it here forgives a caller that
    // passed the name as the lockfile spells it.
    const std::string normalized_name = pep508::normalize_name(name);
    std::vector<candidate> eligible;
    std::vector<rejected_file> rejected;
    const auto reject = [&rejected](const index_file& file, rejection_reason reason,
                                    std::string detail,
                                    std::optional<pep440::version> version = std::nullopt) {
        rejected.push_back({file.filename, reason, std::move(detail), std::move(version)});
    };

    for (std::size_t i = 0; i < page.files.size(); ++i) {
        const index_file& file = page.files[i];
        if (!file.filename.ends_with(".whl")) {
            if (const auto stem = sdist_stem(file.filename)) {
                reject(file, rejection_reason::not_a_wheel, {},
                       sdist_version(*stem, normalized_name));
            } else {
                reject(file, rejection_reason::unknown_file_type, {});
            }
            continue;
        }
        auto parsed = wheel::wheel_filename::parse(file.filename);
        if (!parsed) {
            reject(file, rejection_reason::invalid_filename, parsed.error().message);
            continue;
        }
        if (parsed->normalized_name != normalized_name) {
            reject(file, rejection_reason::different_project, "project " + parsed->normalized_name);
            continue;
        }
        if (!version_matches(parsed->version, pinned)) {
            reject(file, rejection_reason::wrong_version, "version " + parsed->version.to_string(),
                   parsed->version);
            continue;
        }
        if (file.is_yanked && !options.allow_yanked) {
            reject(file, rejection_reason::yanked,
                   file.yank_reason.empty() ? "no reason given" : "reason: " + file.yank_reason,
                   parsed->version);
            continue;
        }
        candidate c;
        if (options.python_version && !file.requires_python.empty()) {
            const auto specifiers = pep440::specifier_set::parse(file.requires_python);
            if (!specifiers) {
                c.has_invalid_requires_python = true;
            } else if (!specifiers->contains(*options.python_version, true)) {
                reject(file, rejection_reason::requires_python,
                       "requires Python " + file.requires_python + ", the target is " +
                           options.python_version->to_string(),
                       parsed->version);
                continue;
            }
        }
        const hash_check hashes = check_hashes(file, options.hashes);
        if (hashes.is_mismatch) {
            reject(file, rejection_reason::hash_mismatch, hashes.detail, parsed->version);
            continue;
        }
        const auto priority = parsed->priority(tags);
        if (!priority) {
            reject(file, rejection_reason::incompatible_tags, tags_text(*parsed), parsed->version);
            continue;
        }
        c.file_index = i;
        c.priority = *priority;
        c.is_exact = parsed->version == pinned;
        c.is_hash_verified = hashes.is_verified;
        c.wheel = std::move(*parsed);
        eligible.push_back(std::move(c));
    }

    if (eligible.empty()) {
        failure_text text = describe_failure(page, normalized_name, pinned, tags, rejected);
        return fail(errc::no_compatible_wheel, std::move(text.message), io::redact_url(page.url),
                    std::move(text.hint));
    }

    // The preference classes of the header, as a tuple compared lexicographically; the best
    // class goes to best_wheel for the tag priority and build tag.
    const auto class_of = [&page](const candidate& c) {
        return std::tuple<bool, const pep440::version&, bool, bool>(
            c.is_exact, c.wheel.version, c.is_hash_verified, !page.files[c.file_index].is_yanked);
    };
    const candidate* top = &eligible.front();
    for (const candidate& c : eligible) {
        if (class_of(c) > class_of(*top)) {
            top = &c;
        }
    }
    std::vector<const candidate*> finalists;
    std::vector<wheel::wheel_filename> finalist_wheels;
    for (const candidate& c : eligible) {
        if (class_of(c) == class_of(*top)) {
            finalists.push_back(&c);
            finalist_wheels.push_back(c.wheel);
        }
    }
    const auto best = wheel::best_wheel(finalist_wheels, tags);
    // Every finalist has a priority, so best_wheel finds one; fall back to the first anyway.
    const candidate& chosen = *finalists[best.value_or(0)];
    const index_file& file = page.files[chosen.file_index];

    selection out;
    out.file = file;
    out.file_index = chosen.file_index;
    out.wheel = chosen.wheel;
    out.tag_priority = chosen.priority;
    out.is_hash_verified_by_index = chosen.is_hash_verified;
    out.rejected = std::move(rejected);
    const std::string pin = std::string(normalized_name) + " " + pinned.to_string();
    if (file.is_yanked) {
        out.warnings.push_back(pin + ": installing " + file.filename +
                               ", which the index marks as yanked" +
                               (file.yank_reason.empty() ? " (no reason given)"
                                                         : " (reason: " + file.yank_reason + ")"));
    }
    if (chosen.has_invalid_requires_python) {
        out.warnings.push_back(pin + ": ignored the invalid Requires-Python " +
                               pkg::quote_for_message(file.requires_python) + " of " +
                               file.filename);
    }
    if (!chosen.is_exact) {
        out.warnings.push_back(pin + ": no file of exactly that version fits; installing " +
                               file.filename + " (version " + chosen.wheel.version.to_string() +
                               ", which differs in its local label)");
    }
    return out;
}

} // namespace pkg::index
