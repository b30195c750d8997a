#pragma once
/// \file
/// What the command shows on stderr while an operation runs: a status line redrawn in place on a
/// terminal, plain lines otherwise, nothing with -q.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include <pkg/engine/install.hpp>

#include "options.hpp"

namespace pkg::cli {

/// How progress is shown.
enum class progress_style {
    none,   ///< -q: nothing
    lines,  ///< stderr is not a terminal: one plain line per download, install, removal
    bar,    ///< stderr is a terminal: one status line, redrawn at most 10 times a second
};

/// `none` with -q; `bar` when stderr is a terminal and TERM is not "dumb"; `lines` otherwise.
/// Reads the environment and isatty(2).
[[nodiscard]] progress_style choose_progress_style(const output_flags& output);

/// Renders an operation's progress events on stderr.
///
/// Events arrive on the operation's thread (`on_event`); the status line is drawn from the
/// waiting main thread (`tick`), so a slow terminal never slows the operation, and redraws are
/// throttled to one per 100 ms. Every member is thread-safe (one mutex).
class progress_display {
public:
    /// `is_verbose` adds lines for phase changes, cached packages and downloads starting.
    progress_display(progress_style style, bool is_verbose);
    /// Clears the status line.
    ~progress_display();
    progress_display(const progress_display&) = delete;
    progress_display& operator=(const progress_display&) = delete;

    /// Records one event; in `lines` style prints its line (if it has one) at once.
    void on_event(const pkg::progress_event& event);

    /// Redraws the status line if something changed and 100 ms passed since the last draw.
    void tick();

    /// Prints `text` as a line of its own above the status line (any style but `none`).
    void note(std::string_view text);

    /// Removes the status line for good (before the summary is printed).
    void clear();

private:
    void print_above(std::string_view text);  // with mutex_ held
    void draw();                              // with mutex_ held
    void erase();                             // with mutex_ held

    std::mutex mutex_;
    progress_style style_;
    bool is_verbose_;
    pkg::progress_event last_;
    bool has_event_ = false;
    bool is_dirty_ = false;
    bool is_drawn_ = false;
    bool is_cleared_ = false;
    std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace pkg::cli
