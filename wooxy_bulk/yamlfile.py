"""YAML read as written: a plain scalar is text unless it can only be a number, true/false or null.

PyYAML follows YAML 1.1, where ``NO`` is false, ``+447911123456`` an integer, ``10:30`` the
number 630 and ``yes`` true: in a campaign file that turns Norway into a boolean and a sender
number into an integer without a word. Here only these plain scalars are not text:

- ``~``, ``null``, an empty value: null;
- ``true``, ``false`` (as in YAML 1.2, any of three casings): booleans;
- a whole number in its canonical form (``0``, ``42``, ``-7``: no sign ``+``, no leading zero),
  which reads back as the same text wherever a text is expected.

Everything else is a string, and the schema (pydantic) converts it where a field wants a number
(``timeout_s: 2.5``). A key given twice in one mapping is an error naming both lines.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml
from yaml.nodes import MappingNode

from .errors import InputError

WINDOWS_PATH_HINT = (
    "; in double quotes a backslash starts an escape: write a Windows path in single quotes"
    " ('C:\\Users\\me\\contacts.csv') or with forward slashes (C:/Users/me/contacts.csv)"
)


class DuplicateKey(yaml.MarkedYAMLError):
    """A mapping gives one key twice."""


class _Loader(yaml.SafeLoader):
    """SafeLoader with the few implicit types above, and duplicate keys refused."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | bool | None) and key in seen:
                raise DuplicateKey(
                    problem=f"key '{key}' is given twice (lines {seen[key]} and {line}); keep one",
                    problem_mark=key_node.start_mark,
                )
            if isinstance(key, str | int | bool | None):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-untyped-call]


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), None
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:0|-?[1-9][0-9]*)$"), list("-0123456789")
)


def load(text: str) -> Any:
    """The YAML document in ``text``; raises InputError with the line and a hint where one helps."""
    try:
        return yaml.load(text, Loader=_Loader)
    except DuplicateKey as exc:
        raise InputError(str(exc.problem)) from None
    except yaml.MarkedYAMLError as exc:
        problem = str(exc.problem)
        hint = WINDOWS_PATH_HINT if "escape" in problem else ""
        raise InputError(f"{_where(exc)}not valid YAML: {problem}{hint}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}") from None


def _where(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark
    return f"line {mark.line + 1}: " if mark else ""
