#include "fs/uring_backend.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <liburing.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

namespace pkg::io {

namespace {

// user_data of an SQE = the address of its op (16-byte aligned) | the SQE's index in the stage.
constexpr unsigned max_stage_sqes = 16;
constexpr std::uint64_t index_mask = max_stage_sqes - 1;
// user_data of our IORING_OP_ASYNC_CANCEL requests (never a valid op address).
constexpr std::uint64_t cancel_tag = 1;
// A whole-file write stage is open + up to this many writev + fsync + close (≤ max_stage_sqes).
constexpr unsigned max_writev_per_stage = 8;
constexpr std::size_t max_iovecs_per_writev = IOV_MAX;
constexpr std::size_t read_chunk_bytes = 64 * 1024;

// One file operation: a sequence of stages; each stage is 1..max_stage_sqes SQEs (a linked chain
// when more than one) submitted together. The backend owns the op (through `self_`) from the start
// until `complete()`, so nothing the kernel reads or writes is freed before its CQE arrives.
class alignas(16) ring_op {
public:
    virtual ~ring_op() = default;
    ring_op() = default;
    ring_op(const ring_op&) = delete;
    ring_op& operator=(const ring_op&) = delete;

    // SQEs the next stage needs (1..max_stage_sqes). Called before every prepare().
    virtual unsigned stage_size() = 0;
    // Whether the next stage needs a registered file slot. Such a stage must begin with the
    // openat_direct into that slot and end with its close_direct.
    [[nodiscard]] virtual bool needs_file_slot() const { return false; }
    // Fills the next stage's SQEs (the backend sets user_data afterwards).
    virtual void prepare(std::span<io_uring_sqe* const> sqes, unsigned file_slot_) = 0;
    // Every CQE of the stage has arrived. True: run another stage. False: the op is finished.
    virtual bool on_stage_done(std::span<const int> cqe) = 0;
    // Cancelled while waiting to be submitted. True: keep it queued (a cleanup stage remains).
    virtual bool on_cancelled_while_queued() = 0;
    // Whether an async cancel may target SQE `index` of the current stage.
    [[nodiscard]] virtual bool is_cancellable(unsigned index) const
    {
        (void)index;
        return true;
    }
    // Hands the final result to the waiting coroutine (posts to its executor). Called once.
    virtual void complete() = 0;

    std::array<int, max_stage_sqes> results_{};
    unsigned stage_sqes_ = 0;   // SQEs of the stage now in the kernel
    unsigned outstanding_ = 0;  // of those, CQEs not reaped yet
    int file_slot_ = -1;
    bool is_cancelled_ = false;
    bool is_in_kernel_ = false;
    std::shared_ptr<ring_op> self_;
};

// An op producing a value of type R for the awaiting coroutine.
template <class R>
class result_op : public ring_op {
public:
    using value_type = R;

    void complete() final
    {
        auto deliver_now = std::move(deliver_);
        deliver_ = nullptr;
        if (deliver_now) {
            deliver_now(std::move(outcome_));
        }
    }

    std::function<void(R)> deliver_;
    R outcome_{};
};

file_type type_of(std::uint16_t mode)
{
    if (S_ISREG(mode)) {
        return file_type::regular;
    }
    if (S_ISDIR(mode)) {
        return file_type::directory;
    }
    if (S_ISLNK(mode)) {
        return file_type::symlink;
    }
    return file_type::other;
}

// The single-SQE operations on paths.
enum class path_kind : std::uint8_t { mkdir, hardlink, rename, symlink, unlink, rmdir };

class path_op final : public result_op<result<void>> {
public:
    path_op(path_kind kind, std::string first, std::string second, unsigned flags_or_mode)
        : kind_(kind), first_(std::move(first)), second_(std::move(second)),
          flags_or_mode_(flags_or_mode)
    {
    }

    unsigned stage_size() override { return 1; }

    void prepare(std::span<io_uring_sqe* const> sqes, unsigned) override
    {
        io_uring_sqe* sqe = sqes[0];
        switch (kind_) {
        case path_kind::mkdir:
            io_uring_prep_mkdirat(sqe, AT_FDCWD, first_.c_str(), static_cast<mode_t>(flags_or_mode_));
            break;
        case path_kind::hardlink:
            io_uring_prep_linkat(sqe, AT_FDCWD, first_.c_str(), AT_FDCWD, second_.c_str(), 0);
            break;
        case path_kind::rename:
            io_uring_prep_renameat(sqe, AT_FDCWD, first_.c_str(), AT_FDCWD, second_.c_str(),
                                   flags_or_mode_);
            break;
        case path_kind::symlink:
            io_uring_prep_symlinkat(sqe, first_.c_str(), AT_FDCWD, second_.c_str());
            break;
        case path_kind::unlink:
            io_uring_prep_unlinkat(sqe, AT_FDCWD, first_.c_str(), 0);
            break;
        case path_kind::rmdir:
            io_uring_prep_unlinkat(sqe, AT_FDCWD, first_.c_str(), AT_REMOVEDIR);
            break;
        }
    }

    bool on_stage_done(std::span<const int> cqe) override
    {
        if (cqe[0] < 0) {
            outcome_ = fail(make_error(-cqe[0]));
        }
        return false;
    }

    bool on_cancelled_while_queued() override
    {
        outcome_ = fail(make_error(ECANCELED));
        return false;
    }

private:
    [[nodiscard]] error make_error(int errno_value) const
    {
        switch (kind_) {
        case path_kind::mkdir:
            return system_error(errno_value, "mkdir", first_);
        case path_kind::hardlink:
            return system_error(errno_value, "hardlink of '" + first_ + "' as this", second_);
        case path_kind::rename:
            return system_error(errno_value, "rename to '" + second_ + "'", first_);
        case path_kind::symlink:
            return system_error(errno_value, "symlink to '" + first_ + "'", second_);
        case path_kind::unlink:
            return system_error(errno_value, "unlink", first_);
        case path_kind::rmdir:
            return system_error(errno_value, "rmdir", first_);
        }
        return system_error(errno_value, "file operation", first_);
    }

    path_kind kind_;
    std::string first_;
    std::string second_;
    unsigned flags_or_mode_;
};

class statx_op final : public result_op<result<file_stat>> {
public:
    statx_op(std::string path, follow_symlinks follow) : path_(std::move(path)), follow_(follow) {}

    unsigned stage_size() override { return 1; }

    void prepare(std::span<io_uring_sqe* const> sqes, unsigned) override
    {
        const int flags = follow_ == follow_symlinks::yes ? 0 : AT_SYMLINK_NOFOLLOW;
        io_uring_prep_statx(sqes[0], AT_FDCWD, path_.c_str(), flags, STATX_BASIC_STATS, &buffer_);
    }

    bool on_stage_done(std::span<const int> cqe) override
    {
        if (cqe[0] < 0) {
            outcome_ = fail(system_error(-cqe[0], "stat", path_));
            return false;
        }
        file_stat out;
        out.size_bytes = buffer_.stx_size;
        out.mode = buffer_.stx_mode & 07777u;
        out.mtime_ns = buffer_.stx_mtime.tv_sec * 1'000'000'000 + buffer_.stx_mtime.tv_nsec;
        out.inode = buffer_.stx_ino;
        out.device = makedev(buffer_.stx_dev_major, buffer_.stx_dev_minor);
        out.nlink = buffer_.stx_nlink;
        out.type = type_of(buffer_.stx_mode);
        outcome_ = out;
        return false;
    }

    bool on_cancelled_while_queued() override
    {
        outcome_ = fail(system_error(ECANCELED, "stat", path_));
        return false;
    }

private:
    std::string path_;
    follow_symlinks follow_;
    struct statx buffer_ {};
};

// openat → read… (until EOF) → close, one SQE per stage, on an ordinary descriptor.
class read_op final : public result_op<result<std::string>> {
public:
    read_op(std::string path, std::uint64_t max_bytes) : path_(std::move(path)), max_bytes_(max_bytes)
    {
    }

    ~read_op() override
    {
        if (fd_ >= 0) {
            ::close(fd_);  // only when the backend shut down mid-operation
        }
    }
    read_op(const read_op&) = delete;
    read_op& operator=(const read_op&) = delete;

    unsigned stage_size() override { return 1; }

    void prepare(std::span<io_uring_sqe* const> sqes, unsigned) override
    {
        switch (phase_) {
        case phase::open:
            io_uring_prep_openat(sqes[0], AT_FDCWD, path_.c_str(), O_RDONLY | O_CLOEXEC, 0);
            break;
        case phase::read:
            data_.resize(size_ + read_chunk_bytes);
            io_uring_prep_read(sqes[0], fd_, data_.data() + size_, read_chunk_bytes, size_);
            break;
        case phase::close:
            io_uring_prep_close(sqes[0], fd_);
            break;
        }
    }

    bool on_stage_done(std::span<const int> cqe) override
    {
        const int res = cqe[0];
        switch (phase_) {
        case phase::open:
            if (res < 0) {
                outcome_ = fail(system_error(-res, "open for reading", path_));
                return false;
            }
            fd_ = res;
            phase_ = phase::read;
            return true;
        case phase::read:
            if (res < 0) {
                set_failure(-res, "read");
            } else if (res == 0) {
                phase_ = phase::close;
            } else {
                size_ += static_cast<std::size_t>(res);
                if (size_ > max_bytes_) {
                    set_failure(EFBIG, "read (file larger than the limit)");
                } else if (is_cancelled_) {
                    set_failure(ECANCELED, "read");
                }
            }
            return true;
        case phase::close:
            fd_ = -1;
            if (failure_) {
                outcome_ = fail(std::move(*failure_));
            } else {
                data_.resize(size_);
                outcome_ = std::move(data_);
            }
            return false;
        }
        return false;
    }

    bool on_cancelled_while_queued() override
    {
        if (phase_ == phase::open) {
            outcome_ = fail(system_error(ECANCELED, "open for reading", path_));
            return false;
        }
        if (phase_ == phase::read) {
            set_failure(ECANCELED, "read");
        }
        return true;  // the descriptor must still be closed
    }

    [[nodiscard]] bool is_cancellable(unsigned) const override { return phase_ != phase::close; }

private:
    enum class phase : std::uint8_t { open, read, close };

    void set_failure(int errno_value, std::string_view op)
    {
        if (!failure_) {
            failure_ = system_error(errno_value, op, path_);
        }
        phase_ = phase::close;
    }

    std::string path_;
    std::uint64_t max_bytes_;
    phase phase_ = phase::open;
    int fd_ = -1;
    std::string data_;
    std::size_t size_ = 0;
    std::optional<error> failure_;
};

// A whole-file write. Data stage: openat_direct(slot) →(link) writev… →(hardlink) [fsync]
// →(hardlink) close_direct(slot). Hardlinks after the open make the close run whatever the writes
// did, so a slot is never left open; a failed open cancels the rest of the chain (nothing to
// close). The first stage creates the file (O_CREAT|O_EXCL); a short write (disk full, file size
// limit, a >2 GiB write) continues in a new stage that reopens the file at the short offset, so
// the real errno surfaces. On failure after creation a cleanup stage unlinks the partial file.
class write_op final : public result_op<result<void>> {
public:
    write_op(std::string path, std::vector<std::span<const std::byte>> buffers, write_options options)
        : path_(std::move(path)), buffers_(std::move(buffers)), options_(options)
    {
        for (const auto& buffer : buffers_) {
            total_bytes_ += buffer.size();
        }
    }

    [[nodiscard]] bool needs_file_slot() const override { return !is_cleanup_stage_; }

    unsigned stage_size() override
    {
        if (is_cleanup_stage_) {
            return 1;
        }
        plan_stage();
        return 2 + static_cast<unsigned>(writes_.size()) + (options_.is_durable ? 1 : 0);
    }

    void prepare(std::span<io_uring_sqe* const> sqes, unsigned file_slot_index) override
    {
        if (is_cleanup_stage_) {
            io_uring_prep_unlinkat(sqes[0], AT_FDCWD, path_.c_str(), 0);
            return;
        }
        // No O_CLOEXEC: openat_direct rejects it (direct descriptors are never inherited anyway).
        const int flags = O_WRONLY | (is_created_ ? 0 : O_CREAT | O_EXCL);
        std::size_t next = 0;
        io_uring_prep_openat_direct(sqes[next], AT_FDCWD, path_.c_str(), flags,
                                    static_cast<mode_t>(options_.mode), file_slot_index);
        sqes[next++]->flags |= IOSQE_IO_LINK;
        for (const auto& w : writes_) {
            io_uring_prep_writev(sqes[next], static_cast<int>(file_slot_index),
                                 iovecs_.data() + w.first_iovec, w.iovec_count, w.offset);
            sqes[next++]->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
        }
        if (options_.is_durable) {
            io_uring_prep_fsync(sqes[next], static_cast<int>(file_slot_index), 0);
            sqes[next++]->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
        }
        io_uring_prep_close_direct(sqes[next], file_slot_index);
    }

    bool on_stage_done(std::span<const int> cqe) override
    {
        if (is_cleanup_stage_) {
            outcome_ = fail(std::move(*failure_));
            return false;
        }
        if (cqe[0] < 0) {
            if (!is_created_) {
                outcome_ = fail(system_error(-cqe[0], "create", path_));
                return false;
            }
            return start_cleanup(-cqe[0], "open for writing (after a short write)");
        }
        is_created_ = true;
        std::size_t next = 1;
        std::uint64_t reached = offset_;
        bool is_short = false;
        for (const auto& w : writes_) {
            const int res = cqe[next++];
            if (res < 0) {
                return start_cleanup(-res, "write");
            }
            reached = w.offset + static_cast<std::uint64_t>(res);
            if (static_cast<std::uint64_t>(res) < w.length) {
                is_short = true;
                break;
            }
        }
        if (options_.is_durable) {
            const int res = cqe[1 + writes_.size()];
            if (!is_short && res < 0) {
                return start_cleanup(-res, "fsync");
            }
        }
        const int closed = cqe[writes_.size() + (options_.is_durable ? 2 : 1)];
        if (closed < 0) {
            return start_cleanup(-closed, "close");
        }
        if (is_short && reached == offset_) {
            return start_cleanup(EIO, "write (no progress)");
        }
        offset_ = reached;
        if (offset_ < total_bytes_) {
            if (is_cancelled_) {
                return start_cleanup(ECANCELED, "write");
            }
            return true;  // another data stage from the new offset
        }
        outcome_ = {};
        return false;
    }

    bool on_cancelled_while_queued() override
    {
        if (is_cleanup_stage_) {
            return true;
        }
        if (!is_created_) {
            outcome_ = fail(system_error(ECANCELED, "create", path_));
            return false;
        }
        return start_cleanup(ECANCELED, "write");
    }

    [[nodiscard]] bool is_cancellable(unsigned index) const override
    {
        return !is_cleanup_stage_ && index + 1 < stage_sqes_;  // never the close
    }

private:
    struct planned_write {
        std::size_t first_iovec;
        unsigned iovec_count;
        std::uint64_t offset;
        std::uint64_t length;
    };

    // iovecs for the data from offset_ on, grouped into at most max_writev_per_stage writevs.
    void plan_stage()
    {
        iovecs_.clear();
        writes_.clear();
        std::uint64_t skip = offset_;
        std::uint64_t position = offset_;
        for (const auto& buffer : buffers_) {
            if (skip >= buffer.size()) {
                skip -= buffer.size();
                continue;
            }
            auto rest = buffer.subspan(static_cast<std::size_t>(skip));
            skip = 0;
            if (writes_.empty() || writes_.back().iovec_count == max_iovecs_per_writev) {
                if (writes_.size() == max_writev_per_stage) {
                    break;
                }
                writes_.push_back({iovecs_.size(), 0, position, 0});
            }
            // The iovec API takes non-const pointers; writev only reads through them.
            iovecs_.push_back({const_cast<std::byte*>(rest.data()), rest.size()});
            writes_.back().iovec_count += 1;
            writes_.back().length += rest.size();
            position += rest.size();
        }
    }

    bool start_cleanup(int errno_value, std::string_view op)
    {
        failure_ = system_error(errno_value, op, path_);
        is_cleanup_stage_ = true;
        return true;
    }

    std::string path_;
    std::vector<std::span<const std::byte>> buffers_;
    write_options options_;
    std::uint64_t total_bytes_ = 0;
    std::uint64_t offset_ = 0;
    bool is_created_ = false;
    bool is_cleanup_stage_ = false;
    std::optional<error> failure_;
    std::vector<iovec> iovecs_;
    std::vector<planned_write> writes_;
};

}  // namespace

// ---- the ring, its queue and its completion loop ------------------------------------------------

struct uring_backend::impl : std::enable_shared_from_this<uring_backend::impl> {
    explicit impl(const asio::any_io_executor& executor)
        : strand(asio::make_strand(executor)), event_stream(executor)
    {
    }

    ~impl()
    {
        if (has_ring) {
            io_uring_queue_exit(&ring);
        }
    }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    io_uring ring{};
    bool has_ring = false;
    asio::strand<asio::any_io_executor> strand;
    asio::posix::stream_descriptor event_stream;
    std::uint64_t event_count = 0;

    std::mutex incoming_mutex;
    std::vector<std::shared_ptr<ring_op>> incoming;  // guarded by incoming_mutex
    bool is_flush_posted = false;                    // guarded by incoming_mutex

    // Everything below is touched only on the strand (or in shutdown()).
    std::deque<ring_op*> waiting;  // ops whose next stage is not submitted yet
    std::vector<unsigned> free_slots;
    std::size_t max_ops = 1;
    std::size_t ops_in_kernel = 0;
    std::size_t sqes_in_kernel = 0;  // bounded by the CQ size, so the CQ never overflows
    std::size_t cq_capacity = 0;
    bool is_waiting_for_events = false;
    bool is_shut_down = false;

    // Any thread: hands a new op to the strand; one flush per turn submits them all together.
    void start(std::shared_ptr<ring_op> op)
    {
        op->self_ = op;
        std::lock_guard lock(incoming_mutex);
        incoming.push_back(std::move(op));
        if (!is_flush_posted) {
            is_flush_posted = true;
            asio::post(strand, [state = shared_from_this()] { state->flush(); });
        }
    }

    void flush()
    {
        std::vector<std::shared_ptr<ring_op>> batch;
        {
            std::lock_guard lock(incoming_mutex);
            batch.swap(incoming);
            is_flush_posted = false;
        }
        if (is_shut_down) {
            return;
        }
        for (auto& op : batch) {
            waiting.push_back(op.get());
        }
        pump();
    }

    void submit()
    {
        int rc = 0;
        do {
            rc = io_uring_submit(&ring);
        } while (rc == -EINTR);
        // -EAGAIN/-EBUSY leave the SQEs in the ring; the next pump() submits them again.
    }

    // Moves queued stages into the ring within the bounds, then submits once.
    void pump()
    {
        while (!waiting.empty()) {
            ring_op* op = waiting.front();
            const unsigned need = op->stage_size();
            const bool wants_slot = op->needs_file_slot();
            if (ops_in_kernel >= max_ops || sqes_in_kernel + need > cq_capacity ||
                (wants_slot && free_slots.empty())) {
                break;
            }
            if (io_uring_sq_space_left(&ring) < need) {
                submit();
                if (io_uring_sq_space_left(&ring) < need) {
                    break;
                }
            }
            waiting.pop_front();
            std::array<io_uring_sqe*, max_stage_sqes> sqes{};
            for (unsigned i = 0; i < need; ++i) {
                sqes[i] = io_uring_get_sqe(&ring);
            }
            unsigned slot = 0;
            if (wants_slot) {
                slot = free_slots.back();
                free_slots.pop_back();
                op->file_slot_ = static_cast<int>(slot);
            }
            op->prepare(std::span<io_uring_sqe* const>(sqes.data(), need), slot);
            const auto base = reinterpret_cast<std::uintptr_t>(op);
            for (unsigned i = 0; i < need; ++i) {
                io_uring_sqe_set_data64(sqes[i], base | i);
            }
            op->stage_sqes_ = need;
            op->outstanding_ = need;
            op->is_in_kernel_ = true;
            ++ops_in_kernel;
            sqes_in_kernel += need;
        }
        if (io_uring_sq_ready(&ring) > 0) {
            submit();
        }
        arm();
    }

    // Reads the eventfd (asynchronously) while anything is in the kernel. Not armed otherwise,
    // so an idle backend does not keep io_context::run() from returning.
    // A read, not async_wait: Asio's epoll reactor is edge-triggered and async_wait never checks
    // readiness speculatively, so a CQE signalled between submit and arming (another thread in
    // epoll_wait) could be missed; async_read_some first tries the read itself.
    void arm()
    {
        if (is_waiting_for_events || sqes_in_kernel == 0 || is_shut_down) {
            return;
        }
        is_waiting_for_events = true;
        event_stream.async_read_some(
            asio::buffer(&event_count, sizeof event_count),
            asio::bind_executor(strand, [state = shared_from_this()](boost::system::error_code ec,
                                                                      std::size_t) {
                state->on_events(ec);
            }));
    }

    void on_events(boost::system::error_code ec)
    {
        is_waiting_for_events = false;
        if (is_shut_down || ec == asio::error::operation_aborted) {
            return;
        }
        // The read reset the counter before reaping: a CQE posted after it signals again.
        std::vector<ring_op*> finished;
        std::array<io_uring_cqe*, 64> cqes{};
        for (;;) {
            const unsigned n = io_uring_peek_batch_cqe(&ring, cqes.data(), cqes.size());
            if (n == 0) {
                break;
            }
            for (unsigned i = 0; i < n; ++i) {
                reap(cqes[i]->user_data, cqes[i]->res, finished);
            }
            io_uring_cq_advance(&ring, n);
        }
        pump();
        for (ring_op* op : finished) {
            op->complete();
            op->self_.reset();  // may destroy the op
        }
    }

    // Records one CQE; when it is the stage's last, decides what the op does next.
    void reap(std::uint64_t user_data, int res, std::vector<ring_op*>& finished)
    {
        --sqes_in_kernel;
        if (user_data == cancel_tag) {
            return;
        }
        auto* op = reinterpret_cast<ring_op*>(static_cast<std::uintptr_t>(user_data & ~index_mask));
        op->results_[user_data & index_mask] = res;
        if (--op->outstanding_ != 0) {
            return;
        }
        end_stage(*op);
        if (is_shut_down) {
            finished.push_back(op);  // shutdown() drops it; no further stage starts
            return;
        }
        if (op->on_stage_done(std::span<const int>(op->results_.data(), op->stage_sqes_))) {
            waiting.push_front(op);  // finish started work before starting new work
        } else {
            finished.push_back(op);
        }
    }

    void end_stage(ring_op& op)
    {
        op.is_in_kernel_ = false;
        --ops_in_kernel;
        if (op.file_slot_ >= 0) {
            // A slot stage opened first and closed last; if the open worked but the close did
            // not, clear the slot by hand so the next op does not find a stale file in it.
            if (op.results_[0] >= 0 && op.results_[op.stage_sqes_ - 1] < 0) {
                int none = -1;
                io_uring_register_files_update(&ring, static_cast<unsigned>(op.file_slot_), &none, 1);
            }
            free_slots.push_back(static_cast<unsigned>(op.file_slot_));
            op.file_slot_ = -1;
        }
    }

    // On the strand: the awaiting coroutine's cancellation slot fired.
    void cancel(ring_op& op)
    {
        if (is_shut_down || !op.self_ || op.is_cancelled_) {
            return;
        }
        op.is_cancelled_ = true;
        if (!op.is_in_kernel_) {
            const auto it = std::find(waiting.begin(), waiting.end(), &op);
            if (it == waiting.end()) {
                return;
            }
            if (!op.on_cancelled_while_queued()) {
                waiting.erase(it);
                op.complete();
                op.self_.reset();
            }
            return;
        }
        // Best effort: what the kernel already runs finishes; the op completes on its CQEs.
        const auto base = reinterpret_cast<std::uintptr_t>(&op);
        for (unsigned i = 0; i < op.stage_sqes_; ++i) {
            if (!op.is_cancellable(i) || sqes_in_kernel + 1 > cq_capacity) {
                continue;
            }
            io_uring_sqe* sqe = io_uring_get_sqe(&ring);
            if (sqe == nullptr) {
                submit();
                sqe = io_uring_get_sqe(&ring);
                if (sqe == nullptr) {
                    break;
                }
            }
            io_uring_prep_cancel64(sqe, base | i, 0);
            io_uring_sqe_set_data64(sqe, cancel_tag);
            ++sqes_in_kernel;
        }
        submit();
        arm();
    }

    // The backend is going away: cancel everything in the kernel and wait (blocking) until the
    // kernel has finished with every op's memory; then drop the ops (their coroutines with them).
    void shutdown()
    {
        is_shut_down = true;
        boost::system::error_code ignored;
        event_stream.cancel(ignored);
        std::vector<ring_op*> drained;  // ops whose stage ended while draining
        if (has_ring && sqes_in_kernel > 0) {
            if (io_uring_sqe* sqe = io_uring_get_sqe(&ring); sqe != nullptr) {
                io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
                io_uring_sqe_set_data64(sqe, cancel_tag);
                ++sqes_in_kernel;
            }
            submit();
            while (sqes_in_kernel > 0) {
                io_uring_cqe* cqe = nullptr;
                const int rc = io_uring_wait_cqe(&ring, &cqe);
                if (rc == -EINTR) {
                    continue;
                }
                if (rc < 0) {
                    break;  // cannot happen with a live ring; never spin
                }
                const auto user_data = cqe->user_data;
                const int res = cqe->res;
                io_uring_cqe_seen(&ring, cqe);
                reap(user_data, res, drained);
            }
        }
        std::vector<std::shared_ptr<ring_op>> dropped;
        for (ring_op* op : drained) {
            dropped.push_back(std::move(op->self_));
        }
        {
            std::lock_guard lock(incoming_mutex);
            for (auto& op : incoming) {
                dropped.push_back(std::move(op->self_));
            }
            incoming.clear();
        }
        for (ring_op* op : waiting) {
            dropped.push_back(std::move(op->self_));
        }
        waiting.clear();
        event_stream.close(ignored);
        if (has_ring) {
            io_uring_queue_exit(&ring);
            has_ring = false;
        }
        // The ops die with `dropped`, destroying their never-resumed coroutine frames.
    }
};

namespace {

// Starts `op` on the ring and suspends the caller until the op's last stage completes.
template <class Op>
auto async_start(std::shared_ptr<uring_backend::impl> state, std::shared_ptr<Op> op)
    -> task<typename Op::value_type>
{
    using value = typename Op::value_type;
    return asio::async_initiate<const asio::use_awaitable_t<>, void(value)>(
        [](auto handler, std::shared_ptr<uring_backend::impl> ring_state, std::shared_ptr<Op> started) {
            auto slot = asio::get_associated_cancellation_slot(handler);
            auto shared_handler = std::make_shared<decltype(handler)>(std::move(handler));
            // Runs on the strand: detach our cancellation handler, then hand the result to the
            // coroutine's own executor (post, never inline: the strand must not run user code).
            started->deliver_ = [shared_handler, slot](value result_value) mutable {
                if (slot.is_connected()) {
                    slot.clear();
                }
                asio::post(asio::append(std::move(*shared_handler), std::move(result_value)));
            };
            if (slot.is_connected()) {
                slot.assign([weak_state = std::weak_ptr<uring_backend::impl>(ring_state),
                             weak_op = std::weak_ptr<ring_op>(started)](asio::cancellation_type) {
                    if (auto live = weak_state.lock()) {
                        asio::post(live->strand, [live, weak_op] {
                            if (auto target = weak_op.lock()) {
                                live->cancel(*target);
                            }
                        });
                    }
                });
            }
            ring_state->start(std::move(started));
        },
        asio::use_awaitable, std::move(state), std::move(op));
}

}  // namespace

// ---- setup ----------------------------------------------------------------------------------------

result<std::unique_ptr<uring_backend>> uring_backend::create(asio::any_io_executor executor,
                                                             std::size_t max_in_flight,
                                                             int simulated_errno)
{
    if (simulated_errno != 0) {
        return fail(system_error(simulated_errno, "io_uring_queue_init (simulated for a test)", ""));
    }
    auto state = std::make_shared<impl>(executor);
    state->max_ops = std::clamp<std::size_t>(max_in_flight, 1, 1024);
    // SQ big enough for a full write chain per op in flight; the CQ (twice the SQ) bounds SQEs.
    unsigned entries = 64;
    while (entries < state->max_ops * 4 && entries < 4096) {
        entries *= 2;
    }
    if (int rc = io_uring_queue_init(entries, &state->ring, 0); rc < 0) {
        return fail(system_error(-rc, "io_uring_queue_init", ""));
    }
    state->has_ring = true;
    state->cq_capacity = state->ring.cq.ring_entries;

    io_uring_probe* probe = io_uring_get_probe_ring(&state->ring);
    if (probe == nullptr) {
        return fail(system_error(ENOSYS, "io_uring_get_probe", ""));
    }
    struct needed {
        int opcode;
        const char* name;
    };
    static constexpr std::array<needed, 12> opcodes{{
        {IORING_OP_OPENAT, "OPENAT"},       {IORING_OP_WRITEV, "WRITEV"},
        {IORING_OP_CLOSE, "CLOSE"},         {IORING_OP_FSYNC, "FSYNC"},
        {IORING_OP_READ, "READ"},           {IORING_OP_STATX, "STATX"},
        {IORING_OP_MKDIRAT, "MKDIRAT"},     {IORING_OP_LINKAT, "LINKAT"},
        {IORING_OP_RENAMEAT, "RENAMEAT"},   {IORING_OP_SYMLINKAT, "SYMLINKAT"},
        {IORING_OP_UNLINKAT, "UNLINKAT"},   {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
    }};
    for (const auto& op : opcodes) {
        if (io_uring_opcode_supported(probe, op.opcode) == 0) {
            io_uring_free_probe(probe);
            return fail(system_error(EOPNOTSUPP, std::string("io_uring probe: opcode IORING_OP_") +
                                                     op.name + " unsupported by this kernel",
                                     ""));
        }
    }
    io_uring_free_probe(probe);

    const auto slots = static_cast<unsigned>(state->max_ops);
    if (int rc = io_uring_register_files_sparse(&state->ring, slots); rc < 0) {
        return fail(system_error(-rc, "io_uring_register_files_sparse (needs Linux 5.19)", ""));
    }
    for (unsigned i = slots; i-- > 0;) {
        state->free_slots.push_back(i);
    }
    const int event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd < 0) {
        return fail(system_error(errno, "eventfd", ""));
    }
    boost::system::error_code ec;
    state->event_stream.assign(event_fd, ec);
    if (ec) {
        ::close(event_fd);
        return fail(system_error(ec.value(), "epoll registration of the io_uring eventfd", ""));
    }
    if (int rc = io_uring_register_eventfd(&state->ring, event_fd); rc < 0) {
        return fail(system_error(-rc, "io_uring_register_eventfd", ""));
    }
    return std::unique_ptr<uring_backend>(new uring_backend(std::move(state)));
}

uring_backend::uring_backend(std::shared_ptr<impl> state) : impl_(std::move(state)) {}

uring_backend::~uring_backend() { impl_->shutdown(); }

// ---- operations -----------------------------------------------------------------------------------

task<result<void>> uring_backend::async_create_directory(std::filesystem::path path, std::uint32_t mode)
{
    return async_start(impl_, std::make_shared<path_op>(path_kind::mkdir, path.native(),
                                                                    std::string(), mode));
}

task<result<void>> uring_backend::async_write_file(std::filesystem::path path,
                                                   std::vector<std::span<const std::byte>> buffers,
                                                   write_options options)
{
    return async_start(
        impl_, std::make_shared<write_op>(path.native(), std::move(buffers), options));
}

task<result<void>> uring_backend::async_hardlink(std::filesystem::path target, std::filesystem::path link)
{
    return async_start(
        impl_, std::make_shared<path_op>(path_kind::hardlink, target.native(), link.native(), 0));
}

task<result<void>> uring_backend::async_rename(std::filesystem::path from, std::filesystem::path to,
                                               rename_mode mode)
{
    const unsigned flags = mode == rename_mode::no_replace ? RENAME_NOREPLACE : 0;
    return async_start(
        impl_, std::make_shared<path_op>(path_kind::rename, from.native(), to.native(), flags));
}

task<result<void>> uring_backend::async_symlink(std::filesystem::path target, std::filesystem::path link)
{
    return async_start(
        impl_, std::make_shared<path_op>(path_kind::symlink, target.native(), link.native(), 0));
}

task<result<void>> uring_backend::async_unlink(std::filesystem::path path)
{
    return async_start(
        impl_, std::make_shared<path_op>(path_kind::unlink, path.native(), std::string(), 0));
}

task<result<void>> uring_backend::async_remove_directory(std::filesystem::path path)
{
    return async_start(
        impl_, std::make_shared<path_op>(path_kind::rmdir, path.native(), std::string(), 0));
}

task<result<file_stat>> uring_backend::async_stat(std::filesystem::path path, follow_symlinks follow)
{
    return async_start(impl_, std::make_shared<statx_op>(path.native(), follow));
}

task<result<std::string>> uring_backend::async_read_file(std::filesystem::path path,
                                                         std::uint64_t max_bytes)
{
    return async_start(impl_, std::make_shared<read_op>(path.native(), max_bytes));
}

}  // namespace pkg::io
