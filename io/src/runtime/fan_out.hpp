#pragma once
/// \file
/// Structured fan-out: run N child tasks concurrently and collect every outcome, in input order.
/// Internal header of io/.
///
///     std::vector<task<result<wheel>>> jobs = ...;
///     auto outcomes = co_await async_collect(std::move(jobs), 8);  // at most 8 at a time
///     for (auto& o : outcomes) if (!o) report(o.error());            // all failures, not the first
///
/// Guarantees:
/// - Every child runs to completion (or to its cancellation) before `async_collect` returns: no
///   child is left running, even when the parent is cancelled.
/// - One child's failure does not stop the others. A child that throws yields an error value for
///   that child (see `error_from_exception`); a child returning `result<U>` is flattened.
/// - Cancelling the parent cancels every child (Asio forwards the parent's cancellation to each
///   one); children that had not started yet (waiting for the bound, or never launched) report
///   `std::errc::operation_canceled`.
/// Children run on the parent's executor, one coroutine each (on the single-threaded io_context
/// they interleave; they never run in parallel there).

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/system/system_error.hpp>

#include <pkg/io/error.hpp>

#include "runtime/errors.hpp"
#include "runtime/slots.hpp"
#include "runtime/task.hpp"

namespace pkg::io {

namespace detail {

template <class T>
struct collected {
    using type = result<T>;
};

template <class U>
struct collected<tl::expected<U, error>> {
    using type = result<U>;
};

template <class T>
inline constexpr bool is_result_v = false;

template <class U>
inline constexpr bool is_result_v<tl::expected<U, error>> = true;

}  // namespace detail

/// What `async_collect` yields per child: `result<T>`, or `result<U>` when T is `result<U>`.
template <class T>
using collected_t = typename detail::collected<T>::type;

namespace detail {

template <class T>
using collected_slots = std::vector<std::optional<collected_t<T>>>;

inline std::string child_name(std::size_t index)
{
    return "fan-out child #" + std::to_string(index);
}

template <class T>
task<void> async_run_child(task<T> child, std::optional<task<result<slots::permit>>> gate,
                           std::shared_ptr<collected_slots<T>> out, std::size_t index)
{
    auto& slot = (*out)[index];
    try {
        std::optional<slots::permit> permit;
        if (gate) {
            auto acquired = co_await std::move(*gate);
            if (!acquired) {
                slot.emplace(fail(acquired.error().with_context(child_name(index))));
                co_return;
            }
            permit.emplace(std::move(*acquired));
        }
        if constexpr (std::is_void_v<T>) {
            co_await std::move(child);
            slot.emplace();
        } else if constexpr (is_result_v<T>) {
            slot.emplace(co_await std::move(child));
        } else {
            slot.emplace(co_await std::move(child));
        }
    } catch (...) {
        slot.emplace(fail(error_from_exception(std::current_exception(), child_name(index))));
    }
}

template <class T>
task<std::vector<collected_t<T>>> async_collect_gated(
    std::vector<task<T>> children, std::vector<std::optional<task<result<slots::permit>>>> gates)
{
    const std::size_t count = children.size();
    auto out = std::make_shared<collected_slots<T>>(count);
    if (count != 0) {
        auto ex = co_await asio::this_coro::executor;
        using op_type = decltype(asio::co_spawn(ex, std::declval<task<void>>(), asio::deferred));
        std::vector<op_type> ops;
        ops.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            ops.push_back(asio::co_spawn(
                ex, async_run_child<T>(std::move(children[i]), std::move(gates[i]), out, i),
                asio::deferred));
        }
        std::vector<std::exception_ptr> escaped;
        try {
            // The group forwards the parent's cancellation to every child and completes only
            // once all of them have finished (wait_for_all never cancels on a child's outcome).
            [[maybe_unused]] auto [order, exceptions] =
                co_await asio::experimental::make_parallel_group(std::move(ops))
                    .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
            escaped = std::move(exceptions);
        } catch (const boost::system::system_error&) {
            // Thrown before the group starts when the parent was already cancelled: no child
            // ran; they are reported as cancelled below.
        }
        for (std::size_t i = 0; i < escaped.size() && i < count; ++i) {
            if (escaped[i] && !(*out)[i]) {  // only if the child's own frame failed to start
                (*out)[i].emplace(fail(error_from_exception(escaped[i], child_name(i))));
            }
        }
    }
    std::vector<collected_t<T>> results;
    results.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        auto& slot = (*out)[i];
        if (slot) {
            results.push_back(std::move(*slot));
        } else {
            results.push_back(fail(cancelled_error(child_name(i) + " (never started)")));
        }
    }
    co_return results;
}

template <class T>
task<std::vector<collected_t<T>>> async_collect_bounded(std::vector<task<T>> children,
                                                        std::size_t max_concurrent)
{
    auto ex = co_await asio::this_coro::executor;
    slots bound(ex, max_concurrent, "fan-out");
    std::vector<std::optional<task<result<slots::permit>>>> gates;
    gates.reserve(children.size());
    for (std::size_t i = 0; i < children.size(); ++i) {
        gates.emplace_back(bound.async_acquire());
    }
    // `bound` outlives the group: every child finishes (releasing its permit) before this returns.
    co_return co_await async_collect_gated<T>(std::move(children), std::move(gates));
}

}  // namespace detail

/// Runs every child concurrently on the caller's executor and returns each outcome in input
/// order (see the file comment for the guarantees). `max_concurrent` > 0 bounds how many run at
/// once (the rest wait in FIFO order); 0 means no bound. Never fails as a whole: cancellation and
/// errors are per child. Thread-safety: the children and the caller share one executor.
template <class T>
task<std::vector<collected_t<T>>> async_collect(std::vector<task<T>> children,
                                                std::size_t max_concurrent = 0)
{
    if (max_concurrent != 0 && max_concurrent < children.size()) {
        return detail::async_collect_bounded<T>(std::move(children), max_concurrent);
    }
    std::vector<std::optional<task<result<slots::permit>>>> gates(children.size());
    return detail::async_collect_gated<T>(std::move(children), std::move(gates));
}

/// Same, bounded by a shared `slots` object (e.g. the program's download_slots), so several
/// fan-outs together stay within one bound. `bound` may be destroyed before the returned task
/// finishes (queued children then get `runtime_errc::abandoned`).
template <class T>
task<std::vector<collected_t<T>>> async_collect(std::vector<task<T>> children, const slots& bound)
{
    std::vector<std::optional<task<result<slots::permit>>>> gates;
    gates.reserve(children.size());
    for (std::size_t i = 0; i < children.size(); ++i) {
        gates.emplace_back(bound.async_acquire());
    }
    return detail::async_collect_gated<T>(std::move(children), std::move(gates));
}

}  // namespace pkg::io
