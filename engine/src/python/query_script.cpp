#include "python/query_script.hpp"

namespace pkg::python {

// The script is kept free of `)py"` so the raw string cannot end early.
std::string_view query_script() noexcept
{
    static constexpr std::string_view text = R"py(
import json, os, platform, struct, sys, sysconfig

# Runs inside the target interpreter (python -I -c). Prints one JSON object with the facts
# pkg needs and nothing else. Written for Python 3.7+; stays parseable by Python 2 so that an
# old interpreter gets a clear answer instead of a traceback.
if sys.version_info < (3, 7):
    print(json.dumps({"error": "Python %s is too old: pkg needs 3.7 or newer"
                                          % platform.python_version()}))
    sys.exit(0)


def full_version(info):
    text = "%d.%d.%d" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        text += info.releaselevel[0] + str(info.serial)
    return text


def elf_interpreter(path):
    # PT_INTERP of an ELF executable: which dynamic loader (and so which libc) it runs on.
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 52 or head[:4] != b"\x7fELF":
                return None
            order = "<" if head[5] == 1 else ">"
            if head[4] == 2:
                (phoff,) = struct.unpack_from(order + "Q", head, 32)
                entsize, count = struct.unpack_from(order + "HH", head, 54)
                layout, at_offset, at_size = order + "I4xQ16xQ", 1, 2
            else:
                (phoff,) = struct.unpack_from(order + "I", head, 28)
                entsize, count = struct.unpack_from(order + "HH", head, 42)
                layout, at_offset, at_size = order + "II8xI", 1, 2
            for i in range(min(count, 64)):
                f.seek(phoff + i * entsize)
                entry = f.read(struct.calcsize(layout))
                if len(entry) < struct.calcsize(layout):
                    return None
                fields = struct.unpack(layout, entry)
                if fields[0] == 3:
                    f.seek(fields[at_offset])
                    return f.read(min(fields[at_size], 4096)).rstrip(b"\0").decode("utf-8", "replace")
    except (OSError, struct.error):
        return None
    return None


def libc(loader):
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        text = None
    if text and text.startswith("glibc "):
        return {"name": "glibc", "version": text[6:].strip()}
    if loader and "musl" in loader:
        import re
        import subprocess
        try:
            run = subprocess.run([loader], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, timeout=5)
            found = re.search(r"Version\s+(\d+\.\d+)", run.stderr.decode("utf-8", "replace"))
        except (OSError, subprocess.SubprocessError):
            found = None
        if found:
            return {"name": "musl", "version": found.group(1)}
    return None


def scheme_paths(name, base):
    keys = ("purelib", "platlib", "scripts", "data", "include")
    if base is None:
        paths = sysconfig.get_paths(name)
    else:
        paths = sysconfig.get_paths(name, vars={"base": base, "platbase": base,
                                                "installed_base": base, "installed_platbase": base})
    return {k: paths[k] for k in keys}


schemes = sysconfig.get_scheme_names()
in_venv = sys.prefix != sys.base_prefix
venv_scheme = "venv" if "venv" in schemes else "posix_prefix"
if in_venv:
    scheme_name = venv_scheme
else:
    default = getattr(sysconfig, "get_default_scheme", None) or getattr(sysconfig, "_get_default_scheme", None)
    scheme_name = default() if default else "posix_prefix"

# Where a new virtual environment's directories go, relative to its root: the venv scheme with
# every base pointing at a placeholder root.
anchor = os.path.join(os.sep, "pkg-venv-root")
layout = {}
for key, value in scheme_paths(venv_scheme, anchor).items():
    layout[key] = os.path.relpath(value, anchor) if value.startswith(anchor) else None
if venv_scheme != "venv":
    layout["include"] = "include"  # before 3.11, venv made a bare include/

# The scheme any venv made from this interpreter gets, with its root as the placeholder: what the
# venv's own interpreter would answer (its installed_base is still this sys.base_prefix), so pkg
# can know a fresh venv without starting it.
venv_scheme_paths = sysconfig.get_paths(venv_scheme, vars={"base": anchor, "platbase": anchor})
venv_scheme_paths = {k: venv_scheme_paths[k] for k in ("purelib", "platlib", "scripts", "data", "include")}

config = sysconfig.get_config_var
loader = elf_interpreter(sys.executable)
markers = {
    "implementation_name": sys.implementation.name,
    "implementation_version": full_version(sys.implementation.version),
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_python_implementation": platform.python_implementation(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
version = sys.version_info
print(json.dumps({
    "version": {"major": version.major, "minor": version.minor, "micro": version.micro,
                "releaselevel": version.releaselevel, "serial": version.serial},
    "implementation": {"name": sys.implementation.name,
                       "version": full_version(sys.implementation.version)},
    "executable": sys.executable,
    "base_executable": getattr(sys, "_base_executable", sys.executable),
    "prefix": sys.prefix,
    "base_prefix": sys.base_prefix,
    "markers": markers,
    "scheme": scheme_paths(scheme_name, None),
    "scheme_name": scheme_name,
    "venv_layout": layout,
    "venv_scheme": venv_scheme_paths,
    "venv_scheme_name": venv_scheme,
    "venv_anchor": anchor,
    "libc": libc(loader),
    "elf_interpreter": loader,
    "machine": platform.machine(),
    "abiflags": getattr(sys, "abiflags", ""),
    "soabi": config("SOABI") or "",
    "gil_disabled": bool(config("Py_GIL_DISABLED")),
    "pointer_bits": struct.calcsize("P") * 8,
    "sys_platform": sys.platform,
}))  # one line: pkg reads the last line of stdout
)py";
    return text;
}

}  // namespace pkg::python
