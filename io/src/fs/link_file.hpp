#pragma once
/// \file
/// Linking one file of a cache tree into an environment: hardlink, reflink or copy, with the
/// fallback chains installers need when the cache and the environment are on different
/// filesystems (reflink → hardlink → copy; hardlink → copy).
///
/// `link_prober` remembers per (source device, destination device) which mode works, so a tree of
/// thousands of files pays for a failing mode once, and reports the first fallback so the caller
/// can warn once ("cache and venv on different filesystems; copying").

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include <pkg/io/error.hpp>

namespace pkg::io {

/// How a file reaches the destination.
enum class link_mode {
    hardlink,  ///< `linkat`: shares the inode (edits in the env edit the cache).
    reflink,   ///< `ioctl(FICLONE)`: copy-on-write clone (btrfs, XFS, bcachefs).
    copy,      ///< `copy_file_range` loop, falling back to read/write: independent bytes.
};

/// Lower-case name of a mode ("hardlink", "reflink", "copy") for messages and options.
[[nodiscard]] const char* to_string(link_mode mode) noexcept;

/// What linking one file did.
struct link_result {
    /// The mode that produced the destination file.
    link_mode used = link_mode::copy;
    /// True when `used` differs from the requested mode.
    bool is_fallback = false;
    /// True only on the call that first discovered the fallback for its device pair (through a
    /// `link_prober`), so the caller warns once. Always equal to `is_fallback` for `link_file`.
    bool is_first_fallback = false;
    /// Why a mode failed during this call (the first failure, with errno and paths, for the
    /// warning text); empty code when this call tried no failing mode (no fallback, or a
    /// `link_prober` went straight to the mode it had recorded).
    error fallback_reason;
};

/// Creates `destination` (which must not exist) as a link, clone or copy of the regular file
/// `source`, trying `mode` first and falling back where the filesystem cannot:
/// hardlink → copy on EXDEV, EPERM, EMLINK, ENOTSUP/EOPNOTSUPP;
/// reflink → hardlink → copy on EOPNOTSUPP, EINVAL, EXDEV, ENOTTY (and the hardlink causes).
/// Reflinks and copies get the source's permission bits exactly (not filtered by the umask);
/// hardlinks share them. A failed clone or copy removes its partial destination.
/// Errors: `pkg::system_error` naming the source or destination and the operation (ENOENT:
/// source missing; EEXIST: destination exists, left untouched; ELOOP: source is a symlink, for
/// reflink and copy).
/// Thread-safety: safe to call concurrently for different destinations.
[[nodiscard]] result<link_result> link_file(const std::filesystem::path& source,
                                            const std::filesystem::path& destination,
                                            link_mode mode);

/// Remembers per (source device, destination device) pair which mode works. The first file
/// linked for a pair probes: it tries the requested mode and falls back as `link_file` does; the
/// mode that worked is recorded and used directly for later files of that pair.
/// Failures that concern a single file (EMLINK: that inode has too many links) fall back for
/// that file only and do not change the pair's mode.
/// Thread-safety: every member function is safe to call concurrently (a mutex guards the table;
/// syscalls run outside it). Two threads probing the same new pair may both probe; exactly one
/// of them reports `is_first_fallback`.
class link_prober {
public:
    /// A prober that tries `requested` first for every new device pair.
    explicit link_prober(link_mode requested) noexcept : requested_(requested) {}

    link_prober(const link_prober&) = delete;
    link_prober& operator=(const link_prober&) = delete;

    /// Links `source` to `destination` using the mode recorded for (`source_device`,
    /// `destination_device`), probing if the pair is new. Callers linking a whole tree stat the
    /// two roots once and pass their `st_dev`.
    /// Errors: as `link_file`.
    [[nodiscard]] result<link_result> link(const std::filesystem::path& source,
                                           const std::filesystem::path& destination,
                                           ::dev_t source_device, ::dev_t destination_device);

    /// Same, taking the devices from `stat` of `source` and of `destination`'s parent directory.
    /// Errors: as `link_file`, plus stat errors naming the path.
    [[nodiscard]] result<link_result> link(const std::filesystem::path& source,
                                           const std::filesystem::path& destination);

    /// The mode every new pair tries first.
    [[nodiscard]] link_mode requested() const noexcept { return requested_; }

    /// The mode recorded for a device pair, or nullopt before its first link.
    [[nodiscard]] std::optional<link_mode> effective(::dev_t source_device,
                                                     ::dev_t destination_device) const;

private:
    link_mode requested_;
    mutable std::mutex mutex_;
    std::map<std::pair<::dev_t, ::dev_t>, link_mode> modes_;
};

}  // namespace pkg::io
