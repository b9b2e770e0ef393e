"""Tests of wooxy_bulk.plan.render: message templates."""

from __future__ import annotations

import pytest

from wooxy_bulk.errors import InputError, RowError
from wooxy_bulk.plan.render import MessageTemplate, alias_for

COLUMNS = ["phone", "First Name", "city", "e-mail", "2nd line"]
NAME = "templates/x.txt.j2"


def compile_(source: str, columns: list[str] | None = None) -> MessageTemplate:
    return MessageTemplate.compile(
        source, name=NAME, columns=COLUMNS if columns is None else columns
    )


def cells(**values: str) -> list[str]:
    """A row for COLUMNS: phone, first (First Name), city, email (e-mail), line2 (2nd line)."""
    keys = ["phone", "first", "city", "email", "line2"]
    return [values.get(k, "") for k in keys]


@pytest.mark.parametrize(
    ("header", "alias"),
    [
        ("First Name", "first_name"),
        ("e-mail", "e_mail"),
        ("E-Mail  Address", "e_mail_address"),
        ("--Post code--", "post_code"),
        ("2nd line", "col_2nd_line"),
        ("None?", "col_none"),
        ("not", "col_not"),
        ("True", "col_true"),
        ("Prénom client", "prénom_client"),
        ("%", None),
        ("", None),
    ],
)
def test_alias_for(header: str, alias: str | None) -> None:
    """Non-identifier headers get a snake_case alias; leading digits and Jinja words get col_."""
    assert alias_for(header) == alias


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ first_name }}", "Ann"),
        ('{{ row["First Name"] }}', "Ann"),
        ("{{ e_mail }} {{ col_2nd_line }}", "a@b.c Flat 2"),
        ("{{ city }} {{ row['city'] }} {{ row.city }}", "Leeds Leeds Leeds"),
        ("{{ phone | length }}", "12"),
        ("{% set greeting = 'Hello' %}{{ greeting }} {{ first_name }}", "Hello Ann"),
        ("{% for w in first_name %}{{ loop.index }}{{ w }}{% endfor %}", "1A2n3n"),
        ("{% macro hi(n) %}Hi {{ n }}{% endmacro %}{{ hi(city) }}", "Hi Leeds"),
        ("{{ range(3) | join(',') }}", "0,1,2"),
        ("  \n Hi {{ first_name }}!\n\n ", "Hi Ann!"),
    ],
)
def test_render_values(source: str, expected: str) -> None:
    """Headers, aliases, row[...], template-defined names and globals render; text is trimmed."""
    row = cells(phone="447700900123", first="Ann", city="Leeds", email="a@b.c", line2="Flat 2")
    assert compile_(source).render(row) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('Hi {{ first_name | default("there") }}!', "Hi there!"),
        ('Hi {{ row["First Name"] | default("there") }}!', "Hi there!"),
        ("{% if first_name is defined %}Hi {{ first_name }}{% else %}Hello{% endif %}", "Hello"),
        ("{% if first_name %}Hi {{ first_name }}{% else %}Hello{% endif %}", "Hello"),
        ("{{ 'First Name' in row }}", "False"),
        ("{{ row.get('First Name', 'none') }}", "none"),
    ],
)
def test_empty_cell_is_undefined(source: str, expected: str) -> None:
    """An empty cell is undefined: default, is defined and if handle it; row lacks the key."""
    assert compile_(source).render(cells(phone="1", city="Leeds")) == expected


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("Hi {{ first_name }}", "column First Name is empty"),
        ('Hi {{ row["First Name"] }}', "column First Name is empty"),
        ("Hi {{ city }}", "column city is empty"),
        ("Hi {{ row.city }}", "column city is empty"),
        ("Hi {{ city | upper }}", "column city is empty"),
        ("Hi {{ row[e_mail] }}", "row['nope'] is not a column of the contacts"),
        ("{{ first_name | default('') }}", "the text is empty"),
        ("   {{ ' ' * 3 }}\n", "the text is empty"),
        ("{{ phone + 1 }}", 'template error: can only concatenate str (not "int") to str'),
        ("{% if city %}{% set x = 1 %}{% endif %}{{ x }}", "'x' is undefined"),
    ],
)
def test_render_row_errors(source: str, error: str) -> None:
    """A row the template cannot render raises RowError with a one-line reason."""
    with pytest.raises(RowError) as caught:
        compile_(source).render(cells(phone="1", email="nope"))
    assert str(caught.value) == error


def test_rows_do_not_leak_into_each_other() -> None:
    """Each render sees only its own row, even after a template-level set."""
    template = compile_("{% set n = first_name | default('x') %}{{ n }}-{{ city | default('-') }}")
    assert template.render(cells(first="Ann", city="Leeds")) == "Ann-Leeds"
    assert template.render(cells()) == "x--"
    assert template.render(cells(city="York")) == "x-York"


def test_short_row_is_padded_with_empty_cells() -> None:
    """A row with fewer cells than columns treats the missing cells as empty."""
    template = compile_("{{ phone }} {{ city | default('?') }} {{ row.get('city', '!') }}")
    assert template.render(["1"]) == "1 ? !"


def test_column_named_row_wins() -> None:
    """A column literally named `row` is that column, not the mapping."""
    template = compile_("{{ row }} {{ phone }}", ["phone", "row"])
    assert template.render(["1", "R7"]) == "R7 1"


def test_identifier_header_keeps_its_case() -> None:
    """An identifier header is reachable under its exact name and through row[...]."""
    template = compile_("{{ FirstName }} {{ row['FirstName'] }}", ["phone", "FirstName"])
    assert template.render(["1", "Ann"]) == "Ann Ann"


def test_variables_lists_column_names_used() -> None:
    """`variables` holds the column-derived names the template reads, not row or locals."""
    template = compile_("{% set g = 'Hi' %}{{ g }} {{ first_name }} {{ row.city }} {{ e_mail }}")
    assert template.variables == frozenset({"first_name", "e_mail"})


def test_sample_template_renders() -> None:
    """The spring-sale style template renders with and without its optional columns."""
    source = (
        'Hi {{ first_name | default("there") }}! Sale{% if city is defined %} at our {{ city }}'
        " store{% endif %}.\n{% if points is defined %}You have {{ points }} points. {% endif %}"
        "Reply STOP to opt out.\n"
    )
    template = compile_(source, ["phone", "first_name", "city", "points"])
    assert template.render(["1", "Ann", "Leeds", "40"]) == (
        "Hi Ann! Sale at our Leeds store.\nYou have 40 points. Reply STOP to opt out."
    )
    assert template.render(["1", "", "", ""]) == "Hi there! Sale.\nReply STOP to opt out."


@pytest.mark.parametrize(
    ("source", "columns", "message"),
    [
        ("Hi\n{{ x }", COLUMNS, f"{NAME}: line 2: unexpected '}}'"),
        ("{{ city | upperr }}", COLUMNS, f"{NAME}: line 1: No filter named 'upperr'."),
        (
            "Hi {{ frist_name }}",
            ["phone", "first_name"],
            f"{NAME}: {{{{ frist_name }}}} is not a column of the contacts"
            " (columns: phone, first_name); did you mean first_name?",
        ),
        (
            "Hi {{ FirstName }}",
            ["phone", "First Name"],
            f"{NAME}: {{{{ FirstName }}}} is not a column of the contacts"
            " (columns: phone, First Name (as first_name)); did you mean first_name?",
        ),
        (
            "Hi {{ zzz }}",
            ["phone", "city"],
            f"{NAME}: {{{{ zzz }}}} is not a column of the contacts (columns: phone, city)",
        ),
        (
            "Hi {{ row['Frist Name'] }}",
            ["phone", "First Name"],
            f"{NAME}: line 1: row['Frist Name'] is not a column of the contacts"
            " (columns: phone, First Name (as first_name)); did you mean First Name?",
        ),
        (
            "Hi {{ first_name }}",
            ["First Name", "first-name"],
            f"{NAME}: {{{{ first_name }}}} could mean column 'First Name' or 'first-name';"
            ' write row["..."] with the header instead',
        ),
        (
            "Hi {{ ''.__class__.__mro__ }}",
            COLUMNS,
            f"{NAME}: line 1: .__class__ is not allowed in a message (sandboxed template)",
        ),
        (
            "Hi\n{% include 'secrets.txt' %}",
            COLUMNS,
            f"{NAME}: line 2: a message cannot include or import other templates",
        ),
    ],
)
def test_compile_errors(source: str, columns: list[str], message: str) -> None:
    """A broken template raises InputError naming the file (and line) and what to fix."""
    with pytest.raises(InputError) as caught:
        compile_(source, columns)
    assert str(caught.value) == message


def test_inline_text_error_names_campaign_key() -> None:
    """An inline message's errors are located at the campaign key."""
    with pytest.raises(InputError, match=r"^campaign.yaml: message.text: line 1: unexpected"):
        MessageTemplate.compile("{{ x }", name="campaign.yaml: message.text", columns=["x"])


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''['__class__'] }}",
        "{{ (''|attr('__class__')) }}",
        "{{ city['__len__']() }}",
        "{{ lipsum['__globals__'] }}",
    ],
)
def test_sandbox_blocks_python_internals_at_render(source: str) -> None:
    """What slips past the compile-time check is refused by the sandbox: the row is invalid."""
    template = compile_(source)
    with pytest.raises(RowError, match=r"^the template is not allowed to do that: .*unsafe"):
        template.render(cells(city="Leeds"))
