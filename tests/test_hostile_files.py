"""Files made to hurt the server: each is refused (or, when harmless, read) within limits.

Every hostile workbook and CSV is built here byte by byte (zipfile, not a spreadsheet library,
so that it can lie): zip bombs, huge cells, a fake <dimension>, a DTD with entities, thousands
of sheets or columns. Each parse is measured with tracemalloc (peak ≤ 50 MB) and a clock; over
HTTP each upload is answered with the Vietnamese message naming the limit, nothing changes and
the app goes on serving.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from datetime import timedelta
from functools import cache

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from fieldapp import tables
from fieldapp.admin import unit_import
from fieldapp.city import ward_import
from fieldapp.extensions import db
from fieldapp.models import Participant, Unit, Ward
from fieldapp.reports import participants
from fieldapp.text import local_today

PEAK_LIMIT = 50 * 1024 * 1024
SECONDS_LIMIT = 15.0
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)


def workbook_xml(sheets: int) -> str:
    entries = "".join(
        f'<sheet name="S{n}" sheetId="{n}" r:id="rId{n}"/>' for n in range(1, sheets + 1)
    )
    return f'<workbook xmlns="{NS}" xmlns:r="{REL_NS}"><sheets>{entries}</sheets></workbook>'


def rels_xml(sheets: int, shared: bool) -> str:
    kind = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    entries = "".join(
        f'<Relationship Id="rId{n}" Type="{kind}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, sheets + 1)
    )
    if shared:
        entries += (
            f'<Relationship Id="rIdS" Type="{kind}/sharedStrings" Target="sharedStrings.xml"/>'
        )
    return f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{entries}</Relationships>'


def sheet_xml(rows: str, dimension: str = "A1:C3", prolog: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{NS}">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    )


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def people_rows(count: int) -> str:
    header = (
        '<row r="1">'
        + inline("A1", "Họ và tên")
        + inline("B1", "Lớp")
        + inline("C1", "Đối tượng")
        + "</row>"
    )
    body = "".join(
        f'<row r="{n}">'
        + inline(f"A{n}", f"Học Sinh Số {n}")
        + inline(f"B{n}", "6A")
        + inline(f"C{n}", "Học sinh")
        + "</row>"
        for n in range(2, count + 1)
    )
    return header + body


def xlsx(
    sheet: str | bytes,
    shared: str | bytes | None = None,
    sheets: int = 1,
    members: int = 0,
) -> bytes:
    """A workbook whose first sheet is `sheet`; `sheets` listed in the workbook, `members`
    extra sheet files in the zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("xl/workbook.xml", workbook_xml(sheets))
        book.writestr("xl/_rels/workbook.xml.rels", rels_xml(sheets, shared is not None))
        book.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared is not None:
            book.writestr("xl/sharedStrings.xml", shared)
        for n in range(2, members + 2):
            book.writestr(f"xl/worksheets/sheet{n}.xml", sheet_xml(""))
    return out.getvalue()


def lie_about_sizes(data: bytes, member: str, declared: int) -> bytes:
    """The zip with `member`'s uncompressed size declared as `declared` bytes (local header
    and central directory): a bomb that hides what it unpacks to."""
    data = bytearray(data)
    name = member.encode()
    offset = 0
    while True:
        local = data.find(b"PK\x03\x04", offset)
        if local < 0:
            break
        length = struct.unpack_from("<H", data, local + 26)[0]
        if data[local + 30 : local + 30 + length] == name:
            struct.pack_into("<I", data, local + 22, declared)
        offset = local + 4
    offset = 0
    while True:
        central = data.find(b"PK\x01\x02", offset)
        if central < 0:
            break
        length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + length] == name:
            struct.pack_into("<I", data, central + 24, declared)
        offset = central + 4
    return bytes(data)


@cache
def hostile() -> list[tuple[str, str, bytes, str]]:
    """(what, file name, bytes, the message expected — "" for a file that reads fine)."""
    too_big = "khi giải nén quá lớn (tối đa 40 MB)"
    cell = "dài quá 1.000 ký tự"
    empty_rows = "".join(f'<row r="{n}"/>' for n in range(1, 20))
    bomb_row = '<row r="1">' + "<c/>" * 20 + "</row>"
    bomb = sheet_xml(bomb_row * (120 * 1024 * 1024 // len(bomb_row)))
    hidden_bomb = sheet_xml(bomb_row * (30 * 1024 * 1024 // len(bomb_row)))
    entity = (
        '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    )
    entity_rows = (
        '<row r="1">'
        + inline("A1", "Họ và tên")
        + '</row><row r="2">'
        + inline("A2", "&d;&d;")
        + "</row>"
    )
    wide = (
        '<row r="1">'
        + "".join(
            f'<c r="{tables_ref(n)}1" t="inlineStr"><is><t>x</t></is></c>' for n in range(20_000)
        )
        + "</row>"
    )
    shared_many = f'<sst xmlns="{NS}">' + "<si><t>a</t></si>" * 2_000_000 + "</sst>"
    shared_huge = f'<sst xmlns="{NS}"><si><t>' + "Ạ" * (10 * 1024 * 1024) + "</t></si></sst>"
    rows_many = (
        '<row r="1">'
        + inline("A1", "Họ và tên")
        + "</row>"
        + "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(2, 30_000))
    )
    csv_rows = ("Họ và tên,Lớp,Đối tượng\r\n" + "Học Sinh,6A,Học sinh\r\n" * 300_000).encode()
    return [
        ("zip bomb: 120 MB sheet declared", "bom.xlsx", xlsx(bomb), too_big),
        (
            "zip bomb hiding its size (declares 1 KB, unpacks to 30 MB)",
            "bom-an.xlsx",
            lie_about_sizes(xlsx(hidden_bomb), "xl/worksheets/sheet1.xml", 1024),
            "Không đọc được tệp",
        ),
        (
            "one 60 MB inline-string cell",
            "o-lon.xlsx",
            xlsx(sheet_xml('<row r="1">' + inline("A1", "A" * (60 * 1024 * 1024)) + "</row>")),
            too_big,
        ),
        (
            "one 30 MB inline-string cell",
            "o-lon-30.xlsx",
            xlsx(sheet_xml('<row r="1">' + inline("A1", "A" * (30 * 1024 * 1024)) + "</row>")),
            cell,
        ),
        (
            "one 10 M-character shared string",
            "chuoi.xlsx",
            xlsx(sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'), shared_huge),
            cell,
        ),
        (
            "2,000,000 shared strings",
            "nhieu-chuoi.xlsx",
            xlsx(sheet_xml(empty_rows), shared_many),
            "quá nhiều ô chữ khác nhau (tối đa 100.000)",
        ),
        (
            "fake dimension A1:XFD1048576 with 2,050 rows (read normally)",
            "kich-thuoc-gia.xlsx",
            xlsx(sheet_xml(people_rows(2_050), dimension="A1:XFD1048576")),
            "",
        ),
        (
            "DTD with nested entities",
            "thuc-the.xlsx",
            xlsx(sheet_xml(entity_rows, prolog=entity)),
            "DOCTYPE",
        ),
        (
            "5,000 sheets (5,000 files)",
            "5000-trang.xlsx",
            xlsx(sheet_xml(people_rows(3)), sheets=5_000, members=4_999),
            "quá nhiều phần bên trong (tối đa 500)",
        ),
        (
            "5,000 sheets listed",
            "5000-trang-ds.xlsx",
            xlsx(sheet_xml(people_rows(3)), sheets=5_000),
            "quá nhiều trang tính (tối đa 100 trang)",
        ),
        (
            "20,000 columns",
            "20000-cot.xlsx",
            xlsx(sheet_xml(wide)),
            "quá nhiều cột (tối đa 50 cột)",
        ),
        (
            "30,000 rows",
            "30000-dong.xlsx",
            xlsx(sheet_xml(rows_many)),
            "Tệp quá dài: tối đa 20.000 dòng",
        ),
        (
            "CSV: one 7 MB cell",
            "o-lon.csv",
            b"Ho va ten\r\n" + b"A" * (7 * 1024 * 1024) + b"\r\n",
            cell,
        ),
        (
            "CSV: one 7 MB quoted cell, never closed",
            "ngoac.csv",
            b'Ho va ten\r\n"' + b"A" * (7 * 1024 * 1024),
            cell,
        ),
        (
            "CSV: 20,000 columns",
            "20000-cot.csv",
            b"Ho va ten," + b"x," * 20_000 + b"\r\n",
            "quá nhiều cột (tối đa 50 cột)",
        ),
        (
            "CSV: 300,000 rows (7 MB)",
            "300000-dong.csv",
            csv_rows,
            "Tệp quá dài: tối đa 20.000 dòng",
        ),
    ]


def tables_ref(index: int) -> str:
    """The column letters of a 0-based index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def measure(function, *args):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = function(*args)
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, peak, seconds


def test_every_hostile_file_is_refused_within_memory_and_time():
    lines = []
    for what, name, data, expected in hostile():
        assert len(data) < 8 * 1024 * 1024, what  # each fits under the upload limit
        parsed, peak, seconds = measure(participants.parse, name, data, True)
        lines.append(
            f"{what:62} {len(data) / 1024:9.0f} KB {peak / 2**20:6.1f} MB {seconds:5.2f} s"
        )
        assert peak <= PEAK_LIMIT, (what, peak)
        assert seconds <= SECONDS_LIMIT, (what, seconds)
        if expected:
            assert not parsed.ok and parsed.people == [], what
            assert len(parsed.errors) == 1 and expected in parsed.errors[0], (what, parsed.errors)
        else:
            assert parsed.ok and len(parsed.people) == 2_049, (what, parsed.errors[:3])
    print("\nhostile files (participant parse): file, size, peak memory, time")
    print("\n".join(lines))


def test_hostile_csvs_are_refused_by_the_unit_and_ward_imports():
    for what, name, data, expected in hostile():
        if not name.endswith(".csv"):
            continue
        for parse in (unit_import.parse_units_csv, ward_import.parse_wards_csv):
            parsed, peak, seconds = measure(parse, data)
            assert peak <= PEAK_LIMIT and seconds <= SECONDS_LIMIT, (what, peak, seconds)
            assert parsed.rows == [] and len(parsed.errors) == 1, (what, parsed.errors[:3])
            wanted = expected.replace("20.000", "2.000")
            assert wanted in parsed.errors[0], (what, parsed.errors)


def test_the_streamed_reader_matches_what_a_spreadsheet_holds():
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Họ và tên", "Lớp", "Ghi chú"])
    sheet.append(["Vũ Minh An", 6, 12.5])
    sheet.append([])
    sheet.append(["Mai Văn Đức", None, True])
    book.create_sheet("Khác").append(["không đọc"])
    out = io.BytesIO()
    book.save(out)
    assert tables.read_table("ds.xlsx", out.getvalue()) == [
        (1, ["Họ và tên", "Lớp", "Ghi chú"]),
        (2, ["Vũ Minh An", "6", "12.5"]),
        (4, ["Mai Văn Đức", "", "TRUE"]),
    ]


def test_each_limit_is_named_in_its_message():
    small = tables.Limits(max_rows=2, max_columns=3, max_cell=5, max_chars=12)
    cases = [
        (b"a\nb\nc\nd\n", "Tệp quá dài: tối đa 2 dòng mỗi lần"),
        (b"a,b,c,d\n", "tối đa 3 cột"),
        (b"abcdef\n", "Dòng 1: ô thứ 1 dài quá 5 ký tự"),
        (b"abcde,abcde\nabcde\n", "tối đa 12 ký tự"),
    ]
    for data, message in cases:
        with pytest.raises(tables.TableError) as refused:
            tables.read_table("t.csv", data, limits=small)
        assert message in refused.value.message
    with pytest.raises(tables.TableError) as refused:
        tables.read_table("t.csv", "Thôn Đông".encode("cp1258"), legacy_encoding=None)
    assert refused.value.message == tables.MSG_NOT_UTF8
    with pytest.raises(tables.TableError) as refused:
        tables.read_table("t.pdf", b"%PDF")
    assert "đuôi .csv hoặc .xlsx" in refused.value.message


def test_a_slow_parse_is_stopped_by_the_clock():
    with pytest.raises(tables.TableError) as refused:
        tables.read_table("t.csv", b"a\n" * 10_000, limits=tables.Limits(max_seconds=0.0))
    assert "quá 0 giây" in refused.value.message


# --- over HTTP -------------------------------------------------------------------------------


def post_file(client, url: str, data: bytes, name: str):
    # The body built in memory: werkzeug's test client would spool a large one to a
    # temporary file it never closes (a ResourceWarning, an error in this suite).
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename=name)})
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def participant_rows():
    return sorted(db.session.execute(sa.select(Participant.report_id, Participant.full_name)).all())


def test_over_http_every_hostile_upload_gets_its_message_and_the_app_keeps_serving(
    client, world, auth
):
    world.campaign.report_due = local_today() + timedelta(days=5)
    db.session.commit()
    auth.login("truongthcs")
    before = participant_rows()
    answered = 0
    for what, name, data, expected in hostile():
        response = post_file(client, "/unit-report/participants", data, name)
        answered += 1
        if expected:
            assert response.status_code == 400, what
            assert expected in response.text, what
        else:
            assert response.status_code == 200 and "2049" in response.text.replace(".", ""), what
        assert participant_rows() == before
        assert client.get("/unit-report").status_code == 200
    auth.logout()
    auth.login("canbo")
    units = db.session.scalar(sa.select(sa.func.count(Unit.id)))
    for what, name, data, expected in hostile():
        if name.endswith(".csv"):
            response = post_file(client, "/admin/units/import", data, name)
            answered += 1
            assert (
                response.status_code == 200 and expected.replace("20.000", "2.000") in response.text
            ), what
    assert db.session.scalar(sa.select(sa.func.count(Unit.id))) == units
    auth.logout()
    auth.login("so_khcn")
    wards = db.session.scalar(sa.select(sa.func.count(Ward.id)))
    for what, name, data, expected in hostile():
        if name.endswith(".csv"):
            response = post_file(client, "/city/wards/import", data, name)
            answered += 1
            assert (
                response.status_code == 200 and expected.replace("20.000", "2.000") in response.text
            ), what
    assert db.session.scalar(sa.select(sa.func.count(Ward.id))) == wards
    assert client.get("/healthz").status_code == 200
    print(f"\nhostile uploads answered over HTTP: {answered}")
