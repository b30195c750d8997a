// Tests of the coroutine runtime: runtime::run, cancel_handle, async_on_cpu, slots, async_collect.
// Timers only create interleavings; nothing here asserts on time.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include "runtime/errors.hpp"
#include "runtime/fan_out.hpp"
#include "runtime/runtime.hpp"
#include "runtime/slots.hpp"
#include "support/run_task.hpp"

using namespace std::chrono_literals;
using pkg::io::task;

namespace {

/// Lets other ready coroutines on this executor run.
task<void> async_yield()
{
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

/// Waits `d` on this coroutine's executor; throws operation_aborted when cancelled.
task<void> async_sleep(std::chrono::milliseconds d)
{
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
}

task<int> async_answer() { co_return 42; }

task<int> async_throws_logic_error()
{
    co_await async_yield();
    throw std::logic_error("broken on purpose");
}

// ---- runtime::run ------------------------------------------------------------------------------

TEST_CASE("run returns the root's value and rethrows its exception", "[runtime]")
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 2});
    CHECK(rt.cpu_thread_count() == 2);
    CHECK(pkg::test::run_task(rt, async_answer()) == 42);
    CHECK_THROWS_WITH(pkg::test::run_task(rt, async_throws_logic_error()), "broken on purpose");
    // The runtime is reusable after a failed root.
    CHECK(pkg::test::run_task(rt, async_answer()) == 42);
    CHECK(pkg::test::run_task(async_answer()) == 42);
}

task<int> async_lost_wakeup()
{
    // An initiation that drops the handler: nothing can ever resume this coroutine.
    auto drop = [](auto handler) { (void)handler; };
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(std::move(drop),
                                                                         asio::use_awaitable);
    co_return 1;
}

TEST_CASE("run reports a root that can never be resumed instead of hanging", "[runtime]")
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 1});
    CHECK_THROWS_AS(rt.run(async_lost_wakeup()), std::logic_error);
    CHECK(rt.run(async_answer()) == 42);  // still usable
}

TEST_CASE("a default runtime sizes its CPU pool to the hardware", "[runtime]")
{
    pkg::io::runtime rt;
    CHECK(rt.cpu_thread_count() ==
          std::max<std::size_t>(1, std::thread::hardware_concurrency()));
}

// ---- async_on_cpu ------------------------------------------------------------------------------

struct thread_trace {
    std::thread::id before;
    std::thread::id inside;
    std::thread::id after;
    int value = 0;
};

task<thread_trace> async_trace_cpu_hop(asio::thread_pool::executor_type cpu)
{
    thread_trace trace;
    trace.before = std::this_thread::get_id();
    trace.value = co_await pkg::io::async_on_cpu(cpu, [&trace] {
        trace.inside = std::this_thread::get_id();
        return 6 * 7;
    });
    trace.after = std::this_thread::get_id();
    co_return trace;
}

TEST_CASE("async_on_cpu runs off the io_context thread and resumes on it", "[runtime]")
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 2});
    const auto trace = pkg::test::run_task(rt, async_trace_cpu_hop(rt.cpu_executor()));
    CHECK(trace.value == 42);
    CHECK(trace.before == std::this_thread::get_id());  // run drives the io_context here
    CHECK(trace.inside != trace.before);
    CHECK(trace.after == trace.before);
}

task<std::string> async_cpu_throws(asio::thread_pool::executor_type cpu)
{
    try {
        co_await pkg::io::async_on_cpu(cpu, []() -> int { throw std::runtime_error("inflate bug"); });
    } catch (const std::runtime_error& e) {
        co_return std::string("caught: ") + e.what();
    }
    co_return "not thrown";
}

task<int> async_cpu_void_and_move_only(asio::thread_pool::executor_type cpu)
{
    std::atomic<int> ran{0};
    auto owned = std::make_unique<int>(5);
    // Named first: GCC 12 destroys the captures of a lambda written inside a co_await
    // expression twice (here: a double delete).
    auto job = [&ran, owned = std::move(owned)] { ran += *owned; };
    co_await pkg::io::async_on_cpu(cpu, std::move(job));
    co_return ran.load();
}

TEST_CASE("async_on_cpu rethrows the callable's exception, void and move-only callables work",
          "[runtime]")
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 2});
    CHECK(pkg::test::run_task(rt, async_cpu_throws(rt.cpu_executor())) == "caught: inflate bug");
    CHECK(pkg::test::run_task(rt, async_cpu_void_and_move_only(rt.cpu_executor())) == 5);
}

task<int> async_many_cpu_jobs(pkg::io::runtime* rt, int n)
{
    std::vector<task<int>> jobs;
    for (int i = 0; i < n; ++i) {
        jobs.push_back(rt->async_on_cpu([i] { return i; }));
    }
    int sum = 0;
    for (auto& r : co_await pkg::io::async_collect(std::move(jobs))) {
        REQUIRE(r.has_value());
        sum += *r;
    }
    co_return sum;
}

TEST_CASE("many concurrent async_on_cpu calls all complete", "[runtime]")
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 3});
    CHECK(pkg::test::run_task(rt, async_many_cpu_jobs(&rt, 500)) == 499 * 500 / 2);
}

// ---- cancel_handle -----------------------------------------------------------------------------

struct sleeper_stats {
    std::atomic<int> started{0};
    std::atomic<int> ended{0};
    std::atomic<int> cancelled{0};
};

/// Sleeps for an hour unless cancelled; counts how it ended (RAII, so unwinding counts too).
task<int> async_long_sleeper(sleeper_stats* stats)
{
    struct end_counter {
        sleeper_stats* s;
        ~end_counter() { ++s->ended; }
    } counter{stats};
    ++stats->started;
    try {
        co_await async_sleep(1h);
    } catch (const boost::system::system_error& e) {
        if (e.code() == asio::error::operation_aborted) {
            ++stats->cancelled;
        }
        throw;
    }
    co_return 1;
}

TEST_CASE("cancel from another thread cancels the running root", "[runtime]")
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 1});
    sleeper_stats stats;
    pkg::io::cancel_handle handle;
    std::thread canceller([&] {
        while (stats.started.load() == 0) {
            std::this_thread::yield();
        }
        handle.cancel();
    });
    try {
        rt.run(async_long_sleeper(&stats), handle);
        FAIL("the root was not cancelled");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == asio::error::operation_aborted);
    }
    canceller.join();
    CHECK(handle.is_cancel_requested());
    CHECK(stats.started == 1);
    CHECK(stats.cancelled == 1);
    CHECK(stats.ended == 1);
}

TEST_CASE("a handle cancelled before run starts the root cancelled", "[runtime]")
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 1});
    sleeper_stats stats;
    pkg::io::cancel_handle handle;
    CHECK_FALSE(handle.is_cancel_requested());
    handle.cancel();
    handle.cancel();  // idempotent
    CHECK_THROWS_AS(rt.run(async_long_sleeper(&stats), handle), boost::system::system_error);
    CHECK(stats.ended == stats.started);
    // Another root with a fresh handle is unaffected.
    CHECK(rt.run(async_answer(), pkg::io::cancel_handle{}) == 42);
}

task<int> async_raise_then_sleep(sleeper_stats* stats)
{
    co_await async_yield();
    std::raise(SIGINT);  // delivered through Asio's signal_set, which cancels the handle
    co_return co_await async_long_sleeper(stats);
}

TEST_CASE("cancel_on_signals turns SIGINT into a root cancellation", "[runtime]")
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 1});
    sleeper_stats stats;
    pkg::io::cancel_handle handle;
    {
        pkg::io::cancel_on_signals on_sigint(rt, handle, {SIGINT});
        CHECK_THROWS_AS(rt.run(async_raise_then_sleep(&stats), handle),
                        boost::system::system_error);
    }
    CHECK(handle.is_cancel_requested());
    CHECK(stats.ended == stats.started);
}

// ---- slots -------------------------------------------------------------------------------------

struct slot_stats {
    int current = 0;
    int max_seen = 0;
    std::vector<int> grant_order;
};

task<int> async_hold_slot(const pkg::io::slots* s, slot_stats* stats, int index)
{
    auto permit = co_await s->async_acquire();
    REQUIRE(permit.has_value());
    CHECK(permit->owns_slot());
    stats->grant_order.push_back(index);
    stats->max_seen = std::max(stats->max_seen, ++stats->current);
    co_await async_yield();  // let the others pile up
    co_await async_yield();
    --stats->current;
    co_return index;
}

task<void> async_slots_bound(slot_stats* stats, std::size_t* waiting_seen, std::size_t* in_use_seen)
{
    pkg::io::slots s(co_await asio::this_coro::executor, 3, "unzip");
    CHECK(s.capacity() == 3);
    CHECK(s.name() == "unzip");
    std::vector<task<int>> children;
    for (int i = 0; i < 200; ++i) {
        children.push_back(async_hold_slot(&s, stats, i));
    }
    auto observer = [](const pkg::io::slots* sp, std::size_t* w, std::size_t* u) -> task<int> {
        co_await async_yield();
        *w = sp->waiting();
        *u = sp->in_use();
        co_return -1;
    };
    children.push_back(observer(&s, waiting_seen, in_use_seen));
    auto results = co_await pkg::io::async_collect(std::move(children));
    REQUIRE(results.size() == 201);
    for (int i = 0; i < 200; ++i) {
        REQUIRE(results[static_cast<std::size_t>(i)].has_value());
        CHECK(*results[static_cast<std::size_t>(i)] == i);
    }
    CHECK(s.in_use() == 0);
    CHECK(s.waiting() == 0);
}

TEST_CASE("slots never exceed their bound and serve waiters first come, first served", "[runtime]")
{
    slot_stats stats;
    std::size_t waiting_seen = 0;
    std::size_t in_use_seen = 0;
    pkg::test::run_task(async_slots_bound(&stats, &waiting_seen, &in_use_seen));
    CHECK(stats.max_seen == 3);
    CHECK(stats.current == 0);
    REQUIRE(stats.grant_order.size() == 200);
    CHECK(std::is_sorted(stats.grant_order.begin(), stats.grant_order.end()));
    CHECK(in_use_seen == 3);
    CHECK(waiting_seen == 197);
}

using namespace asio::experimental::awaitable_operators;

task<void> async_slots_cancel_waiter()
{
    pkg::io::slots s(co_await asio::this_coro::executor, 1, "downloads");
    auto held = co_await s.async_acquire();
    REQUIRE(held.has_value());
    CHECK(s.in_use() == 1);

    // The waiter loses the race against a timer: `||` cancels it, and it must leave the queue.
    auto raced = co_await (s.async_acquire() || async_sleep(5ms));
    CHECK(raced.index() == 1);
    CHECK(s.waiting() == 0);

    // Queue a waiter that gets cancelled, then one that must receive the slot. The releaser
    // gives the slot back only once the cancelled waiter is done, so the order is fixed.
    auto cancelled_waiter = [](const pkg::io::slots* sp, bool* done) -> task<std::string> {
        auto r = co_await (sp->async_acquire() || async_sleep(1ms));
        *done = true;
        co_return r.index() == 1 ? "timer won" : "acquired";
    };
    auto patient_waiter = [](const pkg::io::slots* sp) -> task<std::string> {
        auto p = co_await sp->async_acquire();
        co_return p ? "acquired" : p.error().to_string();
    };
    auto releaser = [](const pkg::io::slots* sp, pkg::io::slots::permit p,
                       const bool* done) -> task<std::string> {
        while (!*done) {
            co_await async_yield();
        }
        CHECK(sp->waiting() == 1);  // only the patient waiter is left
        p.release();
        p.release();  // idempotent
        co_return "released";
    };
    bool is_cancelled_waiter_done = false;
    std::vector<task<std::string>> children;
    children.push_back(cancelled_waiter(&s, &is_cancelled_waiter_done));
    children.push_back(patient_waiter(&s));
    children.push_back(releaser(&s, std::move(*held), &is_cancelled_waiter_done));
    auto results = co_await pkg::io::async_collect(std::move(children));
    REQUIRE(results.size() == 3);
    CHECK(results[0].value() == "timer won");
    CHECK(results[1].value() == "acquired");
    CHECK(results[2].value() == "released");
    CHECK(s.in_use() == 0);
    CHECK(s.waiting() == 0);
}

TEST_CASE("a cancelled slots waiter leaves the queue and the slot goes to the next", "[runtime]")
{
    pkg::test::run_task(async_slots_cancel_waiter());
}

task<void> async_slots_destroyed_with_waiters()
{
    auto s = std::make_unique<pkg::io::slots>(co_await asio::this_coro::executor, 1, "links");
    auto held = s->try_acquire();
    REQUIRE(held.has_value());
    CHECK_FALSE(s->try_acquire().has_value());
    std::vector<task<pkg::result<pkg::io::slots::permit>>> waiters;
    waiters.push_back(s->async_acquire());
    waiters.push_back(s->async_acquire());
    auto destroyer = [](std::unique_ptr<pkg::io::slots>* sp)
        -> task<pkg::result<pkg::io::slots::permit>> {
        while ((*sp)->waiting() < 2) {
            co_await async_yield();
        }
        sp->reset();
        co_return pkg::io::slots::permit{};
    };
    waiters.push_back(destroyer(&s));
    auto results = co_await pkg::io::async_collect(std::move(waiters));
    for (std::size_t i = 0; i < 2; ++i) {
        REQUIRE_FALSE(results[i].has_value());
        CHECK(results[i].error().code == pkg::io::runtime_errc::abandoned);
        CHECK_THAT(results[i].error().message, Catch::Contains("'links' slots were destroyed"));
    }
    CHECK(s == nullptr);
    held->release();  // a permit may outlive its slots
}

TEST_CASE("destroying slots wakes its waiters with an error", "[runtime]")
{
    pkg::test::run_task(async_slots_destroyed_with_waiters());
}

task<std::size_t> async_release_permit_on_cpu(asio::thread_pool::executor_type cpu)
{
    pkg::io::slots s(co_await asio::this_coro::executor, 2, "hash");
    auto p = co_await s.async_acquire();
    REQUIRE(p.has_value());
    CHECK(s.in_use() == 1);
    auto job = [permit = std::move(*p)]() mutable { permit.release(); };  // named: see above
    co_await pkg::io::async_on_cpu(cpu, std::move(job));
    co_return s.in_use();
}

TEST_CASE("a permit can be released on a CPU-pool thread", "[runtime]")
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 2});
    CHECK(pkg::test::run_task(rt, async_release_permit_on_cpu(rt.cpu_executor())) == 0);
}

// ---- async_collect -----------------------------------------------------------------------------

task<int> async_value_after(int value, std::chrono::milliseconds delay)
{
    co_await async_sleep(delay);
    co_return value;
}

task<int> async_throw_after(std::chrono::milliseconds delay)
{
    co_await async_sleep(delay);
    throw std::runtime_error("child exploded");
}

task<pkg::result<int>> async_result_after(pkg::result<int> r, std::chrono::milliseconds delay)
{
    co_await async_sleep(delay);
    co_return r;
}

task<void> async_collect_mixed()
{
    std::vector<task<int>> children;
    children.push_back(async_value_after(1, 30ms));
    children.push_back(async_throw_after(1ms));
    children.push_back(async_value_after(3, 0ms));
    children.push_back(async_throw_after(20ms));
    children.push_back(async_value_after(5, 10ms));
    auto results = co_await pkg::io::async_collect(std::move(children));
    REQUIRE(results.size() == 5);
    CHECK(results[0].value() == 1);
    REQUIRE_FALSE(results[1].has_value());
    CHECK(results[1].error().code == pkg::io::runtime_errc::unhandled_exception);
    CHECK(results[1].error().message == "fan-out child #1 threw an exception: child exploded");
    CHECK(results[2].value() == 3);
    REQUIRE_FALSE(results[3].has_value());
    CHECK_THAT(results[3].error().message, Catch::StartsWith("fan-out child #3"));
    CHECK(results[4].value() == 5);

    // result<U> children are flattened; their errors come through unchanged.
    std::vector<task<pkg::result<int>>> fallible;
    fallible.push_back(async_result_after(7, 5ms));
    fallible.push_back(async_result_after(
        pkg::fail(std::make_error_code(std::errc::io_error), "disk on fire", "/tmp/x"), 0ms));
    auto flat = co_await pkg::io::async_collect(std::move(fallible));
    static_assert(std::is_same_v<decltype(flat), std::vector<pkg::result<int>>>);
    CHECK(flat[0].value() == 7);
    REQUIRE_FALSE(flat[1].has_value());
    CHECK(flat[1].error().message == "disk on fire");
    CHECK(flat[1].error().where == "/tmp/x");

    std::vector<task<int>> none;
    CHECK((co_await pkg::io::async_collect(std::move(none))).empty());

    std::vector<task<void>> voids;
    voids.push_back(async_yield());
    voids.push_back(async_sleep(1ms));
    auto void_results = co_await pkg::io::async_collect(std::move(voids));
    REQUIRE(void_results.size() == 2);
    CHECK(void_results[0].has_value());
    CHECK(void_results[1].has_value());
}

TEST_CASE("async_collect returns every child's outcome, errors included, in input order",
          "[runtime]")
{
    pkg::test::run_task(async_collect_mixed());
}

struct concurrency_stats {
    int current = 0;
    int max_seen = 0;
};

task<int> async_tracked(concurrency_stats* stats, int value)
{
    stats->max_seen = std::max(stats->max_seen, ++stats->current);
    co_await async_sleep(1ms);
    --stats->current;
    co_return value;
}

task<int> async_collect_bounded(concurrency_stats* stats, concurrency_stats* shared_stats)
{
    std::vector<task<int>> children;
    for (int i = 0; i < 50; ++i) {
        children.push_back(async_tracked(stats, i));
    }
    auto results = co_await pkg::io::async_collect(std::move(children), 4);
    int sum = 0;
    for (auto& r : results) {
        sum += r.value();
    }

    // Two fan-outs sharing one slots object stay within its bound together.
    pkg::io::slots bound(co_await asio::this_coro::executor, 3, "shared");
    std::vector<task<int>> a;
    std::vector<task<int>> b;
    for (int i = 0; i < 20; ++i) {
        a.push_back(async_tracked(shared_stats, 1));
        b.push_back(async_tracked(shared_stats, 1));
    }
    std::vector<task<std::vector<pkg::result<int>>>> both;
    both.push_back(pkg::io::async_collect(std::move(a), bound));
    both.push_back(pkg::io::async_collect(std::move(b), bound));
    for (auto& group : co_await pkg::io::async_collect(std::move(both))) {
        for (auto& r : group.value()) {
            sum += r.value();
        }
    }
    co_return sum;
}

TEST_CASE("async_collect honours a concurrency bound", "[runtime]")
{
    concurrency_stats stats;
    concurrency_stats shared_stats;
    CHECK(pkg::test::run_task(async_collect_bounded(&stats, &shared_stats)) == 49 * 50 / 2 + 40);
    CHECK(stats.max_seen == 4);
    CHECK(stats.current == 0);
    CHECK(shared_stats.max_seen == 3);
    CHECK(shared_stats.current == 0);
}

task<std::vector<pkg::result<int>>> async_nested(sleeper_stats* stats, int width)
{
    std::vector<task<int>> children;
    for (int i = 0; i < width; ++i) {
        children.push_back(async_long_sleeper(stats));
    }
    co_return co_await pkg::io::async_collect(std::move(children), 2);  // some never start
}

struct fan_out_outcome {
    std::size_t outer_count = 0;
    std::size_t inner_cancelled = 0;
    std::size_t inner_count = 0;
};

task<fan_out_outcome> async_cancelled_fan_out(sleeper_stats* stats)
{
    std::vector<task<std::vector<pkg::result<int>>>> groups;
    for (int g = 0; g < 4; ++g) {
        groups.push_back(async_nested(stats, 5));
    }
    auto outer = co_await pkg::io::async_collect(std::move(groups));
    fan_out_outcome out;
    out.outer_count = outer.size();
    for (auto& group : outer) {
        REQUIRE(group.has_value());
        for (auto& r : *group) {
            ++out.inner_count;
            if (!r && pkg::io::is_cancelled(r.error())) {
                ++out.inner_cancelled;
            }
        }
    }
    co_return out;
}

TEST_CASE("cancelling the root cancels every child, nothing keeps running", "[runtime]")
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 1});
    sleeper_stats stats;
    pkg::io::cancel_handle handle;
    std::thread canceller([&] {
        while (stats.started.load() < 8) {  // 4 groups x 2 running (bound 2)
            std::this_thread::yield();
        }
        handle.cancel();
    });
    // The root returns normally: async_collect reports cancellation per child.
    const auto out = rt.run(async_cancelled_fan_out(&stats), handle);
    canceller.join();
    CHECK(out.outer_count == 4);
    CHECK(out.inner_count == 20);
    CHECK(out.inner_cancelled == 20);
    CHECK(stats.started == 8);  // the queued ones never started
    CHECK(stats.cancelled == 8);
    CHECK(stats.ended == 8);
    rt.io_context().restart();
    CHECK(rt.io_context().poll() == 0);  // nothing left to run
}

}  // namespace
