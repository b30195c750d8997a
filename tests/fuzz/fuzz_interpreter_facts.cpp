// libFuzzer target for the parser of the interpreter query's answer (also what the interpreter
// cache feeds back in). Properties: nothing crashes; accepted facts describe themselves for tag
// generation without crashing, with a pointer size of 32 or 64 and a venv layout that stays
// inside the environment.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "python/interpreter.hpp"
#include "wheel/tags.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto facts = pkg::python::parse_facts(text, "fuzz");
    if (!facts) {
        return 0;
    }
    if (facts->pointer_bits != 32 && facts->pointer_bits != 64) {
        std::abort();
    }
    for (const auto& part : facts->venv_layout.purelib) {
        if (part == "..") {
            std::abort();
        }
    }
    const auto tags = pkg::wheel::tag_list::for_interpreter(facts->tag_description());
    (void)tags.tags().size();
    return 0;
}
