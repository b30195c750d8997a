// The asynchronous forms of the public API: one std::thread per operation, a cancel_handle
// wired to the operation's runtime, and `on_done` exactly once.

#include <pkg/engine/install.hpp>
#include <pkg/engine/operation.hpp>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#include "runtime/errors.hpp"
#include "runtime/runtime.hpp"
#include "session/session.hpp"
#include "session/target.hpp"

namespace pkg {

struct operation::state {
    io::cancel_handle cancel;
    std::mutex mutex;
    std::condition_variable done_changed;
    bool is_done = false;  // guarded by mutex
    std::thread thread;    // owned by the handle; joined (or detached) in finish()
};

namespace detail {

struct operation_access {
    using body = std::function<void(const io::cancel_handle&)>;

    /// Runs `work` on a new thread. When no thread can be started, runs `on_failure` here and
    /// returns an empty (done) handle.
    static operation start(body work, const std::function<void(error)>& on_failure)
    {
        auto s = std::make_shared<operation::state>();
        try {
            s->thread = std::thread([s, work = std::move(work)]() mutable {
                work(s->cancel);
                work = nullptr;  // the user's callbacks die on this thread, before waiters wake
                {
                    std::lock_guard lock(s->mutex);
                    s->is_done = true;
                }
                s->done_changed.notify_all();
            });
        } catch (const std::system_error& e) {
            on_failure(error{std::make_error_code(std::errc::resource_unavailable_try_again),
                             std::string("cannot start the operation's thread: ") + e.what(),
                             {}, {}});
            return operation();
        }
        return operation(std::move(s));
    }
};

}  // namespace detail

operation::operation() noexcept = default;
operation::operation(std::shared_ptr<state> s) noexcept : state_(std::move(s)) {}
operation::operation(operation&& other) noexcept = default;

operation& operation::operator=(operation&& other) noexcept
{
    if (this != &other) {
        finish();
        state_ = std::move(other.state_);
    }
    return *this;
}

operation::~operation() { finish(); }

void operation::finish() noexcept
{
    if (!state_) {
        return;
    }
    if (!is_done()) {
        state_->cancel.cancel();
    }
    if (state_->thread.joinable()) {
        if (state_->thread.get_id() == std::this_thread::get_id()) {
            state_->thread.detach();  // destroyed from its own callback: it ends by itself
        } else {
            state_->thread.join();
        }
    }
    state_.reset();
}

void operation::cancel() const
{
    if (state_) {
        state_->cancel.cancel();
    }
}

void operation::wait() const
{
    if (!state_) {
        return;
    }
    std::unique_lock lock(state_->mutex);
    state_->done_changed.wait(lock, [&] { return state_->is_done; });
}

bool operation::is_done() const noexcept
{
    if (!state_) {
        return true;
    }
    std::lock_guard lock(state_->mutex);
    return state_->is_done;
}

namespace {

// Runs `work` with exceptions turned into errors (nothing may escape the thread) and hands the
// outcome to `on_done`, also guarded.
template <class T, class Work>
operation start(Work work, std::function<void(result<T>)> on_done)
{
    auto shared_done = std::make_shared<std::function<void(result<T>)>>(std::move(on_done));
    return detail::operation_access::start(
        [work = std::move(work), shared_done](const io::cancel_handle& cancel) mutable {
            result<T> outcome = fail(session::cancelled("the operation"));
            try {
                outcome = work(cancel);
            } catch (...) {
                outcome = fail(io::error_from_exception(std::current_exception(), "the operation"));
            }
            if (*shared_done) {
                try {
                    (*shared_done)(std::move(outcome));
                } catch (...) {
                    // on_done must not throw; there is nobody to tell.
                }
            }
            *shared_done = nullptr;
        },
        [shared_done](error e) {
            if (*shared_done) {
                try {
                    (*shared_done)(fail(std::move(e)));
                } catch (...) {
                }
            }
        });
}

// For the blocking calls that cannot be interrupted: cancellation counts only before they start.
template <class T, class Call>
operation start_blocking(Call call, std::function<void(result<T>)> on_done, const char* what)
{
    return start<T>(
        [call = std::move(call), what](const io::cancel_handle& cancel) -> result<T> {
            if (cancel.is_cancel_requested()) {
                return fail(session::cancelled(what));
            }
            return call();
        },
        std::move(on_done));
}

}  // namespace

operation async_install(install_options options,
                        std::function<void(result<install_report>)> on_done)
{
    return start<install_report>(
        [options = std::move(options)](const io::cancel_handle& cancel) {
            return session::run_install(options, cancel);
        },
        std::move(on_done));
}

operation async_uninstall(uninstall_options options,
                          std::function<void(result<uninstall_report>)> on_done)
{
    return start<uninstall_report>(
        [options = std::move(options)](const io::cancel_handle& cancel) {
            return session::run_uninstall(options, cancel);
        },
        std::move(on_done));
}

operation async_list(environment_options options,
                     std::function<void(result<environment_listing>)> on_done)
{
    return start<environment_listing>(
        [options = std::move(options)](const io::cancel_handle& cancel) {
            return session::run_list(options, cancel);
        },
        std::move(on_done));
}

operation async_create_venv(venv_options options, std::function<void(result<venv_report>)> on_done)
{
    return start_blocking<venv_report>(
        [options = std::move(options)] { return create_venv(options); }, std::move(on_done),
        "creating the virtual environment");
}

operation async_cache_size(cache_options options,
                           std::function<void(result<cache_size_report>)> on_done)
{
    return start_blocking<cache_size_report>(
        [options = std::move(options)] { return cache_size(options); }, std::move(on_done),
        "measuring the cache");
}

operation async_cache_clean(cache_options options, std::vector<std::string> names, bool force,
                            std::function<void(result<cache_removal_report>)> on_done,
                            cache_wait_callback on_wait)
{
    return start_blocking<cache_removal_report>(
        [options = std::move(options), names = std::move(names), force,
         on_wait = std::move(on_wait)] { return cache_clean(options, names, force, on_wait); },
        std::move(on_done), "cleaning the cache");
}

operation async_cache_prune(cache_options options, bool force,
                            std::function<void(result<cache_removal_report>)> on_done,
                            cache_wait_callback on_wait)
{
    return start_blocking<cache_removal_report>(
        [options = std::move(options), force, on_wait = std::move(on_wait)] {
            return cache_prune(options, force, on_wait);
        },
        std::move(on_done), "pruning the cache");
}

}  // namespace pkg
