#include "progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/core.h>

#include <pkg/engine/cache.hpp>

namespace pkg::cli {
namespace {

constexpr auto redraw_interval = std::chrono::milliseconds(100);
constexpr std::string_view erase_line = "\r\x1b[2K";

std::size_t terminal_width()
{
    winsize size{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
        return size.ws_col;
    }
    return 80;
}

// "Planning", "Fetching", …: the phase as the start of a sentence.
std::string capitalized(pkg::phase p)
{
    std::string name = pkg::to_string(p);
    if (!name.empty()) {
        name[0] = static_cast<char>(name[0] - 'a' + 'A');
    }
    return name;
}

// The line an event prints in `lines` style, or "" when it prints none.
std::string line_for(const pkg::progress_event& e, const pkg::progress_event* previous,
                     bool is_verbose)
{
    if (e.action == "downloaded") {
        return "Downloaded " + e.package;
    }
    if (e.action == "installed") {
        return "Installed " + e.package;
    }
    if (e.action == "removed") {
        return "Removed " + e.package;
    }
    if (e.action == "waiting") {
        // Said even without -v: otherwise a blocked command looks hung.
        return "Waiting for another pkg process to release the environment lock "
               "(PKG_LOCK_TIMEOUT seconds, default 300)...";
    }
    if (!is_verbose) {
        return {};
    }
    if (e.action == "cached") {
        return "Using " + e.package + " from the cache";
    }
    if (e.action == "downloading") {
        return "Downloading " + e.package;
    }
    if (e.action == "local") {
        return "Unpacked " + e.package + " from a local file";
    }
    if (e.action.empty() && e.package.empty() && e.phase != pkg::phase::done &&
        (previous == nullptr || previous->phase != e.phase)) {
        return capitalized(e.phase) + "...";
    }
    return {};
}

// "[=========>          ]" for `done` of `total`.
std::string bar(std::uint64_t done, std::uint64_t total, std::size_t width)
{
    std::string out(width, ' ');
    if (total > 0) {
        const auto filled = static_cast<std::size_t>(
            static_cast<double>(std::min(done, total)) / static_cast<double>(total) *
            static_cast<double>(width));
        for (std::size_t i = 0; i < filled; ++i) {
            out[i] = '=';
        }
        if (filled < width) {
            out[filled] = '>';
        }
    }
    return "[" + out + "]";
}

std::string status_line(const pkg::progress_event& e)
{
    std::string line = fmt::format("{:<11}", pkg::to_string(e.phase));
    if (e.packages_total > 0) {
        const bool by_bytes = e.phase == pkg::phase::fetching && e.bytes_total > 0;
        line += bar(by_bytes ? e.bytes_done : e.packages_done,
                    by_bytes ? e.bytes_total : e.packages_total, 24);
        line += fmt::format(" {}/{} packages", e.packages_done, e.packages_total);
    } else {
        line += "...";
    }
    if (e.bytes_total > 0) {
        line += fmt::format("  {}/{}", pkg::format_bytes(e.bytes_done),
                            pkg::format_bytes(e.bytes_total));
    } else if (e.bytes_done > 0) {
        line += "  " + pkg::format_bytes(e.bytes_done);
    }
    if (!e.package.empty()) {
        line += "  " + e.package;
    }
    return line;
}

void write_stderr(std::string_view text)
{
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
}

}  // namespace

progress_style choose_progress_style(const output_flags& output)
{
    if (output.is_quiet) {
        return progress_style::none;
    }
    const char* term = std::getenv("TERM");
    if (::isatty(STDERR_FILENO) == 1 && (term == nullptr || std::strcmp(term, "dumb") != 0)) {
        return progress_style::bar;
    }
    return progress_style::lines;
}

progress_display::progress_display(progress_style style, bool is_verbose)
    : style_(style), is_verbose_(is_verbose)
{
}

progress_display::~progress_display() { clear(); }

void progress_display::on_event(const pkg::progress_event& event)
{
    const std::lock_guard lock(mutex_);
    if (style_ == progress_style::none || is_cleared_) {
        return;
    }
    const std::string line = line_for(event, has_event_ ? &last_ : nullptr, is_verbose_);
    // In bar style only -v keeps a log above the bar; without it the bar says it all (but a
    // wait for the lock is always said).
    if (!line.empty() &&
        (style_ == progress_style::lines || is_verbose_ || event.action == "waiting")) {
        print_above(line);
    }
    last_ = event;
    has_event_ = true;
    is_dirty_ = true;
}

void progress_display::tick()
{
    const std::lock_guard lock(mutex_);
    if (style_ != progress_style::bar || !is_dirty_ || is_cleared_) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (is_drawn_ && now - last_draw_ < redraw_interval) {
        return;
    }
    draw();
    last_draw_ = now;
}

void progress_display::note(std::string_view text)
{
    const std::lock_guard lock(mutex_);
    if (style_ != progress_style::none) {
        print_above(text);
    }
}

void progress_display::clear()
{
    const std::lock_guard lock(mutex_);
    erase();
    is_cleared_ = true;
}

void progress_display::print_above(std::string_view text)
{
    const bool was_drawn = is_drawn_;
    erase();
    write_stderr(std::string(text) + "\n");
    if (was_drawn && !is_cleared_) {
        draw();
    }
}

void progress_display::draw()
{
    if (!has_event_) {
        return;
    }
    std::string line = status_line(last_);
    // Never wrap: a wrapped line could not be erased with one carriage return.
    const std::size_t width = terminal_width();
    if (line.size() >= width) {
        line.resize(width - 1);
    }
    write_stderr(std::string(erase_line) + line);
    is_drawn_ = true;
    is_dirty_ = false;
}

void progress_display::erase()
{
    if (is_drawn_) {
        write_stderr(erase_line);
        is_drawn_ = false;
    }
}

}  // namespace pkg::cli
