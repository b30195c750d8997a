#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <pkg/engine/errc.hpp>

#include "index/project_page.hpp"
#include "index/select.hpp"
#include "support/files.hpp"

using pkg::index::index_file;
using pkg::index::project_page;
using pkg::index::rejection_reason;
using pkg::index::select_options;
using pkg::index::select_wheel;
using pkg::index::selection;
using pkg::wheel::interpreter_description;
using pkg::wheel::tag_list;

namespace {

std::string fixture(const std::string& name)
{
    return pkg::test::read_text(std::filesystem::path(PKG_TEST_SOURCE_DIR) / "data/index" / name);
}

project_page fixture_page(const std::string& name)
{
    auto page = pkg::index::parse_simple_html(fixture(name + ".html"),
                                              "https://index.example/simple/" + name + "/");
    REQUIRE(page.has_value());
    return std::move(*page);
}

// A page of the given files, each with an optional index sha256.
project_page page_of(const std::vector<std::pair<std::string, std::string>>& files)
{
    project_page page;
    page.url = "https://index.example/simple/pkg/";
    for (const auto& [name, sha256] : files) {
        index_file f;
        f.filename = name;
        f.url = "https://files.example/" + name;
        if (!sha256.empty()) {
            f.hashes.emplace("sha256", sha256);
        }
        page.files.push_back(std::move(f));
    }
    return page;
}

pkg::pep440::version v(std::string_view text)
{
    auto parsed = pkg::pep440::version::parse(text);
    REQUIRE(parsed.has_value());
    return std::move(*parsed);
}

tag_list interpreter(unsigned minor, std::string arch = "x86_64", bool musl = false)
{
    interpreter_description d;
    d.implementation = "cp";
    d.major = 3;
    d.minor = minor;
    d.arch = std::move(arch);
    if (musl) {
        d.musl = std::pair{1U, 2U};
    } else {
        d.glibc = std::pair{2U, 36U};
    }
    return tag_list::for_interpreter(d);
}

select_options for_python(std::string_view version)
{
    select_options o;
    o.python_version = v(version);
    return o;
}

selection chosen(const project_page& page, std::string_view name, std::string_view pin,
                 const tag_list& tags, const select_options& options)
{
    auto s = select_wheel(page, name, v(pin), tags, options);
    INFO("selecting " << name << " " << pin << ": "
                      << (s ? std::string("ok") : s.error().to_string()));
    REQUIRE(s.has_value());
    return std::move(*s);
}

pkg::error failure(const project_page& page, std::string_view name, std::string_view pin,
                   const tag_list& tags, const select_options& options)
{
    auto s = select_wheel(page, name, v(pin), tags, options);
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().code == pkg::errc::no_compatible_wheel);
    CHECK(s.error().where == page.url);
    return s.error();
}

std::optional<rejection_reason> reason_for(const selection& s, std::string_view filename)
{
    for (const auto& r : s.rejected) {
        if (r.filename == filename) {
            return r.reason;
        }
    }
    return std::nullopt;
}

// The error must show the interpreter's five most preferred tags.
void check_lists_top_tags(const pkg::error& e, const tag_list& tags)
{
    REQUIRE(tags.tags().size() >= 5);
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK_THAT(e.message, Catch::Contains(tags.tags()[i].to_string()));
    }
    CHECK_THAT(e.message, Catch::Contains(std::to_string(tags.tags().size()) + " tags in all"));
}

} // namespace

TEST_CASE("select: numpy, many platform wheels, the right one per interpreter", "[index]")
{
    const project_page page = fixture_page("numpy");
    const select_options options = for_python("3.11.7");

    const selection glibc = chosen(page, "numpy", "1.26.4", interpreter(11), options);
    CHECK(glibc.file.filename ==
          "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
    CHECK(glibc.file.url == "https://files.example/numpy/1.26.4/" + glibc.file.filename);
    CHECK(page.files[glibc.file_index].filename == glibc.file.filename);
    CHECK(glibc.wheel.version == v("1.26.4"));
    CHECK_FALSE(glibc.is_hash_verified_by_index);
    CHECK(glibc.warnings.empty());
    CHECK(reason_for(glibc,
                     "numpy-1.26.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl") ==
          rejection_reason::wrong_version);
    CHECK(reason_for(glibc, "numpy-1.26.4-cp311-cp311-win_amd64.whl") ==
          rejection_reason::incompatible_tags);
    CHECK(reason_for(glibc, "numpy-1.26.4-cp312-cp312-musllinux_1_1_x86_64.whl") ==
          rejection_reason::incompatible_tags);
    CHECK(reason_for(glibc, "numpy-1.26.4.tar.gz") == rejection_reason::not_a_wheel);
    // Every file other than the chosen one that is ineligible is listed; eligible losers are not.
    CHECK(glibc.rejected.size() == page.files.size() - 1);

    const selection musl =
        chosen(page, "numpy", "1.26.4", interpreter(11, "x86_64", true), options);
    CHECK(musl.file.filename == "numpy-1.26.4-cp311-cp311-musllinux_1_1_x86_64.whl");
    const selection arm =
        chosen(page, "numpy", "1.26.4", interpreter(12, "aarch64"), for_python("3.12.1"));
    CHECK(arm.file.filename ==
          "numpy-1.26.4-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl");
    CHECK(arm.tag_priority == *arm.wheel.priority(interpreter(12, "aarch64")));
    const selection older = chosen(page, "numpy", "1.26.3", interpreter(10), for_python("3.10.2"));
    CHECK(older.file.filename ==
          "numpy-1.26.3-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
}

TEST_CASE("select: no wheel for this interpreter lists every file and the top tags", "[index]")
{
    const project_page page = fixture_page("numpy");
    const tag_list cp313 = interpreter(13);
    const pkg::error e = failure(page, "numpy", "1.26.4", cp313, for_python("3.13.0"));
    CHECK_THAT(e.message, Catch::StartsWith("no installable wheel for numpy 1.26.4: 30 of the "
                                            "page's 60 files are for 1.26.4 and none of them "
                                            "fits"));
    // Every file of the pinned version is listed with its reason...
    for (const index_file& f : page.files) {
        if (f.filename.starts_with("numpy-1.26.4")) {
            CHECK_THAT(e.message, Catch::Contains("\n  " + f.filename + ": "));
        }
    }
    CHECK_THAT(e.message,
               Catch::Contains("numpy-1.26.4-cp311-cp311-win_amd64.whl: incompatible tags "
                               "(cp311-cp311-win_amd64)"));
    CHECK_THAT(e.message, Catch::Contains("numpy-1.26.4.tar.gz: source distribution; pkg "
                                          "installs wheels only"));
    // ... and so are the 30 files of the other version: too many, counted instead.
    CHECK_THAT(e.message, Catch::Contains("… and 30 files of other versions or projects, not "
                                          "listed; versions with wheels on the page: 1.26.3"));
    CHECK_THAT(e.message, !Catch::Contains("numpy-1.26.3-cp39"));
    check_lists_top_tags(e, cp313);
    CHECK_THAT(e.hint, Catch::Contains("no wheel of this version is built for this interpreter"));
    CHECK_THAT(e.hint, Catch::Contains("wheels only"));

    // A version the page does not have at all.
    const pkg::error missing =
        failure(page, "numpy", "2.0.0", interpreter(11), for_python("3.11.1"));
    CHECK_THAT(missing.message, Catch::Contains("0 of the page's 60 files are for 2.0.0"));
    CHECK_THAT(missing.message,
               Catch::Contains("versions with wheels on the page: 1.26.4, 1.26.3"));
    CHECK_THAT(missing.hint, Catch::Contains("no file of this version"));
}

TEST_CASE("select: small pages list every file with its reason", "[index]")
{
    project_page page = page_of({
        {"pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", ""},
        {"pkg-1.0.tar.gz", ""},
        {"pkg-1.0.zip", ""},
        {"pkg-1.0.win32.exe", ""},
        {"pkg-1.0-py3-none-any.egg", ""},
        {"pkg-1.0-py3-none.whl", ""},
        {"other-1.0-py3-none-any.whl", ""},
        {"pkg-0.9-py3-none-any.whl", ""},
        {"pkg-0.9.tar.gz", ""},
    });
    const tag_list cp311 = interpreter(11);
    const pkg::error e = failure(page, "pkg", "1.0", cp311, select_options{});
    const std::vector<std::string> lines = {
        "\n  pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl: incompatible tags "
        "(cp312-cp312-manylinux_2_17_x86_64)",
        "\n  pkg-1.0.tar.gz: source distribution; pkg installs wheels only",
        "\n  pkg-1.0.zip: source distribution; pkg installs wheels only",
        "\n  pkg-1.0-py3-none.whl: invalid wheel filename (invalid wheel filename",
        "\n  pkg-1.0.win32.exe: not a wheel",
        "\n  pkg-1.0-py3-none-any.egg: not a wheel",
        "\n  other-1.0-py3-none-any.whl: different project (project other)",
        "\n  pkg-0.9-py3-none-any.whl: wrong version (version 0.9)",
        "\n  pkg-0.9.tar.gz: source distribution; pkg installs wheels only",
    };
    for (const std::string& line : lines) {
        CHECK_THAT(e.message, Catch::Contains(line));
    }
    CHECK_THAT(e.message, Catch::Contains("4 of the page's 9 files are for 1.0"));
    check_lists_top_tags(e, cp311);

    const pkg::error empty = failure(page_of({}), "pkg", "1.0", cp311, select_options{});
    CHECK_THAT(empty.message, Catch::Contains("the page lists no files"));
    check_lists_top_tags(empty, cp311);
}

TEST_CASE("select: requires-python", "[index]")
{
    const project_page page = fixture_page("black");
    const tag_list cp311 = interpreter(11);

    const pkg::error old = failure(page, "black", "24.1.0", interpreter(7), for_python("3.7.17"));
    CHECK_THAT(old.message,
               Catch::Contains("black-24.1.0-py3-none-any.whl: requires-python excludes the "
                               "target Python (requires Python >=3.8, the target is 3.7.17)"));
    CHECK_THAT(old.hint, Catch::Contains("does not support the target Python"));

    // Without a python version, Requires-Python is not checked.
    const selection unchecked = chosen(page, "black", "24.1.0", interpreter(7), select_options{});
    CHECK(unchecked.file.filename == "black-24.1.0-py3-none-any.whl");

    // A pre-release interpreter still satisfies >=3.8.
    const selection pre = chosen(page, "black", "24.1.0", cp311, for_python("3.11.0rc1"));
    CHECK(pre.file.filename ==
          "black-24.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");

    // An invalid Requires-Python is ignored, with a warning.
    project_page odd = page_of({{"pkg-1.0-py3-none-any.whl", ""}});
    odd.files[0].requires_python = ">=3.8,,=>4!";
    const selection ignored = chosen(odd, "pkg", "1.0", cp311, for_python("3.11.0"));
    REQUIRE(ignored.warnings.size() == 1);
    CHECK_THAT(ignored.warnings[0],
               Catch::Contains("invalid Requires-Python") && Catch::Contains("\">=3.8,,=>4!\""));
}

TEST_CASE("select: yanked files (PEP 592)", "[index]")
{
    const project_page page = fixture_page("black");
    // cp313 has no binary wheel of 24.1.0: only the yanked py3-none-any fits.
    const tag_list cp313 = interpreter(13);
    const selection s = chosen(page, "black", "24.1.0", cp313, for_python("3.13.0"));
    CHECK(s.file.filename == "black-24.1.0-py3-none-any.whl");
    CHECK(s.file.is_yanked);
    REQUIRE(s.warnings.size() == 1);
    CHECK_THAT(s.warnings[0], Catch::Contains("yanked") &&
                                  Catch::Contains("Broken \"--preview\" handling, use 24.1.1"));

    select_options strict = for_python("3.13.0");
    strict.allow_yanked = false;
    const pkg::error e = failure(page, "black", "24.1.0", cp313, strict);
    CHECK_THAT(e.message, Catch::Contains("black-24.1.0-py3-none-any.whl: yanked (reason: Broken "
                                          "\"--preview\" handling, use 24.1.1)"));
    CHECK_THAT(e.hint, Catch::Contains("yanked"));

    // With a non-yanked compatible file of the same version, it wins even over a better tag.
    project_page mixed = page_of({
        {"pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", ""},
        {"pkg-1.0-py3-none-any.whl", ""},
    });
    mixed.files[0].is_yanked = true;
    const selection unyanked = chosen(mixed, "pkg", "1.0", interpreter(11), select_options{});
    CHECK(unyanked.file.filename == "pkg-1.0-py3-none-any.whl");
    CHECK(unyanked.warnings.empty());
}

TEST_CASE("select: hash pins", "[index]")
{
    const std::string good(64, 'a');
    const std::string bad(64, 'b');
    const project_page page = page_of({
        {"pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", bad},
        {"pkg-1.0-py3-none-any.whl", good},
        {"pkg-1.0-cp311-abi3-manylinux_2_17_x86_64.whl", ""},
    });
    const tag_list cp311 = interpreter(11);

    select_options pinned;
    pinned.hashes = {{"SHA256", std::string(64, 'A')}};
    const selection s = chosen(page, "pkg", "1.0", cp311, pinned);
    // The cp311 wheel's index hash is not pinned: ineligible. Of the rest, the one whose hash
    // the index confirms is preferred over the one with no stated hash, despite its tag.
    CHECK(s.file.filename == "pkg-1.0-py3-none-any.whl");
    CHECK(s.is_hash_verified_by_index);
    CHECK(reason_for(s, "pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl") ==
          rejection_reason::hash_mismatch);

    // Pins in another algorithm cannot be compared here: every file stays eligible.
    select_options other;
    other.hashes = {{"sha512", std::string(128, 'c')}};
    const selection unverified = chosen(page, "pkg", "1.0", cp311, other);
    CHECK(unverified.file.filename == "pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl");
    CHECK_FALSE(unverified.is_hash_verified_by_index);

    // No pinned hash matches any stated one: the error shows both sides.
    select_options wrong;
    wrong.hashes = {{"sha256", std::string(64, 'd')}};
    const project_page stated = page_of({
        {"pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", bad},
        {"pkg-1.0-py3-none-any.whl", good},
    });
    const pkg::error e = failure(stated, "pkg", "1.0", cp311, wrong);
    CHECK_THAT(e.message,
               Catch::Contains("pkg-1.0-py3-none-any.whl: hash mismatch (the index states "
                               "sha256:aaaaaaaaaaaaaaaa…, the lockfile pins "
                               "sha256:dddddddddddddddd…)"));
    CHECK_THAT(e.hint, Catch::Contains("regenerate the lockfile's hashes"));
}

TEST_CASE("select: versions, local labels and build tags", "[index]")
{
    const tag_list cp311 = interpreter(11);
    const project_page page = page_of({
        {"pkg-1.0+cpu-py3-none-any.whl", ""},
        {"pkg-1.0-py3-none-any.whl", ""},
        {"pkg-1.0+cu118-py3-none-any.whl", ""},
    });
    // A pin without a label prefers the unlabelled file.
    const selection plain = chosen(page, "pkg", "1.0", cp311, select_options{});
    CHECK(plain.file.filename == "pkg-1.0-py3-none-any.whl");
    CHECK(plain.warnings.empty());
    // 1.0.0 == 1.0 under PEP 440.
    CHECK(chosen(page, "pkg", "1.0.0", cp311, select_options{}).file.filename ==
          "pkg-1.0-py3-none-any.whl");
    // A pin with a label needs exactly that label.
    const selection cpu = chosen(page, "pkg", "1.0+cpu", cp311, select_options{});
    CHECK(cpu.file.filename == "pkg-1.0+cpu-py3-none-any.whl");
    CHECK(reason_for(cpu, "pkg-1.0-py3-none-any.whl") == rejection_reason::wrong_version);
    CHECK(reason_for(cpu, "pkg-1.0+cu118-py3-none-any.whl") == rejection_reason::wrong_version);

    // Only labelled files: `==1.0` matches them (PEP 440); the highest wins, with a warning.
    const project_page labelled = page_of({
        {"pkg-1.0+cpu-py3-none-any.whl", ""},
        {"pkg-1.0+cu118-py3-none-any.whl", ""},
    });
    const selection fallback = chosen(labelled, "pkg", "1.0", cp311, select_options{});
    CHECK(fallback.file.filename == "pkg-1.0+cu118-py3-none-any.whl");
    REQUIRE(fallback.warnings.size() == 1);
    CHECK_THAT(fallback.warnings[0], Catch::Contains("local label"));

    // Same tags, different build tags: the higher build wins; a better tag beats any build.
    const project_page builds = page_of({
        {"pkg-2.0-1-py3-none-any.whl", ""},
        {"pkg-2.0-2-py3-none-any.whl", ""},
        {"pkg-2.0-py3-none-any.whl", ""},
    });
    CHECK(chosen(builds, "pkg", "2.0", cp311, select_options{}).file.filename ==
          "pkg-2.0-2-py3-none-any.whl");
    const project_page tag_first = page_of({
        {"pkg-2.0-9-py3-none-any.whl", ""},
        {"pkg-2.0-cp311-none-any.whl", ""},
    });
    CHECK(chosen(tag_first, "pkg", "2.0", cp311, select_options{}).file.filename ==
          "pkg-2.0-cp311-none-any.whl");

    // Names compare normalised: Foo.Bar_baz on the page is foo-bar-baz.
    const project_page names = page_of({{"Foo.Bar_baz-3.0-py3-none-any.whl", ""}});
    CHECK(chosen(names, "foo-bar-baz", "3.0", cp311, select_options{}).file.filename ==
          "Foo.Bar_baz-3.0-py3-none-any.whl");
    CHECK(chosen(names, "FOO_bar.baz", "3.0", cp311, select_options{}).file.filename ==
          "Foo.Bar_baz-3.0-py3-none-any.whl");
}

TEST_CASE("select: the rejection reasons have stable words", "[index]")
{
    using pkg::index::to_string;
    CHECK(to_string(rejection_reason::wrong_version) == "wrong version");
    CHECK(to_string(rejection_reason::incompatible_tags) == "incompatible tags");
    CHECK(to_string(rejection_reason::hash_mismatch) == "hash mismatch");
    CHECK(to_string(rejection_reason::yanked) == "yanked");
    CHECK(to_string(rejection_reason::not_a_wheel) ==
          "source distribution; pkg installs wheels only");
}
