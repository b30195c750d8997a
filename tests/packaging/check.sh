#!/usr/bin/env bash
# tests/packaging/check.sh BUILD_DIR
#
# Checks pkg as an installed package, the way an embedder meets it. BUILD_DIR is a configured
# (normally already built) build tree, static or -DBUILD_SHARED_LIBS=ON. In a temporary directory:
#   1. builds the installed targets, runs `cmake --install BUILD_DIR --prefix <tmp>/installed-here`
#      and moves that to <tmp>/prefix (everything below uses the moved prefix: relocatable);
#   2. checks the installed layout: command, libraries, CMake package, pkg-config file, exactly the
#      public headers (nothing from io/src or engine/src), and no source- or build-tree path in
#      any installed CMake or pkg-config file;
#   3. runs the installed `pkg --version` with nothing but the prefix (shared: through its RPATH);
#   4. greps the installed headers for private dependencies (check_public_headers.sh) and
#      compiles each alone against the prefix;
#   5. checks which versions find_package(pkg X) accepts (0.1 yes; 0.0, 0.2, 1.0 no);
#   6. builds tests/consumer with -DCMAKE_PREFIX_PATH=<prefix> in its own build dir, fails if any
#      compile or link line points into pkg's source or build tree, and runs it with
#      $PKG_CONSUMER_PYTHON (default /usr/bin/python3) in a fresh directory (it installs Debian's
#      pip/setuptools/wheel wheels from /usr/share/python-wheels into venvs there: no server);
#   7. builds and runs the same program with `pkg-config` instead of CMake.
# Exits non-zero naming the failed check. PKG_KEEP_TMP=1 keeps the temporary directory.
set -euo pipefail
if [ $# -ne 1 ] || [ ! -f "$1/CMakeCache.txt" ]; then
  echo "usage: $0 BUILD_DIR   (a configured pkg build tree)" >&2; exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "$1" && pwd)
python=${PKG_CONSUMER_PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pkg-packaging.XXXXXX")
if [ "${PKG_KEEP_TMP:-0}" = 1 ]; then
  echo "packaging: keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi
case "$tmp/" in
  "$root"/*) echo "packaging: TMPDIR must be outside the source tree ($tmp)" >&2; exit 2 ;;
esac
prefix=$tmp/prefix

step() { echo "packaging: $*"; }
fail() { echo "packaging: FAILED: $*" >&2; exit 1; }
cache_value() {  # cache_value NAME: the value of a CMakeCache.txt entry, empty if unset
  sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -1
}

source_dir=$(cache_value CMAKE_HOME_DIRECTORY)
[ "$(realpath "$source_dir")" = "$(realpath "$root")" ] ||
  fail "$build was configured from $source_dir, not from this tree ($root)"
shared=$(cache_value BUILD_SHARED_LIBS)
case "${shared^^}" in ON|1|TRUE|YES|Y) kind=shared ;; *) kind=static ;; esac
libdir=$(cache_value CMAKE_INSTALL_LIBDIR); libdir=${libdir:-lib}
cxx=$(cache_value CMAKE_CXX_COMPILER); cxx=${cxx:-c++}
generator=$(cache_value CMAKE_GENERATOR)
# Libraries built with sanitizers need the consumer to link the same runtimes.
sanitize=$(cache_value PKG_SANITIZE)
san_flags=(); [ -z "$sanitize" ] || san_flags=("-fsanitize=$sanitize")
version=$(cache_value CMAKE_PROJECT_VERSION)
[ -n "$version" ] || fail "no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt"
step "$kind libraries${sanitize:+ (sanitize=$sanitize)}, version $version, build tree $build"

# ---- 1. install -------------------------------------------------------------------------------
targets=(pkg_io pkg_engine)
[ "$(cache_value PKG_BUILD_CLI)" = OFF ] || targets+=(pkg)
cmake --build "$build" --target "${targets[@]}" >"$tmp/build.log" 2>&1 ||
  { tail -40 "$tmp/build.log"; fail "building ${targets[*]}"; }
# Installed to one directory and used from another: the package must be relocatable (RUNPATH
# relative to $ORIGIN, pkg-config paths relative to the .pc file, CMake's _IMPORT_PREFIX).
cmake --install "$build" --prefix "$tmp/installed-here" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "cmake --install $build --prefix $tmp/installed-here"; }
mv "$tmp/installed-here" "$prefix"

# ---- 2. layout --------------------------------------------------------------------------------
expected=(bin/pkg "$libdir/cmake/pkg/pkgConfig.cmake" "$libdir/cmake/pkg/pkgConfigVersion.cmake"
          "$libdir/cmake/pkg/pkgTargets.cmake" "$libdir/pkgconfig/pkg-engine.pc")
if [ $kind = static ]; then
  expected+=("$libdir/libpkg-engine.a" "$libdir/libpkg-io.a")
else
  expected+=("$libdir/libpkg-engine.so" "$libdir/libpkg-io.so")
fi
[ "$(cache_value PKG_BUILD_CLI)" = OFF ] && expected=("${expected[@]:1}")
for file in "${expected[@]}"; do
  [ -e "$prefix/$file" ] || fail "not installed: $file (installed: $(cd "$prefix" && find . -type f | sort | tr '\n' ' '))"
done
if [ $kind = static ] && compgen -G "$prefix/$libdir/libpkg-*.so*" >/dev/null; then
  fail "a static build installed shared libraries: $(ls "$prefix/$libdir"/libpkg-*.so*)"
fi
if [ $kind = shared ] && compgen -G "$prefix/$libdir/libpkg-*.a" >/dev/null; then
  fail "a shared build installed static archives: $(ls "$prefix/$libdir"/libpkg-*.a)"
fi

public_headers=$( (cd "$root/io/include" && find . -type f -name '*.hpp'; \
                   cd "$root/engine/include" && find . -type f -name '*.hpp') | sort)
installed_headers=$(cd "$prefix/include" && find . -type f | sort)
if [ "$public_headers" != "$installed_headers" ]; then
  diff <(echo "$public_headers") <(echo "$installed_headers") >&2 || true
  fail "installed headers (right) differ from io/include + engine/include (left)"
fi
step "installed $(echo "$installed_headers" | wc -l) public headers, libraries, CMake package, pkg-config file"

# No path of the source or build tree may end up in what consumers read (e.g. a private include
# directory leaking into the exported INTERFACE_INCLUDE_DIRECTORIES).
leaks=$(grep -rnF -e "$root" -e "$build" "$prefix/$libdir/cmake" "$prefix/$libdir/pkgconfig" || true)
[ -z "$leaks" ] || fail "source/build tree paths in the installed package:"$'\n'"$leaks"
grep -q 'INTERFACE_INCLUDE_DIRECTORIES "${_IMPORT_PREFIX}/include"' "$prefix/$libdir/cmake/pkg/pkgTargets.cmake" ||
  fail "pkgTargets.cmake: exported include directories are not exactly <prefix>/include"

# ---- 3. the installed command -------------------------------------------------------------------
if [ "$(cache_value PKG_BUILD_CLI)" != OFF ]; then
  out=$(env -u LD_LIBRARY_PATH "$prefix/bin/pkg" --version 2>&1) || fail "installed pkg --version: $out"
  [ "$out" = "pkg $version" ] || fail "installed pkg --version printed '$out', expected 'pkg $version'"
  if [ $kind = shared ]; then
    runpath=$(readelf -d "$prefix/bin/pkg" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
    case "$runpath" in
      '$ORIGIN/'*) ;;
      *) fail "installed bin/pkg: RUNPATH '$runpath' is not relative to \$ORIGIN" ;;
    esac
    resolved=$(env -u LD_LIBRARY_PATH ldd "$prefix/bin/pkg")
    for lib in libpkg-engine libpkg-io; do
      path=$(echo "$resolved" | sed -n "s/^[[:space:]]*$lib\.so[.0-9]* => \([^ ]*\) .*/\1/p")
      case "$( [ -n "$path" ] && realpath "$path")" in
        "$(realpath "$prefix/$libdir")"/*) ;;
        *) fail "installed bin/pkg does not load $lib from $prefix/$libdir:"$'\n'"$resolved" ;;
      esac
    done
  fi
  step "installed pkg --version: $out"
fi

# ---- 4. headers -------------------------------------------------------------------------------
"$root/tests/packaging/check_public_headers.sh" "$prefix/include"
count=0
while IFS= read -r header; do
  header=${header#./}
  printf '#include <%s>\n#include <%s>\n' "$header" "$header" |
    "$cxx" -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" -x c++ - \
      >"$tmp/header.log" 2>&1 || { cat "$tmp/header.log"; fail "installed <$header> does not compile alone"; }
  count=$((count + 1))
done <<<"$installed_headers"
step "$count installed headers compile alone with only -I<prefix>/include"

# ---- 5. version compatibility -------------------------------------------------------------------
mkdir -p "$tmp/version-check"
cat >"$tmp/version-check/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(pkg_version_check LANGUAGES NONE)
# Versions that must NOT be accepted by an installed 0.1.x (rejected before pkgConfig.cmake runs).
foreach(wanted 0.0 0.2 1.0 0.1.999)
  find_package(pkg ${wanted} QUIET CONFIG)
  if(pkg_FOUND)
    message(FATAL_ERROR "find_package(pkg ${wanted}) accepted pkg ${pkg_VERSION}")
  endif()
  unset(pkg_DIR CACHE)
endforeach()
CMAKE
cmake -S "$tmp/version-check" -B "$tmp/version-check/build" -DCMAKE_PREFIX_PATH="$prefix" \
  >"$tmp/version.log" 2>&1 || { cat "$tmp/version.log"; fail "version compatibility"; }
step "find_package(pkg 0.0 | 0.2 | 1.0 | 0.1.999) rejects $version"

# ---- 6. the consumer, through CMake ---------------------------------------------------------------
consumer_build=$tmp/consumer-build
cmake -S "$root/tests/consumer" -B "$consumer_build" ${generator:+-G "$generator"} \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_FLAGS="${san_flags[*]}" \
  >"$tmp/consumer-configure.log" 2>&1 || { cat "$tmp/consumer-configure.log"; fail "configuring tests/consumer"; }
cmake --build "$consumer_build" -v >"$tmp/consumer-build.log" 2>&1 ||
  { tail -60 "$tmp/consumer-build.log"; fail "building tests/consumer against $prefix"; }
# Include flags may name the prefix and system directories only; the link line must take pkg's
# libraries from the prefix, never from the build tree.
bad_includes=$(grep -oE '(-I|-isystem |-iquote |-idirafter )[^ "]+' "$consumer_build/compile_commands.json" |
               grep -E "(-I|-isystem |-iquote |-idirafter )($root|$build)(/|$)" || true)
[ -z "$bad_includes" ] || fail "the consumer's compile line reaches into pkg's tree: $bad_includes"
build_refs=$(grep -nF "$build" "$consumer_build/compile_commands.json" "$tmp/consumer-build.log" || true)
[ -z "$build_refs" ] || fail "the consumer's build refers to pkg's build tree:"$'\n'"$build_refs"
if [ $kind = static ]; then pattern="$prefix/$libdir/libpkg-engine.a"; else pattern="$prefix/$libdir/libpkg-engine.so"; fi
grep -qF "$pattern" "$tmp/consumer-build.log" || fail "the consumer was not linked with $pattern"
step "consumer built against $prefix only"
env -u LD_LIBRARY_PATH "$consumer_build/pkg_consumer" "$python" "$tmp/work-cmake" ||
  fail "tests/consumer (CMake build) failed"

# ---- 7. the consumer, through pkg-config -----------------------------------------------------------
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
pc_version=$(pkg-config --modversion pkg-engine) || fail "pkg-config cannot read pkg-engine.pc"
[ "$pc_version" = "$version" ] || fail "pkg-engine.pc says version $pc_version, the project $version"
pc_static=(); [ $kind = static ] && pc_static=(--static)
read -r -a pc_cflags <<<"$(pkg-config --cflags pkg-engine)"
read -r -a pc_libs <<<"$(pkg-config "${pc_static[@]}" --libs pkg-engine)"
rpath=(); [ $kind = shared ] && rpath=("-Wl,-rpath,$prefix/$libdir")
"$cxx" -std=c++20 -Wall -Wextra -Wpedantic -Werror "${san_flags[@]}" "-DPKG_CONSUMER_EXPECTED_VERSION=\"$pc_version\"" \
  "${pc_cflags[@]}" "$root/tests/consumer/main.cpp" -o "$tmp/pkg_consumer_pc" "${pc_libs[@]}" "${rpath[@]}" \
  >"$tmp/pc-build.log" 2>&1 || { cat "$tmp/pc-build.log"; fail "building tests/consumer with pkg-config ${pc_static[*]} (${pc_cflags[*]} ${pc_libs[*]})"; }
step "consumer built with pkg-config ${pc_static[*]}: ${pc_cflags[*]} ${pc_libs[*]}"
env -u LD_LIBRARY_PATH "$tmp/pkg_consumer_pc" "$python" "$tmp/work-pkg-config" >"$tmp/pc-run.log" 2>&1 ||
  { cat "$tmp/pc-run.log"; fail "tests/consumer (pkg-config build) failed"; }

step "all checks passed ($kind)"
