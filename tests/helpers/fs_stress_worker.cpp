// A process for the cross-process tests of io/src/fs (tests/io/test_fs_primitives.cpp,
// tests/io/test_file_lock.cpp). One mode per invocation; exit 0 means the mode's expectation
// held, other codes are listed per mode. Messages go to stderr (failures) and stdout (results).
//
//   publish-swap <root> <rounds> <workers>
//                                       waits for <root>/go, then per round i builds a staging tree
//                                       in <root>/tmp, waits until all <workers> reached round i
//                                       (so they publish at the same moment), publishes it as
//                                       <root>/archive/v<i>, checks it is complete and points
//                                       <root>/current at v<i-1> and then at v<i> (round 0: at the
//                                       seed's tree, then v0).
//   seed <root>                         publishes variant 1000000 as <root>/archive/v1000000 and
//                                       points <root>/current at it (before readers start).
//   read <root>                         waits for <root>/go, then until <root>/stop exists resolves
//                                       <root>/current and checks the tree is complete.
//   lock-hold <lock> <kind> <ready> <release> [description]
//                                       takes the lock, creates <ready>, holds until <release>.
//   lock-try <lock> <kind>              exit 0 acquired, 3 contended.
//   lock-wait <lock> <kind> <timeout_ms> <ready>
//                                       try_lock (must be contended, else exit 6), creates <ready>,
//                                       then lock_for: exit 0 acquired, 4 timed out.
//   atomic-write-efbig <target> <bytes> RLIMIT_FSIZE of 4 KiB, then atomic_write_file of <bytes>;
//                                       exit 0 when it failed with EFBIG.
//   remove-tree <path> <go>             waits for <go>, then remove_tree(<path>).
// Exit 1: an operation failed or a check found a broken invariant; 2: usage.

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fs/atomic_file.hpp"
#include "fs/file_lock.hpp"
#include "fs/publish.hpp"
#include "fs/remove_tree.hpp"
#include "fs/symlink_swap.hpp"

namespace stdfs = std::filesystem;

namespace {

// The tree every round publishes: a few files, one in a subdirectory, contents per variant.
const std::vector<std::string> tree_files = {"a.txt", "b.txt", "sub/c.txt", "sub/d.txt"};

std::string file_content(long variant, std::size_t file_index)
{
    std::string line = "variant " + std::to_string(variant) + " file " +
                       std::to_string(file_index) + "\n";
    std::string out;
    for (std::size_t i = 0; i <= file_index * 4; ++i) {
        out += line;
    }
    return out;
}

// "v<variant>", the archive name of a variant. Built by appending: GCC 12 at -O3 warns falsely
// (-Wrestrict, GCC PR105329) about `"literal" + std::string`.
std::string variant_name(long variant)
{
    std::string name = "v";
    name += std::to_string(variant);
    return name;
}

bool path_exists(const stdfs::path& p)
{
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
}

void wait_for(const stdfs::path& p)
{
    // Bounded so that a broken test cannot leave this process running for ever.
    for (int i = 0; i < 60000 && !path_exists(p); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

bool touch(const stdfs::path& p, const std::string& text)
{
    std::ofstream out(p);
    out << text;
    return static_cast<bool>(out);
}

std::optional<std::string> read_all(const stdfs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Checks that `dir` is the complete tree of `variant`; returns the problem or "".
std::string check_tree(const stdfs::path& dir, long variant)
{
    for (std::size_t k = 0; k < tree_files.size(); ++k) {
        auto got = read_all(dir / tree_files[k]);
        if (!got) {
            return "missing " + (dir / tree_files[k]).string();
        }
        if (*got != file_content(variant, k)) {
            return "wrong content in " + (dir / tree_files[k]).string() + " (" +
                   std::to_string(got->size()) + " bytes)";
        }
    }
    std::size_t entries = 0;
    std::error_code ec;
    for (auto it = stdfs::directory_iterator(dir, ec); !ec && it != stdfs::directory_iterator();
         it.increment(ec)) {
        ++entries;
    }
    if (ec || entries != 3) {
        return "unexpected listing of " + dir.string() + " (" + std::to_string(entries) +
               " entries, " + ec.message() + ")";
    }
    return {};
}

bool write_plain(const stdfs::path& p, const std::string& text)
{
    std::ofstream out(p, std::ios::binary);
    out << text;
    out.close();
    return static_cast<bool>(out);
}

// Builds the tree of `variant` in a fresh staging dir under <root>/tmp.
pkg::result<void> build_staging(const stdfs::path& root, long variant,
                                                       const std::string& staging_name)
{
    const stdfs::path staging = root / "tmp" / staging_name;
    std::error_code ec;
    stdfs::create_directories(staging / "sub", ec);
    if (ec) {
        return pkg::fail(ec, "mkdir failed: " + ec.message(), (staging / "sub").string());
    }
    for (std::size_t k = 0; k < tree_files.size(); ++k) {
        if (!write_plain(staging / tree_files[k], file_content(variant, k))) {
            return pkg::fail(std::make_error_code(std::errc::io_error), "write failed",
                             (staging / tree_files[k]).string());
        }
    }
    return {};
}

pkg::result<pkg::io::publish_result> publish_variant(const stdfs::path& root, long variant,
                                                     const std::string& staging_name)
{
    return pkg::io::publish_directory(root / "tmp" / staging_name,
                                      root / "archive" / variant_name(variant));
}

// A barrier between processes: every worker leaves a file in <root>/barrier/<round>/ and waits
// until all have, so the publishes of one round really race instead of one worker running ahead.
bool arrive_and_wait(const stdfs::path& root, long round, long workers)
{
    const stdfs::path dir = root / "barrier" / std::to_string(round);
    std::error_code ec;
    stdfs::create_directories(dir, ec);
    if (ec || !touch(dir / std::to_string(::getpid()), "")) {
        std::cerr << "barrier: cannot arrive in " << dir << "\n";
        return false;
    }
    for (int polls = 0; polls < 600000; ++polls) {
        long arrived = 0;
        for (auto it = stdfs::directory_iterator(dir, ec); !ec && it != stdfs::directory_iterator();
             it.increment(ec)) {
            ++arrived;
        }
        if (arrived >= workers) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    std::cerr << "barrier: the other workers never reached round " << round << "\n";
    return false;
}

int publish_swap(const stdfs::path& root, long rounds, long workers)
{
    wait_for(root / "go");
    long published = 0;
    long by_other = 0;
    long swaps = 0;
    for (long round = 0; round < rounds; ++round) {
        const std::string staging_name =
            std::to_string(::getpid()) + "." + std::to_string(round);
        const stdfs::path staging = root / "tmp" / staging_name;
        const stdfs::path name = variant_name(round);
        if (auto built = build_staging(root, round, staging_name); !built) {
            std::cerr << "staging: " << built.error().to_string() << "\n";
            return 1;
        }
        if (!arrive_and_wait(root, round, workers)) {
            return 1;
        }
        auto done = publish_variant(root, round, staging_name);
        if (!done) {
            std::cerr << "publish: " << done.error().to_string() << "\n";
            return 1;
        }
        (done->is_published_by_other ? by_other : published) += 1;
        if (path_exists(staging)) {
            std::cerr << "staging tree left behind: " << staging << "\n";
            return 1;
        }
        if (auto problem = check_tree(root / "archive" / name, round); !problem.empty()) {
            std::cerr << "after publish: " << problem << "\n";
            return 1;
        }
        // Two swaps per round (back to the previous round's tree, then to this one) so the pointer
        // flips often while the publishes stay few: readers must see either tree complete.
        const stdfs::path previous = variant_name(round == 0 ? 1000000 : round - 1);
        for (const stdfs::path& leaf : {previous, name}) {
            auto swapped = pkg::io::replace_symlink(root / "current", stdfs::path("archive") / leaf);
            if (!swapped) {
                std::cerr << "swap: " << swapped.error().to_string() << "\n";
                return 1;
            }
            ++swaps;
        }
    }
    std::cout << "published=" << published << " by_other=" << by_other << " swaps=" << swaps << "\n";
    return 0;
}

int seed(const stdfs::path& root)
{
    constexpr long variant = 1000000;
    auto built = build_staging(root, variant, "seed");
    auto done = built ? publish_variant(root, variant, "seed")
                      : pkg::result<pkg::io::publish_result>(pkg::fail(built.error()));
    if (!done) {
        std::cerr << "seed publish: " << done.error().to_string() << "\n";
        return 1;
    }
    auto swapped = pkg::io::replace_symlink(root / "current", stdfs::path("archive") / variant_name(variant));
    if (!swapped) {
        std::cerr << "seed swap: " << swapped.error().to_string() << "\n";
        return 1;
    }
    return 0;
}

int read_loop(const stdfs::path& root)
{
    wait_for(root / "go");
    long reads = 0;
    while (!path_exists(root / "stop")) {
        auto target = pkg::io::resolve_pointer(root / "current");
        if (!target) {
            std::cerr << "resolve: " << target.error().to_string() << "\n";
            return 1;
        }
        if (!*target) {
            std::cerr << "pointer " << root / "current" << " missing or dangling\n";
            return 1;
        }
        const std::string leaf = (*target)->filename().string();
        if (leaf.size() < 2 || leaf[0] != 'v') {
            std::cerr << "pointer to unexpected target " << **target << "\n";
            return 1;
        }
        const long variant = std::strtol(leaf.c_str() + 1, nullptr, 10);
        if (auto problem = check_tree(**target, variant); !problem.empty()) {
            std::cerr << "reader saw an incomplete tree: " << problem << "\n";
            return 1;
        }
        ++reads;
    }
    std::cout << "reads=" << reads << "\n";
    return 0;
}

std::optional<pkg::io::lock_kind> parse_kind(const std::string& text)
{
    if (text == "shared") {
        return pkg::io::lock_kind::shared;
    }
    if (text == "exclusive") {
        return pkg::io::lock_kind::exclusive;
    }
    return std::nullopt;
}

int lock_hold(const stdfs::path& lock, pkg::io::lock_kind kind, const stdfs::path& ready,
              const stdfs::path& release, const std::string& description)
{
    auto held = pkg::io::file_lock::lock_for(lock, kind, std::chrono::seconds(30), description);
    if (!held) {
        std::cerr << "lock: " << held.error().to_string() << "\n";
        return 1;
    }
    if (!touch(ready, std::to_string(::getpid()))) {
        std::cerr << "cannot create " << ready << "\n";
        return 1;
    }
    wait_for(release);
    if (!path_exists(release)) {
        std::cerr << "never told to release " << lock << "\n";
        return 5;
    }
    if (auto released = held->release(); !released) {
        std::cerr << "release: " << released.error().to_string() << "\n";
        return 1;
    }
    std::cout << "released\n";
    return 0;
}

int lock_try(const stdfs::path& lock, pkg::io::lock_kind kind)
{
    auto got = pkg::io::file_lock::try_lock(lock, kind);
    if (!got) {
        std::cerr << "try_lock: " << got.error().to_string() << "\n";
        return 1;
    }
    std::cout << (*got ? "acquired" : "contended") << "\n";
    return *got ? 0 : 3;
}

int lock_wait(const stdfs::path& lock, pkg::io::lock_kind kind, long timeout_ms,
              const stdfs::path& ready)
{
    auto first = pkg::io::file_lock::try_lock(lock, kind);
    if (!first) {
        std::cerr << "try_lock: " << first.error().to_string() << "\n";
        return 1;
    }
    if (*first) {
        std::cout << "try: acquired\n";
        return 6;
    }
    std::cout << "try: contended\n" << std::flush;
    if (!touch(ready, std::to_string(::getpid()))) {
        std::cerr << "cannot create " << ready << "\n";
        return 1;
    }
    auto got = pkg::io::file_lock::lock_for(
        lock, kind, std::chrono::milliseconds(timeout_ms), "waiter",
        [](const std::optional<pkg::io::lock_owner>& owner) {
            std::cout << "waiting for "
                      << (owner ? "pid " + std::to_string(owner->pid) + " (" + owner->description + ")"
                                : std::string("unknown holder"))
                      << "\n"
                      << std::flush;
        });
    if (!got) {
        std::cout << got.error().to_string() << "\n";
        return got.error().code == std::errc::timed_out ? 4 : 1;
    }
    std::cout << "acquired\n";
    return 0;
}

int atomic_write_efbig(const stdfs::path& target, long bytes)
{
    // Writes past RLIMIT_FSIZE raise SIGXFSZ; ignored, write() fails with EFBIG instead.
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{4096, 4096};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) {
        std::cerr << "setrlimit failed\n";
        return 1;
    }
    auto written = pkg::io::atomic_write_file(target, std::string(static_cast<std::size_t>(bytes), 'x'));
    if (written) {
        std::cerr << "atomic_write_file succeeded past RLIMIT_FSIZE\n";
        return 1;
    }
    std::cout << written.error().to_string() << "\n";
    return written.error().code == std::errc::file_too_large ? 0 : 1;
}

int remove_tree_mode(const stdfs::path& path, const stdfs::path& go)
{
    wait_for(go);
    auto removed = pkg::io::remove_tree(path);
    if (!removed) {
        std::cerr << "remove_tree: " << removed.error().to_string() << "\n";
        return 1;
    }
    return 0;
}

int usage()
{
    std::cerr << "usage: fs_stress_worker <mode> <args...> (see the comment at the top of the source)\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        return usage();
    }
    const std::string& mode = args[0];
    if (mode == "publish-swap" && args.size() == 4) {
        return publish_swap(args[1], std::strtol(args[2].c_str(), nullptr, 10),
                            std::strtol(args[3].c_str(), nullptr, 10));
    }
    if (mode == "seed" && args.size() == 2) {
        return seed(args[1]);
    }
    if (mode == "read" && args.size() == 2) {
        return read_loop(args[1]);
    }
    if (mode == "lock-hold" && (args.size() == 5 || args.size() == 6)) {
        auto kind = parse_kind(args[2]);
        return kind ? lock_hold(args[1], *kind, args[3], args[4], args.size() == 6 ? args[5] : "")
                    : usage();
    }
    if (mode == "lock-try" && args.size() == 3) {
        auto kind = parse_kind(args[2]);
        return kind ? lock_try(args[1], *kind) : usage();
    }
    if (mode == "lock-wait" && args.size() == 5) {
        auto kind = parse_kind(args[2]);
        return kind ? lock_wait(args[1], *kind, std::strtol(args[3].c_str(), nullptr, 10), args[4])
                    : usage();
    }
    if (mode == "atomic-write-efbig" && args.size() == 3) {
        return atomic_write_efbig(args[1], std::strtol(args[2].c_str(), nullptr, 10));
    }
    if (mode == "remove-tree" && args.size() == 3) {
        return remove_tree_mode(args[1], args[2]);
    }
    return usage();
}
