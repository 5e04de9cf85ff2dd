"""`$(VAR)` references in env values, command and args.

Mirrors third_party/forked/golang/expansion/expand.go (Expand, tryReadVariableName,
MappingFuncFor) as pkg/kubelet/kubelet_pods.go (env values may name earlier variables)
and pkg/kubelet/container/helpers.go (ExpandContainerCommandAndArgs) use it: `$(NAME)`
becomes the variable's value, an undefined one stays as written, `$$` is a literal `$`.
Pure.
"""

from __future__ import annotations

from collections.abc import Callable

OPERATOR, OPENER, CLOSER = "$", "(", ")"


def mapping_func_for(*contexts: dict[str, str]) -> Callable[[str], str]:
    """The first context that defines the name wins; otherwise the reference is kept."""

    def mapping(name: str) -> str:
        for ctx in contexts:
            if name in ctx:
                return ctx[name]
        return f"{OPERATOR}{OPENER}{name}{CLOSER}"

    return mapping


def _try_read_variable_name(s: str) -> tuple[str, bool, int]:
    """(text, is a variable name, bytes consumed after the operator)."""
    if s[0] == OPERATOR:
        return OPERATOR, False, 1  # escaped operator
    if s[0] == OPENER:
        end = s.find(CLOSER, 1)
        if end != -1:
            return s[1:end], True, end + 1
        return OPERATOR + OPENER, False, 1  # an incomplete reference stays as written
    return OPERATOR + s[0], False, 1


def expand(text: str, mapping: Callable[[str], str]) -> str:
    out: list[str] = []
    checkpoint = cursor = 0
    while cursor < len(text):
        if text[cursor] == OPERATOR and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _try_read_variable_name(text[cursor + 1 :])
            out.append(mapping(read) if is_var else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def expand_container_command_and_args(
    command: list[str], args: list[str], envs: list[str]
) -> tuple[list[str], list[str]]:
    """ExpandContainerCommandAndArgs over the container's KEY=value environment."""
    mapping = mapping_func_for(dict(e.split("=", 1) for e in envs if "=" in e))
    return [expand(c, mapping) for c in command], [expand(a, mapping) for a in args]
