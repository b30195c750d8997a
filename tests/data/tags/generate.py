"""Regenerates the expected tag lists in this folder from pip's vendored `packaging`.

Run by hand only (tests never run Python):
    /root/.pyenv/versions/3.11.7/bin/python3 tests/data/tags/generate.py   # packaging 21.3
    /root/.pyenv/versions/3.13.0/bin/python3 tests/data/tags/generate.py   # packaging 24.1
Each interpreter writes the cases whose `packaging` column names its vendored version; the host's
glibc, musl and ELF header are replaced by the case's values, so the output does not depend on the
machine that runs it.

File format: one tag per line, most preferred first; the name says the case, e.g.
`cp311-glibc2.36-x86_64.txt` (the test derives nothing from the name, it lists the cases itself).
"""

import os
import sys

from pip._vendor.packaging import __version__ as packaging_version
from pip._vendor.packaging import _manylinux, _musllinux, tags

HERE = os.path.dirname(os.path.abspath(__file__))

# name, packaging version, implementation, python version, abis, arch, glibc, musl, interpreter
# for compatible_tags (what pip and packaging >= 22 pass: cp3x for CPython, pp3 for PyPy).
CASES = [
    ("cp311-glibc2.36-x86_64", "21.3", "cp", (3, 11), ["cp311"], "x86_64", (2, 36), None, "cp311"),
    ("cp312-glibc2.17-aarch64", "21.3", "cp", (3, 12), ["cp312"], "aarch64", (2, 17), None, "cp312"),
    ("cp311-musl1.2-x86_64", "21.3", "cp", (3, 11), ["cp311"], "x86_64", None, (1, 2), "cp311"),
    ("cp38d-glibc2.28-s390x", "21.3", "cp", (3, 8), ["cp38d", "cp38"], "s390x", (2, 28), None, "cp38"),
    ("cp37m-glibc2.24-armv7l", "21.3", "cp", (3, 7), ["cp37m"], "armv7l", (2, 24), None, "cp37"),
    ("cp32-glibc3.1-ppc64le", "21.3", "cp", (3, 2), ["cp32mu"], "ppc64le", (3, 1), None, "cp32"),
    ("pp310-glibc2.17-x86_64", "21.3", "pp", (3, 10), ["pypy310_pp73"], "x86_64", (2, 17), None, "pp3"),
    ("cp313t-glibc2.17-i686", "24.1", "cp", (3, 13), ["cp313t"], "i686", (2, 17), None, "cp313"),
    ("cp312-glibc2.17-armv8l", "24.1", "cp", (3, 12), ["cp312"], "armv8l", (2, 17), None, "cp312"),
    ("cp313-glibc2.31-riscv64-musl1.1", "24.1", "cp", (3, 13), ["cp313"], "riscv64", (2, 31), (1, 1), "cp313"),
]


def platforms(arch, glibc, musl):
    """packaging's linux platform list for a fixed glibc/musl, ELF checks assumed to pass."""
    _manylinux._get_glibc_version = lambda: glibc if glibc else (-1, -1)
    _musllinux._get_musl_version = lambda _executable: (
        _musllinux._MuslVersion(*musl) if musl else None)
    if packaging_version.startswith("21."):
        _manylinux._have_compatible_abi = lambda a: a in {
            "x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "i686", "armv7l"}
        result = list(_manylinux.platform_tags("linux_" + arch, arch)) if glibc else []
        result += list(_musllinux.platform_tags(arch))
        return result + ["linux_" + arch]
    archs = {"armv8l": ["armv8l", "armv7l"]}.get(arch, [arch])
    # Keep packaging's own allow-list for the 64-bit arches; only the ELF probes are bypassed.
    real_check = _manylinux._have_compatible_abi
    _manylinux._have_compatible_abi = lambda _exe, a: (
        "armv7l" in a or "i686" in a or real_check(sys.executable, [x for x in a]))
    result = list(_manylinux.platform_tags(archs)) if glibc else []
    _manylinux._have_compatible_abi = real_check
    result += list(_musllinux.platform_tags(archs))
    return result + ["linux_" + a for a in archs]


def main():
    for name, wanted, impl, version, abis, arch, glibc, musl, compat_interp in CASES:
        if wanted != packaging_version:
            continue
        plats = platforms(arch, glibc, musl)
        if impl == "cp":
            out = list(tags.cpython_tags(version, abis=abis, platforms=plats))
        else:
            out = list(tags.generic_tags(impl + "".join(map(str, version)), abis=abis,
                                         platforms=plats))
        out += list(tags.compatible_tags(version, interpreter=compat_interp, platforms=plats))
        with open(os.path.join(HERE, name + ".txt"), "w") as f:
            f.writelines(str(t) + "\n" for t in out)
        print(f"{name}: {len(out)} tags (packaging {packaging_version})")


if __name__ == "__main__":
    main()
