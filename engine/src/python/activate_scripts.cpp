#include "python/activate_scripts.hpp"

#include <fmt/core.h>

namespace pkg::python {
namespace {

// A fish single-quoted string: only `\` and `'` need a backslash inside.
std::string fish_quote(std::string_view text)
{
    std::string out = "'";
    for (char c : text) {
        if (c == '\\' || c == '\'') {
            out += '\\';
        }
        out += c;
    }
    out += '\'';
    return out;
}

// The saved values live in variables with a pkg prefix so they cannot collide with another
// tool's activation state; `deactivate` only touches what this script changed.
constexpr std::string_view posix_template = R"sh(# Activates the virtual environment at {venv} for bash, zsh and POSIX sh.
# Use it with `. {venv_word}/bin/activate` (it must be sourced, not run);
# `deactivate` undoes everything it changed. Written by pkg.

# Leave whatever environment is active first, whoever made it.
if [ -n "${{VIRTUAL_ENV-}}" ] && command -v deactivate >/dev/null 2>&1; then
    deactivate
fi

deactivate () {{
    if [ -n "${{_PKG_SAVED_PATH+set}}" ]; then
        PATH="$_PKG_SAVED_PATH"
        export PATH
        unset _PKG_SAVED_PATH
    fi
    if [ -n "${{_PKG_SAVED_PYTHONHOME+set}}" ]; then
        PYTHONHOME="$_PKG_SAVED_PYTHONHOME"
        export PYTHONHOME
        unset _PKG_SAVED_PYTHONHOME
    fi
    if [ -n "${{_PKG_SAVED_PS1+set}}" ]; then
        PS1="$_PKG_SAVED_PS1"
        unset _PKG_SAVED_PS1
    fi
    unset VIRTUAL_ENV VIRTUAL_ENV_PROMPT
    # The shell may remember where it found `python` before: forget it.
    hash -r 2>/dev/null
    unset -f deactivate
}}

VIRTUAL_ENV={venv_word}
export VIRTUAL_ENV
VIRTUAL_ENV_PROMPT={prompt_word}
export VIRTUAL_ENV_PROMPT

_PKG_SAVED_PATH="$PATH"
PATH="$VIRTUAL_ENV/bin:$PATH"
export PATH

# PYTHONHOME would point the environment's python at another installation.
if [ -n "${{PYTHONHOME+set}}" ]; then
    _PKG_SAVED_PYTHONHOME="$PYTHONHOME"
    unset PYTHONHOME
fi

if [ -z "${{VIRTUAL_ENV_DISABLE_PROMPT-}}" ] && [ -n "${{PS1+set}}" ]; then
    _PKG_SAVED_PS1="$PS1"
    PS1="($VIRTUAL_ENV_PROMPT) $PS1"
fi

hash -r 2>/dev/null
)sh";

constexpr std::string_view fish_template = R"fish(# Activates the virtual environment at {venv} for fish.
# Use it with `source {venv_word}/bin/activate.fish`; `deactivate` undoes it. Written by pkg.

# Leave whatever environment is active first, whoever made it.
if set -q VIRTUAL_ENV; and functions -q deactivate
    deactivate
end

function deactivate --description 'Leave the virtual environment'
    if set -q _pkg_saved_path
        set -gx PATH $_pkg_saved_path
        set -e _pkg_saved_path
    end
    if set -q _pkg_saved_pythonhome
        set -gx PYTHONHOME $_pkg_saved_pythonhome
        set -e _pkg_saved_pythonhome
    end
    if functions -q _pkg_saved_fish_prompt
        functions -e fish_prompt
        functions -c _pkg_saved_fish_prompt fish_prompt
        functions -e _pkg_saved_fish_prompt
        functions -e _pkg_return
    end
    set -e VIRTUAL_ENV
    set -e VIRTUAL_ENV_PROMPT
    functions -e deactivate
end

set -gx VIRTUAL_ENV {venv_word}
set -gx VIRTUAL_ENV_PROMPT {prompt_word}

set -g _pkg_saved_path $PATH
set -gx PATH "$VIRTUAL_ENV/bin" $PATH

if set -q PYTHONHOME
    set -g _pkg_saved_pythonhome $PYTHONHOME
    set -e PYTHONHOME
end

if not set -q VIRTUAL_ENV_DISABLE_PROMPT; and functions -q fish_prompt
    functions -c fish_prompt _pkg_saved_fish_prompt
    # Returns its argument, so the saved prompt sees the status of the user's last command.
    function _pkg_return
        return $argv[1]
    end
    function fish_prompt
        set -l last_status $status
        printf '(%s) ' $VIRTUAL_ENV_PROMPT
        _pkg_return $last_status
        _pkg_saved_fish_prompt
    end
end
)fish";

}  // namespace

std::string sh_quote(std::string_view text)
{
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    out += '\'';
    return out;
}

std::string posix_activate_script(const std::filesystem::path& venv, std::string_view prompt)
{
    // The comment lines show the path; a line break in it would end the comment.
    std::string shown = venv.string();
    for (char& c : shown) {
        if (c == '\n' || c == '\r') {
            c = '?';
        }
    }
    return fmt::format(posix_template, fmt::arg("venv", shown),
                       fmt::arg("venv_word", sh_quote(venv.string())),
                       fmt::arg("prompt_word", sh_quote(prompt)));
}

std::string fish_activate_script(const std::filesystem::path& venv, std::string_view prompt)
{
    std::string shown = venv.string();
    for (char& c : shown) {
        if (c == '\n' || c == '\r') {
            c = '?';
        }
    }
    return fmt::format(fish_template, fmt::arg("venv", shown),
                       fmt::arg("venv_word", fish_quote(venv.string())),
                       fmt::arg("prompt_word", fish_quote(prompt)));
}

}  // namespace pkg::python
