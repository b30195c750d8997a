#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <pkg/engine/errc.hpp>

#include "wheel/wheel_filename.hpp"

using pkg::wheel::build_tag;
using pkg::wheel::interpreter_description;
using pkg::wheel::tag;
using pkg::wheel::tag_list;
using pkg::wheel::wheel_filename;

namespace {

wheel_filename parsed(std::string_view text)
{
    auto r = wheel_filename::parse(text);
    INFO("parsing " << text << ": " << (r ? std::string("ok") : r.error().message));
    REQUIRE(r.has_value());
    return std::move(*r);
}

std::vector<std::string> strings(const std::vector<tag>& tags)
{
    std::vector<std::string> out;
    for (const tag& t : tags) {
        out.push_back(t.to_string());
    }
    return out;
}

tag_list cp311_glibc236_x86_64()
{
    interpreter_description d;
    d.implementation = "cp";
    d.major = 3;
    d.minor = 11;
    d.abi = "cp311";
    d.arch = "x86_64";
    d.glibc = std::pair{2U, 36U};
    return tag_list::for_interpreter(d);
}

std::optional<std::string> best_of(const std::vector<std::string>& names, const tag_list& supported)
{
    std::vector<wheel_filename> wheels;
    for (const std::string& n : names) {
        wheels.push_back(parsed(n));
    }
    const auto best = pkg::wheel::best_wheel(wheels, supported);
    if (!best) {
        return std::nullopt;
    }
    return names.at(*best);
}

}  // namespace

TEST_CASE("wheel filenames from PyPI parse", "[tags][wheel]")
{
    SECTION("numpy: compressed platform set")
    {
        const auto w = parsed("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
        CHECK(w.distribution == "numpy");
        CHECK(w.normalized_name == "numpy");
        CHECK(w.version == pkg::pep440::version::from_release({1, 26, 4}));
        CHECK_FALSE(w.build.has_value());
        CHECK(w.python_tags == std::vector<std::string>{"cp311"});
        CHECK(w.abi_tags == std::vector<std::string>{"cp311"});
        CHECK(w.platform_tags ==
              std::vector<std::string>{"manylinux_2_17_x86_64", "manylinux2014_x86_64"});
        CHECK(strings(w.tags()) == std::vector<std::string>{"cp311-cp311-manylinux_2_17_x86_64",
                                                            "cp311-cp311-manylinux2014_x86_64"});
    }
    SECTION("pure-Python wheels")
    {
        const auto black = parsed("black-24.1.0-py3-none-any.whl");
        CHECK(black.distribution == "black");
        CHECK(black.version.to_string() == "24.1.0");
        CHECK(strings(black.tags()) == std::vector<std::string>{"py3-none-any"});
        const auto pip = parsed("pip-23.0.1-py3-none-any.whl");
        CHECK(pip.version == pkg::pep440::version::from_release({23, 0, 1}));
        const auto six = parsed("six-1.16.0-py2.py3-none-any.whl");
        CHECK(strings(six.tags()) == std::vector<std::string>{"py2-none-any", "py3-none-any"});
    }
    SECTION("pywin32: one-segment version, Windows platform")
    {
        const auto w = parsed("pywin32-306-cp311-cp311-win_amd64.whl");
        CHECK(w.version == pkg::pep440::version::from_release({306}));
        CHECK(w.platform_tags == std::vector<std::string>{"win_amd64"});
    }
    SECTION("names are normalised, the written form kept")
    {
        const auto yaml = parsed("PyYAML-6.0.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
        CHECK(yaml.distribution == "PyYAML");
        CHECK(yaml.normalized_name == "pyyaml");
        CHECK(parsed("typing_extensions-4.9.0-py3-none-any.whl").normalized_name == "typing-extensions");
        const auto zope = parsed(
            "zope.interface-6.1-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64."
            "manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
        CHECK(zope.normalized_name == "zope-interface");
        CHECK(zope.platform_tags.size() == 4);
        CHECK(parsed("Django-5.0.1-py3-none-any.whl").normalized_name == "django");
    }
    SECTION("build tags")
    {
        const auto one = parsed("foo-1.0-1-py3-none-any.whl");
        REQUIRE(one.build.has_value());
        CHECK(*one.build == build_tag{1, ""});
        CHECK(one.version == pkg::pep440::version::from_release({1, 0}));
        const auto suffixed = parsed("foo-1.0-2b-py3-none-any.whl");
        CHECK(*suffixed.build == build_tag{2, "b"});
        CHECK(parsed("foo-1.0-007-py3-none-any.whl").build->number == 7);
        CHECK(build_tag{10, ""} > build_tag{9, "z"});
        CHECK(build_tag{2, "b"} > build_tag{2, "a"});
        CHECK(build_tag{2, "a"} > build_tag{2, ""});
    }
    SECTION("abi3, PyPy, musllinux, macOS, local versions")
    {
        CHECK(parsed("cryptography-42.0.2-cp39-abi3-manylinux_2_28_x86_64.whl").abi_tags ==
              std::vector<std::string>{"abi3"});
        CHECK(parsed("numpy-1.26.4-pp39-pypy39_pp73-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
                  .abi_tags == std::vector<std::string>{"pypy39_pp73"});
        CHECK(parsed("pydantic_core-2.16.1-cp311-cp311-musllinux_1_1_x86_64.whl").normalized_name ==
              "pydantic-core");
        CHECK(parsed("numpy-1.26.4-cp311-cp311-macosx_11_0_arm64.whl").platform_tags ==
              std::vector<std::string>{"macosx_11_0_arm64"});
        const auto torch = parsed("torch-2.2.0+cpu-cp311-cp311-linux_x86_64.whl");
        CHECK(torch.version.has_local());
        CHECK(torch.version.to_string() == "2.2.0+cpu");
        CHECK(parsed("foo-1.0rc1-py3-none-any.whl").version.is_prerelease());
    }
    SECTION("tags are lower-cased")
    {
        const auto w = parsed("Foo-1.0-PY3-None-Any.whl");
        CHECK(strings(w.tags()) == std::vector<std::string>{"py3-none-any"});
        CHECK(w.distribution == "Foo");
    }
}

TEST_CASE("wheel_filename::to_string re-assembles the filename", "[tags][wheel]")
{
    for (const char* name : {
             "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
             "black-24.1.0-py3-none-any.whl",
             "pywin32-306-cp311-cp311-win_amd64.whl",
             "foo-1.0-1-py3-none-any.whl",
             "foo-1.0-2b-py3-none-any.whl",
             "six-1.16.0-py2.py3-none-any.whl",
             "zope.interface-6.1-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.whl",
             "torch-2.2.0+cpu-cp311-cp311-linux_x86_64.whl",
             "PyYAML-6.0.1-cp311-cp311-win32.whl",
         }) {
        INFO(name);
        const auto w = parsed(name);
        CHECK(w.to_string() == name);
        CHECK(parsed(w.to_string()) == w);
    }
    // Non-normal spellings come back normalised and still parse to the same value.
    const auto odd = parsed("Foo-1.0_ALPHA1-01-PY3-NONE-ANY.whl");
    CHECK(odd.to_string() == "Foo-1.0a1-1-py3-none-any.whl");
    CHECK(parsed(odd.to_string()) == odd);
    CHECK(parsed("foo-1.0-py3-none-any.whl") == parsed("foo-1.0.0-py3-none-any.whl"));
    CHECK_FALSE(parsed("foo-1.0-py3-none-any.whl") == parsed("foo-1.0-1-py3-none-any.whl"));
    CHECK_FALSE(parsed("foo-1.0-py3-none-any.whl") == parsed("Foo-1.0-py3-none-any.whl"));
}

TEST_CASE("invalid wheel filenames are rejected with the reason", "[tags][wheel]")
{
    struct bad_case {
        std::string filename;
        std::string says;
    };
    const std::vector<bad_case> cases = {
        {"black-24.1.0-py3-none-any", "does not end in \".whl\""},
        {"black-24.1.0-py3-none-any.zip", "does not end in \".whl\""},
        {"black-24.1.0-py3-none-any.WHL", "does not end in \".whl\""},
        {"", "does not end in \".whl\""},
        {".whl", "found 1 part"},
        {"black-py3-none-any.whl", "found 4 parts"},
        {"black-24.1.0-none-any.whl", "found 4 parts"},
        {"black-24.1.0-1-2-py3-none-any.whl", "found 7 parts"},
        {"black-24.1.0-not.a.version-1-py3-none-any.whl", "found 7 parts"},
        {"black-not_a_version-py3-none-any.whl", "its version \"not_a_version\" is not a PEP 440 version"},
        {"black--py3-none-any.whl", "its version \"\" is not a PEP 440 version"},
        {"my-package-1.0-py3-none-any.whl", "its version \"package\""},
        {"foo-1.0-b1-py3-none-any.whl", "its build tag \"b1\" does not start with a digit"},
        {"foo-1.0--py3-none-any.whl", "its build tag \"\" does not start with a digit"},
        {"foo-1.0-1+x-py3-none-any.whl", "its build tag \"1+x\" contains \"+\""},
        {"foo-1.0-99999999999999999999-py3-none-any.whl", "does not fit in 64 bits"},
        {"-1.0-py3-none-any.whl", "its project name \"\" is not valid"},
        {"_foo-1.0-py3-none-any.whl", "its project name \"_foo\" is not valid"},
        {"foo.-1.0-py3-none-any.whl", "its project name \"foo.\" is not valid"},
        {"dist/foo-1.0-py3-none-any.whl", "its project name \"dist/foo\" is not valid"},
        {"fo\xc3\xb6-1.0-py3-none-any.whl", "its project name \"fo\\xc3\\xb6\" is not valid"},
        {"foo-1.0--none-any.whl", "python tag set \"\" has an empty member"},
        {"foo-1.0-py2.-none-any.whl", "python tag set \"py2.\" has an empty member"},
        {"foo-1.0-py3-none..abi3-any.whl", "abi tag set \"none..abi3\" has an empty member"},
        {"foo-1.0-py3-none-.whl", "platform tag set \"\" has an empty member"},
        {"foo-1.0-py3-none-any+x.whl", "its platform tag \"any+x\" contains \"+\""},
        {"foo-1.0-py3-none-linux x86_64.whl", "contains \" \""},
        {"foo-1.0-py3-none-any/x.whl", "its platform tag \"any/x\" contains \"/\""},
    };
    for (const bad_case& c : cases) {
        INFO("filename: " << c.filename);
        const auto r = wheel_filename::parse(c.filename);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == pkg::errc::invalid_wheel_filename);
        CHECK_THAT(r.error().message, Catch::Contains(c.says));
        // Every message cites the whole filename.
        CHECK_THAT(r.error().message,
                   Catch::StartsWith("invalid wheel filename " + pkg::quote_for_message(c.filename)));
    }
    SECTION("too-many-parts errors hint at PEP 427 escaping")
    {
        const auto r = wheel_filename::parse("my-package-1.0-1-py3-none-any.whl");
        REQUIRE_FALSE(r.has_value());
        CHECK_THAT(r.error().hint, Catch::Contains("'_'"));
    }
    SECTION("a product of tag sets beyond 1024 is refused")
    {
        std::string set;
        for (int i = 0; i < 11; ++i) {
            set += (i == 0 ? "" : ".") + std::string("t") + std::to_string(i);
        }
        const auto r = wheel_filename::parse("foo-1.0-" + set + "-" + set + "-" + set + ".whl");
        REQUIRE_FALSE(r.has_value());
        CHECK_THAT(r.error().message, Catch::Contains("declares 1331 tags"));
        // 1024 exactly is still fine.
        std::string set4 = "a.b.c.d";
        std::string set16 = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p";
        CHECK(wheel_filename::parse("foo-1.0-" + set4 + "-" + set16 + "-" + set16 + ".whl").has_value());
    }
}

TEST_CASE("wheel priority and best_wheel follow the tag order", "[tags][wheel]")
{
    const tag_list supported = cp311_glibc236_x86_64();

    SECTION("a wheel's priority is its best tag's")
    {
        const auto numpy = parsed("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
        const auto p = numpy.priority(supported);
        REQUIRE(p.has_value());
        CHECK(*p == *supported.priority(tag{"cp311", "cp311", "manylinux_2_17_x86_64"}));
        const auto six = parsed("six-1.16.0-py2.py3-none-any.whl");
        CHECK(six.priority(supported) == supported.priority(tag{"py3", "none", "any"}));
        CHECK_FALSE(parsed("pywin32-306-cp311-cp311-win_amd64.whl").priority(supported).has_value());
        CHECK_FALSE(parsed("foo-1.0-py2-none-any.whl").priority(supported).has_value());
    }
    SECTION("own ABI beats abi3 beats none-any; incompatible never wins")
    {
        std::vector<std::string> names = {
            "foo-1.0-py3-none-any.whl",
            "foo-1.0-cp311-cp311-win_amd64.whl",
            "foo-1.0-cp311-cp311-macosx_11_0_arm64.whl",
            "foo-1.0-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "foo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "foo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            "foo-1.0-cp311-cp311-musllinux_1_1_x86_64.whl",
            "foo-1.0-cp311-cp311-manylinux_2_17_aarch64.whl",
        };
        CHECK(best_of(names, supported) == names[4]);
        names.erase(names.begin() + 4);
        CHECK(best_of(names, supported) == "foo-1.0-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
        names.erase(names.begin() + 3);
        CHECK(best_of(names, supported) == "foo-1.0-py3-none-any.whl");
        names.erase(names.begin());
        CHECK(best_of(names, supported) == std::nullopt);
        CHECK(best_of({}, supported) == std::nullopt);
    }
    SECTION("newer manylinux beats older; platform wheels beat pure ones")
    {
        CHECK(best_of({"foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                       "foo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
                       "foo-1.0-cp311-cp311-linux_x86_64.whl"},
                      supported) == "foo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl");
        CHECK(best_of({"foo-1.0-py3-none-any.whl", "foo-1.0-py3-none-manylinux1_x86_64.whl"},
                      supported) == "foo-1.0-py3-none-manylinux1_x86_64.whl");
        CHECK(best_of({"foo-1.0-py3-none-any.whl", "foo-1.0-py311-none-any.whl"}, supported) ==
              "foo-1.0-py311-none-any.whl");
    }
    SECTION("equal tags: the higher build tag wins, then the first listed")
    {
        CHECK(best_of({"foo-1.0-py3-none-any.whl", "foo-1.0-2-py3-none-any.whl",
                       "foo-1.0-10-py3-none-any.whl", "foo-1.0-9-py3-none-any.whl"},
                      supported) == "foo-1.0-10-py3-none-any.whl");
        CHECK(best_of({"foo-1.0-2-py3-none-any.whl", "foo-1.0-2b-py3-none-any.whl"}, supported) ==
              "foo-1.0-2b-py3-none-any.whl");
        CHECK(best_of({"foo-1.0-1-py3-none-any.whl", "foo-1.0-py3-none-any.whl"}, supported) ==
              "foo-1.0-1-py3-none-any.whl");
        // The build tag only breaks ties: a better tag wins over a higher build.
        CHECK(best_of({"foo-1.0-99-py3-none-any.whl", "foo-1.0-cp311-cp311-linux_x86_64.whl"},
                      supported) == "foo-1.0-cp311-cp311-linux_x86_64.whl");
        const std::vector<wheel_filename> twins = {parsed("a-1.0-py3-none-any.whl"),
                                                   parsed("b-1.0-py3-none-any.whl")};
        CHECK(pkg::wheel::best_wheel(twins, supported) == std::optional<std::size_t>{0});
    }
}
