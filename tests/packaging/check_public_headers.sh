#!/usr/bin/env bash
# check_public_headers.sh INCLUDE_DIR...
#
# Fails, naming file:line and the offending text, when a public header (*.hpp under the given
# directories; CI passes the installed <prefix>/include) includes or names one of pkg's private
# dependencies: Boost/Asio, OpenSSL, liburing, llhttp, libdeflate, simdjson, fmt, toml++.
# Consumers build with tl-expected and the standard library only, so any of these would either
# not compile for them or tie them to pkg's build choices. Comments and string literals are
# ignored (a doc comment may say "Asio-free"); everything else is matched.
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: $0 INCLUDE_DIR..." >&2; exit 2
fi

headers=()
for dir in "$@"; do
  if [ ! -d "$dir" ]; then
    echo "check_public_headers: $dir: not a directory" >&2; exit 2
  fi
  while IFS= read -r -d '' file; do headers+=("$file"); done \
    < <(find "$dir" -type f \( -name '*.hpp' -o -name '*.h' -o -name '*.ipp' \) -print0 | sort -z)
done
if [ ${#headers[@]} -eq 0 ]; then
  echo "check_public_headers: no headers under $*" >&2; exit 2
fi

# POSIX awk (mawk on Debian): no \b, so "not preceded by an identifier character" is spelled out.
awk '
  BEGIN {
    w = "(^|[^A-Za-z0-9_])"
    rule["include of a private dependency"] = \
      "^#[ \t]*include[ \t]*[<\"](boost/|asio|openssl/|liburing|llhttp|libdeflate|simdjson|fmt/|toml\\+\\+/)"
    rule["Asio/Boost name"] = w "(asio::|boost::|BOOST_)"
    rule["OpenSSL name"] = w "(SSL_|SSL_CTX|OPENSSL_|EVP_|X509|BIO_)"
    rule["liburing name"] = w "(io_uring_|IORING_|struct[ \t]+io_uring)"
    rule["llhttp name"] = w "llhttp"
    rule["libdeflate name"] = w "libdeflate"
    rule["simdjson name"] = w "simdjson"
    rule["fmt/toml++ name"] = w "(fmt::|toml::)"
    bad = 0
  }
  FNR == 1 { in_block = 0 }
  {
    line = $0
    # Drop block comments (possibly spanning lines), string literals, then line comments.
    out = ""
    while (length(line) > 0) {
      if (in_block) {
        end = index(line, "*/")
        if (end == 0) { line = ""; break }
        line = substr(line, end + 2); in_block = 0
      } else {
        start = index(line, "/*")
        if (start == 0) { out = out line; line = ""; break }
        out = out substr(line, 1, start - 1); line = substr(line, start + 2); in_block = 1
      }
    }
    gsub(/"([^"\\]|\\.)*"/, "\"\"", out)
    sub(/\/\/.*$/, "", out)
    for (what in rule) {
      if (match(out, rule[what])) {
        printf "%s:%d: %s: %s\n", FILENAME, FNR, what, $0
        bad = 1
      }
    }
  }
  END { exit bad }
' "${headers[@]}" || {
  echo "check_public_headers: FAILED: public headers must not expose private dependencies" >&2
  exit 1
}
echo "check_public_headers: ${#headers[@]} headers clean"
