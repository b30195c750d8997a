#pragma once
/// \file
/// The Python program pkg runs inside a target interpreter to learn about it.
///
/// Output contract (one JSON object on stdout, nothing else): either `{"error": "<why>"}` for
/// an interpreter pkg cannot use (Python older than 3.7), or the facts `interpreter_facts`
/// parses: `version` {major, minor, micro, releaselevel, serial}, `implementation` {name,
/// version}, `executable`, `base_executable`, `prefix`, `base_prefix`, `markers` (the eleven
/// PEP 508 variables), `scheme` and `venv_layout` ({purelib, platlib, scripts, data, include};
/// the layout is relative to a venv root, null where a path falls outside it), `scheme_name`,
/// `site_packages` [..], `libc` (null or {name: glibc|musl, version}), `elf_interpreter`,
/// `machine`, `abiflags`, `soabi`, `gil_disabled`, `pointer_bits`, `sys_platform`.

#include <string_view>

namespace pkg::python {

/// The script's source, for `python -I -c <script>`. Thread-safe (a constant).
std::string_view query_script() noexcept;

}  // namespace pkg::python
