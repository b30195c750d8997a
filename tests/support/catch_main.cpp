// Catch2's main, alone in its own file: it takes ~25 s to compile and never changes.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
