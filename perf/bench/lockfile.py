"""Reads the pip-compile lockfiles of perf/lockfiles and matches them with a folder of wheels.

Run with the real interpreter (the one whose pip downloads the mirror). Subcommands:
  missing LOCK FILES        print the lockfile's entries (with their hashes) that FILES lacks
  verify LOCK... FILES      check every pinned entry has a file in FILES whose sha256 is one of its
                            lockfile hashes (or, for a wheel built from an sdist, the one recorded
                            in FILES/../built.tsv); exit 1 naming each problem
  files LOCK FILES          print the wheel file names a lockfile installs, one a line
  bench-lock LOCK FILES     print the lockfile (one line per pin) with the sha256 of the wheel
                            built from an sdist added to its pin's hashes: the lockfile pins the
                            sdist, the mirror serves the wheel built from it, and every tool checks
                            hashes
"""
import hashlib
import os
import re
import sys

from pip._vendor.packaging.utils import canonicalize_name, canonicalize_version


def parse_lock(path):
    """Returns [(name, version, [sha256...], requirement_text)] in file order."""
    entries = []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # Join continuation lines; drop comments.
    logical = []
    current = ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            if current:
                logical.append(current)
                current = ""
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
        else:
            current += line
            logical.append(current)
            current = ""
    if current:
        logical.append(current)
    for line in logical:
        line = line.strip()
        if not line or line.startswith("-"):
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;]+)", line)
        if not m:
            sys.exit(f"lockfile.py: {path}: cannot read the pin in {line[:80]!r} (want NAME==VERSION)")
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
        if not hashes:
            sys.exit(f"lockfile.py: {path}: {m.group(1)}=={m.group(3)} has no --hash=sha256: (want pip-compile --generate-hashes)")
        entries.append((canonicalize_name(m.group(1)), m.group(3), hashes, line))
    return entries


def wheel_key(filename):
    """(normalized name, canonical version) of a wheel file name, or None for other files."""
    if not filename.endswith(".whl"):
        return None
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6):
        return None
    return canonicalize_name(parts[0]), canonicalize_version(parts[1])


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def built_records(files_dir):
    """{wheel file name: sha256} for the wheels built from sdists (built.tsv beside FILES)."""
    records = {}
    path = os.path.join(os.path.dirname(os.path.abspath(files_dir)), "built.tsv")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                if len(cols) >= 2 and cols[0].endswith(".whl"):
                    records[cols[0]] = cols[1]
    return records


class Folder:
    def __init__(self, files_dir):
        self.dir = files_dir
        self.by_key = {}
        for name in sorted(os.listdir(files_dir)) if os.path.isdir(files_dir) else []:
            key = wheel_key(name)
            if key:
                self.by_key.setdefault(key, []).append(name)
        self.built = built_records(files_dir)
        self._sha = {}

    def sha(self, name):
        if name not in self._sha:
            self._sha[name] = sha256_of(os.path.join(self.dir, name))
        return self._sha[name]

    def match(self, name, version, hashes):
        """The file serving the entry, or (None, why)."""
        candidates = self.by_key.get((name, canonicalize_version(version)), [])
        if not candidates:
            return None, "no wheel in the mirror"
        for c in candidates:
            digest = self.sha(c)
            if digest in hashes:
                return c, None
            if self.built.get(c) == digest:
                return c, None
        return None, f"{', '.join(candidates)}: sha256 {self.sha(candidates[0])} is none of the lockfile's {len(hashes)} hashes and not a recorded build"


def served(lock, files):
    """Yields (wheel file, its sha256, the pin's hashes, the pin's line) per pin; exits naming
    the first pin the folder cannot serve."""
    folder = Folder(files)
    for name, version, hashes, line in parse_lock(lock):
        f, why = folder.match(name, version, hashes)
        if f is None:
            sys.exit(f"lockfile.py: {lock}: {name}=={version}: {why} (run perf/mirror.sh {lock})")
        yield f, folder.sha(f), hashes, line


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "missing":
        lock, files = args
        folder = Folder(files)
        for name, version, hashes, line in parse_lock(lock):
            f, _ = folder.match(name, version, hashes)
            if f is None:
                print(line)
    elif cmd == "verify":
        *locks, files = args
        folder = Folder(files)
        problems = 0
        count = 0
        for lock in locks:
            for name, version, hashes, _ in parse_lock(lock):
                f, why = folder.match(name, version, hashes)
                count += 1
                if f is None:
                    problems += 1
                    print(f"lockfile.py: {lock}: {name}=={version}: {why}", file=sys.stderr)
        if problems:
            sys.exit(1)
        print(f"verified {count} pins of {len(locks)} lockfile(s) against sha256 of the files in {files}", file=sys.stderr)
    elif cmd == "files":
        lock, files = args
        for f, _, _, _ in served(lock, files):
            print(f)
    elif cmd == "bench-lock":
        lock, files = args
        for f, digest, hashes, line in served(lock, files):
            extra = "" if digest in hashes else f" --hash=sha256:{digest}"
            print(" ".join(line.split()) + extra)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
