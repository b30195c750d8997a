#pragma once
/// \file
/// Ctrl-C and SIGTERM for the environment commands: the first signal cancels the running
/// operation (it stops at its next suspension point and leaves the environment consistent); a
/// second one ends the process at once with 128 + the signal number.
///
/// The handlers only write to a self-pipe (async-signal-safe); the main thread waits on that
/// pipe and calls `operation::cancel()`. Children the engine starts get default dispositions
/// back on exec, and no signal is blocked, so they see the terminal's Ctrl-C as usual.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include <pkg/engine/install.hpp>

#include "progress.hpp"

namespace pkg::cli {

/// Installs the SIGINT/SIGTERM handlers on construction and restores the previous ones on
/// destruction. At most one instance may exist at a time (handlers are process-wide).
class interrupt_scope {
public:
    /// Throws std::runtime_error when the self-pipe cannot be made (out of file descriptors):
    /// nothing can be run safely then.
    interrupt_scope();
    ~interrupt_scope();
    interrupt_scope(const interrupt_scope&) = delete;
    interrupt_scope& operator=(const interrupt_scope&) = delete;

    /// Waits until a signal arrives, `wake` is called, or `timeout` passes. Returns the number
    /// of a signal that arrived during this wait, 0 otherwise. Main thread only.
    int wait(std::chrono::milliseconds timeout);

    /// Ends a `wait` early. Thread-safe (called from an operation's `on_done`).
    void wake();

    /// The first signal received since construction, 0 if none. Thread-safe.
    [[nodiscard]] int first_signal() const;
};

/// Runs an asynchronous engine operation to its end on the calling (main) thread: `start`
/// receives the completion callback and returns the `pkg::operation`; meanwhile the progress
/// display is ticked and the first SIGINT/SIGTERM cancels the operation (saying so through
/// `display.note`). Returns the operation's result and the signal that cancelled it (0 if none).
template <class Report, class Start>
std::pair<pkg::result<Report>, int> run_interruptible(Start start, progress_display& display)
{
    interrupt_scope signals;
    std::mutex mutex;
    std::optional<pkg::result<Report>> outcome;
    pkg::operation op = start([&](pkg::result<Report> r) {
        {
            const std::lock_guard lock(mutex);
            outcome = std::move(r);
        }
        signals.wake();
    });
    bool is_cancelling = false;
    // Ends as soon as the result is in: the operation counts as done only after its callback
    // returns, so waiting for is_done() alone would sleep through the wake-up to the next tick.
    const auto has_outcome = [&] {
        const std::lock_guard lock(mutex);
        return outcome.has_value();
    };
    while (!has_outcome() && !op.is_done()) {
        const int signal_number = signals.wait(std::chrono::milliseconds(100));
        if (signal_number != 0 && !is_cancelling) {
            is_cancelling = true;
            display.note("Cancelling... (press Ctrl-C again to quit at once)");
            op.cancel();
        }
        display.tick();
    }
    op.wait();
    const std::lock_guard lock(mutex);
    return {std::move(*outcome), signals.first_signal()};
}

}  // namespace pkg::cli
