#include "runtime/slots.hpp"

#include <algorithm>
#include <cassert>

namespace pkg::io {

slots::slots(asio::any_io_executor executor, std::size_t count, std::string name)
    : core_(std::make_shared<core>(std::move(executor), count, std::move(name)))
{
    assert(count > 0 && "slots: a bound of 0 would block every caller forever");
}

slots::~slots()
{
    std::deque<std::shared_ptr<waiter>> orphans;
    {
        std::lock_guard lock(core_->mutex);
        core_->is_closed = true;
        orphans.swap(core_->waiters);
    }
    for (auto& w : orphans) {
        w->complete(fail(abandoned_error(*core_)));
    }
}

std::optional<slots::permit> slots::try_acquire() const
{
    std::lock_guard lock(core_->mutex);
    if (core_->is_closed || !core_->waiters.empty() || core_->in_use >= core_->capacity) {
        return std::nullopt;
    }
    ++core_->in_use;
    return permit(core_);
}

std::size_t slots::capacity() const noexcept { return core_->capacity; }

std::size_t slots::in_use() const
{
    std::lock_guard lock(core_->mutex);
    return core_->in_use;
}

std::size_t slots::waiting() const
{
    std::lock_guard lock(core_->mutex);
    return core_->waiters.size();
}

const std::string& slots::name() const noexcept { return core_->name; }

void slots::permit::release() noexcept
{
    if (auto c = std::exchange(core_, nullptr)) {
        release_slot(c);
    }
}

void slots::release_slot(const std::shared_ptr<core>& c) noexcept
{
    std::shared_ptr<waiter> next;
    {
        std::lock_guard lock(c->mutex);
        if (c->waiters.empty()) {
            --c->in_use;
            return;
        }
        // Hand the slot over directly (in_use unchanged) so a newcomer cannot barge in.
        next = std::move(c->waiters.front());
        c->waiters.pop_front();
    }
    // If posting fails (out of memory) the permit inside the lost completion is destroyed,
    // which releases the slot again: the count stays right.
    try {
        next->complete(permit(c));
    } catch (...) {
    }
}

bool slots::remove_waiter(core& c, const std::shared_ptr<waiter>& w)
{
    std::lock_guard lock(c.mutex);
    auto it = std::find(c.waiters.begin(), c.waiters.end(), w);
    if (it == c.waiters.end()) {
        return false;  // already granted or abandoned: that completion wins
    }
    c.waiters.erase(it);
    return true;
}

error slots::abandoned_error(const core& c)
{
    return error{make_error_code(runtime_errc::abandoned),
                 "the '" + c.name + "' slots were destroyed while a coroutine waited for one",
                 {}, "destroy slots only after every coroutine using them finished"};
}

}  // namespace pkg::io
