#include "runtime/runtime.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace pkg::io {

struct cancel_handle::state {
    std::mutex mutex;
    bool is_requested = false;
    /// The root currently run with this handle, if any, and the executor it runs on.
    std::weak_ptr<detail::root_state_base> root;
    std::optional<asio::io_context::executor_type> executor;

    /// Emits to `target` on its io_context thread (cancellation signals are not thread-safe).
    static void post_emit(const asio::io_context::executor_type& ex,
                          std::shared_ptr<detail::root_state_base> target)
    {
        asio::post(ex, [target = std::move(target)] {
            if (!target->is_done) {
                target->signal.emit(asio::cancellation_type::terminal);
            }
        });
    }
};

cancel_handle::cancel_handle() : state_(std::make_shared<state>()) {}

void cancel_handle::cancel() const
{
    std::lock_guard lock(state_->mutex);
    if (state_->is_requested) {
        return;
    }
    state_->is_requested = true;
    if (auto root = state_->root.lock(); root && state_->executor) {
        state::post_emit(*state_->executor, std::move(root));
    }
}

bool cancel_handle::is_cancel_requested() const
{
    std::lock_guard lock(state_->mutex);
    return state_->is_requested;
}

namespace {

std::size_t pool_size(std::size_t requested)
{
    if (requested != 0) {
        return requested;
    }
    return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

}  // namespace

runtime::runtime() : runtime(options{}) {}

runtime::runtime(options opts)
    : cpu_threads_(pool_size(opts.cpu_threads)), io_(1), cpu_(cpu_threads_)
{
}

runtime::~runtime()
{
    cpu_.stop();
    cpu_.join();
}

void runtime::drive(const std::shared_ptr<detail::root_state_base>& root,
                    const cancel_handle& cancel)
{
    {
        std::lock_guard lock(cancel.state_->mutex);
        cancel.state_->root = root;
        cancel.state_->executor = io_.get_executor();
        if (cancel.state_->is_requested) {
            cancel_handle::state::post_emit(io_.get_executor(), root);
        }
    }
    struct detach_on_exit {
        cancel_handle::state& state;
        ~detach_on_exit()
        {
            std::lock_guard lock(state.mutex);
            state.root.reset();
            state.executor.reset();
        }
    } detach{*cancel.state_};

    io_.restart();
    while (!root->is_done) {
        if (io_.run_one() == 0) {
            throw std::logic_error(
                "pkg::io::runtime::run: the root coroutine is suspended but the io_context has no "
                "pending work that could resume it (a waiter was dropped without completion)");
        }
    }
    // Let handlers that are already due finish (frames unwinding, completions of children that
    // were posted just before the root's), so counters are settled when run returns.
    io_.poll();
}

struct cancel_on_signals::state {
    state(asio::io_context& io, cancel_handle h) : set(io), handle(std::move(h)) {}
    asio::signal_set set;
    cancel_handle handle;
    bool is_active = true;  // false once the owner is destroyed: the pending wait must not re-arm
};

cancel_on_signals::cancel_on_signals(runtime& rt, cancel_handle handle,
                                     std::initializer_list<int> signals)
    : state_(std::make_shared<state>(rt.io_context(), std::move(handle)))
{
    for (int number : signals) {
        state_->set.add(number);
    }
    arm(state_);
}

cancel_on_signals::~cancel_on_signals()
{
    state_->is_active = false;
    boost::system::error_code ignored;
    state_->set.cancel(ignored);
    state_->set.clear(ignored);
}

void cancel_on_signals::arm(std::shared_ptr<state> st)
{
    auto* set = &st->set;
    set->async_wait([st = std::move(st)](const boost::system::error_code& ec, int /*signal*/) {
        if (ec || !st->is_active) {
            return;  // the owner was destroyed
        }
        st->handle.cancel();
        arm(st);  // swallow later deliveries instead of dying from SIG_DFL mid-cleanup
    });
}

}  // namespace pkg::io
