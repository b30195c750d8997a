// A stand-in interpreter executable for the interpreter cache tests (tests/engine/
// test_interpreter.cpp): a small native (ELF) program whose copies the tests own, so they can
// move its mtime or replace it. It runs the real interpreter named in the file
// `<its own path>.target` (one line) with the same arguments; argv[0] becomes that path, so
// the interpreter finds its own installation.
// Exit codes: 125 when the target file is missing or empty, 126 when exec fails.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    std::vector<char> self(4096);
    const ssize_t n = ::readlink("/proc/self/exe", self.data(), self.size() - 1);
    if (n <= 0) {
        std::perror("readlink /proc/self/exe");
        return 125;
    }
    std::string target;
    std::ifstream(std::string(self.data(), static_cast<std::size_t>(n)) + ".target") >> target;
    if (target.empty()) {
        std::fprintf(stderr, "python_trampoline: no .target file beside the executable\n");
        return 125;
    }
    std::vector<char*> args(argv, argv + argc);
    args.push_back(nullptr);
    args[0] = target.data();
    ::execv(target.c_str(), args.data());
    std::perror("execv");
    return 126;
}
