"""`wooxy-bulk new`: a campaign and a template guessed from a sheet, which pass a dry run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from conftest import cli_env, numbers, start_cli


def new(folder: Path, *args: str | Path) -> subprocess.CompletedProcess:
    proc = start_cli("new", *args, env=cli_env(key=None), cwd=folder)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def dry_run(folder: Path, campaign: str) -> subprocess.CompletedProcess:
    proc = start_cli("run", campaign, "--dry-run", env=cli_env(key=None), cwd=folder)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_the_phone_column_is_the_one_with_valid_numbers_not_the_one_named_phone(
    tmp_path: Path,
) -> None:
    """A 'phone' column of office extensions loses to 'Mobile', which holds the valid numbers."""
    lines = ["Customer ID,First Name,phone,Mobile"]
    lines += [f"{1000 + i},Ann{i},x{200 + i},{n}" for i, n in enumerate(numbers(8))]
    (tmp_path / "crm export.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = new(tmp_path, "crm export.csv")
    assert done.returncode == 0, done.stderr
    assert "phone column: 'Mobile' (8 of 8 rows are valid numbers)" in done.stdout
    assert "default region: GB (8 of the numbers written with a country code)" in done.stdout
    assert "wooxy-bulk run crm-export.yaml --dry-run" in done.stdout
    campaign = yaml.safe_load((tmp_path / "crm-export.yaml").read_text())
    assert campaign["phone_column"] == "Mobile"
    assert campaign["contacts"] == "crm export.csv"
    assert campaign["default_region"] == "GB"
    template = (tmp_path / "crm-export.txt.j2").read_text()
    assert '{{ first_name | default("there") }}' in template
    assert "customer_id, first_name, phone, mobile" in template.casefold()
    checked = dry_run(tmp_path, "crm-export.yaml")
    assert checked.returncode == 0, checked.stderr
    assert "Ready to send:   8" in checked.stdout


def test_mixed_regions_take_the_most_common_and_a_country_column_is_found(
    tmp_path: Path,
) -> None:
    """National numbers get the region most numbers with a country code have; 'country' is used."""
    rows = [
        "name,tel,country",
        "A,+447400100001,GB",
        "B,+447400100002,GB",
        "C,+33612345678,FR",
        "D,07400100004,GB",
        "E,0612345679,FR",
    ]
    (tmp_path / "mixed.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    done = new(tmp_path, "mixed.csv", "--name", "spring")
    assert done.returncode == 0, done.stderr
    assert "default region: GB (2 of the numbers written with a country code; also FR 1)" in (
        done.stdout
    )
    assert "country column: 'country'" in done.stdout
    campaign = yaml.safe_load((tmp_path / "spring.yaml").read_text())
    assert campaign["country_column"] == "country"
    assert campaign["phone_column"] == "tel"
    checked = dry_run(tmp_path, "spring.yaml")
    assert checked.returncode == 0, checked.stderr
    assert "Ready to send:   5" in checked.stdout


def test_national_numbers_only_need_a_region(tmp_path: Path) -> None:
    """Without a country code anywhere and no terminal to ask, it names the option to give."""
    lines = ["phone"] + [n.replace("+44", "0") for n in numbers(3)]
    (tmp_path / "uk.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = new(tmp_path, "uk.csv")
    assert done.returncode == 2
    assert "give it with --region, e.g. --region GB" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.glob("*.yaml"))
    done = new(tmp_path, "uk.csv", "--region", "gb")
    assert done.returncode == 0, done.stderr
    assert "default region: GB (from --region)" in done.stdout
    assert dry_run(tmp_path, "uk.yaml").returncode == 0


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    """If NAME.yaml or NAME.txt.j2 exists, nothing is written and the message says what to do."""
    (tmp_path / "list.csv").write_text("phone\n+447400100001\n", encoding="utf-8")
    (tmp_path / "list.txt.j2").write_text("mine\n", encoding="utf-8")
    done = new(tmp_path, "list.csv")
    assert done.returncode == 2
    assert "list.txt.j2: exists already; give another --name" in done.stderr
    assert (tmp_path / "list.txt.j2").read_text() == "mine\n"
    assert not (tmp_path / "list.yaml").exists()


def test_a_sheet_without_numbers_is_refused_with_its_columns(tmp_path: Path) -> None:
    """No column with valid numbers: exit 2 naming the columns found."""
    (tmp_path / "names.csv").write_text("name,city\nAnn,Leeds\n", encoding="utf-8")
    done = new(tmp_path, "names.csv", "--region", "GB")
    assert done.returncode == 2
    assert "no column holds valid phone numbers for GB (columns: name, city)" in done.stderr


def test_the_sample_workbook_makes_a_campaign_that_rehearses(tmp_path: Path) -> None:
    """The sample sheet: its visible sheet, GB (not a crown dependency), a dry run that passes."""
    import shutil

    shutil.copy(Path(__file__).parent.parent / "sample_data" / "contacts.xlsx", tmp_path)
    done = new(tmp_path, "contacts.xlsx")
    assert done.returncode == 0, done.stderr
    assert "default region: GB (" in done.stdout
    assert "sheet: 'Contacts' (the first visible sheet with data)" in done.stdout
    campaign = yaml.safe_load((tmp_path / "contacts.yaml").read_text())
    assert (campaign["sheet"], campaign["phone_column"]) == ("Contacts", "phone")
    checked = dry_run(tmp_path, "contacts.yaml")
    assert checked.returncode == 0, checked.stderr


def test_a_hidden_first_sheet_is_skipped_and_mobile_is_the_phone_column(tmp_path: Path) -> None:
    """A workbook whose first sheet is hidden: `new` reads the visible one, as `run` does."""
    import openpyxl

    book = openpyxl.Workbook()
    old = book.active
    old.title = "Old list 2022"
    old.append(["phone"])
    old.append(["+33612345678"])
    old.sheet_state = "hidden"
    sheet = book.create_sheet("Contacts")
    sheet.append(["Name", "Mobile"])
    for i, number in enumerate(numbers(4)):
        sheet.append([f"Ann{i}", number])
    book.save(tmp_path / "team.xlsx")
    done = new(tmp_path, "team.xlsx")
    assert done.returncode == 0, done.stderr
    assert "sheet: 'Contacts'" in done.stdout and "phone column: 'Mobile'" in done.stdout
    campaign = yaml.safe_load((tmp_path / "team.yaml").read_text())
    assert (campaign["sheet"], campaign["phone_column"]) == ("Contacts", "Mobile")
    assert '{{ Name | default("there") }}' in (tmp_path / "team.txt.j2").read_text()
    assert dry_run(tmp_path, "team.yaml").returncode == 0
