#pragma once
// Scratch directories and whole-file reads and writes, shared by the tests that touch the
// filesystem. Every function here reports failure through Catch2 (REQUIRE), so it may only be
// called from inside a running test case.

#include <filesystem>
#include <string>
#include <string_view>

namespace pkg::test {

/// A fresh directory for one test, removed with everything in it on destruction.
///
/// The path is `<base>/<area>-scratch/<tag>-<pid>-<counter>-<random>`: `area` groups one test
/// file's directories, `tag` names the test, and the rest keeps names fresh across tests,
/// processes and runs (the ext4 here is mounted with discard: new names, small trees). The
/// destructor first gives the owner rwx back on every directory (tests leave read-only trees,
/// e.g. published archives), then removes the tree and, if it is empty by then, the shared
/// `<area>-scratch` parent. Removal errors are ignored: a destructor must not throw.
/// Not thread-safe per object; distinct objects may be made from any thread.
struct scratch_dir {
    /// Creates the directory (REQUIREs success).
    scratch_dir(std::string_view area, std::string_view tag,
                const std::filesystem::path& base = PKG_TEST_BINARY_DIR);
    ~scratch_dir();
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

    std::filesystem::path path; ///< the directory itself, absolute when `base` is
};

/// A fresh, empty directory `<PKG_TEST_BINARY_DIR>/<parent>/<name>-<pid>-<counter>`. Unlike
/// scratch_dir it is left in place after the test (whatever an earlier run left under the same
/// name is removed first). Throws std::filesystem::filesystem_error if it cannot be made.
/// Thread-safe.
std::filesystem::path fresh_dir(std::string_view parent, std::string_view name);

/// The whole content of file `p`, byte for byte. REQUIREs that it can be opened.
std::string read_text(const std::filesystem::path& p);

/// Creates or truncates file `p` with exactly `text`. REQUIREs that every byte was written.
void write_text(const std::filesystem::path& p, const std::string& text);

/// True if anything (a dangling symlink included) exists at `p`; symlinks are not followed.
bool path_exists(const std::filesystem::path& p);

/// Waits until something exists at `p` (a helper process's "ready" file) and says whether it
/// did. The bound (about 30 s) only keeps a broken helper from hanging the run; nothing about
/// timing may be asserted on it.
bool wait_for_file(const std::filesystem::path& p);

} // namespace pkg::test
