#pragma once
/// \file
/// PEP 440 versions: parse (with every normalisation the spec allows), print the normal form,
/// and order them exactly as the spec does.
///
/// Accepted: optional leading/trailing whitespace, a leading `v`, case-insensitive letters,
/// `.`/`-`/`_` separators where PEP 440 allows them, the alternate spellings (alpha/a, beta/b,
/// c/pre/preview/rc, rev/r/post, implicit post `1.0-1`, implicit numbers `1.0a` = `1.0a0`),
/// epochs `N!`, and local versions `+abc.5` (`-`/`_` in local become `.`).

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <pkg/io/error.hpp>

namespace pkg::pep440 {

/// A pre-release marker: `a`, `b` or `rc` plus its number.
struct pre_release {
    enum class kind : std::uint8_t { alpha, beta, rc };
    kind phase = kind::alpha;
    std::uint64_t number = 0;
    friend auto operator<=>(const pre_release&, const pre_release&) = default;
};

/// One dot-separated segment of a local version label: a number or lower-case alphanumerics.
using local_segment = std::variant<std::uint64_t, std::string>;

/// A parsed PEP 440 version. Regular value type: copyable, comparable, hashable with `hash()`
/// (not with `to_string()`: `1.0` and `1.0.0` are equal but print differently).
class version {
public:
    /// Parses `text`. Errors name the text and what is wrong (`errc::invalid_version`); numbers
    /// past 2^64-1 are rejected (packaging accepts them). ASCII only: Python's Unicode digits and
    /// spaces are not accepted. Allocates only the release and local vectors. Thread-safe.
    static result<version> parse(std::string_view text);

    /// Builds a plain release version, e.g. `version::from_release({3, 11})`; an empty list gives
    /// `0`. A default-constructed version is also `0`.
    static version from_release(std::vector<std::uint64_t> release);

    /// The epoch (`N!`), 0 when absent.
    std::uint64_t epoch() const noexcept { return epoch_; }
    /// The release numbers as written (`1.0` has two); never empty for a parsed version.
    std::span<const std::uint64_t> release() const noexcept { return release_; }
    /// The a/b/rc part, if any.
    const std::optional<pre_release>& pre() const noexcept { return pre_; }
    /// The post-release number, if any (`1.0-1` and `1.0.post` give 1 and 0).
    const std::optional<std::uint64_t>& post() const noexcept { return post_; }
    /// The dev-release number, if any.
    const std::optional<std::uint64_t>& dev() const noexcept { return dev_; }
    /// The local label's segments, lower-cased; digit-only segments are numbers (`+01` is 1).
    std::span<const local_segment> local() const noexcept { return local_; }

    /// True for a/b/rc and for dev releases (PEP 440 "pre-release" in the broad sense).
    bool is_prerelease() const noexcept { return pre_.has_value() || dev_.has_value(); }
    /// True when there is a post-release part (`1.0.post1`, also `1.0.post1.dev2`).
    bool is_postrelease() const noexcept { return post_.has_value(); }
    /// True when there is a dev part.
    bool is_devrelease() const noexcept { return dev_.has_value(); }
    /// True when there is a local label (`+...`).
    bool has_local() const noexcept { return !local_.empty(); }

    /// The same version without its local label.
    version public_version() const;
    /// The same version reduced to epoch + release (no pre/post/dev/local).
    version base_version() const;

    /// A hash consistent with `==` (trailing release zeros do not change it). Added; not in the
    /// original declaration.
    std::size_t hash() const noexcept;

    /// The normal form: `1!2.0rc1.post3.dev4+abc.5` (epoch 0 left out, release numbers kept as
    /// written: `1.0.0` stays `1.0.0`). `parse(to_string())` gives back an identical version.
    std::string to_string() const;

    /// PEP 440 ordering; release segments compare with trailing zeros ignored (1.0 == 1.0.0).
    /// Equal versions may print differently (`1.0` and `1.0.0`): hash `public`/`base` forms with
    /// care. Thread-safe (const).
    friend std::strong_ordering operator<=>(const version& a, const version& b);

    /// The same ordering with both local labels ignored, i.e. `a.public_version() <=>
    /// b.public_version()` without copying. Specifiers compare this way (`<=`, `>=`, `==` without
    /// a local label). Added for specifiers; not in the original declaration.
    friend std::strong_ordering compare_public(const version& a, const version& b) noexcept;
    /// Equality under the ordering above (`1.0 == 1.0.0`, `1.0 != 1.0+local`).
    friend bool operator==(const version& a, const version& b)
    {
        return (a <=> b) == std::strong_ordering::equal;
    }

private:
    std::uint64_t epoch_ = 0;
    std::vector<std::uint64_t> release_;
    std::optional<pre_release> pre_;
    std::optional<std::uint64_t> post_;
    std::optional<std::uint64_t> dev_;
    std::vector<local_segment> local_;
};

} // namespace pkg::pep440
