"""Detection of how a text export is written: encoding, delimiter, decimal and thousands separators, date formats.

Every detection can be overridden by its ingest option. Number and date conventions are decided from every
value of a column (the values are counted in DuckDB, so this stays fast on large files).
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass

from segmentum.errors import IngestError

# How much of a file the encoding and delimiter sniffers look at. The encoding is then checked on every byte
# while the file is read; a failure stops the ingest with a hint to pass --encoding.
SNIFF_BYTES = 1 << 20

ENCODING_ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf8-sig": "utf-8-sig",
    "utf16": "utf-16",
    "utf-16": "utf-16",
    "utf-16le": "utf-16-le",
    "utf-16-le": "utf-16-le",
    "utf-16be": "utf-16-be",
    "utf-16-be": "utf-16-be",
    "cp1251": "cp1251",
    "windows-1251": "cp1251",
    "win1251": "cp1251",
    "cp1252": "cp1252",
    "windows-1252": "cp1252",
    "latin1": "latin-1",
    "latin-1": "latin-1",
    "iso-8859-1": "latin-1",
    "koi8-r": "koi8-r",
    "koi8-u": "koi8-u",
    "cp866": "cp866",
}


def normalize_encoding(name: str) -> str:
    """A Python codec name for a user-given encoding, or an IngestError."""
    key = name.strip().lower().replace("_", "-")
    if key in ENCODING_ALIASES:
        return ENCODING_ALIASES[key]
    try:
        return codecs.lookup(key).name
    except LookupError:
        raise IngestError(
            f"unknown encoding {name!r}; use one of utf-8, utf-8-sig, utf-16, cp1251 (Windows-1251), cp1252, "
            "latin-1, koi8-r"
        ) from None


def detect_encoding(head: bytes) -> str:
    """The encoding of a text file from its first bytes.

    BOMs decide first; then UTF-8 if the bytes decode as UTF-8; otherwise charset-normalizer chooses among
    the single-byte encodings seen in CRM exports, with Windows-1251 preferred for Cyrillic text.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if _utf16_without_bom(head):
        return _utf16_without_bom(head)  # type: ignore[return-value]
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed block is still UTF-8.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    high = sum(1 for b in head if b >= 0xC0)
    if high and high >= sum(1 for b in head if 0x80 <= b < 0xC0):
        # Mostly bytes 0xC0-0xFF: Cyrillic letters in Windows-1251 (Latin-1 accented text has far fewer).
        from charset_normalizer import from_bytes

        best = from_bytes(head, cp_isolation=["cp1251", "cp1252", "koi8_r", "cp866"]).best()
        if best is not None and best.encoding in {"cp1252"} and not _looks_cyrillic(head):
            return "cp1252"
        return "cp1251"
    return "cp1252"


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[:4000]
    if len(sample) < 4:
        return None
    even_zero = sum(1 for b in sample[0::2] if b == 0)
    odd_zero = sum(1 for b in sample[1::2] if b == 0)
    half = len(sample) / 2
    if odd_zero > 0.4 * half and even_zero < 0.05 * half:
        return "utf-16-le"
    if even_zero > 0.4 * half and odd_zero < 0.05 * half:
        return "utf-16-be"
    return None


def _looks_cyrillic(head: bytes) -> bool:
    text = head.decode("cp1251", errors="replace")
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    cyr = sum(1 for c in letters if "\u0400" <= c <= "\u04ff")
    return cyr >= 0.3 * len(letters)


DELIMITERS = [",", ";", "\t", "|"]


def detect_delimiter(text: str, *, suffix: str = "") -> str:
    """The field delimiter of a CSV-like text (its first lines)."""
    if suffix in {".tsv", ".tab"}:
        return "\t"
    lines = [line for line in text.splitlines()[:200] if line.strip()]
    if not lines:
        return ","
    sample = "\n".join(lines)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS))
        if dialect.delimiter in DELIMITERS:
            return dialect.delimiter
    except csv.Error:
        pass
    # Fallback: the candidate that appears most consistently across lines (outside quotes, roughly).
    best, best_score = ",", -1.0
    for delim in DELIMITERS:
        counts = [_count_outside_quotes(line, delim) for line in lines[:50]]
        if not counts or max(counts) == 0:
            continue
        header = counts[0]
        score = sum(1 for c in counts if c == header) / len(counts) + header / 1000
        if score > best_score:
            best, best_score = delim, score
    return best


def _count_outside_quotes(line: str, delim: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delim and not quoted:
            count += 1
    return count


# ---------------------------------------------------------------------------------------------- numbers

SPACE_CHARS = " \u00a0\u202f\u2009\u2007"  # space, NBSP, narrow NBSP, thin space, figure space
THOUSANDS_CHOICES = {"space": " ", " ": " ", ",": ",", ".": ".", "'": "'", "none": "", "": ""}


@dataclass(frozen=True)
class NumberFormat:
    """How numbers are written in a text column: the decimal mark and the thousands separators."""

    decimal: str = "."
    thousands: str = ""  # besides the space-like characters, which are always allowed between digit groups

    def describe(self) -> str:
        t = {"": "none", ",": "comma", ".": "dot", "'": "apostrophe"}.get(
            self.thousands, repr(self.thousands)
        )
        return f"decimal {'comma' if self.decimal == ',' else 'dot'}, thousands separator {t} or spaces"


def parse_decimal_option(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.strip().lower()
    if v in {",", "comma"}:
        return ","
    if v in {".", "dot", "point"}:
        return "."
    raise IngestError(f"--decimal {value!r} is not a decimal mark; use '.' (dot) or ',' (comma)")


def parse_thousands_option(value: str | None) -> str | None:
    if value is None:
        return None
    key = value if value == " " else value.strip().lower()
    if key in {"nbsp", "space", " ", "\u00a0", "\u202f"}:
        return " "
    if key in THOUSANDS_CHOICES:
        return THOUSANDS_CHOICES[key]
    raise IngestError(
        f"--thousands {value!r} is not a thousands separator; use one of: space, ',', '.', \"'\", none"
    )


_BOTH = re.compile(r"[.,]")


def vote_decimal(values: list[tuple[str, int]]) -> tuple[int, int]:
    """Votes (comma, dot) for the decimal mark from distinct (value, count) pairs of numeric columns."""
    comma = dot = 0
    for raw, n in values:
        v = "".join(ch for ch in raw.strip() if ch not in SPACE_CHARS and ch != "'")
        marks = _BOTH.findall(v)
        if not marks:
            continue
        if "," in marks and "." in marks:
            # the last mark is the decimal one: 1.234,56 or 1,234.56
            if v.rfind(",") > v.rfind("."):
                comma += n
            else:
                dot += n
            continue
        mark = marks[0]
        if len(marks) > 1:  # 1,234,567: thousands
            if mark == ",":
                dot += n
            else:
                comma += n
            continue
        after = v[v.find(mark) + 1 :]
        digits = len(after) - len(after.lstrip("0123456789"))
        before = v[: v.find(mark)].lstrip("+-")
        if digits != 3 or before in {"", "0"}:
            if mark == ",":
                comma += n
            else:
                dot += n
    return comma, dot


def decide_number_format(
    votes: tuple[int, int], *, delimiter: str | None, decimal: str | None, thousands: str | None
) -> NumberFormat:
    """Decimal mark from the votes (ties: ',' for ';'-separated files, '.' otherwise); the other mark then
    serves as the thousands separator unless --thousands says otherwise."""
    if decimal is None:
        comma, dot = votes
        if comma > dot:
            decimal = ","
        elif dot > comma:
            decimal = "."
        else:
            decimal = "," if delimiter == ";" else "."
    if thousands is None:
        thousands = "." if decimal == "," else ","
    if thousands == decimal:
        raise IngestError(
            f"the decimal mark and the thousands separator are both {decimal!r}; pass different ones"
        )
    return NumberFormat(decimal=decimal, thousands=thousands)


# ---------------------------------------------------------------------------------------------- dates

TIME_VARIANTS = [
    "",
    " %H:%M",
    " %H:%M:%S",
    " %H:%M:%S.%f",
    " %I:%M %p",
    " %I:%M:%S %p",
    "T%H:%M",
    "T%H:%M:%S",
]
_TIME_RE = r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s?[AaPp][Mm])?)?"


@dataclass(frozen=True)
class DateFamily:
    """A way of writing dates: a regex every value must match and the strptime formats that read it."""

    name: str
    regex: str
    formats: tuple[str, ...]
    user_hint: str

    @property
    def iso(self) -> bool:
        return self.name == "iso"


def _family(name: str, date_regex: str, date_formats: list[str], hint: str) -> DateFamily:
    formats = tuple(d + t for d in date_formats for t in TIME_VARIANTS)
    return DateFamily(name, "^" + date_regex + _TIME_RE + "$", formats, hint)


ISO = DateFamily(
    "iso",
    r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?$",
    (),
    "yyyy-mm-dd",
)
DATE_FAMILIES: list[DateFamily] = [
    ISO,
    _family("yyyymmdd", r"\d{8}", ["%Y%m%d"], "yyyymmdd"),
    _family("ymd", r"\d{4}[./]\d{1,2}[./]\d{1,2}", ["%Y/%m/%d", "%Y.%m.%d"], "yyyy/mm/dd"),
    _family("dmy", r"\d{1,2}[./-]\d{1,2}[./-]\d{4}", ["%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y"], "dd.mm.yyyy"),
    _family("mdy", r"\d{1,2}[./-]\d{1,2}[./-]\d{4}", ["%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y"], "mm/dd/yyyy"),
    _family("dmy2", r"\d{1,2}[./-]\d{1,2}[./-]\d{2}", ["%d.%m.%y", "%d/%m/%y", "%d-%m-%y"], "dd.mm.yy"),
    _family("mdy2", r"\d{1,2}[./-]\d{1,2}[./-]\d{2}", ["%m/%d/%y", "%m-%d-%y", "%m.%d.%y"], "mm/dd/yy"),
    _family(
        "named",
        r"(\d{1,2}[ -][A-Za-z]{3,9}[ -]\d{4}|[A-Za-z]{3,9} \d{1,2},? \d{4})",
        ["%d-%b-%Y", "%d %b %Y", "%d-%B-%Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y"],
        "dd-Mon-yyyy",
    ),
]
AMBIGUOUS_PAIRS = {frozenset({"dmy", "mdy"}), frozenset({"dmy2", "mdy2"})}

_TOKENS = [
    ("yyyy", "%Y"),
    ("yy", "%y"),
    ("dd", "%d"),
    ("hh", "%H"),
    ("HH", "%H"),
    ("ss", "%S"),
    ("SS", "%S"),
    ("d", "%d"),
    ("h", "%H"),
    ("H", "%H"),
]


def parse_date_format(fmt: str) -> DateFamily:
    """A user's --date-format: a strptime pattern (`%d/%m/%Y %H:%M`), a pattern in letters (`dd.mm.yyyy`,
    `m/d/yyyy h:mm`), a family name (`iso`, `dmy`, `mdy`, `ymd`, `yyyymmdd`). A pattern without a time also
    reads values that carry one."""
    key = fmt.strip()
    for family in DATE_FAMILIES:
        if key.lower() == family.name:
            return family
    pattern: str | None = key if "%" in key else _letters_to_strptime(key)
    if pattern is None:
        raise IngestError(
            f"--date-format {fmt!r} is not a date format; use a pattern such as dd.mm.yyyy, mm/dd/yyyy, "
            "yyyy-mm-dd hh:mm, a strptime pattern such as %d/%m/%Y, or one of: "
            + ", ".join(f.name for f in DATE_FAMILIES)
        )
    has_time = any(t in pattern for t in ("%H", "%I", "%M", "%S"))
    formats = (pattern,) if has_time else tuple(pattern + t for t in TIME_VARIANTS)
    return DateFamily(f"format {fmt}", r"^.*$", formats, fmt)


def _letters_to_strptime(text: str) -> str | None:
    out: list[str] = []
    i, in_time = 0, False
    while i < len(text):
        rest = text[i:]
        ch = text[i]
        if ch == ":":
            in_time = True
        if rest[:2].lower() == "mm" or (rest[:1].lower() == "m" and not rest[:3].lower().startswith("mon")):
            width = 2 if rest[:2].lower() == "mm" else 1
            # minutes after a colon or an hour; months otherwise
            out.append("%M" if in_time else "%m")
            i += width
            continue
        if rest[:3].lower() == "mon":
            out.append("%b")
            i += 3
            continue
        for token, directive in _TOKENS:
            if rest.startswith(token) or rest.lower().startswith(token.lower()):
                out.append(directive)
                if directive in ("%H",):
                    in_time = True
                i += len(token)
                break
        else:
            if ch.isalpha():
                return None
            out.append("%%" if ch == "%" else ch)
            i += 1
    pattern = "".join(out)
    return pattern if "%" in pattern else None
