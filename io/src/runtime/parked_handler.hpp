#pragma once
/// \file
/// A suspended operation's completion handler, type-erased so that a queue (slots, once_map) can
/// hold waiters of different coroutines, and completable from any thread. Internal header.

#include <memory>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include "runtime/task.hpp"

namespace pkg::io::detail {

/// One waiter: completes exactly once with an `Arg`.
template <class Arg>
class parked_handler {
public:
    parked_handler() = default;
    parked_handler(const parked_handler&) = delete;
    parked_handler& operator=(const parked_handler&) = delete;
    virtual ~parked_handler() = default;

    /// Posts the completion with `arg` to the waiter's own executor (never runs it inline, so a
    /// caller holding a lock cannot re-enter). Call at most once; the owner of the queue ensures it
    /// by removing the waiter under its mutex before completing it. Thread-safe with respect to
    /// the waiter (any thread may complete it).
    virtual void complete(Arg arg) = 0;
};

/// The concrete waiter for one handler type. Keeps the handler's executor busy (outstanding work)
/// so an io_context run loop does not stop while the waiter is parked.
template <class Arg, class Handler>
class parked_handler_impl final : public parked_handler<Arg> {
public:
    explicit parked_handler_impl(Handler handler)
        : handler_(std::move(handler)),
          work_(asio::prefer(asio::get_associated_executor(handler_),
                             asio::execution::outstanding_work.tracked))
    {
    }

    void complete(Arg arg) override
    {
        asio::post(work_, [handler = std::move(handler_), arg = std::move(arg)]() mutable {
            std::move(handler)(std::move(arg));
        });
    }

private:
    using work_executor = std::decay_t<decltype(asio::prefer(
        std::declval<asio::associated_executor_t<Handler>>(),
        asio::execution::outstanding_work.tracked))>;

    Handler handler_;
    work_executor work_;
};

/// Wraps `handler` as a shared waiter completing with `Arg`. Not thread-safe on its own: call it
/// from the initiating function (the waiter's own context).
template <class Arg, class Handler>
std::shared_ptr<parked_handler<Arg>> park(Handler handler)
{
    return std::make_shared<parked_handler_impl<Arg, Handler>>(std::move(handler));
}

}  // namespace pkg::io::detail
