// libFuzzer target for PEP 508: arbitrary bytes as a requirement and as a marker.
// Checks: no crash or sanitizer report; whatever parses prints a canonical text that parses
// again to the same text (and the same marker truth values); evaluation never crashes.

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pep508/marker.hpp"
#include "pep508/name.hpp"
#include "pep508/requirement.hpp"

namespace {

void check(bool condition, const char* what, std::string_view input)
{
    if (!condition) {
        std::fprintf(stderr, "pep508 fuzz invariant broken: %s\ninput: %.*s\n", what,
                     static_cast<int>(input.size()), input.data());
        std::abort();
    }
}

pkg::pep508::marker_environment fixed_environment()
{
    pkg::pep508::marker_environment env;
    env.implementation_name = "cpython";
    env.implementation_version = "3.11.7";
    env.os_name = "posix";
    env.platform_machine = "x86_64";
    env.platform_python_implementation = "CPython";
    env.platform_release = "6.1.0-18-amd64";
    env.platform_system = "Linux";
    env.platform_version = "#1 SMP PREEMPT_DYNAMIC";
    env.python_full_version = "3.11.7";
    env.python_version = "3.11";
    env.sys_platform = "linux";
    return env;
}

void check_marker(const pkg::pep508::marker& parsed, std::string_view input)
{
    static const auto env = fixed_environment();
    static const std::array<std::string, 2> extras{"test", "Docs_Extra"};
    const std::string text = parsed.to_string();
    auto again = pkg::pep508::marker::parse(text);
    check(again.has_value(), "marker canonical text does not parse", input);
    check(again->to_string() == text, "marker canonical text is not stable", input);
    check(parsed.evaluate(env) == again->evaluate(env), "marker value changed on reparse", input);
    check(parsed.evaluate(env, extras) == again->evaluate(env, extras),
          "marker value with extras changed on reparse", input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    if (auto req = pkg::pep508::requirement::parse(input)) {
        const std::string text = req->to_string();
        auto again = pkg::pep508::requirement::parse(text);
        check(again.has_value(), "requirement canonical text does not parse", input);
        check(again->to_string() == text, "requirement canonical text is not stable", input);
        check(again->normalized_name == req->normalized_name, "name changed on reparse", input);
        check(pkg::pep508::is_valid_name(req->name), "requirement name is not valid", input);
        if (req->env_marker) {
            check_marker(*req->env_marker, input);
        }
    }

    if (auto parsed = pkg::pep508::marker::parse(input)) {
        check_marker(*parsed, input);
    }

    (void)pkg::pep508::parse_name(input);
    return 0;
}
