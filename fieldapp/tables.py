"""Every uploaded table (CSV or XLSX) is read here, within limits, into numbered rows of text.

    rows = read_table("ds.xlsx", data, max_rows=20_000)   # [(row number, [cell, ...]), ...]

A file past any limit raises TableError with a Vietnamese message that names the limit; the
caller shows it and changes nothing. The limits hold for files made to hurt the server:

- XLSX is streamed with expat straight from the zip (no openpyxl, no tree kept): the sheet's
  declared `<dimension>` is never read, empty rows and cells cost nothing, a cell is refused as
  soon as its text passes `max_cell` characters, the whole table past `max_chars`.
- The zip's members are bounded by their declared sizes and, while read, by the bytes they
  really unpack to (`max_unpacked` in all), as well as by their number and the sheet count.
- A DOCTYPE (where entities would be declared) is refused before anything is expanded.
- CSV is decoded as a stream, never as one string; csv's own field limit stops a huge cell.
- A clock (`max_seconds`) ends any parse that is still running.

Blank rows are left out; row numbers are those the spreadsheet shows (CSV: the record's
number, counting blank ones). Trailing empty cells are dropped from each row.
"""

from __future__ import annotations

import csv
import io
import posixpath
import time
import zipfile
from dataclasses import dataclass
from xml.parsers import expat

MAX_ROWS = 20_000
MAX_COLUMNS = 50
MAX_CELL = 1_000  # characters in one cell
MAX_CHARS = 5_000_000  # characters in all cells read
MAX_UNPACKED = 40 * 1024 * 1024  # bytes an XLSX may unpack to, all members read
MAX_MEMBERS = 500  # files inside an XLSX
MAX_SHEETS = 100
MAX_SHARED = 100_000  # distinct texts of an XLSX (its shared strings)
MAX_SECONDS = 10.0

MSG_NOT_UTF8 = (
    "Tệp không ở dạng UTF-8. Trong Excel, hãy chọn “Lưu thành” → "
    "“CSV UTF-8 (Comma delimited)” rồi tải lên lại."
)
MSG_UNREADABLE = "Không đọc được tệp. Hãy lưu lại dạng CSV (UTF-8) hoặc Excel .xlsx."
MSG_DTD = (
    "Tệp Excel có khai báo DOCTYPE/thực thể (entity), không được phép. "
    "Hãy mở tệp trong Excel và lưu lại dạng .xlsx."
)

_CHUNK = 64 * 1024


class TableError(ValueError):
    """A file refused as a whole; `message` is the Vietnamese text to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Limits:
    """The bounds of one read; each import passes its own max_rows."""

    max_rows: int = MAX_ROWS
    max_columns: int = MAX_COLUMNS
    max_cell: int = MAX_CELL
    max_chars: int = MAX_CHARS
    max_unpacked: int = MAX_UNPACKED
    max_members: int = MAX_MEMBERS
    max_sheets: int = MAX_SHEETS
    max_shared: int = MAX_SHARED
    max_seconds: float = MAX_SECONDS


def number(n: int) -> str:
    """20000 -> "20.000" (Vietnamese thousands)."""
    return f"{n:,}".replace(",", ".")


def rows_message(max_rows: int) -> str:
    """The refusal of a file longer than `max_rows` rows below its header."""
    return f"Tệp quá dài: tối đa {number(max_rows)} dòng mỗi lần (không kể dòng tiêu đề)."


def read_table(
    filename: str,
    data: bytes,
    *,
    max_rows: int = MAX_ROWS,
    legacy_encoding: str | None = "cp1258",
    limits: Limits | None = None,
) -> list[tuple[int, list[str]]]:
    """The non-blank rows of an uploaded .csv/.txt or .xlsx as (row number, cells): at most
    `max_rows` of them below the first (the header, if the file has one).

    `legacy_encoding`: what a CSV that is not UTF-8 is read as (Excel's Vietnamese "CSV" is
    Windows-1258); None refuses it with MSG_NOT_UTF8. Raises TableError.
    """
    limits = limits or Limits(max_rows=max_rows)
    reader = _Reader(limits)
    name = filename.lower()
    if name.endswith(".xlsx"):
        return reader.xlsx(data)
    if name.endswith(".csv") or name.endswith(".txt"):
        return reader.csv(data, legacy_encoding)
    raise TableError("Tệp phải có đuôi .csv hoặc .xlsx.")


class _Reader:
    """One read's counters against its limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.rows: list[tuple[int, list[str]]] = []
        self.chars = 0
        self.unpacked = 0

    # --- the limits --------------------------------------------------------------------------

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TableError(
                f"Tệp đọc quá lâu (quá {self.limits.max_seconds:g} giây). "
                "Hãy chia nhỏ tệp hoặc lưu lại dạng CSV."
            )

    def check_cell(self, row: int, column: int, length: int) -> None:
        if length > self.limits.max_cell:
            raise TableError(
                f"Dòng {row}: ô thứ {column + 1} dài quá {number(self.limits.max_cell)} ký tự "
                "(giới hạn mỗi ô)."
            )

    def add_row(self, row: int, cells: list[str]) -> None:
        while cells and not cells[-1].strip():
            cells.pop()
        if not cells:
            return
        if len(cells) > self.limits.max_columns:
            raise TableError(
                f"Dòng {row}: tệp có quá nhiều cột (tối đa {number(self.limits.max_columns)} cột)."
            )
        if len(self.rows) > self.limits.max_rows:  # the first row may be the header
            raise TableError(rows_message(self.limits.max_rows))
        for column, value in enumerate(cells):
            self.check_cell(row, column, len(value))
            self.chars += len(value)
        if self.chars > self.limits.max_chars:
            raise TableError(
                f"Tệp chứa quá nhiều chữ (tối đa {number(self.limits.max_chars)} ký tự)."
            )
        self.rows.append((row, cells))
        if len(self.rows) % 256 == 0:
            self.tick()

    # --- CSV ---------------------------------------------------------------------------------

    def csv(self, data: bytes, legacy_encoding: str | None) -> list[tuple[int, list[str]]]:
        try:
            return self._csv(data, "utf-8-sig", "strict")
        except UnicodeDecodeError:
            if legacy_encoding is None:
                raise TableError(MSG_NOT_UTF8) from None
        self.rows, self.chars = [], 0
        return self._csv(data, legacy_encoding, "replace")

    def _csv(self, data: bytes, encoding: str, errors: str) -> list[tuple[int, list[str]]]:
        first = data[:4096].decode(encoding, "replace").lstrip("\ufeff").splitlines()
        head = first[0] if first else ""
        delimiter = max(",;\t", key=head.count) if any(c in head for c in ",;\t") else ","
        text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors=errors, newline="")
        reader = csv.reader(text, delimiter=delimiter)
        number_ = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return self.rows
            except csv.Error as error:
                if "field larger" in str(error):
                    self.check_cell(number_ + 1, 0, self.limits.max_cell + 1)
                raise TableError(
                    f"Dòng {number_ + 1}: không đọc được (dấu ngoặc kép chưa đóng?)."
                ) from None
            number_ += 1
            if number_ == 1 and cells:
                cells[0] = cells[0].lstrip("\ufeff")
            self.add_row(number_, cells)

    # --- XLSX --------------------------------------------------------------------------------

    def xlsx(self, data: bytes) -> list[tuple[int, list[str]]]:
        try:
            book = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, OSError, ValueError):
            raise TableError(MSG_UNREADABLE) from None
        with book:
            try:
                return self._xlsx(book)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
                raise TableError(MSG_UNREADABLE) from None

    def _xlsx(self, book: zipfile.ZipFile) -> list[tuple[int, list[str]]]:
        members = book.infolist()
        if len(members) > self.limits.max_members:
            raise TableError(
                f"Tệp Excel có quá nhiều phần bên trong (tối đa {number(self.limits.max_members)})."
            )
        if sum(m.file_size for m in members) > self.limits.max_unpacked:
            raise TableError(self._too_big())
        names = {m.filename: m for m in members}
        if "xl/workbook.xml" not in names:
            raise TableError(MSG_UNREADABLE)
        sheets: list[str] = []
        self._parse(book, names["xl/workbook.xml"], _Workbook(self, sheets))
        targets: dict[str, tuple[str, str]] = {}
        rels = names.get("xl/_rels/workbook.xml.rels")
        if rels is not None:
            self._parse(book, rels, _Rels(targets))
        sheet_path = "xl/worksheets/sheet1.xml"
        if sheets and sheets[0] in targets:
            sheet_path = _resolve(targets[sheets[0]][1])
        shared_path = next(
            (_resolve(t) for kind, t in targets.values() if kind.endswith("/sharedStrings")),
            "xl/sharedStrings.xml",
        )
        shared: list[str] = []
        if shared_path in names:
            self._parse(book, names[shared_path], _SharedStrings(self, shared))
        if sheet_path not in names:
            raise TableError(MSG_UNREADABLE)
        self._parse(book, names[sheet_path], _Sheet(self, shared))
        return self.rows

    def _too_big(self) -> str:
        megabytes = self.limits.max_unpacked // (1024 * 1024)
        return (
            f"Tệp Excel khi giải nén quá lớn (tối đa {megabytes} MB). "
            "Hãy xóa bớt trang tính, hình ảnh hoặc lưu lại dạng CSV."
        )

    def _parse(self, book: zipfile.ZipFile, member: zipfile.ZipInfo, handler: _Handler) -> None:
        """Stream one member through expat, counting the bytes it really unpacks to."""
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse_dtd
        parser.EntityDeclHandler = _refuse_dtd
        parser.StartElementHandler = handler.start
        parser.EndElementHandler = handler.end
        parser.CharacterDataHandler = handler.text
        read = 0
        with book.open(member) as stream:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                read += len(chunk)
                self.unpacked += len(chunk)
                if read > member.file_size or self.unpacked > self.limits.max_unpacked:
                    raise TableError(self._too_big())
                self.tick()
                try:
                    parser.Parse(chunk, False)
                except expat.ExpatError:
                    raise TableError(MSG_UNREADABLE) from None
            try:
                parser.Parse(b"", True)
            except expat.ExpatError:
                raise TableError(MSG_UNREADABLE) from None


def _refuse_dtd(*_args: object) -> None:
    raise TableError(MSG_DTD)


def _resolve(target: str) -> str:
    """A relationship target ("worksheets/sheet1.xml", "/xl/…") as a zip member name."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join("xl", target))


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def _column(ref: str) -> int | None:
    """The 0-based column of a cell reference ("C7" -> 2), or None if it has none."""
    index = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            index = index * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            index = index * 26 + ord(ch) - 96
        else:
            break
        if index > 20_000:
            return index  # far past any limit; stop counting
    return index - 1 if index else None


class _Handler:
    def start(self, name: str, attrs: dict[str, str]) -> None: ...

    def end(self, name: str) -> None: ...

    def text(self, data: str) -> None: ...


class _Workbook(_Handler):
    """The sheets' relationship ids, in order."""

    def __init__(self, reader: _Reader, sheets: list[str]) -> None:
        self.reader, self.sheets = reader, sheets

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "sheet":
            rid = next((v for k, v in attrs.items() if _local(k) == "id"), "")
            self.sheets.append(rid)
            if len(self.sheets) > self.reader.limits.max_sheets:
                raise TableError(
                    "Tệp Excel có quá nhiều trang tính "
                    f"(tối đa {number(self.reader.limits.max_sheets)} trang)."
                )


class _Rels(_Handler):
    def __init__(self, targets: dict[str, tuple[str, str]]) -> None:
        self.targets = targets

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "Relationship" and len(self.targets) < 10_000:
            self.targets[attrs.get("Id", "")] = (attrs.get("Type", ""), attrs.get("Target", ""))


class _SharedStrings(_Handler):
    """Each <si>'s text (its <t> runs, phonetic <rPh> runs left out)."""

    def __init__(self, reader: _Reader, shared: list[str]) -> None:
        self.reader, self.shared = reader, shared
        self.parts: list[str] | None = None
        self.length = 0
        self.in_t = False
        self.phonetic = 0
        self.chars = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "si":
            self.parts, self.length = [], 0
        elif tag == "rPh":
            self.phonetic += 1
        elif tag == "t" and not self.phonetic:
            self.in_t = True

    def end(self, name: str) -> None:
        tag = _local(name)
        if tag == "t":
            self.in_t = False
        elif tag == "rPh":
            self.phonetic -= 1
        elif tag == "si" and self.parts is not None:
            self.shared.append("".join(self.parts))
            self.parts = None
            if len(self.shared) > self.reader.limits.max_shared:
                raise TableError(
                    "Tệp Excel có quá nhiều ô chữ khác nhau "
                    f"(tối đa {number(self.reader.limits.max_shared)})."
                )
            if len(self.shared) % 4096 == 0:
                self.reader.tick()

    def text(self, data: str) -> None:
        if self.in_t and self.parts is not None:
            self.length += len(data)
            self.chars += len(data)
            if self.length > self.reader.limits.max_cell:
                raise TableError(
                    f"Tệp có ô dài quá {number(self.reader.limits.max_cell)} ký tự "
                    "(giới hạn mỗi ô)."
                )
            if self.chars > self.reader.limits.max_chars:
                raise TableError(
                    f"Tệp chứa quá nhiều chữ (tối đa {number(self.reader.limits.max_chars)} ký tự)."
                )
            self.parts.append(data)


class _Sheet(_Handler):
    """Rows of the first sheet; only cells with a value count."""

    def __init__(self, reader: _Reader, shared: list[str]) -> None:
        self.reader, self.shared = reader, shared
        self.row_number = 0
        self.cells: dict[int, str] = {}
        self.column = -1
        self.kind = ""
        self.parts: list[str] | None = None  # text of the <v> or inline <t> being read
        self.length = 0
        self.value: str | None = None
        self.in_cell = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "row":
            r = attrs.get("r", "")
            self.row_number = int(r) if r.isdigit() and len(r) < 9 else self.row_number + 1
            self.cells = {}
            self.column = -1
        elif tag == "c":
            ref = attrs.get("r", "")
            column = _column(ref) if ref else None
            self.column = column if column is not None else self.column + 1
            self.kind = attrs.get("t", "n")
            self.value = None
            self.in_cell = True
        elif self.in_cell and tag in ("v", "t"):
            self.parts, self.length = [], 0

    def text(self, data: str) -> None:
        if self.parts is not None:
            self.length += len(data)
            self.reader.check_cell(self.row_number, self.column, self.length)
            self.parts.append(data)

    def end(self, name: str) -> None:
        tag = _local(name)
        if tag in ("v", "t") and self.parts is not None:
            text = "".join(self.parts)
            self.value = text if self.value is None else self.value + text
            self.reader.check_cell(self.row_number, self.column, len(self.value))
            self.parts = None
        elif tag == "c":
            self.in_cell = False
            value = self._value()
            if value:
                if self.column >= self.reader.limits.max_columns:
                    raise TableError(
                        f"Dòng {self.row_number}: tệp có quá nhiều cột "
                        f"(tối đa {number(self.reader.limits.max_columns)} cột)."
                    )
                self.cells[self.column] = value
        elif tag == "row":
            if self.cells:
                row = [""] * (max(self.cells) + 1)
                for column, value in self.cells.items():
                    row[column] = value
                self.reader.add_row(self.row_number, row)
            self.cells = {}

    def _value(self) -> str:
        text = self.value
        if text is None:
            return ""
        if self.kind == "s":
            try:
                return self.shared[int(text)]
            except (ValueError, IndexError):
                return ""
        if self.kind in ("n", "") and text:
            return _number_text(text)
        if self.kind == "b":
            return "TRUE" if text.strip() == "1" else "FALSE"
        return text


def _number_text(text: str) -> str:
    """A numeric cell as a person would type it: "12.0" -> "12", "1.5" stays."""
    try:
        value = float(text)
    except ValueError:
        return text
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
