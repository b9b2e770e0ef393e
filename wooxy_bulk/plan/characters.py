"""Which characters a text may hold: the GSM-7 alphabet, the SMS parts a text needs, the
characters that make it UCS-2, and the GSM-7 look-alikes that may replace them.

``count_segments``: GSM-7 (an extension-table character counts 2) gives 160 characters in one
part and 153 per part beyond; anything else is UCS-2, 70 UTF-16 units in one part and 67 per part
beyond. An extension character or a surrogate pair is never split across two parts.

One curly apostrophe pasted from Word turns a 1-part GSM-7 message into a 2-part UCS-2 one. This
module names such characters (``culprits``) and, with ``characters: replace``, swaps the
typographic ones for GSM-7 look-alikes (``replace_typographic``). The map is conservative: it
only replaces punctuation, spaces and fullwidth ASCII whose look-alike means the same; it never
changes a letter (ç, ł, ş, ʼ and ʻ stay), so a text in any language reads as written.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Protocol

# GSM 03.38 default alphabet (ESC excluded), row by row of the 16x8 table.
_GSM_BASIC = (
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7"  # @£$¥èéùìòÇ
    "\n\u00d8\u00f8\r\u00c5\u00e5"  # Øø Åå
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e"  # Δ_ΦΓΛΩΠΨΣΘΞ
    "\u00c6\u00e6\u00df\u00c9"  # ÆæßÉ
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"  # ¤
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"  # ¡ ÄÖÑÜ§
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"  # ¿ äöñüà
)
_GSM_EXTENSION = "\f^{}\\[~]|\u20ac"  # each is ESC + a character: 2 septets (€ is \u20ac)
_DROP_BASIC = str.maketrans(dict.fromkeys(_GSM_BASIC))
_EXTENSION_SET = frozenset(_GSM_EXTENSION)
GSM_CHARACTERS = frozenset(_GSM_BASIC + _GSM_EXTENSION)  # what a GSM-7 text may hold


def _pack(text: str, wide: Callable[[str], bool], size: int) -> int:
    """Parts of ``size`` units, a 2-unit character never split across two parts."""
    parts, used = 1, 0
    for ch in text:
        cost = 2 if wide(ch) else 1
        if used + cost > size:
            parts, used = parts + 1, cost
        else:
            used += cost
    return parts


def count_segments(text: str) -> tuple[int, bool]:
    """(number of SMS parts, True if the text needs UCS-2); empty text is 0 parts."""
    if not text:
        return 0, False
    rest = text.translate(_DROP_BASIC)  # what is not in the GSM basic set
    if not rest or _EXTENSION_SET.issuperset(rest):
        septets = len(text) + len(rest)
        if septets <= 160:
            return 1, False
        if not rest:
            return -(-septets // 153), False
        return _pack(text, _EXTENSION_SET.__contains__, 153), False
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    if units <= 70:
        return 1, True
    if units == len(text):
        return -(-units // 67), True
    return _pack(text, lambda ch: ch > "\uffff", 67), True


# Each entry: the character → its GSM-7 look-alike. Checked in tests against GOV.UK Notify's
# replacement list and Twilio's smart-encoding list; where we differ, the README says why.
_QUOTES = {
    "\u2018": "'",  # ‘ left single quotation mark
    "\u2019": "'",  # ’ right single quotation mark (the apostrophe Word types)
    "\u201a": "'",  # ‚ single low-9 quotation mark
    "\u201b": "'",  # ‛ single high-reversed-9 quotation mark
    "\u2032": "'",  # ′ prime (typed for feet, minutes and apostrophes)
    "\u00b4": "'",  # ´ acute accent standing alone
    "`": "'",  # grave accent: not in GSM-7
    "\u201c": '"',  # “ left double quotation mark
    "\u201d": '"',  # ” right double quotation mark
    "\u201e": '"',  # „ double low-9 quotation mark
    "\u201f": '"',  # ‟ double high-reversed-9 quotation mark
    "\u2033": '"',  # ″ double prime
    "\u00ab": '"',  # « left-pointing double angle quotation mark
    "\u00bb": '"',  # » right-pointing double angle quotation mark
}
_DASHES = {
    "\u2010": "-",  # ‐ hyphen
    "\u2011": "-",  # ‑ non-breaking hyphen
    "\u2012": "-",  # ‒ figure dash
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2015": "-",  # ― horizontal bar
    "\u2212": "-",  # − minus sign
    "\u00ad": "",  # soft hyphen: invisible unless a line breaks there
}
_OTHER = {
    "\u2026": "...",  # … horizontal ellipsis
    "\t": " ",  # tab (as GOV.UK Notify)
}
_SPACES = dict.fromkeys(
    "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000",
    " ",  # no-break, en, em, thin, hair, figure, narrow no-break, ideographic… spaces: one space
)
_INVISIBLE = dict.fromkeys(
    # zero width space and non-joiner, word joiner, BOM, Mongolian vowel separator, line and
    # paragraph separators (as GOV.UK Notify). The zero width JOINER stays: it shapes emoji
    # sequences and Indic scripts.
    "\u200b\u200c\u2060\ufeff\u180e\u2028\u2029",
    "",
)
# Fullwidth ASCII (！ to ～, as CJK keyboards type it) → ASCII; the result is then mapped again,
# so ＇ and ｀ end as ' like their ASCII forms.
_FULLWIDTH = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}

REPLACEMENTS: dict[str, str] = {
    **{k: _QUOTES.get(v, v) for k, v in _FULLWIDTH.items()},
    **_QUOTES,
    **_DASHES,
    **_OTHER,
    **_SPACES,
    **_INVISIBLE,
}
_TABLE = str.maketrans(REPLACEMENTS)

# Characters of Twilio's smart-encoding list that we leave as written, and why (README too).
_LETTERS = "ʺˮʻˈʼʽʹˊˋǃ" + "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ"
_COMBINING = "\u0302\u0303\u0313\u0314\u0326\u0330\u0332\u0334\u0337\u0338\u0347\u1dcd"
_COMBINING += "\u20d2\u20d3\u20e5"
_SYMBOLS = "÷¼½¾⧸⁄∕⧹⧵∣⎸⎹⏐⎜⎟⎼⎽•⁃❨❪⟮⦅❩❫⟯⦆⁎∗⊛✢✣✤✥✱✲✳✺✻✼✽❃❉❊❋⧆ː˸⦂꞉⁏꞊∼˜˷ˆ❴❵❛❜❝❞〝〞‗‼"
_SMALL_FORMS = "︐︑﹨﹣﹫﹩︕﹗﹟﹪﹠﹐、﹑､﹙﹚﹡˖﹢。﹒｡︓︔﹔﹤﹦﹥︖﹖﹛﹜"
KEPT_ON_PURPOSE: dict[str, str] = {
    **dict.fromkeys(_LETTERS, "a letter (modifier letters, small capitals, the click ǃ)"),
    **dict.fromkeys(_COMBINING, "a combining mark: it changes the letter before it"),
    **dict.fromkeys(_SYMBOLS, "a symbol with a meaning of its own (math, bullets, ornaments)"),
    **dict.fromkeys(_SMALL_FORMS, "CJK punctuation or small forms: the text is UCS-2 anyway"),
    "‹": "Twilio turns it into '>', the other way round",
    "›": "Twilio turns it into '<', the other way round",
}
_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)


def replace_typographic(text: str) -> str:
    """`text` with every character of REPLACEMENTS replaced by its GSM-7 look-alike."""
    return text.translate(_TABLE)


def culprits(text: str) -> Counter[str]:
    """The characters of `text` that GSM-7 cannot carry, with how often each occurs."""
    return Counter(ch for ch in text if ch not in GSM_CHARACTERS)


def describe(ch: str) -> str:
    """A character as a person can find it: ``’ U+2019``, or a name where it is invisible."""
    point = f"U+{ord(ch):04X}"
    category = unicodedata.category(ch)
    if category[0] in "ZC" or category == "Mn":
        name = unicodedata.name(ch, "").lower() or "control character"
        return f"{point} ({name})"
    return f"{ch} {point}"


def ucs2_note(found: Counter[str]) -> str:
    """The `note` of a UCS-2 row: ``UCS-2 because of ’ U+2019 ×2``."""
    listed = ", ".join(f"{describe(ch)} ×{n}" for ch, n in found.most_common())
    return f"UCS-2 because of {listed}"


def gsm_segments(text: str) -> int:
    """The segments `text` would need if each of its characters were a GSM-7 one."""
    return count_segments("".join("?" if ch not in GSM_CHARACTERS else ch for ch in text))[0]


class CharacterTally:
    """Settles each row's text (replaced or not), and sums over the rows to be sent what UCS-2
    costs: which characters forced it, from the template or from which columns, in how many
    rows, the extra segments over GSM-7, and what ``characters: replace`` saved (or would save).
    """

    def __init__(self, template_source: str, columns: tuple[str, ...], replace: bool) -> None:
        self.template_source, self.columns, self.replace = template_source, columns, replace
        self._saved: dict[int, int] = {}  # row -> segments replace saved (or would save)

    def settle(self, row: int, text: str) -> tuple[str, int, bool, str]:
        """(text as sent, segments, needs UCS-2, note) for the rendered text of `row`."""
        sent = replace_typographic(text).strip() if self.replace else text
        segments, ucs2 = count_segments(sent)
        if self.replace:
            saved = count_segments(text)[0] - segments
        elif ucs2:
            saved = segments - count_segments(replace_typographic(text).strip())[0]
        else:
            saved = 0
        if saved > 0:
            self._saved[row] = saved
        return sent, segments, ucs2, ucs2_note(culprits(sent)) if ucs2 else ""

    def template_warning(self) -> str:
        """A warning when the template's own text holds characters GSM-7 cannot carry."""
        found = culprits(_JINJA.sub("", self.template_source))
        if self.replace:
            found = culprits(replace_typographic("".join(found)))
        if not found:
            return ""
        listed = ", ".join(describe(ch) for ch in found)
        fix = "" if self.replace else "; characters: replace swaps the typographic ones"
        return (
            f"the template holds characters GSM-7 cannot carry ({listed}): its texts are UCS-2{fix}"
        )

    def summary(self, rows: Iterable[PlanRowLike]) -> list[str]:
        """The dry run's lines about the characters of `rows` (those to be sent)."""
        found: Counter[str] = Counter()
        sources: dict[str, set[str]] = {}
        ucs2 = extra = saved_rows = saved = 0
        for row in rows:
            if row.row in self._saved:
                saved_rows, saved = saved_rows + 1, saved + self._saved[row.row]
            if not row.ucs2:
                continue
            ucs2, extra = ucs2 + 1, extra + row.segments - gsm_segments(row.text)
            for ch in culprits(row.text):
                found[ch] += 1
                where = sources.setdefault(ch, set())
                if ch in self.template_source:
                    where.add("the template")
                where.update(
                    f"column '{c}'"
                    for c, cell in zip(self.columns, row.cells, strict=False)
                    if ch in cell
                )
        lines = []
        if ucs2:
            lines.append(
                f"UCS-2: {ucs2} messages, {extra} segments more than in GSM-7, because of:"
            )
            for ch, n in found.most_common(10):
                where = ", ".join(sorted(sources[ch])) or "the text"
                lines.append(f"  {describe(ch)} in {n} rows (from {where})")
        if saved:
            done = "saved" if self.replace else "would save"
            lines.append(f"characters: replace {done} {saved} segments in {saved_rows} messages")
        return lines


class PlanRowLike(Protocol):
    """What the summary reads of a plan row."""

    row: int
    cells: tuple[str, ...]
    text: str
    segments: int
    ucs2: bool
