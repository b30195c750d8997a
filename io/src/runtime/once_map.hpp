#pragma once
/// \file
/// `once_map<K, V>`: the first caller of a key runs the work; every concurrent caller of that key
/// awaits the same outcome (value or error); outcomes are kept for the map's lifetime.
/// Internal header of io/ (used by the engine for index pages, wheel downloads, unpacks).
///
///     once_map<std::string, std::shared_ptr<const page>> pages("index pages");
///     result<std::shared_ptr<const page>> p = co_await pages.async_get_or_run(
///         url, [=] { return async_fetch_page(client, url); });   // task<result<...>>
///
/// Waiting never polls: a waiter's completion handler is parked in a per-key queue and the
/// leader posts the outcome to each waiter's own executor (waiters may live on the io_context
/// and on CPU-pool threads at the same time).
///
/// Failure rules:
/// - The producer returns an error, or throws: that error (an exception becomes an error value,
///   see `error_from_exception`) is the key's outcome, delivered to every waiter and kept.
/// - The leader is cancelled (its coroutine's cancellation state is set when the producer ends
///   with an error or exception) or its frame is destroyed mid-run: nothing is kept; the oldest
///   waiter takes over and runs *its* producer; with no waiter the key goes back to empty, so a
///   later caller runs the producer again. The cancelled leader gets `operation_canceled`.
/// - A waiter that is cancelled leaves the queue and gets `operation_canceled`; the leader goes on.
/// - Destroying the map wakes every waiter with `runtime_errc::abandoned`; running leaders finish
///   and deliver to nobody (they keep the shared state alive).
/// A producer that finishes with a value is kept even if its leader was cancelled meanwhile.
///
/// Thread-safety: every member is thread-safe (one mutex per map; producers run outside it).
/// Cancellation of a waiter must be emitted from its own executor, as Asio requires.
/// V must be copyable (each waiter gets a copy): use a shared_ptr for large values.

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <fmt/format.h>

#include <pkg/io/error.hpp>

#include "runtime/errors.hpp"
#include "runtime/parked_handler.hpp"
#include "runtime/task.hpp"

namespace pkg::io {

template <class K, class V, class Hash = std::hash<K>, class KeyEqual = std::equal_to<K>>
class once_map {
public:
    /// An empty map; `name` appears in error messages ("index pages: key 'x' ..."). May throw
    /// std::bad_alloc.
    explicit once_map(std::string name = "once_map")
        : core_(std::make_shared<core>(std::move(name)))
    {
    }

    /// Wakes every waiter with `runtime_errc::abandoned` (see the file comment).
    ~once_map()
    {
        std::deque<std::shared_ptr<waiter>> orphans;
        {
            std::lock_guard lock(core_->mutex);
            core_->is_closed = true;
            for (auto& [key, e] : core_->entries) {
                for (auto& w : e->waiters) {
                    orphans.push_back(std::move(w));
                }
                e->waiters.clear();
            }
        }
        for (auto& w : orphans) {
            w->complete(wake::outcome_of(fail(error{
                make_error_code(runtime_errc::abandoned),
                core_->name + ": destroyed while a coroutine waited for a key's outcome", {},
                "destroy a once_map only after every coroutine using it finished"})));
        }
    }

    once_map(const once_map&) = delete;
    once_map& operator=(const once_map&) = delete;

    /// The outcome for `key`: stored, awaited from the running leader, or produced by calling
    /// `producer()` (a callable returning `task<result<V>>` or `task<V>`) in this coroutine if
    /// nobody runs it. See the file comment for errors and cancellation. `producer` is kept
    /// alive in this call's frame while it runs (a capturing lambda is fine here; with GCC 12
    /// name it outside the co_await expression if its captures have destructors — GCC destroys
    /// such captures twice) and is called at most once. The returned task holds the map's
    /// shared state: the map object may be destroyed while it is suspended. Thread-safe.
    template <class Producer>
    [[nodiscard]] task<result<V>> async_get_or_run(K key, Producer producer) const
    {
        return async_get_or_run_impl<Producer>(core_, std::move(key), std::move(producer));
    }

    /// The kept outcome for `key`, or std::nullopt when the key is absent or still running.
    /// Never suspends. Thread-safe.
    [[nodiscard]] std::optional<result<V>> get(const K& key) const
    {
        std::lock_guard lock(core_->mutex);
        auto it = core_->entries.find(key);
        if (it == core_->entries.end() || !it->second->outcome) {
            return std::nullopt;
        }
        return *it->second->outcome;
    }

    /// Keys that have an outcome or a running leader. Thread-safe.
    [[nodiscard]] std::size_t size() const
    {
        std::lock_guard lock(core_->mutex);
        return core_->entries.size();
    }

    /// Coroutines currently waiting for some key's outcome (for progress and tests). Thread-safe.
    [[nodiscard]] std::size_t waiting() const
    {
        std::lock_guard lock(core_->mutex);
        std::size_t n = 0;
        for (const auto& [key, e] : core_->entries) {
            n += e->waiters.size();
        }
        return n;
    }

    /// The name given at construction.
    [[nodiscard]] const std::string& name() const noexcept { return core_->name; }

private:
    class leadership;

    /// What a parked waiter is woken with. Move-only: it may carry the leadership of the entry.
    struct wake {
        enum class kind {
            outcome,  ///< `value` is the key's outcome (or this waiter's cancellation/abandonment).
            lead,     ///< The leader gave up: `lead` makes this waiter the entry's new leader.
            retry,    ///< The entry was dropped before the waiter could queue: look the key up again.
        };
        kind what = kind::retry;
        std::optional<result<V>> value;
        /// Gives the entry up again if the waiter never resumes (its frame is destroyed).
        std::unique_ptr<leadership> lead;

        static wake outcome_of(result<V> r)
        {
            wake w;
            w.what = kind::outcome;
            w.value.emplace(std::move(r));
            return w;
        }
        static wake lead_with(std::unique_ptr<leadership> l)
        {
            wake w;
            w.what = kind::lead;
            w.lead = std::move(l);
            return w;
        }
        static wake retry() { return wake{}; }
    };
    using waiter = detail::parked_handler<wake>;

    struct entry {
        std::optional<result<V>> outcome;             // set once; then the entry is final
        std::deque<std::shared_ptr<waiter>> waiters;  // oldest first
        bool is_dropped = false;                      // removed from the map (leader gave up)
    };

    struct core {
        explicit core(std::string n) : name(std::move(n)) {}
        const std::string name;
        mutable std::mutex mutex;
        bool is_closed = false;  // the once_map object is gone
        std::unordered_map<K, std::shared_ptr<entry>, Hash, KeyEqual> entries;
    };

    /// "name: key 'x'" for messages, when K can be printed.
    static std::string describe(const core& c, const K& key)
    {
        if constexpr (std::is_convertible_v<const K&, std::string_view>) {
            return fmt::format("{}: key '{}'", c.name, std::string_view(key));
        } else if constexpr (fmt::is_formattable<K>::value) {
            return fmt::format("{}: key '{}'", c.name, key);
        } else {
            return c.name + ": a key";
        }
    }

    /// Ends the leadership of the entry, either by publishing an outcome or by giving it up.
    /// If the leader's frame is destroyed mid-run (its io_context shut down), the destructor
    /// gives it up so no waiter is left hanging.
    class leadership {
    public:
        leadership(std::shared_ptr<core> c, const K& key, std::shared_ptr<entry> e)
            : core_(std::move(c)), key_(key), entry_(std::move(e))
        {
        }
        leadership(const leadership&) = delete;
        leadership& operator=(const leadership&) = delete;
        ~leadership()
        {
            if (entry_) {
                try {
                    give_up();
                } catch (...) {  // posting to a waiter failed (out of memory): nothing better to do
                }
            }
        }

        /// Keeps `outcome` and delivers it to every waiter.
        void publish(const result<V>& outcome)
        {
            std::deque<std::shared_ptr<waiter>> waiters;
            {
                std::lock_guard lock(core_->mutex);
                entry_->outcome = outcome;
                waiters.swap(entry_->waiters);
            }
            entry_.reset();
            for (auto& w : waiters) {
                w->complete(wake::outcome_of(outcome));
            }
        }

        /// Hands the entry to the oldest waiter, or drops it so the key is empty again.
        void give_up()
        {
            std::shared_ptr<waiter> next;
            std::unique_ptr<leadership> successor;
            {
                std::lock_guard lock(core_->mutex);
                if (!entry_->waiters.empty()) {
                    successor = std::make_unique<leadership>(core_, key_, entry_);
                    next = std::move(entry_->waiters.front());
                    entry_->waiters.pop_front();
                } else {
                    entry_->is_dropped = true;
                    auto it = core_->entries.find(key_);
                    if (it != core_->entries.end() && it->second == entry_) {
                        core_->entries.erase(it);
                    }
                }
            }
            entry_.reset();
            if (next) {
                next->complete(wake::lead_with(std::move(successor)));
            }
        }

    private:
        std::shared_ptr<core> core_;
        K key_;
        std::shared_ptr<entry> entry_;
    };

    /// Parks the calling coroutine on `e` until its outcome is known (or it must lead/retry).
    static task<wake> async_wait(std::shared_ptr<core> c, std::shared_ptr<entry> e,
                                 std::string what)
    {
        auto initiate = [c, e, what](auto handler) {
            // Assign the cancellation slot before the waiter is visible to other threads: a
            // completion from another thread resumes the coroutine, which clears the slot.
            auto slot = asio::get_associated_cancellation_slot(handler);
            auto parked = detail::park<wake>(std::move(handler));
            if (slot.is_connected()) {
                slot.assign([c, e, what, weak = std::weak_ptr<waiter>(parked)](
                                asio::cancellation_type) {
                    auto w = weak.lock();
                    if (!w) {
                        return;
                    }
                    {
                        std::lock_guard lock(c->mutex);
                        auto it = std::find(e->waiters.begin(), e->waiters.end(), w);
                        if (it == e->waiters.end()) {
                            return;  // already woken: that completion wins
                        }
                        e->waiters.erase(it);
                    }
                    w->complete(wake::outcome_of(fail(cancelled_error("waiting for " + what))));
                });
            }
            std::unique_lock lock(c->mutex);
            if (e->outcome) {
                auto outcome = *e->outcome;
                lock.unlock();
                parked->complete(wake::outcome_of(std::move(outcome)));
            } else if (c->is_closed) {
                lock.unlock();
                parked->complete(wake::outcome_of(fail(error{
                    make_error_code(runtime_errc::abandoned), what + ": the map was destroyed",
                    {}, {}})));
            } else if (e->is_dropped) {
                lock.unlock();
                parked->complete(wake::retry());
            } else {
                e->waiters.push_back(std::move(parked));
            }
        };
        co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(wake)>(
            std::move(initiate), asio::use_awaitable);
    }

    /// Runs the producer as the entry's leader, then publishes the outcome or gives up.
    /// `lead` exists before the first co_await: whatever happens to this frame from here on
    /// (exception, cancellation, destruction), the entry is published or handed on.
    template <class Producer>
    static task<result<V>> async_lead(std::unique_ptr<leadership> lead, Producer& producer,
                                      std::string what)
    {
        std::optional<result<V>> outcome;
        try {
            using produced = typename std::invoke_result_t<Producer&>::value_type;
            if constexpr (std::is_same_v<produced, result<V>>) {
                outcome.emplace(co_await std::invoke(producer));
            } else if constexpr (std::is_void_v<V>) {
                static_assert(std::is_void_v<produced>,
                              "producer must return task<result<V>> or task<V>");
                co_await std::invoke(producer);
                outcome.emplace();
            } else {
                static_assert(std::is_convertible_v<produced, V>,
                              "producer must return task<result<V>> or task<V>");
                outcome.emplace(co_await std::invoke(producer));
            }
        } catch (...) {
            outcome.emplace(fail(error_from_exception(std::current_exception(),
                                                      "the producer of " + what)));
        }
        if (!*outcome) {
            auto state = co_await asio::this_coro::cancellation_state;
            if (state.cancelled() != asio::cancellation_type::none) {
                lead->give_up();
                co_return fail(cancelled_error("producing " + what));
            }
        }
        lead->publish(*outcome);
        co_return std::move(*outcome);
    }

    template <class Producer>
    static task<result<V>> async_get_or_run_impl(std::shared_ptr<core> c, K key, Producer producer)
    {
        std::string what = describe(*c, key);
        for (;;) {
            std::shared_ptr<entry> e;
            std::unique_ptr<leadership> lead;
            {
                std::lock_guard lock(c->mutex);
                if (c->is_closed) {
                    co_return fail(error{make_error_code(runtime_errc::abandoned),
                                         what + ": the map was destroyed", {}, {}});
                }
                auto [it, inserted] = c->entries.try_emplace(key);
                if (inserted) {
                    it->second = std::make_shared<entry>();
                    lead = std::make_unique<leadership>(c, key, it->second);
                } else if (it->second->outcome) {
                    co_return *it->second->outcome;
                }
                e = it->second;
            }
            if (!lead) {
                std::optional<wake> woken;
                try {
                    woken.emplace(co_await async_wait(c, std::move(e), what));
                } catch (const boost::system::system_error&) {
                    // Asio throws before parking when this coroutine was already cancelled.
                    co_return fail(cancelled_error("waiting for " + what));
                }
                if (woken->what == wake::kind::outcome) {
                    co_return std::move(*woken->value);
                }
                if (woken->what == wake::kind::retry) {
                    continue;
                }
                lead = std::move(woken->lead);  // the previous leader handed the entry to us
            }
            // async_lead is entered through a co_await, which Asio makes throw if this coroutine
            // was cancelled; `lead` then gives the entry up in its destructor, before we leave.
            try {
                co_return co_await async_lead<Producer>(std::move(lead), producer, what);
            } catch (const boost::system::system_error&) {
            }
            co_return fail(cancelled_error("producing " + what));
        }
    }

    std::shared_ptr<core> core_;
};

}  // namespace pkg::io
