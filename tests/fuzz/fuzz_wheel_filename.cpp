// libFuzzer target for the wheel filename and tag parsers.
// Properties: nothing crashes; a parsed filename's to_string() parses again to an equal value
// (and is a fixed point after one round); tags() matches the declared sets and ranks without
// crashing against a real tag list; tag::parse output round-trips through to_string().

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wheel/tags.hpp"
#include "wheel/wheel_filename.hpp"

namespace {

const pkg::wheel::tag_list& supported()
{
    static const pkg::wheel::tag_list list = [] {
        pkg::wheel::interpreter_description d;
        d.glibc = std::pair{2U, 36U};
        d.musl = std::pair{1U, 2U};
        return pkg::wheel::tag_list::for_interpreter(d);
    }();
    return list;
}

void check(bool condition)
{
    if (!condition) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto wheel = pkg::wheel::wheel_filename::parse(text)) {
        const std::string again = wheel->to_string();
        const auto reparsed = pkg::wheel::wheel_filename::parse(again);
        check(reparsed.has_value());
        check(*reparsed == *wheel);
        check(reparsed->to_string() == again);
        const auto tags = wheel->tags();
        check(tags.size() ==
              wheel->python_tags.size() * wheel->abi_tags.size() * wheel->platform_tags.size());
        const auto priority = wheel->priority(supported());
        if (priority) {
            check(*priority < supported().tags().size());
        }
        const pkg::wheel::wheel_filename both[] = {*wheel, *reparsed};
        const auto best = pkg::wheel::best_wheel(both, supported());
        check(best.has_value() == priority.has_value());
        for (const auto& t : tags) {
            const auto one = pkg::wheel::tag::parse(t.to_string());
            check(one.has_value() && *one == t);
        }
    }

    if (auto t = pkg::wheel::tag::parse(text)) {
        const auto again = pkg::wheel::tag::parse(t->to_string());
        check(again.has_value() && *again == *t);
        (void)supported().priority(*t);
    }
    return 0;
}
