#pragma once
/// \file
/// PEP 508 environment markers: the full grammar (`and`/`or`, parentheses, every comparison
/// operator including `in`/`not in` and `===`, quoted strings either side, the legacy dotted
/// names `os.name`, `sys.platform`, `platform.version`, `platform.machine`,
/// `platform.python_implementation`, `python_implementation`) and evaluation against an
/// environment, with PEP 508's rule: when both sides parse as PEP 440 versions and the operator
/// is a version operator, compare as versions, otherwise as strings. `extra` compares with both
/// sides normalised as project names.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <pkg/io/error.hpp>

namespace pkg::pep508 {

/// The values marker variables take for one interpreter (PEP 508 "Environment Markers").
struct marker_environment {
    std::string implementation_name;             ///< sys.implementation.name, e.g. "cpython"
    std::string implementation_version;          ///< e.g. "3.11.7"
    std::string os_name;                         ///< os.name, e.g. "posix"
    std::string platform_machine;                ///< platform.machine(), e.g. "x86_64"
    std::string platform_python_implementation;  ///< e.g. "CPython"
    std::string platform_release;                ///< platform.release()
    std::string platform_system;                 ///< platform.system(), e.g. "Linux"
    std::string platform_version;                ///< platform.version()
    std::string python_full_version;             ///< platform.python_version(), e.g. "3.11.7"
    std::string python_version;                  ///< "3.11"
    std::string sys_platform;                    ///< sys.platform, e.g. "linux"

    /// The value of a canonical variable name (`python_version`, …); nullopt if unknown.
    std::optional<std::string_view> get(std::string_view variable) const noexcept;
};

/// A parsed marker expression. Immutable; copies share the parsed tree.
class marker {
public:
    /// Parses the text after `;` in a requirement. Errors cite the text and the position.
    static result<marker> parse(std::string_view text);

    /// Evaluates against `env`. `extras` are the extras being installed (any spelling): an
    /// `extra == "x"` clause is true when "x" is one of them; with no extras it is false.
    bool evaluate(const marker_environment& env, std::span<const std::string> extras = {}) const;

    /// Canonical text: variables in canonical names, strings double-quoted, single spaces,
    /// parentheses kept where the structure needs them.
    std::string to_string() const;

    struct node;  // defined in marker.cpp

private:
    std::shared_ptr<const node> root_;
};

}  // namespace pkg::pep508
