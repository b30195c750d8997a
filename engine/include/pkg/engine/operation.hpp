#pragma once
/// \file
/// Asynchronous operations of the embedding API: the `operation` handle every `async_*` call
/// returns, and the asynchronous forms of the venv and cache calls (the install ones are in
/// install.hpp).
///
/// An asynchronous call runs the blocking work on a thread of its own, calls `on_done` exactly
/// once from that thread with the outcome, and returns an `operation` that can cancel it or wait
/// for it. If no thread can be started, `on_done` is called before the call returns, with
/// `std::errc::resource_unavailable_try_again`. Asio-free; no global state.

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <pkg/engine/cache.hpp>
#include <pkg/engine/venv.hpp>
#include <pkg/io/error.hpp>

namespace pkg {

namespace detail {
struct operation_access;
}  // namespace detail

/// A running asynchronous operation. Movable, not copyable. Destroying (or assigning over) a
/// handle whose operation still runs requests cancellation and waits for it to end (`on_done` is
/// still called); from inside the operation's own callbacks it detaches instead of waiting.
/// A default-constructed handle refers to no operation.
class operation {
public:
    operation() noexcept;
    operation(operation&&) noexcept;
    operation& operator=(operation&&) noexcept;
    operation(const operation&) = delete;
    operation& operator=(const operation&) = delete;
    ~operation();

    /// Requests cancellation; returns at once. The operation stops at its next suspension point
    /// and finishes with `std::errc::operation_canceled` (unless it was already finishing).
    /// Work that cannot be interrupted halfway (installing one wheel, one `create_venv`, one
    /// cache removal) completes first, so nothing is left half-done. Thread-safe; callable from
    /// callbacks; idempotent; a no-op on an empty or finished handle.
    void cancel() const;
    /// Blocks until `on_done` has returned. Must not be called from the operation's callbacks.
    /// Returns at once for an empty handle. Thread-safe.
    void wait() const;
    /// True once `on_done` has returned (and for an empty handle). Thread-safe.
    [[nodiscard]] bool is_done() const noexcept;

    struct state;  ///< implementation detail

private:
    friend struct detail::operation_access;
    explicit operation(std::shared_ptr<state> s) noexcept;
    void finish() noexcept;  // cancel + join (or detach from the operation's own thread)
    std::shared_ptr<state> state_;
};

/// Asynchronous `create_venv` (venv.hpp). Cancellation takes effect only before the
/// environment is being built: a started build completes (or fails) as a whole.
[[nodiscard]] operation async_create_venv(venv_options options,
                                          std::function<void(result<venv_report>)> on_done);

/// Asynchronous `cache_size` (cache.hpp). Cancellation takes effect only before it starts.
[[nodiscard]] operation async_cache_size(cache_options options,
                                         std::function<void(result<cache_size_report>)> on_done);

/// Asynchronous `cache_clean` (cache.hpp); `on_wait` is called on the operation's thread.
/// Cancellation takes effect only before it starts (removal is not interrupted halfway).
[[nodiscard]] operation async_cache_clean(cache_options options, std::vector<std::string> names,
                                          bool force,
                                          std::function<void(result<cache_removal_report>)> on_done,
                                          cache_wait_callback on_wait = {});

/// Asynchronous `cache_prune` (cache.hpp); as `async_cache_clean`.
[[nodiscard]] operation async_cache_prune(cache_options options, bool force,
                                          std::function<void(result<cache_removal_report>)> on_done,
                                          cache_wait_callback on_wait = {});

}  // namespace pkg
