// The embedding API's own promises (pkg/engine/install.hpp, pkg/engine/operation.hpp):
// asynchronous operations with ordered progress, cancellation that leaves the environment
// consistent, several engines in one process, on_done exactly once, and error values.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <pkg/engine/errc.hpp>
#include <pkg/engine/install.hpp>
#include <pkg/engine/operation.hpp>

#include "fs/file_lock.hpp"
#include "install_fixture.hpp"
#include "support/fault_server.hpp"

extern char** environ;

using namespace pkg::test::install_fixture;
using pkg::errc;

namespace {

// The fault server: `/stall` never answers.
using fault_server = pkg::test::fault_server;

// Collects an async outcome and counts on_done calls.
template <class T>
struct outcome_box {
    std::mutex mutex;
    std::condition_variable changed;
    std::optional<pkg::result<T>> value;
    int calls = 0;
    std::thread::id thread;

    std::function<void(pkg::result<T>)> callback()
    {
        return [this](pkg::result<T> r) {
            std::lock_guard lock(mutex);
            value.emplace(std::move(r));
            ++calls;
            thread = std::this_thread::get_id();
            changed.notify_all();
        };
    }
};

}  // namespace

TEST_CASE("api: async_install reports ordered progress with consistent totals", "[api]")
{
    const test_wheels w;
    pkg::test::nginx_fixture server(index_tree(links_of(w.all())));
    workspace ws("progress");
    const auto venv = ws.make_venv();
    std::string text = pin_line(w.alpha1) + pin_line(w.beta1);
    for (const auto& d : w.debian) {
        text += pin_line(d);
    }
    auto options = ws.options(venv, server.http_url("/simple/"), {ws.lockfile("lock.txt", text)});
    std::vector<pkg::progress_event> events;
    std::set<std::thread::id> progress_threads;
    options.on_progress = [&](const pkg::progress_event& e) {
        events.push_back(e);
        progress_threads.insert(std::this_thread::get_id());
    };
    outcome_box<pkg::install_report> box;
    auto op = pkg::async_install(options, box.callback());
    op.wait();
    CHECK(op.is_done());
    REQUIRE(box.calls == 1);
    REQUIRE(box.value);
    REQUIRE(*box.value);
    const auto& report = **box.value;
    const std::size_t total = 2 + w.debian.size();
    CHECK(report.installed.size() == total);

    // One thread for every callback, and it is not ours.
    CHECK(progress_threads.size() == 1);
    CHECK(progress_threads.count(std::this_thread::get_id()) == 0);
    CHECK(*progress_threads.begin() == box.thread);

    // Phase announcements: each once, in enum order, ending with done.
    std::vector<pkg::phase> phases;
    for (const auto& e : events) {
        if (e.action.empty()) {
            phases.push_back(e.phase);
        }
    }
    CHECK(phases == std::vector<pkg::phase>{pkg::phase::preparing, pkg::phase::planning,
                                            pkg::phase::fetching, pkg::phase::installing,
                                            pkg::phase::done});
    std::size_t done = 0;
    std::size_t installed = 0;
    std::size_t downloaded = 0;
    std::uint64_t bytes = 0;
    std::set<std::string> started;
    for (const auto& e : events) {
        INFO(pkg::to_string(e.phase) << " " << e.package << " " << e.action);
        CHECK(e.packages_done >= done);  // never goes back
        done = e.packages_done;
        CHECK(e.bytes_done >= bytes);
        bytes = e.bytes_done;
        CHECK(e.bytes_done <= e.bytes_total);
        if (e.phase != pkg::phase::preparing && e.phase != pkg::phase::planning) {
            CHECK(e.packages_total == total);
        }
        if (e.action == "downloading") {
            started.insert(e.package);
        } else if (e.action == "downloaded") {
            CHECK(started.count(e.package) == 1);  // started before it finished
            ++downloaded;
        } else if (e.action == "installed") {
            ++installed;
            CHECK(e.packages_done == installed);
        }
    }
    CHECK(installed == total);
    CHECK(downloaded == total);
    CHECK(done == total);
    CHECK(bytes == report.downloaded_bytes);
}

TEST_CASE("api: cancelling mid-install ends with operation_canceled and the venv stays consistent",
          "[api]")
{
    const test_wheels w;
    fault_server stalling;
    const auto gamma = make_wheel("gamma", "1.0");
    // gamma's wheel lives on a server that never answers: its download hangs until cancelled.
    pkg::test::nginx_fixture server(
        index_tree({index_link{w.alpha1, {}, true, std::nullopt}, index_link{w.beta1, {}, true, std::nullopt},
                    index_link{gamma, stalling.url("/stall"), false, std::nullopt}}));
    workspace ws("cancel");
    const auto venv = ws.make_venv();
    auto options = ws.options(
        venv, server.http_url("/simple/"),
        {ws.lockfile("lock.txt", pin_line(w.alpha1, false) + pin_line(w.beta1, false) +
                                     pin_line(gamma, false))});
    std::mutex mutex;
    std::condition_variable changed;
    std::set<std::string> installed;
    bool is_gamma_downloading = false;
    options.on_progress = [&](const pkg::progress_event& e) {
        std::lock_guard lock(mutex);
        if (e.action == "installed") {
            installed.insert(e.package);
        }
        if (e.action == "downloading" && e.package == "gamma") {
            is_gamma_downloading = true;
        }
        changed.notify_all();
    };
    outcome_box<pkg::install_report> box;
    auto op = pkg::async_install(options, box.callback());
    {
        std::unique_lock lock(mutex);
        const bool ready = changed.wait_for(lock, std::chrono::seconds(60), [&] {
            return installed.size() == 2 && is_gamma_downloading;
        });
        REQUIRE(ready);
    }
    CHECK_FALSE(op.is_done());
    op.cancel();
    op.cancel();  // idempotent
    op.wait();
    REQUIRE(box.calls == 1);
    REQUIRE(box.value);
    REQUIRE_FALSE(*box.value);
    const auto& e = box.value->error();
    INFO(e.to_string());
    CHECK(e.code == std::errc::operation_canceled);
    // What finished stays; what did not is absent; every RECORD is complete.
    CHECK(dist_infos(venv) ==
          std::map<std::string, std::string>{{"alpha", "1.0"}, {"beta", "1.0"}});
    check_consistent(venv);
    // The lock was released: the next install of the finished part works at once.
    auto next = pkg::install(ws.options(venv, server.http_url("/simple/"),
                                        {ws.lockfile("ab.txt", pin_line(w.alpha1, false))}));
    REQUIRE(next);
    CHECK(next->unchanged.size() == 1);
}

TEST_CASE("api: destroying a running operation cancels and joins it and on_done still runs once",
          "[api]")
{
    const test_wheels w;
    fault_server stalling;
    const auto gamma = make_wheel("gamma", "1.0");
    pkg::test::nginx_fixture server(index_tree({index_link{gamma, stalling.url("/stall"), false, std::nullopt}}));
    workspace ws("destroy");
    const auto venv = ws.make_venv();
    auto options = ws.options(venv, server.http_url("/simple/"),
                              {ws.lockfile("lock.txt", pin_line(gamma, false))});
    std::promise<void> downloading;
    std::atomic<bool> is_signalled{false};
    options.on_progress = [&](const pkg::progress_event& e) {
        if (e.action == "downloading" && !is_signalled.exchange(true)) {
            downloading.set_value();
        }
    };
    outcome_box<pkg::install_report> box;
    {
        auto op = pkg::async_install(options, box.callback());
        REQUIRE(downloading.get_future().wait_for(std::chrono::seconds(60)) ==
                std::future_status::ready);
        pkg::operation moved = std::move(op);
        CHECK(op.is_done());  // a moved-from handle refers to nothing
    }
    REQUIRE(box.calls == 1);
    REQUIRE_FALSE(*box.value);
    CHECK(box.value->error().code == std::errc::operation_canceled);
    CHECK(dist_infos(venv).empty());
}

TEST_CASE("api: two engines with different caches install concurrently in one process", "[api]")
{
    const test_wheels w;
    pkg::test::nginx_fixture server(index_tree(links_of(w.all())));
    workspace ws1("concurrent1");
    workspace ws2("concurrent2");
    const auto venv1 = ws1.make_venv();
    const auto venv2 = ws2.make_venv();
    auto options1 = ws1.options(venv1, server.http_url("/simple/"),
                                {ws1.lockfile("lock.txt", pin_line(w.alpha1) + pin_line(w.beta1))});
    auto options2 = ws2.options(venv2, server.http_url("/simple/"),
                                {ws2.lockfile("lock.txt", pin_line(w.alpha2) + pin_line(w.beta1))});
    outcome_box<pkg::install_report> box1;
    outcome_box<pkg::install_report> box2;
    auto op1 = pkg::async_install(options1, box1.callback());
    auto op2 = pkg::async_install(options2, box2.callback());
    op1.wait();
    op2.wait();
    REQUIRE(*box1.value);
    REQUIRE(*box2.value);
    CHECK(box1.thread != box2.thread);
    CHECK(dist_infos(venv1) == std::map<std::string, std::string>{{"alpha", "1.0"}, {"beta", "1.0"}});
    CHECK(dist_infos(venv2) == std::map<std::string, std::string>{{"alpha", "2.0"}, {"beta", "1.0"}});
    CHECK(pkg::test::path_exists(ws1.cache() / "archive-v1" / w.alpha1.sha256));
    CHECK(pkg::test::path_exists(ws2.cache() / "archive-v1" / w.alpha2.sha256));
    CHECK_FALSE(pkg::test::path_exists(ws1.cache() / "archive-v1" / w.alpha2.sha256));
    check_consistent(venv1);
    check_consistent(venv2);
}

TEST_CASE("api: two installs into one environment serialize on its lock", "[api]")
{
    const test_wheels w;
    pkg::test::nginx_fixture server(index_tree(links_of(w.all())));
    workspace ws("samevenv");
    const auto venv = ws.make_venv();
    const auto lock = ws.lockfile("lock.txt", pin_line(w.alpha1) + pin_line(w.beta1));
    outcome_box<pkg::install_report> box1;
    outcome_box<pkg::install_report> box2;
    auto op1 = pkg::async_install(ws.options(venv, server.http_url("/simple/"), {lock}), box1.callback());
    auto op2 = pkg::async_install(ws.options(venv, server.http_url("/simple/"), {lock}), box2.callback());
    op1.wait();
    op2.wait();
    REQUIRE(*box1.value);
    REQUIRE(*box2.value);
    // One of them installed both, the other found both installed.
    CHECK((*box1.value)->installed.size() + (*box2.value)->installed.size() == 2);
    CHECK((*box1.value)->unchanged.size() + (*box2.value)->unchanged.size() == 2);
    check_consistent(venv);
}

TEST_CASE("api: errors are values with a category, a message and context", "[api]")
{
    workspace ws("errors");
    const auto venv = ws.make_venv();
    SECTION("a lockfile error names file:line")
    {
        auto r = pkg::install(ws.options(venv, "http://127.0.0.1:9/simple/",
                                         {ws.lockfile("lock.txt", "alpha>=1\n")}));
        REQUIRE_FALSE(r);
        CHECK(std::string(r.error().code.category().name()) == "pkg");
        CHECK(r.error().code == errc::requirement_not_pinned);
        CHECK(r.error().where.ends_with("lock.txt:1"));
        CHECK(r.error().message.find("alpha>=1") != std::string::npos);
    }
    SECTION("a missing lockfile")
    {
        auto r = pkg::install(ws.options(venv, "http://127.0.0.1:9/simple/",
                                         {ws.dir.path / "missing.txt"}));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::invalid_requirements_file);
        CHECK(r.error().to_string().find("missing.txt") != std::string::npos);
    }
    SECTION("an unknown project on the index")
    {
        pkg::test::nginx_fixture server(index_tree(links_of({make_wheel("alpha", "1.0")})));
        auto r = pkg::install(ws.options(venv, server.http_url("/simple/"),
                                         {ws.lockfile("lock.txt", "nosuchproject==1.0\n")}));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::project_not_found);
        CHECK(r.error().to_string().find("nosuchproject") != std::string::npos);
    }
    SECTION("a version the index does not have")
    {
        pkg::test::nginx_fixture server(index_tree(links_of({make_wheel("alpha", "1.0")})));
        auto r = pkg::install(ws.options(venv, server.http_url("/simple/"),
                                         {ws.lockfile("lock.txt", "alpha==3.0\n")}));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::no_compatible_wheel);
        CHECK(r.error().to_string().find("alpha") != std::string::npos);
    }
    SECTION("an interpreter outside any venv")
    {
        auto options = ws.options(venv, "http://127.0.0.1:9/simple/", {});
        options.python = "/usr/bin/python3";
        auto r = pkg::install(options);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::not_an_environment);
        CHECK(r.error().message.find("/usr/bin/python3") != std::string::npos);
        CHECK_FALSE(r.error().hint.empty());
    }
    SECTION("no interpreter at all")
    {
        auto options = ws.options(venv, "http://127.0.0.1:9/simple/", {});
        options.python = (ws.dir.path / "nowhere" / "bin" / "python").string();
        auto r = pkg::install(options);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::interpreter_not_found);
    }
    SECTION("no index configured, when one is needed")
    {
        auto options = ws.options(venv, "", {ws.lockfile("lock.txt", "alpha==1.0\n")});
        options.index.index_url.reset();
        auto r = pkg::install(options);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::no_index_configured);
        CHECK(r.error().to_string().find("PKG_INDEX_URL") != std::string::npos);
    }
    SECTION("a locked environment times out naming the lock")
    {
        auto held = pkg::io::file_lock::try_lock(venv / ".pkg.lock", pkg::io::lock_kind::exclusive,
                                                 "test holder");
        REQUIRE(held);
        REQUIRE(*held);
        auto options = ws.options(venv, "http://127.0.0.1:9/simple/",
                                  {ws.lockfile("lock.txt", "alpha==1.0\n")});
        options.lock_timeout = std::chrono::milliseconds(50);
        std::vector<std::string> actions;
        options.on_progress = [&](const pkg::progress_event& e) { actions.push_back(e.action); };
        auto r = pkg::install(options);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::environment_locked);
        CHECK(r.error().where.find(".pkg.lock") != std::string::npos);
        CHECK(std::find(actions.begin(), actions.end(), "waiting") != actions.end());
    }
    SECTION("async: the error arrives through on_done")
    {
        outcome_box<pkg::environment_listing> box;
        pkg::environment_options options = ws.options(venv, "", {});
        options.python = "/usr/bin/python3";
        auto op = pkg::async_list(options, box.callback());
        op.wait();
        REQUIRE(box.calls == 1);
        REQUIRE_FALSE(*box.value);
        CHECK(box.value->error().code == errc::not_an_environment);
    }
}

TEST_CASE("api: async list, venv and cache forms", "[api]")
{
    workspace ws("asyncforms");
    SECTION("async_create_venv then async_list")
    {
        outcome_box<pkg::venv_report> made;
        pkg::venv_options v;
        v.path = ws.dir.path / "venv";
        v.python = "/usr/bin/python3";
        auto op = pkg::async_create_venv(v, made.callback());
        op.wait();
        REQUIRE(*made.value);
        outcome_box<pkg::environment_listing> listed;
        auto options = ws.options((*made.value)->path, "", {});
        auto op2 = pkg::async_list(options, listed.callback());
        op2.wait();
        REQUIRE(*listed.value);
        CHECK((*listed.value)->packages.empty());
        CHECK((*listed.value)->environment == (*made.value)->path);
    }
    SECTION("async cache size and prune of an empty cache")
    {
        pkg::cache_options c;
        c.cache_dir = ws.cache().string();
        outcome_box<pkg::cache_size_report> size;
        auto op = pkg::async_cache_size(c, size.callback());
        op.wait();
        REQUIRE(*size.value);
        CHECK((*size.value)->files == 0);
        outcome_box<pkg::cache_removal_report> pruned;
        auto op2 = pkg::async_cache_prune(c, false, pruned.callback());
        op2.wait();
        REQUIRE(*pruned.value);
        CHECK((*pruned.value)->removed.empty());
    }
    SECTION("--python as a venv directory relative to cwd, without a slash")
    {
        const auto venv = ws.make_venv(".venv");
        auto options = ws.options(venv, "", {});
        options.python = ".venv";
        auto listed = pkg::list(options);
        REQUIRE(listed);
        CHECK(listed->environment == venv);
    }
    SECTION("an empty handle")
    {
        pkg::operation none;
        CHECK(none.is_done());
        none.cancel();
        none.wait();
    }
}

TEST_CASE("api: a handle destroyed from its own on_done detaches instead of deadlocking", "[api]")
{
    workspace ws("selfdestroy");
    pkg::environment_options options;
    options.python = (ws.dir.path / "nowhere" / "bin" / "python").string();
    options.getenv = [](std::string_view) { return std::optional<std::string>(); };
    std::mutex mutex;
    std::optional<pkg::operation> handle;
    std::promise<void> stored;
    std::shared_future<void> is_stored = stored.get_future().share();
    std::promise<pkg::error> finished;
    auto op = pkg::async_list(options, [&](pkg::result<pkg::environment_listing> r) {
        is_stored.wait();
        {
            std::lock_guard lock(mutex);
            handle.reset();  // destroys the last handle on the operation's own thread
        }
        finished.set_value(r ? pkg::error{} : r.error());
    });
    {
        std::lock_guard lock(mutex);
        handle.emplace(std::move(op));
    }
    stored.set_value();
    auto f = finished.get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    CHECK(f.get().code == errc::interpreter_not_found);
    std::lock_guard lock(mutex);
    CHECK_FALSE(handle.has_value());
}
