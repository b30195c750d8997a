// The planner (engine/src/session/plan.hpp): which lockfile pins apply and must be exact and
// hashed, and what a run installs, replaces, removes or leaves alone.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <pkg/engine/errc.hpp>

#include "lockfile/requirements_txt.hpp"
#include "session/plan.hpp"

using pkg::errc;
using pkg::installer::installed_dist;
using namespace pkg::session;

namespace {

pkg::pep508::marker_environment linux_311()
{
    pkg::pep508::marker_environment env;
    env.implementation_name = "cpython";
    env.implementation_version = "3.11.7";
    env.os_name = "posix";
    env.platform_machine = "x86_64";
    env.platform_python_implementation = "CPython";
    env.platform_release = "6.1.0";
    env.platform_system = "Linux";
    env.platform_version = "#1 SMP";
    env.python_full_version = "3.11.7";
    env.python_version = "3.11";
    env.sys_platform = "linux";
    return env;
}

pkg::lockfile::requirements_file parse(const std::string& text, const std::string& name = "lock.txt")
{
    pkg::lockfile::parse_options options;
    options.getenv = [](std::string_view) { return std::optional<std::string>(); };
    auto parsed = pkg::lockfile::parse_requirements_text(text, name, options);
    REQUIRE(parsed);
    return std::move(*parsed);
}

pkg::result<pin_set> pins_of(const std::string& text, bool require_hashes = false)
{
    return select_pins({parse(text)}, require_hashes, linux_311());
}

std::vector<pin> pins(const std::string& text)
{
    auto selected = pins_of(text);
    REQUIRE(selected);
    return selected->pins;
}

installed_dist dist(const std::string& name, const std::string& version)
{
    installed_dist d;
    d.name = name;
    d.normalized_name = name;
    d.version = version;
    d.dist_info = "/env/lib/python3.11/site-packages/" + name + "-" + version + ".dist-info";
    d.installer = "pkg";
    return d;
}

std::vector<std::string> names_of(const std::vector<planned_install>& v)
{
    std::vector<std::string> out;
    for (const auto& i : v) {
        out.push_back(i.wanted.name);
    }
    return out;
}

std::vector<std::string> names_of(const std::vector<installed_dist>& v)
{
    std::vector<std::string> out;
    for (const auto& d : v) {
        out.push_back(d.normalized_name);
    }
    return out;
}

const std::string hash_a(64, 'a');
const std::string hash_b(64, 'b');

}  // namespace

TEST_CASE("pins: exact == pins are taken, sorted by normalized name", "[plan]")
{
    auto p = pins("Zope.Interface==6.0\nattrs==23.1.0\nsix===1.16.0\n");
    REQUIRE(p.size() == 3);
    CHECK(p[0].name == "attrs");
    CHECK(p[0].version_text == "23.1.0");
    CHECK(p[0].location.line == 2);
    CHECK(p[1].name == "six");
    CHECK(p[1].is_arbitrary);
    CHECK(p[1].to_string() == "six===1.16.0");
    CHECK(p[2].name == "zope-interface");
    CHECK(p[2].display_name == "Zope.Interface");
}

TEST_CASE("pins: anything but an exact pin is requirement_not_pinned naming file:line", "[plan]")
{
    for (const std::string line : {"attrs>=23", "attrs", "attrs==23.*", "attrs==23.1,!=23.0",
                                   "attrs~=23.1", "attrs @ https://files.example/attrs-23.1.0-py3-none-any.whl"}) {
        INFO(line);
        auto r = pins_of("six==1.16.0\n" + line + "\n");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::requirement_not_pinned);
        CHECK(r.error().where == "lock.txt:2");
        CHECK(r.error().message.find("attrs") != std::string::npos);
        CHECK_FALSE(r.error().hint.empty());
    }
}

TEST_CASE("pins: hash checking needs a sha256 on every applicable pin", "[plan]")
{
    SECTION("one hash turns hash checking on for all")
    {
        auto r = pins_of("six==1.16.0 --hash=sha256:" + hash_a + "\nattrs==23.1.0\n");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::missing_hash);
        CHECK(r.error().where == "lock.txt:2");
        CHECK(r.error().message.find("attrs==23.1.0") != std::string::npos);
    }
    SECTION("--require-hashes from the caller")
    {
        auto r = pins_of("six==1.16.0\n", true);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::missing_hash);
    }
    SECTION("--require-hashes in the file")
    {
        auto r = pins_of("--require-hashes\nsix==1.16.0\n");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::missing_hash);
    }
    SECTION("all hashed: every sha256 of a pin is kept")
    {
        auto r = pins_of("six==1.16.0 --hash=sha256:" + hash_a + " --hash=sha256:" + hash_b +
                         "\nattrs==23.1.0 --hash=sha256:" + hash_b + "\n");
        REQUIRE(r);
        CHECK(r->is_hash_checking);
        REQUIRE(r->pins.size() == 2);
        CHECK(r->pins[1].sha256 == std::vector<std::string>{hash_a, hash_b});
    }
    SECTION("a pin skipped by its marker needs no hash")
    {
        auto r = pins_of("six==1.16.0 --hash=sha256:" + hash_a +
                         "\nattrs==23.1.0 ; sys_platform == 'win32'\n");
        REQUIRE(r);
        CHECK(r->pins.size() == 1);
    }
    SECTION("only sha512: cannot be checked")
    {
        auto r = pins_of("six==1.16.0 --hash=sha512:" + std::string(128, 'c') + "\n");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unsupported);
        CHECK(r.error().message.find("sha512") != std::string::npos);
    }
}

TEST_CASE("pins: markers are evaluated for the target and false ones are skipped", "[plan]")
{
    auto r = pins_of("six==1.16.0 ; python_version >= '3.8'\n"
                     "pywin32==306 ; sys_platform == 'win32'\n"
                     "tomli==2.0.1 ; python_version < '3.11'\n");
    REQUIRE(r);
    REQUIRE(r->pins.size() == 1);
    CHECK(r->pins[0].name == "six");
    REQUIRE(r->skipped.size() == 2);
    CHECK(r->skipped[0].find("pywin32==306") != std::string::npos);
    CHECK(r->skipped[1].find("tomli==2.0.1") != std::string::npos);
}

TEST_CASE("pins: two applicable pins of one project must agree", "[plan]")
{
    SECTION("different versions that both apply: error citing both places")
    {
        auto r = pins_of("six==1.16.0 ; python_version >= '3'\nsix==1.15.0 ; os_name == 'posix'\n");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::invalid_requirements_file);
        CHECK(r.error().where == "lock.txt:2");
        CHECK(r.error().message.find("lock.txt:1") != std::string::npos);
    }
    SECTION("different versions where only one applies")
    {
        auto p = pins("six==1.16.0 ; python_version >= '3'\nsix==1.15.0 ; os_name == 'nt'\n");
        REQUIRE(p.size() == 1);
        CHECK(p[0].version_text == "1.16.0");
    }
    SECTION("two files pinning the same version merge")
    {
        auto r = select_pins({parse("six==1.16.0\n", "a.txt"), parse("six==1.16\n", "b.txt")},
                             false, linux_311());
        REQUIRE(r);
        CHECK(r->pins.size() == 1);
    }
}

TEST_CASE("plan: unchanged, install and replace", "[plan]")
{
    const auto p = pins("six==1.16.0\nattrs==23.1.0\nidna==3.4\nnumpy==1.26.0\n");
    const std::vector<installed_dist> installed{dist("six", "1.16"), dist("attrs", "22.2.0"),
                                                dist("numpy", "1.26.0+cpu")};
    auto r = make_plan(p, installed, {});
    REQUIRE(r);
    REQUIRE(r->unchanged.size() == 2);
    CHECK(r->unchanged[0].wanted.name == "numpy");  // ==1.26.0 accepts a local label
    CHECK(r->unchanged[1].wanted.name == "six");    // 1.16 == 1.16.0 (PEP 440)
    CHECK(names_of(r->installs) == std::vector<std::string>{"attrs", "idna"});
    REQUIRE(r->installs[0].previous.size() == 1);
    CHECK(r->installs[0].previous[0].version == "22.2.0");
    CHECK(r->installs[1].previous.empty());
    CHECK(r->removals.empty());
    CHECK(r->change_count() == 2);
}

TEST_CASE("plan: a pin with a local label needs exactly that label", "[plan]")
{
    auto r = make_plan(pins("torch==2.1.0+cpu\n"), {dist("torch", "2.1.0")}, {});
    REQUIRE(r);
    CHECK(r->unchanged.empty());
    CHECK(names_of(r->installs) == std::vector<std::string>{"torch"});
}

TEST_CASE("plan: === compares the text, case-insensitively", "[plan]")
{
    auto same = make_plan(pins("foo===1.0.POST1\n"), {dist("foo", "1.0.post1")}, {});
    REQUIRE(same);
    CHECK(same->unchanged.size() == 1);
    auto other = make_plan(pins("foo===1.0\n"), {dist("foo", "1.0.0")}, {});
    REQUIRE(other);
    CHECK(other->installs.size() == 1);
}

TEST_CASE("plan: reinstall replaces even matching versions", "[plan]")
{
    auto r = make_plan(pins("six==1.16.0\n"), {dist("six", "1.16.0")}, {.reinstall = true});
    REQUIRE(r);
    CHECK(r->unchanged.empty());
    REQUIRE(r->installs.size() == 1);
    CHECK(r->installs[0].previous.size() == 1);
}

TEST_CASE("plan: two installed copies of one project are both replaced", "[plan]")
{
    auto r = make_plan(pins("six==1.16.0\n"), {dist("six", "1.16.0"), dist("six", "1.15.0")}, {});
    REQUIRE(r);
    REQUIRE(r->installs.size() == 1);
    CHECK(r->installs[0].previous.size() == 2);
}

TEST_CASE("plan: sync removes what is not pinned but keeps the seed packages", "[plan]")
{
    const auto p = pins("six==1.16.0\n");
    const std::vector<installed_dist> installed{dist("six", "1.16.0"), dist("attrs", "23.1.0"),
                                                dist("pip", "23.0"), dist("setuptools", "66.1"),
                                                dist("wheel", "0.38.4"), dist("idna", "3.4")};
    SECTION("install never removes")
    {
        auto r = make_plan(p, installed, {});
        REQUIRE(r);
        CHECK(r->removals.empty());
    }
    SECTION("sync")
    {
        auto r = make_plan(p, installed, {.sync = true});
        REQUIRE(r);
        CHECK(names_of(r->removals) == std::vector<std::string>{"attrs", "idna"});
        CHECK(r->change_count() == 2);
    }
    SECTION("sync with the seed packages")
    {
        auto r = make_plan(p, installed, {.sync = true, .remove_seed_packages = true});
        REQUIRE(r);
        CHECK(names_of(r->removals) ==
              std::vector<std::string>{"attrs", "idna", "pip", "setuptools", "wheel"});
    }
    SECTION("a pinned seed package is installed, not removed")
    {
        auto r = make_plan(pins("six==1.16.0\npip==24.0\n"), installed,
                           {.sync = true, .remove_seed_packages = true});
        REQUIRE(r);
        CHECK(names_of(r->installs) == std::vector<std::string>{"pip"});
        CHECK(names_of(r->removals) ==
              std::vector<std::string>{"attrs", "idna", "setuptools", "wheel"});
    }
}

TEST_CASE("plan: .egg-info is never removed or replaced", "[plan]")
{
    auto egg = dist("legacy", "1.0");
    egg.dist_info = "/env/lib/python3.11/site-packages/legacy-1.0-py3.11.egg-info";
    egg.installer = "";
    SECTION("sync skips it with a warning")
    {
        auto r = make_plan(pins("six==1.16.0\n"), {egg}, {.sync = true});
        REQUIRE(r);
        CHECK(r->removals.empty());
        REQUIRE(r->warnings.size() == 1);
        CHECK(r->warnings[0].find("legacy-1.0-py3.11.egg-info") != std::string::npos);
    }
    SECTION("replacing it is an error naming it")
    {
        auto r = make_plan(pins("legacy==2.0\n"), {egg}, {});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unsupported);
        CHECK(r.error().where.find("egg-info") != std::string::npos);
    }
    SECTION("the same version is unchanged")
    {
        auto r = make_plan(pins("legacy==1.0\n"), {egg}, {});
        REQUIRE(r);
        CHECK(r->unchanged.size() == 1);
    }
}

TEST_CASE("plan: the seed package rule is by normalized name", "[plan]")
{
    CHECK(is_seed_package("pip"));
    CHECK(is_seed_package("setuptools"));
    CHECK(is_seed_package("wheel"));
    CHECK_FALSE(is_seed_package("pip-tools"));
    CHECK_FALSE(is_seed_package("wheels"));
}
