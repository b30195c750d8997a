"""Writes a static PEP 503 (HTML) + PEP 691 (JSON, api-version 1.1) simple index for a folder of wheels.

usage: make_index.py [--lock LOCKFILE]... FILES ROOT

ROOT/simple/index.html and index.json list the projects; ROOT/simple/<normalized-name>/index.html and
index.json list each project's wheels with sha256, size, Requires-Python and PEP 658/714 core
metadata (the wheel's METADATA is written beside it as FILES/<wheel>.metadata, as public indexes
serve it). Links are relative: ../../files/<wheel>, so ROOT/files must be FILES (a symlink to FILES
is made when it is elsewhere). With --lock, only the wheels those lockfiles pin are listed (as
lockfile.py matches them); otherwise every wheel in FILES. Sha256 sums are cached in
FILES/../sha256.tsv (name, size, mtime). The new simple/ tree replaces the old one atomically.
"""
import email.parser
import html
import json
import os
import shutil
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lockfile  # noqa: E402
from pip._vendor.packaging.utils import canonicalize_name  # noqa: E402
from pip._vendor.packaging.version import InvalidVersion, Version  # noqa: E402

API_VERSION = "1.1"


def cached_sha256(files_dir, names):
    cache_path = os.path.join(os.path.dirname(os.path.abspath(files_dir)), "sha256.tsv")
    cache = {}
    if os.path.exists(cache_path):
        with open(cache_path, encoding="utf-8") as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                if len(cols) == 4:
                    cache[(cols[0], cols[1], cols[2])] = cols[3]
    out = {}
    for n in names:
        st = os.stat(os.path.join(files_dir, n))
        key = (n, str(st.st_size), str(st.st_mtime_ns))
        if key not in cache:
            cache[key] = lockfile.sha256_of(os.path.join(files_dir, n))
        out[n] = (cache[key], st.st_size)
    tmp = cache_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for k, v in sorted(cache.items()):
            f.write("\t".join(k + (v,)) + "\n")
    os.replace(tmp, cache_path)
    return out


def core_metadata(files_dir, wheel):
    """(bytes of the wheel's METADATA, its Requires-Python or None); writes FILES/<wheel>.metadata."""
    path = os.path.join(files_dir, wheel)
    meta_path = path + ".metadata"
    if os.path.exists(meta_path):
        with open(meta_path, "rb") as f:
            data = f.read()
    else:
        with zipfile.ZipFile(path) as z:
            members = [m for m in z.namelist() if m.count("/") == 1 and m.endswith(".dist-info/METADATA")]
            if len(members) != 1:
                sys.exit(f"make_index.py: {path}: want exactly one */.dist-info/METADATA, found {members}")
            data = z.read(members[0])
        tmp = meta_path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, meta_path)
    msg = email.parser.BytesHeaderParser().parsebytes(data)
    rp = msg.get("Requires-Python")
    return data, (rp.strip() if rp and rp.strip() else None)


def version_key(v):
    try:
        return (0, Version(v))
    except InvalidVersion:
        return (1, v)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv):
    locks = []
    args = []
    it = iter(argv[1:])
    for a in it:
        if a == "--lock":
            locks.append(next(it))
        elif a in ("-h", "--help"):
            print(__doc__)
            return
        else:
            args.append(a)
    if len(args) != 2:
        sys.exit(__doc__)
    files_dir, root = (os.path.abspath(a) for a in args)
    if not os.path.isdir(files_dir):
        sys.exit(f"make_index.py: {files_dir}: no such folder of wheels (run perf/mirror.sh first)")
    os.makedirs(root, exist_ok=True)
    link = os.path.join(root, "files")
    if os.path.realpath(link) != os.path.realpath(files_dir):
        if os.path.islink(link):
            os.unlink(link)
        elif os.path.exists(link):
            sys.exit(f"make_index.py: {link} exists and is not {files_dir}")
        os.symlink(files_dir, link)

    if locks:
        folder = lockfile.Folder(files_dir)
        wheels = set()
        for lock in locks:
            for name, version, hashes, _ in lockfile.parse_lock(lock):
                f, why = folder.match(name, version, hashes)
                if f is None:
                    sys.exit(f"make_index.py: {lock}: {name}=={version}: {why} (run perf/mirror.sh {lock})")
                wheels.add(f)
        wheels = sorted(wheels)
    else:
        wheels = sorted(n for n in os.listdir(files_dir) if n.endswith(".whl"))

    sums = cached_sha256(files_dir, wheels)
    projects = {}
    for w in wheels:
        key = lockfile.wheel_key(w)
        if key is None:
            sys.exit(f"make_index.py: {w}: not a wheel file name (NAME-VERSION[-BUILD]-PY-ABI-PLATFORM.whl)")
        projects.setdefault(key[0], []).append(w)

    new = os.path.join(root, "simple.new")
    shutil.rmtree(new, ignore_errors=True)
    names = sorted(projects)
    root_html = ['<!DOCTYPE html>\n<html>\n<head>\n'
                 f'<meta name="pypi:repository-version" content="{API_VERSION}">\n'
                 '<title>Simple index</title>\n</head>\n<body>\n']
    root_html += [f'<a href="{n}/">{n}</a>\n' for n in names]
    root_html.append('</body>\n</html>\n')
    write(os.path.join(new, "index.html"), "".join(root_html))
    write(os.path.join(new, "index.json"), json.dumps(
        {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]}, indent=1) + "\n")

    for n in names:
        rows = []
        files_json = []
        versions = set()
        for w in sorted(projects[n]):
            digest, size = sums[w]
            meta, requires_python = core_metadata(files_dir, w)
            meta_digest = lockfile.hashlib.sha256(meta).hexdigest()
            url = f"../../files/{w}"
            attrs = ""
            if requires_python:
                attrs += f' data-requires-python="{html.escape(requires_python, quote=True)}"'
            attrs += f' data-dist-info-metadata="sha256={meta_digest}" data-core-metadata="sha256={meta_digest}"'
            rows.append(f'<a href="{html.escape(url, quote=True)}#sha256={digest}"{attrs}>{html.escape(w)}</a><br/>\n')
            entry = {"filename": w, "url": url, "hashes": {"sha256": digest}, "size": size,
                     "core-metadata": {"sha256": meta_digest}, "dist-info-metadata": {"sha256": meta_digest}}
            if requires_python:
                entry["requires-python"] = requires_python
            files_json.append(entry)
            versions.add(w[:-4].split("-")[1])
        page = ('<!DOCTYPE html>\n<html>\n<head>\n'
                f'<meta name="pypi:repository-version" content="{API_VERSION}">\n'
                f'<title>Links for {n}</title>\n</head>\n<body>\n<h1>Links for {n}</h1>\n' + "".join(rows) +
                '</body>\n</html>\n')
        write(os.path.join(new, n, "index.html"), page)
        write(os.path.join(new, n, "index.json"), json.dumps(
            {"meta": {"api-version": API_VERSION}, "name": n,
             "versions": sorted(versions, key=version_key), "files": files_json}, indent=1) + "\n")

    old = os.path.join(root, "simple")
    if os.path.exists(old):
        trash = os.path.join(root, "simple.old")
        shutil.rmtree(trash, ignore_errors=True)
        os.rename(old, trash)
        os.rename(new, old)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.rename(new, old)
    print(f"make_index.py: {len(names)} projects, {len(wheels)} wheels in {old}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
