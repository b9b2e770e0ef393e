"""Message texts: Jinja2 templates rendered in a sandbox per contact row.

Variables: every column under its header name. A header that is no usable Jinja name ("First Name",
"e-mail", "2nd line") is also reachable under its alias: lower-cased, each run of
non-alphanumerics collapsed to ``_``, ``_`` stripped at the ends, and ``col_`` put in front when
the result starts with a digit or is a Jinja word (``2nd line`` -> ``col_2nd_line``,
``None?`` -> ``col_none``). Precedence: a real header, then the ``row`` mapping, then aliases; two
headers with the same alias make that alias ambiguous (an error only if the template uses it).
``row["Any Header"]`` reaches every column, unless a column is literally named ``row``: then that
column wins and there is no mapping.

An empty cell is undefined: ``default(...)``, ``is defined`` and ``{% if first_name %}`` (falsy)
work; printing it or computing with it makes the row invalid with the column named.

Sandbox: a template reaching for ``_``-prefixed attributes with dot syntax (``''.__class__``) or
including other templates is rejected at compile time (InputError); whatever else the sandbox
blocks while rendering (``|attr('__class__')``, ``x['__class__']``) fails that row (RowError).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ..errors import RowError, located

__all__ = ["MessageTemplate", "alias_for"]


class _Undefined(StrictUndefined):
    """StrictUndefined that is falsy, so ``{% if first_name %}`` works on an empty cell."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False


_ENV = SandboxedEnvironment(undefined=_Undefined, autoescape=False, keep_trailing_newline=False)
# Jinja's globals (range, dict, namespace, …) are given to each template that uses them, not to
# every template: Template.render() copies its globals into each row's context.
_GLOBALS = dict(_ENV.globals)
_ENV.globals.clear()
_NON_ALNUM = re.compile(r"[\W_]+")
_MAX_LISTED_COLUMNS = 20


def _is_jinja_name(name: str) -> bool:
    """True if ``{{ name }}`` reads a variable called ``name``."""
    if not name.isidentifier():
        return False
    try:
        body = _ENV.parse(f"{{{{ {name} }}}}").body
    except TemplateSyntaxError:
        return False
    return isinstance(body[0], nodes.Output) and body[0].nodes == [nodes.Name(name, "load")]


def alias_for(header: str) -> str | None:
    """The variable name of a header that is no Jinja name ("First Name" -> first_name)."""
    base = _NON_ALNUM.sub("_", header.lower()).strip("_")
    if not base:
        return None
    for candidate in (base, f"col_{base}"):
        if _is_jinja_name(candidate):
            return candidate
    return None


class _Names:
    """Which template variable reaches which column."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.index: dict[str, int] = {}
        for i, header in enumerate(self.columns):
            if _is_jinja_name(header):
                self.index.setdefault(header, i)
        self.row_mapping = "row" not in self.index
        shared: dict[str, list[int]] = {}
        for i, header in enumerate(self.columns):
            alias = None if header in self.index else alias_for(header)
            if alias and alias not in self.index and not (alias == "row" and self.row_mapping):
                shared.setdefault(alias, []).append(i)
        self.ambiguous = {a: ix for a, ix in shared.items() if len(ix) > 1}
        self.index.update({a: ix[0] for a, ix in shared.items() if len(ix) == 1})

    def listing(self) -> str:
        """The columns for a message, each non-identifier header with its alias."""
        aliases = {i: name for name, i in self.index.items() if name != self.columns[i]}
        shown = [
            f"{h} (as {aliases[i]})" if i in aliases else h
            for i, h in enumerate(self.columns[:_MAX_LISTED_COLUMNS])
        ]
        more = len(self.columns) - len(shown)
        return ", ".join(shown) + (f", … ({more} more)" if more > 0 else "")


def _suggest(name: str, choices: Iterable[str]) -> str:
    """'; did you mean X?' for the closest choice (ignoring case), or ''."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]}?" if close else ""


def _line(node: nodes.Node) -> str:
    return f"line {node.lineno}: "


def _on_row(node: nodes.Getitem | nodes.Getattr, names: _Names) -> bool:
    """True if ``node`` reads from the ``row`` mapping."""
    return names.row_mapping and isinstance(node.node, nodes.Name) and node.node.name == "row"


def _check_sandbox(ast: nodes.Template, names: _Names, where: str) -> None:
    """Reject includes and dot access to ``_`` attributes before any row is rendered."""
    for node in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        raise located(where, f"{_line(node)}a message cannot include or import other templates")
    for node in ast.find_all(nodes.Getattr):
        if _unsafe_attr(node, names):
            while isinstance(node.node, nodes.Getattr) and _unsafe_attr(node.node, names):
                node = node.node  # ''.__class__.__mro__: name the first step, __class__
            raise located(
                where, f"{_line(node)}.{node.attr} is not allowed in a message (sandboxed template)"
            )


def _unsafe_attr(node: nodes.Getattr, names: _Names) -> bool:
    """True for ``x._name`` (the sandbox refuses it), except a ``row._column``."""
    return node.attr.startswith("_") and not (_on_row(node, names) and node.attr in names.columns)


def _check_row_keys(ast: nodes.Template, names: _Names, where: str) -> None:
    """``row["X"]`` / ``row.X`` with a literal X must name a column."""
    for node in ast.find_all((nodes.Getitem, nodes.Getattr)):
        if not _on_row(node, names):
            continue
        if isinstance(node, nodes.Getattr):
            key: object = node.attr
            if hasattr(dict, node.attr):
                continue
        elif isinstance(node.arg, nodes.Const):
            key = node.arg.value
        else:
            continue
        if key not in names.columns:
            hint = _suggest(str(key), names.columns)
            raise located(
                where,
                f"{_line(node)}row[{key!r}] is not a column of the contacts"
                f" (columns: {names.listing()}){hint}",
            )


def _check_variables(ast: nodes.Template, names: _Names, where: str) -> set[str]:
    """Every name the template reads; raises for one that is no column, alias or global."""
    used = meta.find_undeclared_variables(ast)
    declared = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for node in ast.find_all(nodes.Name):
        name = node.name
        if name not in used or name in names.index or name in declared:
            continue
        if name in names.ambiguous:
            headers = " or ".join(repr(names.columns[i]) for i in names.ambiguous[name])
            raise located(
                where,
                f"{{{{ {name} }}}} could mean column {headers};"
                f' write row["..."] with the header instead',
            )
        if (name == "row" and names.row_mapping) or name in _GLOBALS:
            continue
        hint = _suggest(name, [*names.index, *(["row"] if names.row_mapping else [])])
        raise located(
            where,
            f"{{{{ {name} }}}} is not a column of the contacts (columns: {names.listing()}){hint}",
        )
    return {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"}


def _empty(hint: str) -> _Undefined:
    return _Undefined(hint=hint)


class _Row(dict[str, str]):
    """The ``row`` mapping: non-empty cells by header; a missing key explains itself."""

    _columns: frozenset[str] = frozenset()

    def __missing__(self, key: str) -> _Undefined:
        if key in self._columns:
            return _empty(f"column {key} is empty")
        return _empty(f"row[{key!r}] is not a column of the contacts")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, SecurityError):
        return f"the template is not allowed to do that: {text}"
    if isinstance(exc, UndefinedError):
        return text
    return f"template error: {text}"


class MessageTemplate:
    """A message compiled once against the contacts' columns, rendered once per row."""

    variables: frozenset[str]
    """The column-derived names the template uses (headers or aliases; not ``row``)."""
    source: str = ""
    """The template's text, as written."""

    def __init__(self, template: Template, names: _Names, used: set[str]) -> None:
        """Use ``compile``; ``used`` is every name the template reads."""
        self._template = template
        self.variables = frozenset(used & names.index.keys())
        self._slots = tuple(
            (var, names.index[var], _empty(f"column {names.columns[names.index[var]]} is empty"))
            for var in sorted(self.variables)
        )
        self._columns = tuple(names.columns)
        # The columns the template reads (all of them when it uses row[...]).
        self.column_indices: tuple[int, ...] = tuple(sorted({i for _, i, _ in self._slots}))
        self._row: type[_Row] | None = None
        if names.row_mapping and "row" in used:
            self._row = type("_Row", (_Row,), {"_columns": frozenset(names.columns)})
            self.column_indices = tuple(range(len(names.columns)))

    @classmethod
    def compile(cls, source: str, *, name: str, columns: Sequence[str]) -> MessageTemplate:
        """Parse and check ``source``; ``name`` says where it came from in error messages."""
        names = _Names(columns)
        try:
            ast = _ENV.parse(source)
            _check_sandbox(ast, names, name)
            _check_row_keys(ast, names, name)
            used = _check_variables(ast, names, name)
            globals_used = {g: _GLOBALS[g] for g in used - names.index.keys() if g in _GLOBALS}
            template = _ENV.from_string(ast, globals=globals_used)
        except TemplateSyntaxError as exc:
            raise located(name, f"line {exc.lineno}: {exc.message}") from None
        made = cls(template, names, used)
        made.source = source
        return made

    def render(self, cells: Sequence[str]) -> str:
        """The trimmed text for one row (cells in column order); raises RowError."""
        n = len(cells)
        context: dict[str, Any] = {}
        for var, i, empty in self._slots:
            value = cells[i] if i < n else ""
            context[var] = value if value else empty  # an empty cell is undefined
        if self._row is not None:
            context["row"] = self._row(
                (header, value)
                for header, value in zip(self._columns, cells, strict=False)
                if value
            )
        try:
            text = self._template.render(context)
        except Exception as exc:  # the template is user code: any failure is this row's problem
            raise RowError(_one_line(exc)) from None
        text = text.strip()
        if not text:
            raise RowError("the text is empty")
        return text
