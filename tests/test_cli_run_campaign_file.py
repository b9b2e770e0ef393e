"""`wooxy-bulk run`: campaign-file traps (values as written, keys twice, encodings, paths)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import cli_env, run_cli

from wooxy_bulk.sandbox import SandboxConfig, running_sandbox

CONTACTS = "phone,first_name\n41234567,Kari\n92345678,Ola\n"


def campaign_text(*lines: str) -> str:
    """A campaign file written by hand, as a user types it (no YAML quoting added)."""
    base = [
        "name: traps",
        "contacts: contacts.csv",
        "message:",
        '  text: "Hei {{ first_name }}"',
        "domain: shop.example.com",
        "results: results.csv",
    ]
    return "\n".join([*base, *lines]) + "\n"


def write(folder: Path, text: str | bytes) -> Path:
    (folder / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    path = folder / "campaign.yaml"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def test_no_is_norway_and_an_unquoted_plus_number_is_a_sender_number(tmp_path: Path) -> None:
    """`default_region: NO` is Norway and `from_name: +447911123456` is sent as written."""
    campaign = write(tmp_path, campaign_text("default_region: NO", "from_name: +447911123456"))
    with running_sandbox(SandboxConfig(tokens=("sandbox",))) as box:
        done = run_cli(
            "run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=cli_env(box.url)
        )
        sent = [(m["phoneNumber"], m["fromName"]) for m in box.state.messages]
    assert done.returncode == 0, done.stderr
    assert sorted(sent) == [("+4741234567", "+447911123456"), ("+4792345678", "+447911123456")]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["api:", "  concurrency: yes"],
            "campaign.yaml: key 'api.concurrency': 'yes' is not a whole number",
        ),
        (
            ["api:", "  concurrency: true"],
            "campaign.yaml: key 'api.concurrency': true is not a value for this key",
        ),
        (
            ["domain: other.example.com"],
            "campaign.yaml: key 'domain' is given twice (lines 5 and 8); keep one",
        ),
        (
            ["api:", "  timeout_s: 5", "  timeout_s: 9"],
            "campaign.yaml: key 'timeout_s' is given twice (lines 9 and 10); keep one",
        ),
        (
            ['suppress: ["C:\\Users\\me\\optout.csv"]'],
            "campaign.yaml: line 8: not valid YAML: expected escape sequence of 8 hexadecimal"
            " numbers, but found 's'; in double quotes a backslash starts an escape: write a"
            " Windows path in single quotes",
        ),
        (
            ['suppress: ["C:\\new\\file.csv"]'],
            "key 'suppress': 'C:\\new\\x0cile.csv' holds a control character; in double quotes a"
            " backslash starts an escape: write a Windows path in single quotes ('C:\\Users\\me"
            "\\contacts.csv') or with forward slashes (C:/Users/me/contacts.csv)",
        ),
        (["default_regoin: NO"], "unknown key 'default_regoin'; did you mean 'default_region'?"),
    ],
)
def test_campaign_file_traps_exit_2_naming_the_key(
    tmp_path: Path, lines: list[str], expected: str
) -> None:
    """Each trap: exit 2, one message naming the key or line and what to do, nothing written."""
    campaign = write(tmp_path, campaign_text("default_region: NO", *lines))
    done = run_cli("run", campaign, "--dry-run", env=cli_env(key=None))
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "results.csv").exists()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be"])
def test_utf8_bom_and_utf16_campaign_and_template_are_read(tmp_path: Path, encoding: str) -> None:
    """A campaign file and a template saved as UTF-8 with a BOM or UTF-16 with a BOM work."""
    text = campaign_text("default_region: NO").replace(
        '  text: "Hei {{ first_name }}"', "  template: message.txt.j2"
    )
    bom = b"\xfe\xff" if encoding == "utf-16-be" else b""  # utf-16-be adds none of its own
    campaign = write(tmp_path, bom + ("# Kampanje for våren\n" + text).encode(encoding))
    template = bom + "Hei {{ first_name }}, 20 € rabatt".encode(encoding)
    (tmp_path / "message.txt.j2").write_bytes(template)
    done = run_cli("run", campaign, "--dry-run", env=cli_env(key=None))
    assert done.returncode == 0, done.stderr
    assert "Hei Kari, 20 € rabatt" in (tmp_path / "results.csv").read_text(encoding="utf-8-sig")


@pytest.mark.parametrize(
    ("file", "data", "expected"),
    [
        (
            "campaign.yaml",
            campaign_text("default_region: NO", "from_name: Café").encode("cp1252"),
            "campaign.yaml: line 8: the campaign file is not UTF-8 (byte 0xe9 is not UTF-8"
            " text); save it as UTF-8",
        ),
        (
            "message.txt.j2",
            "Hei {{ first_name }}, 20 € rabatt".encode("cp1252"),
            "message.txt.j2: line 1: the template is not UTF-8 (byte 0x80 is not UTF-8 text);"
            " save it as UTF-8",
        ),
        (
            "message.txt.j2",
            "Hei {{ first_name }}".encode("utf-16-le"),
            "message.txt.j2: the template looks like UTF-16 without a byte-order mark; save it as"
            " UTF-8",
        ),
    ],
)
def test_other_encodings_are_refused_with_advice(
    tmp_path: Path, file: str, data: bytes, expected: str
) -> None:
    """A Windows-1252 or BOM-less UTF-16 file: exit 2, 'save it as UTF-8', no codec error."""
    text = campaign_text("default_region: NO").replace(
        '  text: "Hei {{ first_name }}"', "  template: message.txt.j2"
    )
    write(tmp_path, text)
    (tmp_path / "message.txt.j2").write_text("Hei {{ first_name }}", encoding="utf-8")
    (tmp_path / file).write_bytes(data)
    done = run_cli("run", tmp_path / "campaign.yaml", "--dry-run", env=cli_env(key=None))
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "codec" not in done.stderr and "Traceback" not in done.stderr
