"""Writes tests/data/zip/<wheel>.manifest: what Python's zipfile extracts from Debian's wheels.

One line per archive member, in central directory order, tab-separated:
    name  size  sha256-of-extracted-bytes  x-if-any-unix-execute-bit-else-dash
Run once with /root/.pyenv/versions/3.11.7/bin/python3 (pyenv's CPython); the output is committed.
"""
import hashlib
import pathlib
import zipfile

WHEELS = [
    "/usr/share/python-wheels/pip-23.0.1-py3-none-any.whl",
    "/usr/share/python-wheels/setuptools-66.1.1-py3-none-any.whl",
    "/usr/share/python-wheels/wheel-0.38.4-py3-none-any.whl",
]

here = pathlib.Path(__file__).resolve().parent
for wheel in WHEELS:
    lines = []
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            data = z.read(info)
            executable = "x" if info.create_system == 3 and (info.external_attr >> 16) & 0o111 else "-"
            lines.append(f"{info.filename}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\t{executable}\n")
    (here / (pathlib.Path(wheel).name + ".manifest")).write_text("".join(lines))
