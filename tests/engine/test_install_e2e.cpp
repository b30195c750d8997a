// End to end through the public API (pkg/engine/install.hpp): lockfiles installed into real
// venvs from a PEP 503 index served by nginx on loopback — Debian's pip/setuptools/wheel plus
// generated wheels — then no-ops, warm installs with the server stopped, upgrades, downgrades,
// sync removals, dry runs, --no-cache, a bad hash, uninstall and list.

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>

#include <pkg/engine/errc.hpp>
#include <pkg/engine/install.hpp>

#include "fs/file_lock.hpp"
#include "install_fixture.hpp"

using namespace pkg::test::install_fixture;
using pkg::errc;

namespace {

std::string all_pins(const test_wheels& w, bool with_hash)
{
    std::string text = pin_line(w.alpha1, with_hash) + pin_line(w.beta1, with_hash);
    for (const auto& d : w.debian) {
        text += pin_line(d, with_hash);
    }
    return text;
}

// Imports every package. setuptools goes first: on Debian, importing pip before setuptools
// trips setuptools' distutils hack (the same happens in a `python3 -m venv` environment that
// ensurepip seeded from these wheels, so it is not about how they were installed).
std::string import_all(const test_wheels& w)
{
    std::string code = "import ";
    for (const auto& d : w.debian) {
        if (d.project == "setuptools") {
            code += "setuptools, ";
        }
    }
    code += "alpha, beta";
    for (const auto& d : w.debian) {
        if (d.project != "setuptools") {
            code += ", " + d.project;
        }
    }
    return code + "; print(alpha.VERSION, beta.VERSION)";
}

}  // namespace

TEST_CASE("install: a lockfile into a fresh venv, then the same again is a no-op without network",
          "[install]")
{
    const test_wheels w;
    auto server = std::make_unique<pkg::test::nginx_fixture>(index_tree(links_of(w.all())));
    workspace ws("first");
    const auto venv = ws.make_venv();
    const auto lock = ws.lockfile("lock.txt", all_pins(w, false));
    auto options = ws.options(venv, server->http_url("/simple/"), {lock});

    auto first = pkg::install(options);
    REQUIRE(first);
    std::vector<std::string> expected{"alpha", "beta"};
    for (const auto& d : w.debian) {
        expected.push_back(d.project);
    }
    std::sort(expected.begin(), expected.end());
    CHECK(names_of(first->installed) == expected);
    CHECK(first->unchanged.empty());
    CHECK(first->replaced.empty());
    CHECK(first->environment == venv);
    CHECK(first->python_version.starts_with("3."));
    CHECK(first->network_requests > 0);
    CHECK(first->downloaded_bytes > 0);
    for (const auto& p : first->installed) {
        INFO(p.name);
        CHECK(p.source == pkg::package_source::network);
        CHECK(p.wheel.ends_with(".whl"));
        CHECK(p.files > 0);
    }

    const auto imported = run_python(venv, import_all(w));
    INFO(imported.err);
    CHECK(imported.exit_code == 0);
    CHECK(imported.out == "1.0 1.0\n");
    const auto script = pkg::test::run_process({(venv / "bin" / "alpha-cli").string()});
    CHECK(script.exit_code == 0);
    CHECK(script.out == "alpha 1.0\n");
    CHECK(check_consistent(venv) == expected.size());
    // pkg marks what it installed.
    CHECK(pkg::test::read_text(site_packages(venv) / "alpha-1.0.dist-info" / "INSTALLER") ==
          "pkg\n");

    // The second run needs no server at all: stop it to prove it.
    server.reset();
    auto second = pkg::install(options);
    REQUIRE(second);
    CHECK(second->installed.empty());
    CHECK(second->replaced.empty());
    CHECK(names_of(second->unchanged) == expected);
    CHECK(second->network_requests == 0);
    CHECK(second->downloaded_bytes == 0);
    CHECK(check_consistent(venv) == expected.size());

    // list sees the same packages, sorted by normalized name.
    auto listing = pkg::list(options);
    REQUIRE(listing);
    std::vector<std::string> listed;
    for (const auto& p : listing->packages) {
        listed.push_back(p.normalized_name);
        if (p.normalized_name == "alpha") {
            CHECK(p.version == "1.0");
            CHECK(p.installer == "pkg");
        }
    }
    CHECK(listed == expected);
}

TEST_CASE("install: a warm install with pinned hashes makes no request (server stopped)",
          "[install]")
{
    const test_wheels w;
    auto server = std::make_unique<pkg::test::nginx_fixture>(index_tree(links_of(w.all())));
    workspace ws("warm");
    const auto lock = ws.lockfile("lock.txt", all_pins(w, true));
    const auto venv1 = ws.make_venv("venv1");
    auto cold = pkg::install(ws.options(venv1, server->http_url("/simple/"), {lock}));
    REQUIRE(cold);
    CHECK(cold->network_requests > 0);

    server.reset();
    const auto venv2 = ws.make_venv("venv2");
    // The index URL now points at nothing: any request would fail the install.
    auto warm = pkg::install(ws.options(venv2, "http://127.0.0.1:9/simple/", {lock}));
    REQUIRE(warm);
    CHECK(warm->network_requests == 0);
    CHECK(warm->installed.size() == cold->installed.size());
    for (const auto& p : warm->installed) {
        INFO(p.name);
        CHECK(p.source == pkg::package_source::cache);
    }
    const auto imported = run_python(venv2, import_all(w));
    INFO(imported.err);
    CHECK(imported.exit_code == 0);
    check_consistent(venv2);

    SECTION("offline works from the cache too")
    {
        const auto venv3 = ws.make_venv("venv3");
        auto options = ws.options(venv3, "http://127.0.0.1:9/simple/", {lock});
        options.offline = true;
        auto offline = pkg::install(options);
        REQUIRE(offline);
        CHECK(offline->network_requests == 0);
    }
    SECTION("without hashes the index is needed: a dead index is an error naming it")
    {
        const auto venv3 = ws.make_venv("venv3");
        const auto unhashed = ws.lockfile("unhashed.txt", pin_line(w.alpha1, false));
        auto failed = pkg::install(ws.options(venv3, "http://127.0.0.1:9/simple/", {unhashed}));
        REQUIRE_FALSE(failed);
        CHECK(failed.error().to_string().find("127.0.0.1:9") != std::string::npos);
        CHECK(dist_infos(venv3).empty());
    }
}

TEST_CASE("install: upgrade, downgrade and reinstall replace the old version", "[install]")
{
    const test_wheels w;
    pkg::test::nginx_fixture server(index_tree(links_of(w.all())));
    workspace ws("upgrade");
    const auto venv = ws.make_venv();
    const auto v1 = ws.lockfile("v1.txt", pin_line(w.alpha1));
    const auto v2 = ws.lockfile("v2.txt", pin_line(w.alpha2));
    const auto index = server.http_url("/simple/");

    REQUIRE(pkg::install(ws.options(venv, index, {v1})));
    auto up = pkg::install(ws.options(venv, index, {v2}));
    REQUIRE(up);
    REQUIRE(up->replaced.size() == 1);
    CHECK(up->replaced[0].name == "alpha");
    CHECK(up->replaced[0].version == "2.0");
    CHECK(up->replaced[0].previous_version == "1.0");
    CHECK(dist_infos(venv) == std::map<std::string, std::string>{{"alpha", "2.0"}});
    CHECK(run_python(venv, "import alpha.added_in_two, alpha; print(alpha.VERSION)").out == "2.0\n");

    auto down = pkg::install(ws.options(venv, index, {v1}));
    REQUIRE(down);
    REQUIRE(down->replaced.size() == 1);
    CHECK(down->replaced[0].previous_version == "2.0");
    CHECK(dist_infos(venv) == std::map<std::string, std::string>{{"alpha", "1.0"}});
    // The file only 2.0 had is gone with it.
    CHECK_FALSE(pkg::test::path_exists(site_packages(venv) / "alpha" / "added_in_two.py"));
    CHECK(run_python(venv, "import alpha; print(alpha.VERSION)").out == "1.0\n");
    check_consistent(venv);

    auto options = ws.options(venv, index, {v1});
    options.reinstall = true;
    auto again = pkg::install(options);
    REQUIRE(again);
    REQUIRE(again->replaced.size() == 1);
    CHECK(again->replaced[0].previous_version == "1.0");
    CHECK(again->replaced[0].source == pkg::package_source::cache);
    check_consistent(venv);
    // A pin paired with another version's hash (cached!) never installs that other version.
    const auto mixed = ws.lockfile("mixed.txt", "alpha==1.0 --hash=sha256:" + w.alpha2.sha256 + "\n");
    auto wrong = pkg::install(ws.options(ws.make_venv("venv-mixed"), index, {mixed}));
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == errc::no_compatible_wheel);
}

TEST_CASE("install: sync removes what the lockfile does not name, keeping pip", "[install]")
{
    const test_wheels w;
    pkg::test::nginx_fixture server(index_tree(links_of(w.all())));
    workspace ws("sync");
    const auto venv = ws.make_venv();
    const auto index = server.http_url("/simple/");
    REQUIRE(pkg::install(ws.options(venv, index, {ws.lockfile("all.txt", all_pins(w, true))})));

    auto options = ws.options(venv, index, {ws.lockfile("alpha.txt", pin_line(w.alpha1))});
    options.sync = true;
    std::vector<std::string> events;
    options.on_progress = [&](const pkg::progress_event& e) {
        if (e.action == "removed") {
            events.push_back(e.package);
        }
    };
    auto synced = pkg::install(options);
    REQUIRE(synced);
    CHECK(names_of(synced->removed) == std::vector<std::string>{"beta"});
    CHECK(events == std::vector<std::string>{"beta"});
    CHECK(names_of(synced->unchanged) == std::vector<std::string>{"alpha"});
    auto left = dist_infos(venv);
    CHECK_FALSE(left.contains("beta"));
    CHECK_FALSE(pkg::test::path_exists(site_packages(venv) / "beta"));
    CHECK_FALSE(pkg::test::path_exists(venv / "bin" / "beta-cli"));
    for (const auto& d : w.debian) {
        CHECK(left.contains(d.project));  // seed packages stay
    }
    check_consistent(venv);

    options.sync_remove_seed_packages = true;
    auto all_gone = pkg::install(options);
    REQUIRE(all_gone);
    CHECK(all_gone->removed.size() == w.debian.size());
    CHECK(dist_infos(venv) == std::map<std::string, std::string>{{"alpha", "1.0"}});
}

TEST_CASE("install: a dry run reports the plan and changes nothing", "[install]")
{
    const test_wheels w;
    pkg::test::nginx_fixture server(index_tree(links_of(w.all())));
    workspace ws("dry");
    const auto venv = ws.make_venv();
    const auto index = server.http_url("/simple/");
    REQUIRE(pkg::install(ws.options(venv, index, {ws.lockfile("a.txt", pin_line(w.alpha1))})));
    const auto before = dist_infos(venv);

    auto options = ws.options(
        venv, index, {ws.lockfile("b.txt", pin_line(w.alpha2) + pin_line(w.beta1))});
    options.dry_run = true;
    options.sync = true;
    auto dry = pkg::install(options);
    REQUIRE(dry);
    CHECK(dry->is_dry_run);
    CHECK(names_of(dry->installed) == std::vector<std::string>{"beta"});
    REQUIRE(dry->replaced.size() == 1);
    CHECK(dry->replaced[0].version == "2.0");
    CHECK(dry->replaced[0].previous_version == "1.0");
    CHECK(dry->network_requests == 0);
    CHECK(dist_infos(venv) == before);

    // A dry run takes no environment lock: it works while another process holds it.
    auto held = pkg::io::file_lock::try_lock(venv / ".pkg.lock", pkg::io::lock_kind::exclusive,
                                             "test holder");
    REQUIRE(held);
    REQUIRE(*held);
    options.lock_timeout = std::chrono::milliseconds(0);
    auto while_locked = pkg::install(options);
    REQUIRE(while_locked);
    CHECK(while_locked->replaced.size() == 1);
}

TEST_CASE("install: --no-cache leaves no cache behind", "[install]")
{
    const test_wheels w;
    pkg::test::nginx_fixture server(index_tree(links_of(w.all())));
    workspace ws("nocache");
    const auto venv = ws.make_venv();
    auto options = ws.options(venv, server.http_url("/simple/"),
                              {ws.lockfile("lock.txt", pin_line(w.alpha1) + pin_line(w.beta1))});
    options.no_cache = true;
    auto done = pkg::install(options);
    REQUIRE(done);
    CHECK(done->installed.size() == 2);
    CHECK(run_python(venv, "import alpha, beta").exit_code == 0);
    CHECK_FALSE(pkg::test::path_exists(ws.cache()));
    for (const auto& entry : std::filesystem::directory_iterator(ws.dir.path)) {
        INFO(entry.path());
        CHECK_FALSE(entry.path().filename().string().starts_with(".pkg-cache"));
    }
    check_consistent(venv);
}

TEST_CASE("install: a bad hash fails naming the package and URL and nothing is half-installed",
          "[install]")
{
    const test_wheels w;
    pkg::test::nginx_fixture server(index_tree(links_of(w.all())));
    workspace ws("badhash");
    const auto venv = ws.make_venv();
    const std::string wrong(64, 'e');
    auto options = ws.options(venv, server.http_url("/simple/"),
                              {ws.lockfile("lock.txt", pin_line(w.alpha1) + "beta==1.0 --hash=sha256:" +
                                                           wrong + "\n")});
    auto failed = pkg::install(options);
    REQUIRE_FALSE(failed);
    const auto text = failed.error().to_string();
    INFO(text);
    CHECK((failed.error().code == errc::hash_mismatch || failed.error().code == errc::no_compatible_wheel));
    CHECK(text.find("beta") != std::string::npos);
    CHECK(text.find("beta-1.0-py3-none-any.whl") != std::string::npos);
    CHECK_FALSE(dist_infos(venv).contains("beta"));
    check_consistent(venv);
    // Nothing unverified was published for beta in the cache.
    CHECK_FALSE(pkg::test::path_exists(ws.cache() / "archive-v1" / w.beta1.sha256));
}

TEST_CASE("install: the index serving other bytes than its own hash says is a hash mismatch",
          "[install]")
{
    const test_wheels w;
    auto tree = index_tree(links_of({w.alpha1, w.beta1}));
    for (auto& [path, content] : tree) {
        if (path == "files/" + w.beta1.filename) {
            content = make_wheel("beta", "1.0", "tampered").bytes;
        }
    }
    pkg::test::nginx_fixture server(tree);
    workspace ws("tampered");
    const auto venv = ws.make_venv();
    auto failed = pkg::install(ws.options(
        venv, server.http_url("/simple/"),
        {ws.lockfile("lock.txt", pin_line(w.alpha1, false) + pin_line(w.beta1, false))}));
    REQUIRE_FALSE(failed);
    INFO(failed.error().to_string());
    CHECK(failed.error().code == errc::hash_mismatch);
    CHECK(failed.error().to_string().find(server.http_url("/files/" + w.beta1.filename)) !=
          std::string::npos);
    CHECK_FALSE(dist_infos(venv).contains("beta"));
    check_consistent(venv);
}

TEST_CASE("install: find-links wheels are local, yanked files warn, offline misses fail",
          "[install]")
{
    const test_wheels w;
    workspace ws("sources");
    const auto venv = ws.make_venv();
    SECTION("a find-links directory without an index")
    {
        const auto wheels = ws.dir.path / "wheelhouse";
        std::filesystem::create_directories(wheels);
        pkg::test::write_text(wheels / w.alpha1.filename, w.alpha1.bytes);
        auto options = ws.options(venv, "", {ws.lockfile("lock.txt", pin_line(w.alpha1))});
        options.index.index_url.reset();
        options.index.no_index = true;
        options.index.find_links = {wheels.string()};
        auto r = pkg::install(options);
        REQUIRE(r);
        REQUIRE(r->installed.size() == 1);
        CHECK(r->installed[0].source == pkg::package_source::local);
        CHECK(r->network_requests == 0);
        CHECK(run_python(venv, "import alpha; print(alpha.VERSION)").out == "1.0\n");
    }
    SECTION("a yanked file is installed for its exact pin, with a warning")
    {
        pkg::test::nginx_fixture server(
            index_tree({index_link{w.beta1, {}, true, std::string("broken build")}}));
        auto r = pkg::install(ws.options(venv, server.http_url("/simple/"),
                                         {ws.lockfile("lock.txt", pin_line(w.beta1))}));
        REQUIRE(r);
        CHECK(r->installed.size() == 1);
        bool warned = false;
        for (const auto& text : r->warnings) {
            warned = warned || (text.find("beta") != std::string::npos &&
                                text.find("broken build") != std::string::npos);
        }
        CHECK(warned);
    }
    SECTION("offline with an empty cache")
    {
        auto options = ws.options(venv, "http://127.0.0.1:9/simple/",
                                  {ws.lockfile("lock.txt", pin_line(w.alpha1))});
        options.offline = true;
        auto r = pkg::install(options);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::offline_miss);
        CHECK(dist_infos(venv).empty());
    }
}

TEST_CASE("install: lockfile errors come before anything else", "[install]")
{
    workspace ws("lockerr");
    const auto venv = ws.make_venv();
    SECTION("not pinned")
    {
        auto r = pkg::install(ws.options(venv, "http://127.0.0.1:9/simple/",
                                         {ws.lockfile("lock.txt", "alpha==1.0\nbeta>=1\n")}));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::requirement_not_pinned);
        CHECK(r.error().where.ends_with("lock.txt:2"));
    }
    SECTION("missing hash")
    {
        auto r = pkg::install(ws.options(
            venv, "http://127.0.0.1:9/simple/",
            {ws.lockfile("lock.txt", "alpha==1.0 --hash=sha256:" + std::string(64, 'a') +
                                         "\nbeta==1.0\n")}));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::missing_hash);
        CHECK(r.error().where.ends_with("lock.txt:2"));
    }
    SECTION("markers that do not apply are skipped and reported")
    {
        auto r = pkg::install(ws.options(
            venv, "http://127.0.0.1:9/simple/",
            {ws.lockfile("lock.txt", "pywin32==306 ; sys_platform == 'win32'\n")}));
        REQUIRE(r);
        REQUIRE(r->skipped.size() == 1);
        CHECK(r->skipped[0].find("pywin32") != std::string::npos);
        CHECK(r->installed.empty());
    }
    CHECK(dist_infos(venv).empty());
}

TEST_CASE("install: uninstall by RECORD, and an unknown name removes nothing", "[install]")
{
    const test_wheels w;
    pkg::test::nginx_fixture server(index_tree(links_of(w.all())));
    workspace ws("uninstall");
    const auto venv = ws.make_venv();
    auto options = ws.options(venv, server.http_url("/simple/"),
                              {ws.lockfile("lock.txt", pin_line(w.alpha1) + pin_line(w.beta1))});
    REQUIRE(pkg::install(options));

    pkg::uninstall_options u;
    static_cast<pkg::environment_options&>(u) = options;
    u.names = {"Beta", "nonexistent-project"};
    auto refused = pkg::uninstall(u);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == errc::not_installed);
    CHECK(refused.error().message.find("nonexistent-project") != std::string::npos);
    CHECK(dist_infos(venv).size() == 2);

    u.names = {"Beta"};
    u.dry_run = true;
    auto dry = pkg::uninstall(u);
    REQUIRE(dry);
    CHECK(names_of(dry->removed) == std::vector<std::string>{"beta"});
    CHECK(dist_infos(venv).size() == 2);

    u.dry_run = false;
    auto removed = pkg::uninstall(u);
    REQUIRE(removed);
    REQUIRE(removed->removed.size() == 1);
    CHECK(removed->removed[0].version == "1.0");
    CHECK(removed->removed[0].files > 0);
    CHECK(dist_infos(venv) == std::map<std::string, std::string>{{"alpha", "1.0"}});
    CHECK_FALSE(pkg::test::path_exists(venv / "bin" / "beta-cli"));
    CHECK_FALSE(pkg::test::path_exists(site_packages(venv) / "beta"));
    check_consistent(venv);
}

TEST_CASE("install: --compile-bytecode compiles the installed files only", "[install]")
{
    const test_wheels w;
    pkg::test::nginx_fixture server(index_tree(links_of(w.all())));
    workspace ws("compile");
    const auto venv = ws.make_venv();
    auto options = ws.options(venv, server.http_url("/simple/"),
                              {ws.lockfile("lock.txt", pin_line(w.alpha1))});
    options.compile_bytecode = true;
    std::vector<pkg::phase> phases;
    options.on_progress = [&](const pkg::progress_event& e) {
        if (e.action.empty()) {
            phases.push_back(e.phase);
        }
    };
    auto done = pkg::install(options);
    REQUIRE(done);
    CHECK(std::find(phases.begin(), phases.end(), pkg::phase::compiling) != phases.end());
    bool has_pyc = false;
    for (const auto& entry : std::filesystem::directory_iterator(site_packages(venv) / "alpha" /
                                                                 "__pycache__")) {
        has_pyc = has_pyc || entry.path().filename().string().starts_with("__init__.");
    }
    CHECK(has_pyc);
}

TEST_CASE("install: measure the no-op (not a test: run with the tag noop-timing)", "[.noop-timing]")
{
    const test_wheels w;
    pkg::test::nginx_fixture server(index_tree(links_of(w.all())));
    workspace ws("noop");
    const auto venv = ws.make_venv();
    const auto options = ws.options(venv, server.http_url("/simple/"),
                                    {ws.lockfile("lock.txt", all_pins(w, true))});
    REQUIRE(pkg::install(options));
    std::vector<double> ms;
    for (int i = 0; i < 20; ++i) {
        const auto start = std::chrono::steady_clock::now();
        auto again = pkg::install(options);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                               start)
                         .count());
        REQUIRE(again);
        REQUIRE(again->installed.empty());
    }
    std::sort(ms.begin(), ms.end());
    WARN("no-op install of " << options.requirements.size() << " lockfile(s), "
                             << w.debian.size() + 2 << " packages: median " << ms[ms.size() / 2]
                             << " ms, min " << ms.front() << " ms, max " << ms.back() << " ms");
}
