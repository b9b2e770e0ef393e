"""The campaign file: schema, defaults, resolved paths and the messages of every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wooxy_bulk.campaign import DEFAULT_API_URL, load_campaign
from wooxy_bulk.errors import InputError

BASE = {
    "name": "spring-sale",
    "contacts": "data/contacts.csv",
    "message": {"text": "Hi {{ first_name }}"},
    "domain": "shop.example.com",
}


def write(tmp_path: Path, data: object, name: str = "campaign.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def patched(**changes: object) -> dict[str, object]:
    data = dict(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_minimal_campaign_gets_the_spec_defaults(tmp_path: Path) -> None:
    """A minimal file gets the SPEC's defaults and paths resolved against its folder."""
    campaign = load_campaign(write(tmp_path, BASE))
    assert campaign.contacts == tmp_path / "data" / "contacts.csv"
    assert campaign.phone_column == "phone"
    assert campaign.api.url == DEFAULT_API_URL
    assert (campaign.api.concurrency, campaign.api.timeout_s, campaign.api.max_attempts) == (
        10,
        30.0,
        3,
    )
    assert campaign.results_path == tmp_path / "spring-sale-results.xlsx"
    assert campaign.journal_path == tmp_path / ".wooxy-bulk" / "spring-sale.journal.sqlite"


def test_relative_paths_resolve_against_the_campaign_folder(tmp_path: Path) -> None:
    """Template, suppress and results paths are relative to the campaign file, not the cwd."""
    data = patched(
        message={"template": "../templates/t.j2"},
        suppress=["optout.csv"],
        results="out/r.csv",
        sheet=0,
    )
    (tmp_path / "campaigns").mkdir()
    campaign = load_campaign(write(tmp_path / "campaigns", data))
    assert campaign.message.template == tmp_path / "campaigns" / "../templates/t.j2"
    assert campaign.suppress == [tmp_path / "campaigns" / "optout.csv"]
    assert campaign.results_path == tmp_path / "campaigns" / "out" / "r.csv"
    assert campaign.sheet == 0


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"domian": "x"}, "unknown key 'domian'; did you mean 'domain'?"),
        ({"api": {"concurency": 3}}, "unknown key 'api.concurency'; did you mean 'concurrency'?"),
        ({"name": None}, "missing required key 'name'"),
        ({"domain": None}, "missing required key 'domain'"),
        ({"domain": "  "}, "key 'domain': must be a non-empty string"),
        (
            {"api": {"concurrency": 11}},
            "key 'api.concurrency': must be at most 10: the API refuses more than 10 concurrent",
        ),
        ({"api": {"concurrency": 0}}, "key 'api.concurrency': Input should be greater than"),
        ({"api": {"max_attempts": 11}}, "key 'api.max_attempts': Input should be less than"),
        (
            {"from_name": "ShopName2024!"},
            "key 'from_name': 'ShopName2024!' must be at most 11 of A-Z, a-z, 0-9 and spaces",
        ),
        ({"from_name": "TwelveChars1"}, "must be at most 11 of A-Z, a-z, 0-9 and spaces"),
        ({"tags": "spring"}, "key 'tags': Input should be a valid list"),
        ({"tags": [""]}, "key 'tags': a tag must be a non-empty string"),
        ({"tags": ["x" * 51]}, "is longer than 50 characters"),
        ({"tags": ["_internal"]}, "key 'tags': tag '_internal' starts with '_'"),
        (
            {"message": {"text": "a", "template": "b.j2"}},
            "key 'message': give exactly one of 'template' (a file) or 'text'",
        ),
        ({"message": {}}, "key 'message': give exactly one of 'template' (a file) or 'text'"),
        ({"default_region": "UK"}, "key 'default_region': 'UK' is not an ISO 3166 alpha-2"),
        ({"sheet": -1}, "key 'sheet': give a sheet name or a 0-based sheet index"),
        ({"max_segments": 0}, "key 'max_segments': Input should be greater than or equal to 1"),
        ({"results": "out.txt"}, "key 'results': the results file must end in .xlsx or .csv"),
        ({"name": "spring sale/2"}, "key 'name': use letters, digits"),
        ({"api": {"url": "ftp://x"}}, "key 'api.url': 'ftp://x' is not an http(s) URL"),
    ],
)
def test_each_mistake_names_the_key(tmp_path: Path, changes: dict, expected: str) -> None:
    """Each schema mistake is one InputError line: file, key, what is wrong."""
    path = write(tmp_path, patched(**changes))
    with pytest.raises(InputError) as caught:
        load_campaign(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") or message.startswith("campaign.yaml: ")
    assert expected in message


def test_several_mistakes_are_all_reported(tmp_path: Path) -> None:
    """Every mistake gets its own line, so one run shows them all."""
    path = write(tmp_path, patched(domian="x", tags=["_a"]))
    with pytest.raises(InputError) as caught:
        load_campaign(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert any("unknown key 'domian'" in line for line in lines)
    assert any("starts with '_'" in line for line in lines)


@pytest.mark.parametrize(
    "from_name", ["ShopName", "Shop Name 1", "A", "+447911123456", "+1 415 555 2671"]
)
def test_valid_from_names(tmp_path: Path, from_name: str) -> None:
    """A from name of at most 11 letters, digits and spaces, or a valid number, is accepted."""
    assert load_campaign(write(tmp_path, patched(from_name=from_name))).from_name == from_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", "line 2: not valid YAML"),
        ("- a\n- b\n", "a campaign file is a YAML mapping"),
        ("", "a campaign file is a YAML mapping"),
    ],
)
def test_yaml_that_is_not_a_campaign(tmp_path: Path, text: str, expected: str) -> None:
    """Broken YAML names its line; a file that is no mapping says what a campaign file is."""
    with pytest.raises(InputError, match=expected):
        load_campaign(write(tmp_path, text))


def test_missing_campaign_file(tmp_path: Path) -> None:
    """A campaign file that does not exist is named."""
    with pytest.raises(InputError, match=r"nope\.yaml: no such campaign file"):
        load_campaign(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("line", "attribute", "expected"),
    [
        ("default_region: NO", "default_region", "NO"),
        ("default_region: no", "default_region", "NO"),
        ("from_name: +447911123456", "from_name", "+447911123456"),
        ("from_name: 0800", "from_name", "0800"),
        ("from_name: 12345", "from_name", "12345"),
        ("tags: [2024, yes, 10:30]", "tags", ["2024", "yes", "10:30"]),
        ("sheet: 0", "sheet", 0),
        ('sheet: "0"', "sheet", "0"),
        ("sheet: 2024", "sheet", 2024),
        ("sheet: Off", "sheet", "Off"),
        ("api: {concurrency: '4'}", "api.concurrency", 4),
        ("api: {timeout_s: 2.5}", "api.timeout_s", 2.5),
        ("api: {timeout_s: 1e1}", "api.timeout_s", 10.0),
    ],
)
def test_values_are_read_as_written(
    tmp_path: Path, line: str, attribute: str, expected: object
) -> None:
    """A plain value is text unless it can only be a whole number, true/false or null."""
    key = line.split(":")[0]
    text = yaml.safe_dump({k: v for k, v in BASE.items() if k != key}) + line + "\n"
    campaign: object = load_campaign(write(tmp_path, text))
    for part in attribute.split("."):
        campaign = getattr(campaign, part)
    assert campaign == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"tags": ["ok-tag_1.x", "Весна"]}, []),
        (
            {"tags": ["spring sale"]},
            [
                "tag 'spring sale' does not follow Wooxy's tag rules (2 to 30 letters, digits,"
                " '.', '-' or '_'): Wooxy's analytics will ignore it"
            ],
        ),
        ({"tags": ["x"]}, ["tag 'x' does not follow Wooxy's tag rules"]),
        ({"tags": ["y" * 31]}, [f"tag '{'y' * 31}' does not follow"]),
        (
            {"from_name": "12345"},
            [
                "from_name '12345' is all digits but not a valid phone number: recipients may"
                " see another sender; write it as +<country code><number>, or use letters"
            ],
        ),
        ({"from_name": "+447911123456"}, []),  # a valid number
        ({"from_name": "Shop 24"}, []),
    ],
)
def test_warnings_for_tags_analytics_ignore_and_all_digit_from_names(
    tmp_path: Path, changes: dict, expected: list[str]
) -> None:
    """Accepted by the API but likely a mistake: a warning each, with its exact text."""
    from wooxy_bulk.campaign import campaign_warnings

    found = campaign_warnings(load_campaign(write(tmp_path, patched(**changes))))
    assert len(found) == len(expected)
    for warning, start in zip(found, expected, strict=True):
        assert warning.startswith(start)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"characters": "smart"}, "key 'characters': Input should be 'keep' or 'replace'"),
        ({"prices": {"XX": 0.1}}, "key 'prices': 'XX' is neither 'default' nor an ISO country"),
        ({"prices": {"GB": -1}}, "key 'prices': the price for GB is negative"),
    ],
)
def test_character_and_price_mistakes(tmp_path: Path, changes: dict, expected: str) -> None:
    """`characters` is keep or replace; `prices` keys are countries or default, values ≥ 0."""
    with pytest.raises(InputError, match=expected.replace("(", r"\(")):
        load_campaign(write(tmp_path, patched(**changes)))


def test_send_window_keys_and_their_defaults(tmp_path: Path) -> None:
    """send_window reads hours, days (any case, full names too) and holidays; rules default on."""
    window = {"hours": "09:00-20:00", "days": ["Mon", "tuesday"], "timezone_column": "tz"}
    campaign = load_campaign(write(tmp_path, patched(send_window=window)))
    assert campaign.country_rules is True
    spec = campaign.send_window
    assert spec is not None
    assert (spec.minutes, spec.days, spec.public_holidays) == ((540, 1200), ["mon", "tue"], "skip")
    assert load_campaign(write(tmp_path, BASE)).send_window is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"send_window": {"hours": "9-17"}},
            "key 'send_window.hours': '9-17': write them as HH:MM-HH:MM, e.g. '09:00-20:00'",
        ),
        (
            {"send_window": {"hours": "21:00-08:00"}},
            "key 'send_window.hours': '21:00-08:00' must start before it ends",
        ),
        (
            {"send_window": {"days": ["mon", "funday"]}},
            "key 'send_window.days': 'funday' is not a day; use mon, tue, wed, thu, fri, sat, sun",
        ),
        ({"send_window": {"days": []}}, "key 'send_window.days': give at least one day"),
        (
            {"send_window": {"public_holidays": "maybe"}},
            "key 'send_window.public_holidays': Input should be 'skip' or 'send'",
        ),
        (
            {"send_window": {"hour": "09:00-20:00"}},
            "unknown key 'send_window.hour'; did you mean 'hours'?",
        ),
        ({"country_rules": "yes"}, "key 'country_rules': Input should be a valid boolean"),
    ],
)
def test_send_window_mistakes(tmp_path: Path, changes: dict[str, object], expected: str) -> None:
    """Each mistake in send_window or country_rules names its key and what to write."""
    with pytest.raises(InputError) as caught:
        load_campaign(write(tmp_path, patched(**changes)))
    assert f"campaign.yaml: {expected}" in str(caught.value)
