"""Reading a unit's participant list: CSV or XLSX, per-line errors, all or nothing."""

from __future__ import annotations

import io
import unicodedata

from openpyxl import Workbook

from fieldapp.reports import participants


def _csv(text: str, encoding: str = "utf-8-sig") -> bytes:
    return text.encode(encoding)


def test_csv_with_header_row_number_and_kind():
    data = _csv(
        "STT,Họ và tên,Lớp,Đối tượng\r\n"
        "1,Vũ Minh An,6A,Học sinh\r\n"
        "2,Phan Thu Trang,6A,học sinh\r\n"
        "3,Mai Văn Đức,Tổ Toán,Giáo viên\r\n"
        ",,,\r\n"
    )
    parsed = participants.parse("danh-sach.csv", data)
    assert parsed.ok
    assert parsed.people == [
        ("Vũ Minh An", "6A", "pupil"),
        ("Phan Thu Trang", "6A", "pupil"),
        ("Mai Văn Đức", "Tổ Toán", "teacher"),
    ]


TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def _cp1258(text: str) -> bytes:
    """Encode as Excel does on Vietnamese Windows: tone marks as combining characters."""
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
        out.append(base + "".join(c for c in parts if c in TONES))
    return "".join(out).encode("cp1258")


def test_semicolons_and_windows_1258_are_read():
    data = _cp1258("Họ tên;Phòng ban\nLưu Thị Ngọc;Kế toán\n")
    parsed = participants.parse("ds.CSV", data)
    assert parsed.people == [("Lưu Thị Ngọc", "Kế toán", "other")]


def test_without_header_columns_are_name_then_group():
    parsed = participants.parse("ds.csv", _csv("Đinh Văn Quý,Văn phòng\n"))
    assert parsed.people == [("Đinh Văn Quý", "Văn phòng", "other")]


def test_errors_name_each_line_and_nothing_is_kept():
    data = _csv(
        "Họ và tên,Lớp,Đối tượng\n"
        "Vũ Minh An,6A,Học sinh\n"
        ",6B,Học sinh\n"
        "12345,6B,Học sinh\n"
        "Tạ Thị Bích,6C,Phụ huynh\n"
    )
    parsed = participants.parse("ds.csv", data)
    assert not parsed.ok
    assert parsed.people == []
    assert parsed.errors == [
        "Dòng 3: thiếu họ và tên.",
        "Dòng 4: họ và tên “12345” không hợp lệ.",
        "Dòng 5: đối tượng “Phụ huynh” không rõ (ghi Học sinh hoặc Giáo viên).",
    ]


def test_xlsx_is_read_from_the_first_sheet():
    book = Workbook()
    sheet = book.active
    sheet.append(["Họ và tên", "Lớp", "Đối tượng"])
    sheet.append(["Hồ Thị Thu", "7B", "Học sinh"])
    sheet.append(["Quách Văn Long", None, "Giáo viên"])
    buffer = io.BytesIO()
    book.save(buffer)
    parsed = participants.parse("ds.xlsx", buffer.getvalue())
    assert parsed.people == [("Hồ Thị Thu", "7B", "pupil"), ("Quách Văn Long", "", "teacher")]


def test_unreadable_or_wrong_files_are_refused_clearly():
    assert participants.parse("ds.pdf", b"%PDF").errors == ["Tệp phải có đuôi .csv hoặc .xlsx."]
    assert "Không đọc được tệp" in participants.parse("ds.xlsx", b"not a zip").errors[0]
    assert participants.parse("ds.csv", b"").errors == ["Tệp không có dòng nào."]
    assert participants.parse("ds.csv", _csv("Họ và tên,Lớp\n")).errors == [
        "Tệp không có dòng nào."
    ]


def test_too_long_names_are_refused():
    parsed = participants.parse("ds.csv", _csv("Họ và tên\n" + "A" * 121 + "\n"))
    assert parsed.errors == ["Dòng 2: họ và tên dài quá 120 ký tự."]


def test_a_header_without_the_name_column_is_refused_naming_it():
    # Before, this first row was taken for a person called "Tên học sinh".
    parsed = participants.parse("ds.csv", _csv("Tên học sinh,Lớp\nVũ Minh An,6A\n"))
    assert parsed.people == [] and parsed.errors == [participants.MSG_NO_NAME]
    assert "“Họ và tên”" in participants.MSG_NO_NAME


def test_a_schools_list_needs_the_kind_column_and_a_header():
    no_kind = _csv("Họ và tên,Lớp\nVũ Minh An,6A\n")
    assert participants.parse("ds.csv", no_kind).ok  # an agency's list may go without it
    refused = participants.parse("ds.csv", no_kind, kind_required=True)
    assert refused.people == [] and refused.errors == [participants.MSG_NO_KIND]
    assert "“Đối tượng”" in participants.MSG_NO_KIND
    headless = participants.parse("ds.csv", _csv("Vũ Minh An,6A,Học sinh\n"), kind_required=True)
    assert headless.errors == [participants.MSG_NO_HEADER]
    both = participants.parse("ds.csv", _csv("Lớp\n6A\n"), kind_required=True)
    assert both.errors == [participants.MSG_NO_NAME, participants.MSG_NO_KIND]
    ok = participants.parse("ds.csv", _csv("Họ tên,Vai trò\nVũ Minh An,HS\n"), kind_required=True)
    assert ok.people == [("Vũ Minh An", "", "pupil")]


def test_counts_by_kind_and_the_sealed_pending_list():
    people = [("A B", "6A", "pupil"), ("C D", "6A", "pupil"), ("E F", "", "teacher")]
    assert participants.counts(people) == {"pupil": 2, "teacher": 1}
    pending = participants.Pending(4, 7, "3:12", people)
    token = participants.seal("s" * 32, pending)
    assert participants.unseal("s" * 32, token) == pending
    assert participants.unseal("s" * 32, token + "x") is None
    assert participants.unseal("t" * 32, token) is None
    assert participants.unseal("s" * 32, token, max_age=-1) is None  # expired


def test_a_large_list_travels_in_the_preview_page_within_the_form_limit():
    # 20,000 made-up names, the most a file may hold: the sealed list stays far below
    # Werkzeug's 500 kB limit for one form field.
    people = [
        (f"Nguyễn Thị Học Sinh {n}", f"{6 + n % 4}A{n % 9}", "pupil")
        for n in range(participants.MAX_LINES)
    ]
    token = participants.seal("s" * 32, participants.Pending(1, 1, "0:0", people))
    assert len(token) < 500_000
    print(f"\n20,000 people sealed: {len(token):,} bytes")
