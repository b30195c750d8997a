"""Checks a served simple index: check_index.py URL [PROJECT...] (default: the first 3 projects).

For each project: the HTML page (Accept: text/html) and the JSON page (Accept: PEP 691 JSON) come
with their content types, list the same files, and every file's bytes match the sha256 fragment,
the JSON hash and size, and its .metadata file the core-metadata hash. Exit 1 naming the mismatch.
Uses SSL_CERT_FILE for an https:// URL.
"""
import hashlib
import html.parser
import json
import os
import ssl
import sys
import urllib.parse
import urllib.request

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


class Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs))


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    base = argv[1] if argv[1].endswith("/") else argv[1] + "/"
    ctx = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE")) if base.startswith("https") else None

    def get(url, accept="*/*"):
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": accept}), context=ctx) as r:
            return r.headers.get("Content-Type", ""), r.read()

    def fail(msg):
        sys.exit(f"check_index.py: {msg}")

    ct, body = get(base, "text/html")
    root = Anchors()
    root.feed(body.decode())
    projects = argv[2:] or [a["href"].rstrip("/") for a in root.links[:3]]
    checked = 0
    for project in projects:
        url = urllib.parse.urljoin(base, project + "/")
        ct, body = get(url, "text/html")
        if not ct.startswith("text/html"):
            fail(f"{url}: Accept text/html got Content-Type {ct!r}")
        page = Anchors()
        page.feed(body.decode())
        ctj, bj = get(url, f"{JSON_TYPE}, text/html;q=0.1")
        if ctj != JSON_TYPE:
            fail(f"{url}: Accept {JSON_TYPE} got Content-Type {ctj!r}")
        files = json.loads(bj)["files"]
        if len(files) != len(page.links) or not files:
            fail(f"{url}: HTML lists {len(page.links)} files, JSON {len(files)}")
        for a, f in zip(page.links, files):
            href, _, digest = a["href"].partition("#sha256=")
            file_url = urllib.parse.urljoin(url, href)
            if urllib.parse.urljoin(url, f["url"]) != file_url:
                fail(f"{url}: HTML links {file_url}, JSON {f['url']}")
            _, data = get(file_url)
            actual = hashlib.sha256(data).hexdigest()
            if not (actual == digest == f["hashes"]["sha256"]) or f["size"] != len(data):
                fail(f"{file_url}: sha256 {actual} / {len(data)} bytes, page says {digest} / JSON {f['hashes']['sha256']} {f['size']}")
            _, meta = get(file_url + ".metadata")
            meta_digest = hashlib.sha256(meta).hexdigest()
            if meta_digest != f["core-metadata"]["sha256"] or a.get("data-core-metadata") != "sha256=" + meta_digest:
                fail(f"{file_url}.metadata: sha256 {meta_digest} differs from the pages' core-metadata")
            checked += 1
    print(f"check_index.py: {base}: {len(projects)} project(s), {checked} file(s): HTML and JSON agree with the bytes served",
          file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
