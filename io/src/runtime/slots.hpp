#pragma once
/// \file
/// Named bounded concurrency: at most `count` holders of a permit at a time
/// (`download_slots`, `unzip_slots`, `link_slots`). Internal header of io/.
///
///     slots downloads(ex, 8, "downloads");
///     auto permit = co_await downloads.async_acquire();
///     if (!permit) co_return pkg::fail(permit.error());   // cancelled while queued
///     ... // at most 8 coroutines are here; the permit is returned when it goes out of scope
///
/// Waiters are served first come, first served: a released permit goes straight to the oldest
/// waiter (no barging). A waiter that is cancelled leaves the queue and gets an error with code
/// `std::errc::operation_canceled` (values, never exceptions — see runtime/errors.hpp).
///
/// Thread-safety: every member is thread-safe (one mutex); permits may be released on any thread
/// (e.g. moved into a CPU-pool job). A waiter resumes on its own coroutine's executor.
/// Cancellation of a waiter must be emitted from that waiter's executor, as Asio requires.

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/system_error.hpp>

#include <pkg/io/error.hpp>

#include "runtime/errors.hpp"
#include "runtime/parked_handler.hpp"
#include "runtime/task.hpp"

namespace pkg::io {

class slots {
    struct core;

public:
    /// The right to be one of the `count` holders. Move-only; released by `release()` or the
    /// destructor, on any thread. A permit may outlive its `slots` object (releasing it then only
    /// updates the shared counters).
    class permit {
    public:
        /// An empty permit (owns nothing).
        permit() noexcept = default;
        permit(permit&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
        permit& operator=(permit&& other) noexcept
        {
            if (this != &other) {
                release();
                core_ = std::exchange(other.core_, nullptr);
            }
            return *this;
        }
        permit(const permit&) = delete;
        permit& operator=(const permit&) = delete;
        ~permit() { release(); }

        /// Gives the slot back (to the oldest waiter, if any). Idempotent. Thread-safe.
        void release() noexcept;
        /// Whether this permit still holds a slot.
        [[nodiscard]] bool owns_slot() const noexcept { return core_ != nullptr; }

    private:
        friend class slots;
        explicit permit(std::shared_ptr<core> c) noexcept : core_(std::move(c)) {}
        std::shared_ptr<core> core_;
    };

    /// `count` slots named `name` (the name appears in errors and progress output). `executor`
    /// is where completions go for a waiter whose handler has no executor of its own (coroutine
    /// waiters always resume on their own executor). Precondition: count > 0.
    slots(asio::any_io_executor executor, std::size_t count, std::string name);

    /// Wakes every queued waiter with `runtime_errc::abandoned`. Held permits stay valid.
    ~slots();

    slots(const slots&) = delete;
    slots& operator=(const slots&) = delete;

    /// Waits for a free slot, first come first served. Returns a permit, or an error:
    /// `std::errc::operation_canceled` when the calling coroutine is cancelled while waiting (or
    /// was already cancelled), `runtime_errc::abandoned` when the slots object is destroyed
    /// first. Never suspends when a slot is free and nobody waits. The returned task holds the
    /// shared state, so the slots object may be destroyed while it waits. Thread-safe.
    [[nodiscard]] task<result<permit>> async_acquire() const { return async_acquire_impl(core_); }

    /// A permit if a slot is free and nobody waits; otherwise std::nullopt. Thread-safe.
    [[nodiscard]] std::optional<permit> try_acquire() const;

    /// The bound. Thread-safe.
    [[nodiscard]] std::size_t capacity() const noexcept;
    /// Permits currently held (including ones handed to a waiter that has not resumed yet).
    [[nodiscard]] std::size_t in_use() const;
    /// Coroutines currently queued.
    [[nodiscard]] std::size_t waiting() const;
    /// The name given at construction.
    [[nodiscard]] const std::string& name() const noexcept;

private:
    using waiter = detail::parked_handler<result<permit>>;

    struct core {
        core(asio::any_io_executor ex, std::size_t count, std::string n)
            : executor(std::move(ex)), capacity(count), name(std::move(n))
        {
        }
        asio::any_io_executor executor;
        const std::size_t capacity;
        const std::string name;
        std::mutex mutex;
        std::size_t in_use = 0;          // guarded by mutex
        bool is_closed = false;          // guarded by mutex; the slots object is gone
        std::deque<std::shared_ptr<waiter>> waiters;  // guarded by mutex; oldest first
    };

    /// Gives one slot back: hands it to the oldest waiter or decrements in_use.
    static void release_slot(const std::shared_ptr<core>& c) noexcept;
    /// Removes `w` from the queue if it is still there; true if it was (the caller completes it).
    static bool remove_waiter(core& c, const std::shared_ptr<waiter>& w);
    static error abandoned_error(const core& c);

    static task<result<permit>> async_acquire_impl(std::shared_ptr<core> c)
    {
        {
            std::lock_guard lock(c->mutex);
            if (!c->is_closed && c->waiters.empty() && c->in_use < c->capacity) {
                ++c->in_use;
                co_return permit(c);
            }
        }
        auto initiate = [c](auto handler) {
            // Assign the slot before the waiter becomes visible to other threads: a completion
            // on another thread resumes the coroutine, which clears its slot.
            auto slot = asio::get_associated_cancellation_slot(handler);
            auto parked = detail::park<result<permit>>(std::move(handler));
            if (slot.is_connected()) {
                slot.assign([c, weak = std::weak_ptr<waiter>(parked)](asio::cancellation_type) {
                    auto w = weak.lock();
                    if (w && remove_waiter(*c, w)) {
                        w->complete(fail(cancelled_error("waiting for a '" + c->name + "' slot")));
                    }
                });
            }
            std::unique_lock lock(c->mutex);
            if (c->is_closed) {
                lock.unlock();
                parked->complete(fail(abandoned_error(*c)));
            } else if (c->waiters.empty() && c->in_use < c->capacity) {
                ++c->in_use;  // freed between the fast path and now
                lock.unlock();
                parked->complete(permit(c));
            } else {
                c->waiters.push_back(std::move(parked));
            }
        };
        try {
            co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(result<permit>)>(
                std::move(initiate), asio::use_awaitable);
        } catch (const boost::system::system_error&) {
            // Asio throws before initiating when this coroutine was already cancelled.
        }
        co_return fail(cancelled_error("waiting for a '" + c->name + "' slot"));
    }

    std::shared_ptr<core> core_;
};

}  // namespace pkg::io
