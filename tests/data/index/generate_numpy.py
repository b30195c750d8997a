"""Writes numpy.html and numpy.json: a project page shaped like a big project's (many platform
wheels per version, a PyPy wheel, an sdist), on the example hosts. Hashes are the sha256 of the
filename, so they are stable and distinct. Run with any Python 3 from this folder."""
import hashlib
import json

VERSIONS = ["1.26.3", "1.26.4"]
PYTHONS = ["cp39", "cp310", "cp311", "cp312"]
PLATFORMS = [
    "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "manylinux_2_17_aarch64.manylinux2014_aarch64",
    "musllinux_1_1_x86_64",
    "macosx_10_9_x86_64",
    "macosx_11_0_arm64",
    "win_amd64",
    "win32",
]


def files():
    for version in VERSIONS:
        for py in PYTHONS:
            for plat in PLATFORMS:
                yield version, f"numpy-{version}-{py}-{py}-{plat}.whl", ">=3.9"
        yield version, f"numpy-{version}-pp39-pypy39_pp73-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", ">=3.9"
        yield version, f"numpy-{version}.tar.gz", ">=3.9"


def digest(name):
    return hashlib.sha256(name.encode()).hexdigest()


lines = ["<!DOCTYPE html>", "<HTML><HEAD><TITLE>Links for numpy</TITLE>",
         "<BASE HREF='https://files.example/numpy/'></HEAD><BODY>", "<H1>Links for numpy</H1>"]
for i, (version, name, rp) in enumerate(files()):
    href = f"{version}/{name}#sha256={digest(name)}"
    # Vary the markup the way real servers do: quoting, case, attribute order.
    if i % 3 == 0:
        lines.append(f'<a href="{href}" data-requires-python="&gt;=3.9">{name}</a><br/>')
    elif i % 3 == 1:
        lines.append(f"<A data-requires-python='&gt;=3.9' HREF='{href}'>{name}</A><br>")
    else:
        lines.append(f"<a data-requires-python=&gt;=3.9 href={href} >{name}</a>")
lines += ["</BODY></HTML>", ""]
with open("numpy.html", "w") as out:
    out.write("\n".join(lines))

page = {
    "meta": {"api-version": "1.1"},
    "name": "numpy",
    "versions": VERSIONS,
    "files": [
        {"filename": name, "url": f"https://files.example/numpy/{version}/{name}",
         "hashes": {"sha256": digest(name)}, "requires-python": rp,
         "size": 1000 + i, "yanked": False}
        for i, (version, name, rp) in enumerate(files())
    ],
}
with open("numpy.json", "w") as out:
    json.dump(page, out, indent=1)
    out.write("\n")
