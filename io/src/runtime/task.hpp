#pragma once
/// \file
/// The one coroutine type of pkg and the Asio spelling used everywhere inside io/ and engine/.
/// Internal header: never included from an installed (public) header.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace pkg::io {

/// Every suspending function returns `task<T>` and is named `async_…`.
template <class T = void>
using task = asio::awaitable<T>;

}  // namespace pkg::io
