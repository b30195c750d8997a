#pragma once
/// \file
/// The one way a test runs a coroutine: `pkg::test::run_task(coroutine(...))` blocks until it
/// finished and returns its value (exceptions escaping it are rethrown, so Catch2 reports them).

#include <utility>

#include "runtime/runtime.hpp"
#include "runtime/task.hpp"

namespace pkg::test {

/// Runs `root` to completion on `rt` (use this when the coroutine needs the runtime, e.g. its
/// CPU pool) and returns its value.
template <class T>
T run_task(pkg::io::runtime& rt, pkg::io::task<T> root)
{
    return rt.run(std::move(root));
}

/// Runs `root` to completion on a fresh runtime with a two-thread CPU pool and returns its value.
template <class T>
T run_task(pkg::io::task<T> root)
{
    pkg::io::runtime rt(pkg::io::runtime::options{.cpu_threads = 2});
    return rt.run(std::move(root));
}

}  // namespace pkg::test
