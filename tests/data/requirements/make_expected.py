"""Writes <fixture>.expected from pip's own requirements-file parser (pip 23.2.1), as an oracle
for tests/engine/test_requirements_txt.cpp. One line per requirement, tab-separated:
normalised name, sorted specifier clauses joined by ",", extras joined by ",", marker (packaging's
str()), sorted "algo:hex" hashes joined by ",".
Run: /root/.pyenv/versions/3.11.7/bin/python3 make_expected.py *.txt"""
import sys

from pip._internal.network.session import PipSession
from pip._internal.req.req_file import parse_requirements
from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name

for path in sys.argv[1:]:
    out = []
    for parsed in parse_requirements(path, session=PipSession()):
        req = Requirement(parsed.requirement)
        hashes = sorted(
            f"{algo}:{digest}"
            for algo, digests in (parsed.options or {}).get("hashes", {}).items()
            for digest in digests
        )
        out.append("\t".join([
            canonicalize_name(req.name),
            ",".join(sorted(str(s) for s in req.specifier)),
            ",".join(sorted(req.extras)),
            str(req.marker) if req.marker else "",
            ",".join(hashes),
        ]))
    with open(path[: -len(".txt")] + ".expected", "w") as f:
        f.write("\n".join(out) + "\n")
