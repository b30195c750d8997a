#!/usr/bin/env python3
"""Generates tests/engine/test_pep508_tables.inc from the reference implementation.

Run once by hand (the tests never run Python):
    /root/.pyenv/versions/3.13.0/bin/python3 tests/engine/pep508_tables.py > tests/engine/test_pep508_tables.inc

It uses the `packaging` that pip vendors (24.1 in Python 3.13's pip; the 3.11 pip vendors the
older pyparsing-based 21.3). Every input below is checked against it: valid requirements and
markers must parse, invalid ones must be rejected, and expected values are what it computes.
Cases where packaging raises during evaluation (a version on the right, a non-version on the
left) are kept out of the generated tables and tested by hand in test_pep508.cpp.
"""

import sys

from pip._vendor.packaging import __version__ as packaging_version
from pip._vendor.packaging._parser import parse_requirement as raw_parse_requirement
from pip._vendor.packaging.markers import InvalidMarker, Marker
from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
from pip._vendor.packaging.utils import canonicalize_name, _validate_regex

ENV = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.7",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "6.1.0-18-amd64",
    "platform_system": "Linux",
    "platform_version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
    "python_full_version": "3.11.7",
    "python_version": "3.11",
    "sys_platform": "linux",
}

NAMES = [
    "a", "A", "1", "requests", "Requests", "Sphinx_RTD_theme", "zope.interface", "typing_extensions",
    "A.B-C_D", "a--b", "a__b", "a..b", "a-_.-b", "FOO.BAR_baz-QUX", "pip", "0x", "Django-2FA",
    "", "-a", "a-", "_a", "a_", ".a", "a.", "a b", "a+b", "é", "a/b", "a@b", "a\tb", "-", "_", ".",
]

REQUIREMENTS = [
    # pip-compile / uv export lines
    'cffi==1.16.0 ; platform_python_implementation != "PyPy"',
    'pywin32==306 ; sys_platform == "win32"',
    'exceptiongroup==1.2.0 ; python_version < "3.11"',
    'importlib-metadata>=4.6 ; python_version<"3.10"',
    "certifi==2024.2.2",
    "charset-normalizer==3.3.2",
    'colorama==0.4.6 ; sys_platform == "win32"',
    'tomli==2.0.1 ; python_version < "3.11"',
    "anyio==4.2.0 ; python_full_version >= '3.8'",
    "backports-zoneinfo==0.2.1 ; python_full_version < '3.9'",
    "pywin32==306 ; platform_system == 'Windows' and platform_python_implementation != 'PyPy'",
    "greenlet==3.0.3 ; platform_machine == 'aarch64' or (platform_machine == 'ppc64le' or "
    "platform_machine == 'x86_64' or platform_machine == 'amd64' or platform_machine == 'AMD64' or "
    "platform_machine == 'win32' or platform_machine == 'WIN32')",
    "uvloop==0.19.0 ; sys_platform != 'win32' and sys_platform != 'cygwin' and "
    "platform_python_implementation != 'PyPy'",
    "typing-extensions==4.9.0 ; python_version >= '3.8' and python_version < '3.11'",
    # extras, specifiers, parentheses, whitespace
    'requests[security,socks]>=2.8.1,==2.8.* ; python_version < "2.7"',
    "Sphinx_RTD_theme[A_b,a-b]>=1.0",
    "name (>=1.0, <2.0)",
    "name(>=1.0)",
    "name [foo] (>=1.0) ; os_name=='posix'",
    "name>= 1.0",
    "name >=1.0 , <2",
    "black>=1,",
    "A.B-C_D",
    "a",
    "1",
    "zope.interface>=5",
    "typing_extensions>=4.7.1",
    "torch==2.1.0+cpu",
    "numpy!=1.19.*",
    "foo~=1.4.2",
    "foo~=1.4",
    "foo<2,>1",
    "foo<=2.0rc1",
    "foo>2.0.post1",
    "foo==1!2.0",
    "foo==v1.0",
    "foo===1.0",
    "foo===weird-1",
    "foo ==1.0",
    "foo===a,>=1",
    "foo===a,,>=1",
    "foo===",
    "foo=== a",
    "foo >=\x1c1.0",
    "foo >=\u00a0\u30001.0",
    "  name  ",
    "name\n",
    "name>=1 ; os_name == \"posix\"\n",
    "\tname\t>=1\t",
    "name[]",
    "name[ ]",
    "name[ a , b ]",
    "name [a,A,A_b,a-B]>1",
    "name (>=1,)",
    "name ; python_version > '3'",
    "name;python_version>'3'",
    "name>=1;python_version>'3'",
    "name (>=1);python_version>'3'",
    # URLs
    "name @ https://example.com/pkg-1.0-py3-none-any.whl",
    "name[extra] @ git+https://github.com/x/y.git@v1.0#egg=name ; python_version >= '3.8'",
    "name@file:///tmp/x.whl",
    "name@ file:///tmp/x.whl ",
    "name @ http://x;python_version>'3'",
    "name @ https://h/p?q=1&r=(2) ;python_version>'3'",
]

INVALID_REQUIREMENTS = [
    "",
    "   ",
    "[foo]",
    "-name",
    "name-",
    "name.",
    "name[",
    "name[foo",
    "name[foo bar]",
    "name[foo,]",
    "name[,foo]",
    "name[-foo]",
    "black >= ; python_version",
    "name >=",
    "name >=1.0 <2",
    "name (>=1.0",
    "name (>=1.0 ; python_version > '3'",
    "name >=1.0)",
    "name @",
    "name @ ",
    "name @ http://x junk",
    "name ;",
    "name ; python_version",
    "name ; python_version >",
    "name ; python_version > '3' and",
    "name ; (python_version > '3'",
    "name ; python_version > '3')",
    "name ; foo == '1'",
    "name ; python_version = '3'",
    "name ; python_version > '3",
    "name ==1.0.*.1",
    "name <=1.0.*",
    "name >=1.0+local",
    "name ~=1",
    "name ~=1.*",
    "name ; python_version not in",
    "name ; python_version notin '3'",
    "name ; python_version not '3'",
    "name==1.0 extra",
    "name\n\n",
    "name\nx",
    "name >=1.0abc",
    "name ==",
    "name , >=1",
    "name==1.0;",
    "name ; os.namex == 'a'",
    "name ; platform.release == 'a'",
    "na me",
    "foo===a, >=1",
    "foo===a,b",
    "u===2\x1d",
    "name ; os_name == 'a\x00'",
]

MARKERS = [
    'python_version < "3.11"',
    'python_version<"3.10"',
    'python_version >= "3.8"',
    'python_version > "3.10"',
    'python_version > "3.9"',
    '"3.9" < python_version',
    '"3.11" == python_version',
    'python_version == "3.11"',
    'python_version == "3.11.0"',
    'python_version == "3.11.*"',
    'python_version == "3.1.*"',
    'python_version != "3.11.*"',
    'python_version ~= "3.10"',
    'python_version ~= "3.11.0"',
    'python_version ~= "3.12"',
    'python_version == "3"',
    'python_version >= "3"',
    'python_version <= "3.11"',
    'python_version < "3.11.0"',
    'python_version != "3.11"',
    'python_full_version >= "3.11.4"',
    'python_full_version < "3.11.7"',
    'python_full_version == "3.11.7"',
    'python_full_version === "3.11.7"',
    'python_full_version < "3.11.8a1"',
    'python_full_version > "3.11.7a1"',
    'python_full_version > "3.11.6.post1"',
    'python_full_version <= "3.11.7.dev0"',
    'python_version in "3.10 3.11"',
    '"3.1" in python_version',
    'python_version not in "2.7 3.6"',
    'python_version not in "3.1"',
    'python_version in "3.11"',
    'sys_platform == "win32"',
    'sys_platform != "win32"',
    'sys_platform == "linux"',
    'sys.platform == "linux"',
    'os_name == "nt"',
    'os.name == "posix"',
    'platform_system == "Windows"',
    'platform_system == "Linux" and platform_machine == "x86_64"',
    'platform_machine in "x86_64 aarch64"',
    'platform.machine == "arm64"',
    'platform_python_implementation != "PyPy"',
    'platform_python_implementation == "CPython"',
    'python_implementation == "CPython"',
    'platform.python_implementation == "CPython"',
    'implementation_name == "cpython"',
    'implementation_version >= "3.11"',
    "'linux' == sys_platform",
    '"x86" in platform_machine',
    '"arm" not in platform_machine',
    '"Debian" in platform_version',
    'platform_version == "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"',
    '"6.1" in platform_release',
    'sys_platform < "win32"',
    'sys_platform > "darwin"',
    'os_name <= "posix"',
    'os_name >= "posix"',
    'platform_system < "Linuz"',
    'platform_system > "linux"',
    'extra == "test"',
    'extra == "Test"',
    'extra == "security-extra"',
    'extra == "Security_Extra"',
    'extra != "test"',
    '"test" == extra',
    '"te" in extra',
    "extra == 'docs' or extra == 'test'",
    "extra == 'docs' and extra == 'test'",
    'python_version < "3.11" or sys_platform == "linux" and extra == "test"',
    '(python_version < "3.11" or sys_platform == "linux") and extra == "test"',
    'sys_platform == "win32" or sys_platform == "linux" and python_version < "3.8"',
    '(sys_platform == "win32" or sys_platform == "linux") and python_version < "3.8"',
    'sys_platform == "linux" or sys_platform == "win32" and python_version < "3.8"',
    'python_version < "3.8" and sys_platform == "win32" or os_name == "posix"',
    'python_version == "3.11" and (sys_platform == "linux" or (sys_platform == "darwin" and '
    'platform_machine == "arm64"))',
    '((python_version == "3.11"))',
    '  python_version  ==  \'3.11\'  ',
    '\tpython_version\t==\t"3.11"',
    'python_version=="3.11"and(os_name=="posix")',
    '"3"in python_version',
    'python_version >= " 3.11 "',
    'python_version >= "3.9."',
    'python_version < "3.9."',
    'python_version < "3.9"',
    'python_full_version >= "3.11.7+local"',
    'implementation_version ~= "3.11.1"',
    'python_version >= "3.9." or python_version == "3.11"',
    'platform_machine == "aarch64" or (platform_machine == "ppc64le" or platform_machine == "x86_64")',
    'sys_platform != "win32" and sys_platform != "cygwin" and platform_python_implementation != "PyPy"',
    'python_version > "3.6" or (python_version == "3.6" and os_name == "unix")',
    'os_name == "posix" and python_version >= "3.12" or sys_platform == "darwin" or extra == "test"',
    "python_version == '2.7' or os_name != 'posix' or (extra == 'a' and extra != 'test')",
]

EXTRAS_SETS = [[], ["test"], ["Test_Extra", "security.extra"], ["docs", "test"]]


def c_string(text):
    out = ['"']
    for ch in text.encode("utf-8"):
        c = chr(ch)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= ch < 0x7F and c != "?":
            out.append(c)
        else:
            out.append("\\%03o" % ch)
    out.append('"')
    return "".join(out)


def c_list(items):
    return "{" + ", ".join(c_string(i) for i in items) + "}"


def evaluate(marker, extras):
    if not extras:
        return marker.evaluate(dict(ENV, extra=""))
    return any(marker.evaluate(dict(ENV, extra=e)) for e in extras)


def main():
    out = sys.stdout
    out.write("// Generated by tests/engine/pep508_tables.py with packaging %s (pip-vendored).\n"
              % packaging_version)
    out.write("// Do not edit by hand: change the script and regenerate.\n\n")

    out.write("// name, valid (core metadata regex), PEP 503 normal form\n")
    out.write("const name_case generated_names[] = {\n")
    for name in NAMES:
        valid = bool(_validate_regex.match(name))
        out.write("    {%s, %s, %s},\n" % (c_string(name), "true" if valid else "false",
                                             c_string(canonicalize_name(name))))
    out.write("};\n\n")

    out.write("// text, name as written, extras (normalised, sorted), clauses as written, url, marker"
              " (packaging's str)\n")
    out.write("const requirement_case generated_requirements[] = {\n")
    for text in REQUIREMENTS:
        req = Requirement(text)  # raises if packaging rejects it
        raw = raw_parse_requirement(text)
        # Whitespace removed: Python counts Unicode spaces (U+3000, ...) where PEP 440 does not.
        clauses = ["".join(c.split()) for c in raw.specifier.split(",") if c.strip()]
        extras = sorted({canonicalize_name(e) for e in req.extras})
        out.write("    {%s, %s, %s, %s, %s, %s, %s},\n" % (
            c_string(text), c_string(req.name), c_list(extras), c_list(clauses),
            "true" if req.url else "false", c_string(req.url or ""),
            c_string(str(req.marker) if req.marker else "")))
    out.write("};\n\n")

    for text in INVALID_REQUIREMENTS:
        try:
            Requirement(text)
        except InvalidRequirement:
            continue
        except Exception:  # packaging raises other errors for a few shapes; still a rejection
            continue
        raise SystemExit("packaging accepts %r, listed as invalid" % text)
    out.write("// requirements packaging rejects\n")
    out.write("const std::string_view generated_invalid_requirements[] = {\n")
    for text in INVALID_REQUIREMENTS:
        out.write("    %s,\n" % c_string(text))
    out.write("};\n\n")

    out.write("// marker, then its value for extras {}, {test}, {Test_Extra, security.extra},"
              " {docs, test} on CPython 3.11.7 / Linux x86_64\n")
    out.write("const marker_case generated_markers[] = {\n")
    for text in MARKERS:
        marker = Marker(text)
        values = ["true" if evaluate(marker, e) else "false" for e in EXTRAS_SETS]
        out.write("    {%s, {%s}},\n" % (c_string(text), ", ".join(values)))
    out.write("};\n")


if __name__ == "__main__":
    main()
