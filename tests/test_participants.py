"""Reading a unit's participant list: CSV or XLSX, per-line errors, all or nothing."""

from __future__ import annotations

import io
import unicodedata

from openpyxl import Workbook

from fieldapp import participants


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
