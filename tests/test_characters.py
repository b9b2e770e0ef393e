"""The GSM-7 alphabet and segment counts, the characters that force UCS-2, their look-alikes."""

from __future__ import annotations

import unicodedata

import pytest

from wooxy_bulk.plan.characters import (
    GSM_CHARACTERS,
    KEPT_ON_PURPOSE,
    REPLACEMENTS,
    CharacterTally,
    count_segments,
    culprits,
    replace_typographic,
    ucs2_note,
)

EMOJI = "\U0001f600"  # 😀, two UTF-16 units
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# GOV.UK Notify's SMS replacements (notifications_utils/sanitise_text.py, SanitiseSMS).
NOTIFY = {
    "\u2011": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u201a": "'", "\u201e": '"',
    "\u180e": "", "\u200b": "", "\u200c": "", "\u2060": "", "\ufeff": "", "\u2028": "",
    "\u2029": "", "\u00a0": " ", "\u202f": " ", "\t": " ",
}  # fmt: skip

# Twilio's published smart-encoding list (docs: messaging/services/smart-encoding-char-list).
TWILIO = {
    **dict.fromkeys("«»“”ʺˮ‟❝❞〝〞＂", '"'),
    **dict.fromkeys("‘’ʻˈʼʽʹ‛＇´ˊ`ˋ❛❜\u0313\u0314︐︑", "'"),
    "÷": "/", "¼": "1/4", "½": "1/2", "¾": "3/4",
    **dict.fromkeys("⧸\u0337\u0338⁄∕／", "/"),
    **dict.fromkeys("⧹⧵\u20e5﹨＼", "\\"),
    **dict.fromkeys("\u0332＿‗", "_"),
    **dict.fromkeys("\u20d2\u20d3∣｜⎸⎹⏐⎜⎟", "|"),
    **dict.fromkeys("⎼⎽―﹣－‐•⁃—–", "-"),
    **dict.fromkeys("﹫＠", "@"), **dict.fromkeys("﹩＄", "$"), **dict.fromkeys("ǃ︕﹗！", "!"),
    **dict.fromkeys("﹟＃", "#"), **dict.fromkeys("﹪％", "%"), **dict.fromkeys("﹠＆", "&"),
    **dict.fromkeys("‚\u0326﹐、﹑，､", ","), **dict.fromkeys("❨❪﹙（⟮⦅", "("),
    **dict.fromkeys("❩❫﹚）⟯⦆", ")"), **dict.fromkeys("⁎∗⊛✢✣✤✥✱✲✳✺✻✼✽❃❉❊❋⧆﹡＊", "*"),
    **dict.fromkeys("˖﹢＋", "+"), **dict.fromkeys("。﹒．｡", "."),
    **{chr(0xFF10 + d): str(d) for d in range(10)},
    **dict.fromkeys("ː˸⦂꞉︓：", ":"), **dict.fromkeys("⁏︔﹔；", ";"),
    **dict.fromkeys("﹤＜", "<"), **dict.fromkeys("\u0347꞊﹦＝", "="), **dict.fromkeys("﹥＞", ">"),
    **dict.fromkeys("︖﹖？", "?"),
    **{chr(0xFF21 + i): chr(65 + i) for i in range(26)},
    **dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "ABCDEFGHIJKLMNOPRSTUVWYZ", strict=True)),
    **dict.fromkeys("ˆ\u0302＾\u1dcd", "^"), **dict.fromkeys("❴﹛｛", "{"),
    **dict.fromkeys("❵﹜｝", "}"), "［": "[", "］": "]",
    **dict.fromkeys("˜˷\u0303\u0330\u0334∼～", "~"),
    **dict.fromkeys("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                    "\u202f\u205f\u3000", " "),
    **dict.fromkeys("\u200b\ufeff\u2060", ""),
    "‹": ">", "›": "<", "‼": "!!", "„": '"', "…": "...",
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (0, False)),
        ("a" * 160, (1, False)),
        ("a" * 161, (2, False)),
        ("a" * 306, (2, False)),
        ("a" * 307, (3, False)),
        ("a" * 159 + "€", (2, False)),  # 161 septets
        ("a" * 158 + "€", (1, False)),  # 160 septets
        ("€" * 80, (1, False)),
        ("€" * 81, (2, False)),
        ("a" * 152 + "€" + "a" * 152, (3, False)),  # 306 septets, but € may not straddle parts
        ("a" * 151 + "€" + "a" * 153, (2, False)),  # 306 septets, € ends part 1 exactly
        ("é" * 160, (1, False)),
        ("á", (1, True)),
        ("á" * 70, (1, True)),
        ("á" * 71, (2, True)),
        ("á" * 134, (2, True)),
        ("á" * 135, (3, True)),
        ("a" * 159 + "á", (3, True)),  # one non-GSM character turns the whole text into UCS-2
        (EMOJI * 35, (1, True)),
        (EMOJI * 36, (2, True)),
        ("á" * 66 + EMOJI + "á" * 66, (3, True)),  # 134 units, but the pair may not straddle
        ("á" * 65 + EMOJI + "á" * 67, (2, True)),  # 134 units, the pair ends part 1 exactly
        (GSM_BASIC, (1, False)),  # 127 characters of the basic table, one septet each
        ("`", (1, True)),  # backtick is not in GSM 03.38
        ("ç", (1, True)),  # only capital Ç is
        ("\t", (1, True)),
        ("Α", (1, True)),  # Greek capital alpha, not Latin A
    ],
)
def test_count_segments(text: str, expected: tuple[int, bool]) -> None:
    """Parts and encoding follow GSM 03.38 / UCS-2 rules, wide characters never split."""
    assert count_segments(text) == expected


@pytest.mark.parametrize("char", list("\f^{}\\[~]|€"))
def test_extension_characters_count_two_septets(char: str) -> None:
    """Every extension-table character is GSM-7 and takes two septets."""
    assert count_segments("x" * 158 + char) == (1, False)
    assert count_segments("x" * 159 + char) == (2, False)


def test_basic_table_is_complete() -> None:
    """The basic table holds 127 distinct characters (plus ESC), none of them UCS-2."""
    assert len(set(GSM_BASIC)) == 127
    assert all(count_segments(ch) == (1, False) for ch in GSM_BASIC)


@pytest.mark.parametrize(("char", "theirs"), sorted(NOTIFY.items()))
def test_every_notify_replacement_is_made_as_notify_makes_it(char: str, theirs: str) -> None:
    """Each of GOV.UK Notify's replacements is ours too, to the same text."""
    assert replace_typographic(char) == theirs


@pytest.mark.parametrize(("char", "theirs"), sorted(TWILIO.items()))
def test_every_twilio_character_is_replaced_as_twilio_does_or_kept_on_purpose(
    char: str, theirs: str
) -> None:
    """Each character of Twilio's list: replaced as Twilio (or Notify) does, or kept for a stated
    reason."""
    ours = replace_typographic(char)
    if ours == char:
        assert char in KEPT_ON_PURPOSE, f"U+{ord(char):04X} neither replaced nor kept on purpose"
    else:
        assert ours in (theirs, NOTIFY.get(char))


def test_every_replacement_is_gsm_7_and_never_changes_a_letter() -> None:
    """Each replacement is GSM-7 text, and no letter is replaced except by its fullwidth form."""
    for char, replacement in REPLACEMENTS.items():
        assert set(replacement) <= GSM_CHARACTERS, f"U+{ord(char):04X}"
        if unicodedata.category(char).startswith("L"):
            assert unicodedata.normalize("NFKC", char) == replacement


def test_letters_of_every_language_stay_as_written() -> None:
    """Letters that force UCS-2 (ç ł ş ı ğ ő ʼ ʻ, Greek, Cyrillic) are never replaced."""
    text = "Ça va, Łukasz? Şişli ığ ő Ukrainianʼs ʻOkina αβγ Привет"
    assert replace_typographic(text) == text


@pytest.mark.parametrize(
    ("text", "before", "after"),
    [
        ("It’s here", (1, True), (1, False)),
        ("x" * 150 + "’", (3, True), (1, False)),  # 151 UCS-2 units: 3 parts of 67
        ("“Quote” — dash… ok", (1, True), (1, False)),
        ("a\u00a0b\u200bc", (1, True), (1, False)),
        ("x" * 158 + "…", (3, True), (2, False)),  # the ellipsis becomes 3 GSM characters
        ("Łódź’s sale", (1, True), (1, True)),  # a letter keeps it UCS-2
        ("ＳＡＬＥ！", (1, True), (1, False)),
    ],
)
def test_segments_before_and_after_replacement(
    text: str, before: tuple[int, bool], after: tuple[int, bool]
) -> None:
    """Known vectors: segment counts and encoding before and after the replacement."""
    assert count_segments(text) == before
    assert count_segments(replace_typographic(text)) == after


def test_the_note_names_each_culprit_with_its_code_point_and_count() -> None:
    """A UCS-2 row's note: the characters that forced it, most frequent first."""
    assert ucs2_note(culprits("It’s Łukasz’s day\u00a0!")) == (
        "UCS-2 because of ’ U+2019 ×2, Ł U+0141 ×1, U+00A0 (no-break space) ×1"
    )


def test_the_summary_says_where_characters_come_from_and_what_they_cost() -> None:
    """The dry run's sums: each character, its source (template or column), rows, extra parts."""
    from wooxy_bulk.plan.rows import PlanRow, Status

    tally = CharacterTally("Hi {{ name }}, it’s on!", ("phone", "name"), replace=False)
    rows = []
    for i, name in enumerate(["Ann", "Łukasz", "Bob"]):
        text, segments, ucs2, note = tally.settle(i + 2, f"Hi {name}, it’s on!")
        rows.append(
            PlanRow(i + 2, ("+447400100000", name), Status.READY, text=text, segments=segments,
                    ucs2=ucs2, note=note)
        )  # fmt: skip
    lines = tally.summary(rows)
    assert lines[0] == "UCS-2: 3 messages, 0 segments more than in GSM-7, because of:"
    assert "  ’ U+2019 in 3 rows (from the template)" in lines
    assert "  Ł U+0141 in 1 rows (from column 'name')" in lines
    assert not any("would save" in line for line in lines)  # ’ costs no part here
    assert tally.template_warning().startswith(
        "the template holds characters GSM-7 cannot carry (’ U+2019): its texts are UCS-2"
    )


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        (False, "characters: replace would save 2 segments in 2 messages"),
        (True, "characters: replace saved 2 segments in 2 messages"),
    ],
)
def test_what_the_replacement_saves_is_counted(replace: bool, expected: str) -> None:
    """A long text with one ’ costs 2 UCS-2 parts; the replacement saves one a message."""
    from wooxy_bulk.plan.rows import PlanRow, Status

    tally = CharacterTally("{{ text }}", ("phone", "text"), replace=replace)
    rows = []
    for i in range(2):
        text = "x" * 100 + "’"
        sent, segments, ucs2, _ = tally.settle(i + 2, text)
        rows.append(
            PlanRow(i + 2, ("", text), Status.READY, text=sent, segments=segments, ucs2=ucs2)
        )
    lines = tally.summary(rows)
    assert lines[-1] == expected
    if replace:
        assert all(r.text == "x" * 100 + "'" and r.segments == 1 for r in rows)
    else:
        assert lines[0] == "UCS-2: 2 messages, 2 segments more than in GSM-7, because of:"
