#pragma once
/// \file
/// The runtime of pkg: one `asio::io_context` for orchestration and networking, driven by the
/// thread that calls `runtime::run`, plus a CPU `asio::thread_pool` for inflate/hash/parse work.
/// Internal header of io/ (uses Asio).
///
/// Model: a program (CLI command, embedding call, test) builds one `runtime` and runs one root
/// coroutine at a time with `run`. Everything the root starts is structured: it is awaited
/// (directly, or through `async_collect`) before the root returns, so cancelling the root through
/// a `cancel_handle` reaches every child. Blocking or CPU-heavy work goes through
/// `async_on_cpu`, which runs it on the pool and resumes the caller on its own executor.
///
/// Thread-safety: `runtime` itself is not thread-safe except for the getters and `cancel_handle`.
/// The CPU pool's executor may be used from any thread.

#include <cstddef>
#include <exception>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include "runtime/parked_handler.hpp"
#include "runtime/task.hpp"

namespace pkg::io {

namespace detail {

/// What `runtime::run` shares with the root's completion handler and with cancel handles.
struct root_state_base {
    asio::cancellation_signal signal;
    bool is_done = false;  ///< Set on the io_context thread when the root completed.
    std::exception_ptr exception;
};

template <class T>
struct root_state : root_state_base {
    std::optional<T> value;
};

template <>
struct root_state<void> : root_state_base {};

template <class T>
task<void> async_run_root(task<T> root, std::shared_ptr<root_state<T>> state)
{
    if constexpr (std::is_void_v<T>) {
        co_await std::move(root);
    } else {
        state->value.emplace(co_await std::move(root));
    }
}

/// The outcome of a callable run on the CPU pool.
template <class R>
struct cpu_outcome {
    std::optional<R> value;
    std::exception_ptr exception;
};

template <>
struct cpu_outcome<void> {
    std::exception_ptr exception;
};

}  // namespace detail

/// Requests cancellation of the root coroutine run with it (`runtime::run(root, handle)`).
/// A cheap shared handle: copies refer to the same request.
class cancel_handle {
public:
    /// A fresh handle with no request. Allocates; may throw std::bad_alloc.
    cancel_handle();

    /// Requests cancellation: if a root runs with this handle, a terminal cancellation is emitted
    /// to it on its io_context thread, which Asio forwards to every awaited child (an operation
    /// in flight completes with operation_aborted; the next co_await of a cancelled coroutine
    /// throws). If no root runs yet, the next `run` with this handle starts cancelled. Idempotent.
    /// Thread-safe (any thread); not async-signal-safe: from a POSIX signal use `cancel_on_signals`.
    void cancel() const;

    /// Whether `cancel` was called on this handle or a copy. Thread-safe.
    [[nodiscard]] bool is_cancel_requested() const;

private:
    friend class runtime;
    struct state;
    std::shared_ptr<state> state_;
};

/// Owns the io_context and the CPU pool. Destroy it after every object holding waiters on it
/// (once_map, slots) — their completions are posted to its executors.
class runtime {
public:
    /// Construction settings.
    struct options {
        /// Threads of the CPU pool; 0 means std::thread::hardware_concurrency() (at least 1).
        std::size_t cpu_threads = 0;
    };

    /// A runtime with a CPU pool of hardware_concurrency threads. Throws on thread creation failure.
    runtime();
    /// A runtime with the given settings. Throws on thread creation failure.
    explicit runtime(options opts);
    /// Stops and joins the CPU pool (queued CPU jobs that did not start are dropped), then
    /// destroys the io_context (suspended coroutines are destroyed without resuming).
    ~runtime();

    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    /// The orchestration and networking context. Run it only through `run`.
    [[nodiscard]] asio::io_context& io_context() noexcept { return io_; }
    /// The io_context's executor (where `run` spawns the root).
    [[nodiscard]] asio::io_context::executor_type executor() noexcept { return io_.get_executor(); }
    /// The CPU pool's executor; thread-safe.
    [[nodiscard]] asio::thread_pool::executor_type cpu_executor() noexcept { return cpu_.get_executor(); }
    /// Number of CPU pool threads.
    [[nodiscard]] std::size_t cpu_thread_count() const noexcept { return cpu_threads_; }

    /// Runs `root` on the io_context, blocking the calling thread until it completes, and returns
    /// its value; an exception escaping the root is rethrown here (a cancelled root typically
    /// ends with `boost::system::system_error(operation_aborted)`). Ready handlers left over are
    /// run before returning, so no child of a structured root is still running afterwards.
    /// Not thread-safe: one `run` at a time, never from inside a coroutine of this runtime.
    /// Throws std::logic_error if the root suspends with nothing left that could resume it.
    template <class T>
    T run(task<T> root)
    {
        return run(std::move(root), cancel_handle{});
    }

    /// Same, cancellable through `cancel` (see `cancel_handle::cancel`).
    template <class T>
    T run(task<T> root, cancel_handle cancel)
    {
        auto state = std::make_shared<detail::root_state<T>>();
        asio::co_spawn(io_, detail::async_run_root(std::move(root), state),
                       asio::bind_cancellation_slot(
                           state->signal.slot(), [state](std::exception_ptr e) {
                               state->exception = std::move(e);
                               state->is_done = true;
                           }));
        drive(state, cancel);
        if (state->exception) {
            std::rethrow_exception(state->exception);
        }
        if constexpr (!std::is_void_v<T>) {
            return std::move(*state->value);
        }
    }

    /// `async_on_cpu(cpu_executor(), fn)`: runs `fn` on this runtime's CPU pool and resumes the
    /// caller on its own executor (see the free function for the contract). Thread-safe.
    template <class F>
    [[nodiscard]] task<std::invoke_result_t<F&>> async_on_cpu(F fn);

private:
    /// Runs the io_context until `root` is done; wires `cancel` to it meanwhile.
    void drive(const std::shared_ptr<detail::root_state_base>& root, const cancel_handle& cancel);

    std::size_t cpu_threads_;
    asio::io_context io_;      // declared first: destroyed after the pool joined
    asio::thread_pool cpu_;
};

/// Cancels a `cancel_handle` when one of `signals` (e.g. SIGINT, SIGTERM) is delivered while this
/// object lives. Asio installs its own async-signal-safe handler and runs ours on the io_context,
/// so it works only while `runtime::run` is running. Later deliveries are swallowed (a CLI that
/// wants "second Ctrl-C kills" should restore SIG_DFL itself after the first). Not thread-safe.
class cancel_on_signals {
public:
    /// Registers `signals`; throws boost::system::system_error if one cannot be registered.
    cancel_on_signals(runtime& rt, cancel_handle handle, std::initializer_list<int> signals);
    /// Unregisters the signals (their disposition goes back to SIG_DFL, as Asio does).
    ~cancel_on_signals();

    cancel_on_signals(const cancel_on_signals&) = delete;
    cancel_on_signals& operator=(const cancel_on_signals&) = delete;

private:
    struct state;
    /// Waits for the next delivery; re-arms itself while the owner lives.
    static void arm(std::shared_ptr<state> st);
    std::shared_ptr<state> state_;  // shared with the pending wait, which may run after we are gone
};

/// Runs `fn()` on the CPU pool `cpu` and resumes the calling coroutine on its own executor with
/// the value `fn` returned. The calling executor counts as busy meanwhile, so `runtime::run` does
/// not stop. Exceptions thrown by `fn` are rethrown in the caller unchanged (fn should report
/// expected failures as `pkg::result`; what it throws is a bug or resource exhaustion).
/// Not cancellable once started: `fn` always runs to completion and the caller resumes only
/// then (so nothing outlives a cancelled parent); if the caller was already cancelled, Asio
/// throws operation_aborted at the co_await and `fn` does not run. `fn` is moved into the pool
/// and destroyed there; references to the caller's frame are safe (the caller waits).
/// GCC 12 pitfall: a lambda with non-trivially-destructible captures written *inside* the
/// co_await expression gets its captures destroyed twice; bind it to a name and move it in.
template <class F>
task<std::invoke_result_t<F&>> async_on_cpu(asio::thread_pool::executor_type cpu, F fn)
{
    using value_type = std::invoke_result_t<F&>;
    using outcome_type = detail::cpu_outcome<value_type>;
    auto initiate = [cpu](auto handler, F f) {
        auto parked = detail::park<outcome_type>(std::move(handler));
        asio::post(cpu, [parked = std::move(parked), f = std::move(f)]() mutable {
            outcome_type outcome;
            try {
                if constexpr (std::is_void_v<value_type>) {
                    f();
                } else {
                    outcome.value.emplace(f());
                }
            } catch (...) {
                outcome.exception = std::current_exception();
            }
            parked->complete(std::move(outcome));
        });
    };
    outcome_type outcome = co_await asio::async_initiate<decltype(asio::use_awaitable), void(outcome_type)>(
        std::move(initiate), asio::use_awaitable, std::move(fn));
    if (outcome.exception) {
        std::rethrow_exception(outcome.exception);
    }
    if constexpr (!std::is_void_v<value_type>) {
        co_return std::move(*outcome.value);
    }
}

template <class F>
task<std::invoke_result_t<F&>> runtime::async_on_cpu(F fn)
{
    return io::async_on_cpu(cpu_executor(), std::move(fn));
}

}  // namespace pkg::io
