// Tests of once_map: one producer run per key under heavy concurrency across threads, error
// delivery, leader cancellation and takeover, waiter cancellation, destruction with waiters.
// Timers only create interleavings; nothing here asserts on time.

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <catch2/catch.hpp>

#include "runtime/errors.hpp"
#include "runtime/fan_out.hpp"
#include "runtime/once_map.hpp"
#include "runtime/runtime.hpp"
#include "support/run_task.hpp"

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using pkg::io::task;

namespace {

using string_map = pkg::io::once_map<std::string, int>;

task<void> async_yield()
{
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

task<void> async_sleep(std::chrono::milliseconds d)
{
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
}

constexpr std::size_t key_count = 5;

struct stress_state {
    std::array<std::atomic<int>, key_count> producer_runs{};
    std::atomic<int> wrong_values{0};
    std::atomic<int> errors{0};
    std::atomic<int> on_pool_thread{0};
    std::thread::id io_thread = std::this_thread::get_id();  // run() drives the io_context here
};

std::string key_name(std::size_t k) { return "key-" + std::to_string(k); }

/// The producer: slow enough (a timer, then a CPU hop) that thousands of callers pile up.
task<pkg::result<int>> async_produce(stress_state* st, std::size_t k,
                                     asio::thread_pool::executor_type cpu)
{
    ++st->producer_runs[k];
    co_await async_sleep(2ms);
    co_return co_await pkg::io::async_on_cpu(cpu, [k] { return static_cast<int>(k) * 100; });
}

task<int> async_caller(const string_map* map, stress_state* st, std::size_t k,
                       asio::thread_pool::executor_type cpu, bool expect_pool)
{
    if (expect_pool && std::this_thread::get_id() != st->io_thread) {
        ++st->on_pool_thread;
    }
    auto r = co_await map->async_get_or_run(key_name(k),
                                            [st, k, cpu] { return async_produce(st, k, cpu); });
    if (!r) {
        ++st->errors;
    } else if (*r != static_cast<int>(k) * 100) {
        ++st->wrong_values;
    }
    co_return r.value_or(-1);
}

/// Awaits `t` on another executor (a CPU-pool thread), resuming here afterwards.
task<int> async_on_executor(asio::any_io_executor ex, task<int> t)
{
    co_return co_await asio::co_spawn(ex, std::move(t), asio::use_awaitable);
}

task<int> async_stress(const string_map* map, stress_state* st, pkg::io::runtime* rt, int callers)
{
    std::vector<task<int>> children;
    for (int i = 0; i < callers; ++i) {
        const std::size_t k = static_cast<std::size_t>(i) % key_count;
        if (i % 2 == 0) {
            children.push_back(async_caller(map, st, k, rt->cpu_executor(), false));
        } else {
            children.push_back(async_on_executor(
                rt->cpu_executor(), async_caller(map, st, k, rt->cpu_executor(), true)));
        }
    }
    int ok = 0;
    for (auto& r : co_await pkg::io::async_collect(std::move(children))) {
        ok += r.has_value() && *r >= 0 ? 1 : 0;
    }
    co_return ok;
}

TEST_CASE("5,000 callers across the io_context and a thread pool run each producer once",
          "[oncemap]")
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 4});
    string_map map("stress");
    stress_state st;
    const int ok = pkg::test::run_task(rt, async_stress(&map, &st, &rt, 5000));
    CHECK(ok == 5000);
    for (std::size_t k = 0; k < key_count; ++k) {
        INFO("key " << k);
        CHECK(st.producer_runs[k] == 1);
        auto kept = map.get(key_name(k));
        REQUIRE(kept.has_value());
        CHECK(kept->value() == static_cast<int>(k) * 100);
    }
    CHECK(st.wrong_values == 0);
    CHECK(st.errors == 0);
    CHECK(st.on_pool_thread == 2500);
    CHECK(map.size() == key_count);
    CHECK(map.waiting() == 0);

    // A second wave finds every outcome kept: no producer runs again.
    CHECK(pkg::test::run_task(rt, async_stress(&map, &st, &rt, 500)) == 500);
    for (std::size_t k = 0; k < key_count; ++k) {
        CHECK(st.producer_runs[k] == 1);
    }
}

// ---- errors ------------------------------------------------------------------------------------

struct error_state {
    std::atomic<int> runs{0};
};

task<pkg::result<int>> async_failing_producer(error_state* st)
{
    ++st->runs;
    co_await async_sleep(2ms);
    co_return pkg::fail(std::make_error_code(std::errc::connection_refused),
                        "GET https://example.invalid/simple/x/ failed", "https://example.invalid");
}

task<pkg::result<int>> async_throwing_producer(error_state* st)
{
    ++st->runs;
    co_await async_sleep(2ms);
    throw std::runtime_error("parser bug");
}

template <class Producer>
task<std::vector<pkg::result<int>>> async_many(const string_map* map, std::string key,
                                               Producer producer, int n)
{
    std::vector<task<pkg::result<int>>> children;
    for (int i = 0; i < n; ++i) {
        children.push_back(map->async_get_or_run(key, producer));
    }
    co_return co_await pkg::io::async_collect(std::move(children));
}

TEST_CASE("a producer's error reaches every waiter and is kept", "[oncemap]")
{
    string_map map("index pages");
    error_state st;
    auto results = pkg::test::run_task(
        async_many(&map, "x", [p = &st] { return async_failing_producer(p); }, 100));
    REQUIRE(results.size() == 100);
    for (auto& r : results) {
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == std::errc::connection_refused);
        CHECK(r.error().message == "GET https://example.invalid/simple/x/ failed");
    }
    CHECK(st.runs == 1);
    auto kept = map.get("x");
    REQUIRE(kept.has_value());
    CHECK_FALSE(kept->has_value());
    // Later callers get the kept error without running the producer again.
    auto later = pkg::test::run_task(
        async_many(&map, "x", [p = &st] { return async_failing_producer(p); }, 3));
    CHECK_FALSE(later[2].has_value());
    CHECK(st.runs == 1);
}

TEST_CASE("a throwing producer delivers an error to all", "[oncemap]")
{
    string_map map("wheels");
    error_state st;
    auto results = pkg::test::run_task(
        async_many(&map, "black-24.1.0", [p = &st] { return async_throwing_producer(p); }, 50));
    for (auto& r : results) {
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == pkg::io::runtime_errc::unhandled_exception);
        CHECK(r.error().message ==
              "the producer of wheels: key 'black-24.1.0' threw an exception: parser bug");
    }
    CHECK(st.runs == 1);
}

task<int> async_plain_value(std::atomic<int>* runs)
{
    ++*runs;
    co_await async_yield();
    co_return 7;
}

task<pkg::result<int>> async_plain_user(const pkg::io::once_map<int, int>* map, std::atomic<int>* runs)
{
    co_return co_await map->async_get_or_run(3, [runs] { return async_plain_value(runs); });
}

task<int> async_plain_throw()
{
    co_await async_yield();
    throw std::runtime_error("bad number");
}

task<pkg::result<int>> async_plain_throw_user(const pkg::io::once_map<int, int>* map)
{
    co_return co_await map->async_get_or_run(4, [] { return async_plain_throw(); });
}

TEST_CASE("a producer may return task<V>, get() never suspends", "[oncemap]")
{
    pkg::io::once_map<int, int> map("numbers");
    std::atomic<int> runs{0};
    CHECK_FALSE(map.get(3).has_value());
    CHECK(pkg::test::run_task(async_plain_user(&map, &runs)).value() == 7);
    CHECK(pkg::test::run_task(async_plain_user(&map, &runs)).value() == 7);
    CHECK(runs == 1);
    CHECK(map.get(3)->value() == 7);
    CHECK_FALSE(map.get(4).has_value());
    CHECK(map.name() == "numbers");
    // Printable non-string keys are cited in messages too.
    auto thrown = pkg::test::run_task(async_plain_throw_user(&map));
    REQUIRE_FALSE(thrown.has_value());
    CHECK(thrown.error().message == "the producer of numbers: key '4' threw an exception: bad number");
    CHECK(map.size() == 2);
}

// ---- cancellation ------------------------------------------------------------------------------

struct takeover_state {
    std::atomic<int> runs{0};
    std::atomic<int> aborted{0};
    bool saw_running_as_absent = false;
};

/// Sleeps `d`, then yields `value`; counts runs and aborts.
task<pkg::result<int>> async_slow_producer(takeover_state* st, std::chrono::milliseconds d, int value)
{
    ++st->runs;
    try {
        co_await async_sleep(d);
    } catch (const boost::system::system_error&) {
        ++st->aborted;
        throw;
    }
    co_return value;
}

task<pkg::result<int>> async_impatient_leader(const string_map* map, takeover_state* st)
{
    // The leader's producer would take an hour; a 10 ms timer wins and cancels the leader.
    auto raced = co_await (
        map->async_get_or_run("k", [st] { return async_slow_producer(st, 1h, 1); }) ||
        async_sleep(10ms));
    if (raced.index() == 1) {
        co_return pkg::fail(std::make_error_code(std::errc::operation_canceled), "timer won");
    }
    co_return std::get<0>(raced);
}

task<pkg::result<int>> async_takeover(const string_map* map, takeover_state* st,
                                      std::vector<pkg::result<int>>* waiter_results)
{
    std::vector<task<pkg::result<int>>> children;
    children.push_back(async_impatient_leader(map, st));
    for (int i = 0; i < 10; ++i) {
        children.push_back(
            map->async_get_or_run("k", [st] { return async_slow_producer(st, 1ms, 2); }));
    }
    auto results = co_await pkg::io::async_collect(std::move(children));
    waiter_results->assign(std::make_move_iterator(results.begin() + 1),
                           std::make_move_iterator(results.end()));
    co_return std::move(results[0]);
}

TEST_CASE("a cancelled leader hands the job to a waiter, waiters are not left hanging",
          "[oncemap]")
{
    string_map map("takeover");
    takeover_state st;
    std::vector<pkg::result<int>> waiter_results;
    auto leader = pkg::test::run_task(async_takeover(&map, &st, &waiter_results));
    REQUIRE_FALSE(leader.has_value());
    CHECK(leader.error().message == "timer won");
    REQUIRE(waiter_results.size() == 10);
    for (auto& r : waiter_results) {
        CHECK(r.value() == 2);  // the first waiter re-ran the producer and everyone got its value
    }
    CHECK(st.runs == 2);
    CHECK(st.aborted == 1);
    CHECK(map.get("k")->value() == 2);
}

task<pkg::result<int>> async_lonely_leader(const string_map* map, takeover_state* st)
{
    auto raced = co_await (
        map->async_get_or_run("k", [st] { return async_slow_producer(st, 1h, 1); }) ||
        async_sleep(1ms));
    CHECK(raced.index() == 1);
    st->saw_running_as_absent = !map->get("k").has_value() && map->size() == 0;
    // The key is empty again: the next caller runs the producer afresh.
    co_return co_await map->async_get_or_run("k", [st] { return async_slow_producer(st, 0ms, 3); });
}

TEST_CASE("a cancelled leader without waiters leaves the key empty", "[oncemap]")
{
    string_map map("lonely");
    takeover_state st;
    CHECK(pkg::test::run_task(async_lonely_leader(&map, &st)).value() == 3);
    CHECK(st.saw_running_as_absent);
    CHECK(st.runs == 2);
    CHECK(st.aborted == 1);
}

struct waiter_cancel_state {
    takeover_state counts;
    asio::steady_timer* gate = nullptr;  // holds the leader's producer until opened
    std::size_t waiting_after_cancel = 99;
};

task<pkg::result<int>> async_gated_value(waiter_cancel_state* st, int value)
{
    ++st->counts.runs;
    co_await st->gate->async_wait(asio::as_tuple(asio::use_awaitable));  // opens on cancel()
    co_return value;
}

task<std::string> async_impatient_waiter(const string_map* map, waiter_cancel_state* st)
{
    auto producer = [st] { return async_gated_value(st, 99); };
    auto raced = co_await (map->async_get_or_run("k", producer) || async_sleep(1ms));
    // The waiter has left the queue by now; the patient one still waits for the gated leader.
    st->waiting_after_cancel = map->waiting();
    st->gate->cancel();
    co_return raced.index() == 1 ? "timer won" : "got a value";
}

task<std::string> async_patient(const string_map* map, waiter_cancel_state* st, std::string who)
{
    auto producer = [st] { return async_gated_value(st, 6); };
    auto r = co_await map->async_get_or_run("k", producer);
    co_return who + " " + (r ? std::to_string(*r) : r.error().to_string());
}

task<std::vector<std::string>> async_waiter_cancel(const string_map* map, waiter_cancel_state* st)
{
    asio::steady_timer gate(co_await asio::this_coro::executor,
                            asio::steady_timer::time_point::max());
    st->gate = &gate;
    std::vector<task<std::string>> children;
    children.push_back(async_patient(map, st, "leader"));  // first caller: leads, gated
    children.push_back(async_impatient_waiter(map, st));
    children.push_back(async_patient(map, st, "patient"));
    auto results = co_await pkg::io::async_collect(std::move(children));
    std::vector<std::string> out;
    for (auto& r : results) {
        out.push_back(r.value());
    }
    co_return out;
}

TEST_CASE("a cancelled waiter leaves, the leader and other waiters go on", "[oncemap]")
{
    string_map map("waiters");
    waiter_cancel_state st;
    auto out = pkg::test::run_task(async_waiter_cancel(&map, &st));
    CHECK(out == std::vector<std::string>{"leader 6", "timer won", "patient 6"});
    CHECK(st.waiting_after_cancel == 1);
    CHECK(st.counts.runs == 1);
    CHECK(map.waiting() == 0);
}

// ---- destruction -------------------------------------------------------------------------------

struct gate_producer_state {
    asio::steady_timer* gate;
    std::atomic<int> finished{0};
};

task<pkg::result<int>> async_gated_producer(gate_producer_state* st)
{
    co_await st->gate->async_wait(asio::as_tuple(asio::use_awaitable));  // opens on cancel()
    ++st->finished;
    co_return 11;
}

task<std::vector<pkg::result<int>>> async_destroy_with_waiters()
{
    asio::steady_timer gate(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    gate_producer_state st{&gate};
    auto map = std::make_unique<string_map>("doomed");
    std::vector<task<pkg::result<int>>> children;
    for (int i = 0; i < 6; ++i) {  // child 0 leads, 1..5 wait
        children.push_back(map->async_get_or_run("k", [p = &st] { return async_gated_producer(p); }));
    }
    auto destroyer = [](std::unique_ptr<string_map>* m, asio::steady_timer* g)
        -> task<pkg::result<int>> {
        while ((*m)->waiting() < 5) {
            co_await async_yield();
        }
        m->reset();  // waiters must wake with an error
        g->cancel();  // then let the leader finish; it delivers to nobody
        co_return 0;
    };
    children.push_back(destroyer(&map, &gate));
    auto results = co_await pkg::io::async_collect(std::move(children));
    CHECK(st.finished == 1);
    co_return results;
}

TEST_CASE("destroying a once_map wakes pending waiters with an error", "[oncemap]")
{
    auto results = pkg::test::run_task(async_destroy_with_waiters());
    REQUIRE(results.size() == 7);
    CHECK(results[0].value() == 11);  // the leader still gets its own outcome
    for (std::size_t i = 1; i <= 5; ++i) {
        REQUIRE_FALSE(results[i].has_value());
        CHECK(results[i].error().code == pkg::io::runtime_errc::abandoned);
        CHECK_THAT(results[i].error().message, Catch::Contains("doomed: destroyed while"));
    }
}

// ---- waiters on strands of the pool, cancelled from their own strand ---------------------------

task<int> async_strand_caller(const string_map* map, takeover_state* st, bool impatient)
{
    if (impatient) {
        auto raced = co_await (
            map->async_get_or_run("s", [st] { return async_slow_producer(st, 5ms, 8); }) ||
            async_sleep(1ms));
        co_return raced.index() == 1 ? -1 : std::get<0>(raced).value();
    }
    auto r = co_await map->async_get_or_run("s", [st] { return async_slow_producer(st, 5ms, 8); });
    co_return r.value();
}

task<std::array<int, 2>> async_strand_mix(const string_map* map, takeover_state* st,
                                          asio::thread_pool::executor_type pool)
{
    std::vector<task<int>> children;
    for (int i = 0; i < 400; ++i) {
        children.push_back(
            async_on_executor(asio::make_strand(pool), async_strand_caller(map, st, i % 4 == 3)));
    }
    std::array<int, 2> counts{0, 0};  // values, timer wins
    for (auto& r : co_await pkg::io::async_collect(std::move(children))) {
        REQUIRE(r.has_value());
        if (*r == 8) {
            ++counts[0];
        } else if (*r == -1) {
            ++counts[1];
        }
    }
    co_return counts;
}

TEST_CASE("waiters on pool strands, some cancelled, all complete", "[oncemap]")
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 4});
    string_map map("strands");
    takeover_state st;
    auto counts = pkg::test::run_task(rt, async_strand_mix(&map, &st, rt.cpu_executor()));
    CHECK(counts[0] + counts[1] == 400);
    CHECK(counts[0] >= 300);  // the 300 patient callers always get the value
    CHECK(map.get("s")->value() == 8);
    CHECK(map.waiting() == 0);
    CHECK(st.runs == st.aborted + 1);  // one successful run; others only if a leader was cancelled
}

}  // namespace
