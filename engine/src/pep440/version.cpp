#include "pep440/version.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include <pkg/engine/errc.hpp>

#include "base/quote.hpp"

// The grammar accepted here is the one `packaging.version.VERSION_PATTERN` describes
// (case-insensitive, surrounded by optional whitespace):
//
//   v? (N!)? N(.N)* ([-_.]? (alpha|a|beta|b|preview|pre|c|rc) [-_.]? N?)?
//                   ( -N | [-_.]? (post|rev|r) [-_.]? N? )?
//                   ([-_.]? dev [-_.]? N?)?
//   (+ [a-z0-9]+ ([-_.][a-z0-9]+)*)?
//
// It is scanned by hand, left to right, without allocating (except for the release and local
// vectors of the result). Every optional part either matches completely at the cursor or leaves
// the cursor where it was, which gives the same answers as the regular expression's
// backtracking: each part starts with a label or `-digits` that no other part can start with, and
// a separator consumed by one part could only have been the (optional) leading separator of the
// next one.

namespace pkg::pep440 {
namespace {

bool is_space(char c) noexcept
{
    // Python's `\s` (which packaging's pattern uses) also counts the ASCII separators 0x1c-0x1f.
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}
bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}
bool is_separator(char c) noexcept
{
    return c == '.' || c == '-' || c == '_';
}
char to_lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
bool is_alnum(char c) noexcept
{
    const char l = to_lower(c);
    return is_digit(c) || (l >= 'a' && l <= 'z');
}

// Error messages quote the input; a megabyte of garbage should not become a megabyte of message.
std::string quote(std::string_view text) { return quote_verbatim(text); }

/// A cursor over the input. `overflow` records the first number too large for 64 bits: the
/// parse then fails with a message naming that number instead of a generic "unexpected text".
struct scanner {
    std::string_view text;
    std::size_t pos = 0;
    std::string_view overflow;

    bool at_end() const noexcept { return pos >= text.size(); }
    char peek(std::size_t ahead = 0) const noexcept
    {
        return pos + ahead < text.size() ? text[pos + ahead] : '\0';
    }

    /// Consumes `word` (lower-case) if the input continues with it, ignoring case.
    bool take_word(std::string_view word) noexcept
    {
        if (text.size() - pos < word.size()) {
            return false;
        }
        for (std::size_t i = 0; i < word.size(); ++i) {
            if (to_lower(text[pos + i]) != word[i]) {
                return false;
            }
        }
        pos += word.size();
        return true;
    }

    bool take_separator() noexcept
    {
        if (!at_end() && is_separator(text[pos])) {
            ++pos;
            return true;
        }
        return false;
    }

    /// Consumes a run of digits; nullopt if there is none. Overflow saturates and is recorded.
    std::optional<std::uint64_t> take_number() noexcept
    {
        const std::size_t start = pos;
        while (!at_end() && is_digit(text[pos])) {
            ++pos;
        }
        if (pos == start) {
            return std::nullopt;
        }
        std::uint64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data() + start, text.data() + pos, value);
        (void)end;
        if (ec != std::errc{}) {
            if (overflow.empty()) {
                overflow = text.substr(start, pos - start);
            }
            return std::numeric_limits<std::uint64_t>::max();
        }
        return value;
    }
};

/// `[-_.]? label [-_.]? N?` where label is one of `labels`; nullopt (cursor unmoved) if absent.
/// Returns the index of the label found and its number (0 when left out).
struct labelled_number {
    std::size_t label = 0;
    std::uint64_t number = 0;
};

std::optional<labelled_number> take_labelled(scanner& in,
                                             std::span<const std::string_view> labels) noexcept
{
    const std::size_t start = in.pos;
    in.take_separator();
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (in.take_word(labels[i])) {
            in.take_separator();
            const auto number = in.take_number();
            return labelled_number{i, number.value_or(0)};
        }
    }
    in.pos = start;
    return std::nullopt;
}

// Order matters: longer spellings first where one is a prefix of another (as in the regex).
constexpr std::string_view pre_labels[] = {"alpha", "a", "beta", "b", "preview", "pre", "c", "rc"};
constexpr pre_release::kind pre_kinds[] = {pre_release::kind::alpha, pre_release::kind::alpha,
                                           pre_release::kind::beta,  pre_release::kind::beta,
                                           pre_release::kind::rc,    pre_release::kind::rc,
                                           pre_release::kind::rc,    pre_release::kind::rc};
constexpr std::string_view post_labels[] = {"post", "rev", "r"};
constexpr std::string_view dev_labels[] = {"dev"};

void append_number(std::string& out, std::uint64_t n)
{
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    (void)ec; // 24 bytes always hold a uint64
    out.append(buf, end);
}

// Local labels: absent sorts first; segment by segment, numbers sort after strings, strings
// compare lexicographically, numbers numerically; a prefix sorts first.
std::strong_ordering compare_local(std::span<const local_segment> a,
                                   std::span<const local_segment> b)
{
    const std::size_t m = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < m; ++i) {
        const bool x_num = std::holds_alternative<std::uint64_t>(a[i]);
        const bool y_num = std::holds_alternative<std::uint64_t>(b[i]);
        if (x_num != y_num) {
            return x_num ? std::strong_ordering::greater : std::strong_ordering::less;
        }
        const auto c = x_num
                           ? std::get<std::uint64_t>(a[i]) <=> std::get<std::uint64_t>(b[i])
                           : std::get<std::string>(a[i]).compare(std::get<std::string>(b[i])) <=> 0;
        if (c != 0) {
            return c;
        }
    }
    return a.size() <=> b.size();
}

} // namespace

result<version> version::parse(std::string_view text)
{
    auto invalid = [&](std::string why) {
        return fail(errc::invalid_version, "invalid version " + quote(text) + ": " + std::move(why),
                    {}, "PEP 440 versions look like 1.2.3, 2.0rc1, 1!3.0.post1.dev2+local.7");
    };

    std::string_view body = text;
    while (!body.empty() && is_space(body.front())) {
        body.remove_prefix(1);
    }
    while (!body.empty() && is_space(body.back())) {
        body.remove_suffix(1);
    }
    if (body.empty()) {
        return invalid("it is empty");
    }

    scanner in{body, 0, {}};
    version v;
    if (in.peek() == 'v' || in.peek() == 'V') {
        ++in.pos;
    }

    // Epoch: digits followed by '!'. Without the '!', the digits are the first release number.
    {
        const std::size_t start = in.pos;
        const auto first = in.take_number();
        if (!first) {
            return invalid("it must start with a number (after an optional \"v\")");
        }
        if (in.peek() == '!') {
            ++in.pos;
            v.epoch_ = *first;
        } else {
            in.pos = start;
        }
    }

    // Release: N(.N)*
    {
        const auto first = in.take_number();
        if (!first) {
            return invalid("a release number must follow the epoch \"!\"");
        }
        v.release_.reserve(4);
        v.release_.push_back(*first);
        while (in.peek() == '.' && is_digit(in.peek(1))) {
            ++in.pos;
            v.release_.push_back(*in.take_number());
        }
    }

    if (const auto pre = take_labelled(in, pre_labels)) {
        v.pre_ = pre_release{pre_kinds[pre->label], pre->number};
    }

    // Post: the implicit form `-N` or a labelled one.
    if (in.peek() == '-' && is_digit(in.peek(1))) {
        ++in.pos;
        v.post_ = *in.take_number();
    } else if (const auto post = take_labelled(in, post_labels)) {
        v.post_ = post->number;
    }

    if (const auto dev = take_labelled(in, dev_labels)) {
        v.dev_ = dev->number;
    }

    // Local: + segment ([-_.] segment)*
    if (in.peek() == '+') {
        ++in.pos;
        for (;;) {
            const std::size_t start = in.pos;
            while (!in.at_end() && is_alnum(in.peek())) {
                ++in.pos;
            }
            const std::string_view segment = body.substr(start, in.pos - start);
            if (segment.empty()) {
                return invalid(
                    "the local label after \"+\" needs letters or digits between separators");
            }
            if (std::all_of(segment.begin(), segment.end(), is_digit)) {
                scanner digits{segment, 0, {}};
                v.local_.emplace_back(*digits.take_number());
                if (!digits.overflow.empty() && in.overflow.empty()) {
                    in.overflow = digits.overflow;
                }
            } else {
                std::string lowered(segment);
                for (char& c : lowered) {
                    c = to_lower(c);
                }
                v.local_.emplace_back(std::move(lowered));
            }
            if (in.at_end() || !is_separator(in.peek())) {
                break;
            }
            ++in.pos;
        }
    }

    if (!in.overflow.empty()) {
        return invalid("the number " + std::string(in.overflow) +
                       " is too large (pkg supports numbers up to 18446744073709551615)");
    }
    if (!in.at_end()) {
        return invalid(
            "unexpected " + quote(body.substr(in.pos)) + " at offset " +
            std::to_string(in.pos + static_cast<std::size_t>(body.data() - text.data())));
    }
    return v;
}

version version::from_release(std::vector<std::uint64_t> release)
{
    version v;
    v.release_ = std::move(release);
    if (v.release_.empty()) {
        v.release_.push_back(0);
    }
    return v;
}

version version::public_version() const
{
    version v = *this;
    v.local_.clear();
    return v;
}

version version::base_version() const
{
    version v;
    v.epoch_ = epoch_;
    v.release_ = release_;
    return v;
}

std::size_t version::hash() const noexcept
{
    // FNV-1a over the fields == looks at, release without trailing zeros.
    std::uint64_t h = 14695981039346656037ULL;
    auto mix = [&h](std::uint64_t x) {
        h ^= x;
        h *= 1099511628211ULL;
    };
    mix(epoch_);
    std::size_t n = release_.size();
    while (n > 0 && release_[n - 1] == 0) {
        --n;
    }
    for (std::size_t i = 0; i < n; ++i) {
        mix(release_[i]);
    }
    mix(pre_ ? 1 + static_cast<std::uint64_t>(pre_->phase) : 0);
    mix(pre_ ? pre_->number : 0);
    mix(post_ ? *post_ + 1 : 0);
    mix(dev_ ? *dev_ + 1 : 0);
    for (const auto& segment : local_) {
        if (const auto* number = std::get_if<std::uint64_t>(&segment)) {
            mix(*number);
        } else {
            for (const char c : std::get<std::string>(segment)) {
                mix(static_cast<unsigned char>(c));
            }
            mix(0x100); // ends the string so "ab"+"c" differs from "a"+"bc"
        }
    }
    return static_cast<std::size_t>(h);
}

std::string version::to_string() const
{
    std::string out;
    out.reserve(8 + release_.size() * 3);
    if (epoch_ != 0) {
        append_number(out, epoch_);
        out.push_back('!');
    }
    if (release_.empty()) {
        out.push_back('0'); // default-constructed: compares equal to 0, so print it so
    }
    for (std::size_t i = 0; i < release_.size(); ++i) {
        if (i != 0) {
            out.push_back('.');
        }
        append_number(out, release_[i]);
    }
    if (pre_) {
        switch (pre_->phase) {
        case pre_release::kind::alpha:
            out.push_back('a');
            break;
        case pre_release::kind::beta:
            out.push_back('b');
            break;
        case pre_release::kind::rc:
            out.append("rc");
            break;
        }
        append_number(out, pre_->number);
    }
    if (post_) {
        out.append(".post");
        append_number(out, *post_);
    }
    if (dev_) {
        out.append(".dev");
        append_number(out, *dev_);
    }
    for (std::size_t i = 0; i < local_.size(); ++i) {
        out.push_back(i == 0 ? '+' : '.');
        if (const auto* n = std::get_if<std::uint64_t>(&local_[i])) {
            append_number(out, *n);
        } else {
            out.append(std::get<std::string>(local_[i]));
        }
    }
    return out;
}

std::strong_ordering operator<=>(const version& a, const version& b)
{
    if (const auto c = compare_public(a, b); c != 0) {
        return c;
    }
    return compare_local(a.local_, b.local_);
}

std::strong_ordering compare_public(const version& a, const version& b) noexcept
{
    if (const auto c = a.epoch_ <=> b.epoch_; c != 0) {
        return c;
    }

    // Release: trailing zeros do not count, so compare as if the shorter were padded with zeros.
    const std::size_t n = std::max(a.release_.size(), b.release_.size());
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t x = i < a.release_.size() ? a.release_[i] : 0;
        const std::uint64_t y = i < b.release_.size() ? b.release_[i] : 0;
        if (const auto c = x <=> y; c != 0) {
            return c;
        }
    }

    // Pre-release key: a bare dev release (1.0.dev1) sorts before every pre-release of the same
    // release; without a pre-release, a version sorts after all of them.
    auto pre_rank = [](const version& v) {
        if (v.pre_) {
            return 1;
        }
        if (!v.post_ && v.dev_) {
            return 0;
        }
        return 2;
    };
    if (const auto c = pre_rank(a) <=> pre_rank(b); c != 0) {
        return c;
    }
    if (a.pre_ && b.pre_) {
        if (const auto c = *a.pre_ <=> *b.pre_; c != 0) {
            return c;
        }
    }

    // Post: absent sorts first. Dev: absent sorts last.
    if (const auto c = a.post_.has_value() <=> b.post_.has_value(); c != 0) {
        return c;
    }
    if (a.post_) {
        if (const auto c = *a.post_ <=> *b.post_; c != 0) {
            return c;
        }
    }
    if (const auto c = b.dev_.has_value() <=> a.dev_.has_value(); c != 0) {
        return c;
    }
    if (a.dev_) {
        if (const auto c = *a.dev_ <=> *b.dev_; c != 0) {
            return c;
        }
    }

    return std::strong_ordering::equal;
}

} // namespace pkg::pep440
