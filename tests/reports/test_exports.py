"""The downloads read back as a program would read them: CSV module and openpyxl.

How a real spreadsheet opens them (LibreOffice under Vietnamese and US settings) is
tests/reports/test_spreadsheet.py.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from fieldapp.models import AuditEvent
from fieldapp.reports import exports
from fieldapp.reports.views import XLSX_TYPE
from fieldapp.tally import counts
from tests.tally_world import EXPECTED, FORMULA_NAME, HOA_PHONE, build_records


@pytest.fixture
def ward(world):
    return build_records(world)


def _read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM for Excel"
    text = data.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _get(client, auth, username, url):
    auth.login(username)
    response = client.get(url, buffered=True)
    auth.logout()
    return response


def test_units_csv_has_every_unit_and_a_ward_wide_total(ward, client, auth):
    response = _get(client, auth, "canbo", "/reports/units.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _read_csv(response.data)
    by_name = {r["Đơn vị"]: r for r in rows}
    kdc1 = by_name["Khu dân cư số 1"]
    assert kdc1["Loại đơn vị"] == "Khu dân cư"
    assert kdc1["Người dân được hỗ trợ"] == "4"
    assert kdc1["Lượt hỗ trợ"] == "6"
    assert kdc1["Cài đặt (người)"] == "4"
    assert kdc1["Đăng ký tài khoản (người)"] == "2"
    assert kdc1["Thi trực tuyến (người)"] == "1"
    # Ratios are left to the workbook: no decimal reads right under every regional setting.
    assert "Tiến độ so với chỉ tiêu (%)" not in kdc1
    assert kdc1["Người cao tuổi (người)"] == "2"
    assert kdc1["Khó khăn chưa xử lý"] == "1" and kdc1["Khó khăn đã xử lý"] == "1"
    school = by_name["Trường THCS Thành Đông"]
    assert (school["Học sinh"], school["Giáo viên"], school["Danh sách đã tải lên (người)"]) == (
        "300",
        "20",
        "3",
    )
    units, total = rows[:-1], rows[-1]
    # The dashboard's order: residential groups, agencies, schools; then natural order.
    assert [r["Đơn vị"] for r in units] == [
        "Khu dân cư số 1",
        "Khu dân cư số 2",
        "Trạm Y tế phường",
        "Trường THCS Thành Đông",
    ]  # the other ward's unit is not there
    assert all(v.isdigit() for r in rows for k, v in r.items() if v and k != "Ghi chú"
               and k not in ("Đơn vị", "Loại đơn vị"))  # fmt: skip
    assert total["Đơn vị"].startswith(exports.TOTAL_LABEL)
    assert "một lần cho cả phường" in total["Ghi chú"]

    def col_sum(name: str) -> int:
        return sum(int(r[name] or 0) for r in units)

    # Counted occasions add up exactly...
    for column in (
        "Lượt hỗ trợ",
        "Lượt thi (Tổ CNSCĐ ghi nhận)",
        "Hoàn thành bài thi (đơn vị tự báo cáo)",
        "Lượt thi (đơn vị tự báo cáo)",
        "Học sinh",
        "Giáo viên",
        "Danh sách đã tải lên (người)",
        "Tổng lượt thi",
        "Chỉ tiêu",
        "Khó khăn chưa xử lý",
        "Khó khăn đã xử lý",
    ):
        assert int(total[column]) == col_sum(column), column
    # ...people are counted once ward-wide: Hoa, helped in two units, once.
    assert total["Người dân được hỗ trợ"] == str(EXPECTED["ward"]["residents"])
    assert col_sum("Người dân được hỗ trợ") == EXPECTED["ward"]["residents"] + 1
    assert total["Thi trực tuyến (người)"] == "1"
    assert total["Người hoàn thành bài thi"] == str(EXPECTED["completed"])
    assert col_sum("Người hoàn thành bài thi") == EXPECTED["completed"] + 1
    assert total["Tổng lượt thi"] == str(EXPECTED["attempts"])


def test_assists_csv_rows_vietnamese_names_and_neutralised_formula(ward, client, auth):
    rows = _read_csv(_get(client, auth, "canbo", "/reports/assists.csv").data)
    assert len(rows) == EXPECTED["ward"]["assists"]  # current, not voided
    names = [r["Họ và tên"] for r in rows]
    assert "Nguyễn Thị Hoa" in names and "Đặng Thị Én" in names
    assert "Lê Văn Cường" not in names  # voided
    assert "'" + FORMULA_NAME in names and FORMULA_NAME not in names
    hoa = next(r for r in rows if r["Họ và tên"] == "Nguyễn Thị Hoa")
    # The officer gets the ward's full data; spaced, a spreadsheet keeps it text, zero and all.
    assert hoa["Số điện thoại"] == "0912 345 678"
    assert hoa["Thời gian nhận"] == "2025-10-20 09:00"  # ISO: no setting swaps day and month
    assert hoa["Thi trực tuyến"] == "Có" and hoa["Số lần thi"] == "2"
    assert hoa["Phiên bản"] == "2" and hoa["Thành viên"] == "Lê Thị Mai"
    late = next(r for r in rows if r["Họ và tên"] == "Nguyen Thi Hoa")
    assert late["Thời gian nhận"] == "2025-10-21 23:30"
    flags = {r["Họ và tên"]: r["Cảnh báo"] for r in rows}
    assert flags["'" + FORMULA_NAME] == counts.FLAG_FUTURE
    assert flags["Đặng Thị Én"] == counts.FLAG_OUTSIDE
    assert flags["Trần Văn Bình"] == counts.FLAG_DUPLICATE
    assert sum(1 for r in rows if r["Cảnh báo"] == counts.FLAG_DUPLICATE) == 3
    assert sum(int(r["Số lần thi"]) for r in rows) == EXPECTED["ward"]["attempts"]


def test_difficulties_csv(ward, client, auth):
    rows = _read_csv(_get(client, auth, "canbo", "/reports/difficulties.csv").data)
    assert [r["Loại khó khăn"] for r in rows] == [
        "Không nhận được mã OTP",
        "Quên mật khẩu",
        "Không có mạng",
    ]
    assert [r["Trạng thái"] for r in rows] == ["Chưa xử lý", "Đã xử lý", "Chưa xử lý"]
    assert rows[2]["Nội dung"].startswith("'=")  # formula neutralised


def _workbook(client, auth, username="canbo", url="/reports/ward.xlsx"):
    response = _get(client, auth, username, url)
    assert response.status_code == 200
    assert response.mimetype == XLSX_TYPE
    return load_workbook(io.BytesIO(response.data))


def _cells(sheet, title):
    """The column titled `title`, as cells, header left out."""
    header = [c.value for c in sheet[1]]
    return [row[header.index(title)] for row in sheet.iter_rows(min_row=2)]


def test_workbook_cells_are_typed(ward, client, auth):
    book = _workbook(client, auth)
    assert book.sheetnames == ["Đơn vị", "Lượt hỗ trợ", "Khó khăn", "Theo ngày"]
    assists = book["Lượt hỗ trợ"]
    received = _cells(assists, "Thời gian nhận")[0]
    assert received.value == datetime(2025, 10, 20, 9, 0)  # a real date, local time
    assert received.number_format == "dd/mm/yyyy hh:mm"
    phones = [c for c in _cells(assists, "Số điện thoại") if c.value == HOA_PHONE]
    assert phones and all(c.data_type == "s" and c.number_format == "@" for c in phones)
    formula = next(c for c in _cells(assists, "Họ và tên") if c.value and "=1+2" in c.value)
    # Plain text, no visible mark: a string cell, quote-prefixed, never a formula.
    assert formula.value == FORMULA_NAME and formula.data_type == "s"
    assert formula.quotePrefix
    difficulty = _cells(book["Khó khăn"], "Nội dung")[2]
    assert difficulty.value.startswith("=cmd") and difficulty.data_type == "s"
    attempts = _cells(assists, "Số lần thi")[0]
    assert attempts.data_type == "n" and attempts.number_format == "#,##0"
    units = book["Đơn vị"]
    progress = {c.row: c for c in _cells(units, "Tiến độ so với chỉ tiêu (%)")}
    names = {c.row: c.value for c in _cells(units, "Đơn vị")}
    by_name = {names[r]: c for r, c in progress.items()}
    assert by_name["Trạm Y tế phường"].value == pytest.approx(0.833)
    assert by_name["Trạm Y tế phường"].number_format == "0.0%"  # shown 83,3% in Vietnamese
    target = _cells(units, "Chỉ tiêu")[0]
    assert target.value == 100 and target.number_format == "#,##0"
    day = _cells(book["Theo ngày"], "Ngày")[0]
    assert day.value == datetime(2025, 10, 11) and day.number_format == "dd/mm/yyyy"


def test_workbook_sorts_filters_and_prints(ward, client, auth):
    book = _workbook(client, auth)
    for sheet in book.worksheets:
        assert sheet.freeze_panes in ("A2", "B2"), sheet.title
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}" + str(
            sheet.max_row - 1
        ), sheet.title  # the total row below stays out of the filter: sorting leaves it last
        assert all(c.alignment.wrap_text for c in sheet[1]), sheet.title
        assert all(c.font.b for c in sheet[1]) and all(c.font.b for c in sheet[sheet.max_row])
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        # One page wide (1 is the format's default, left out), as many long as it takes.
        assert (sheet.page_setup.fitToWidth or 1, sheet.page_setup.fitToHeight) == (1, 0)
        assert sheet.print_title_rows == "$1:$1"
        assert "Phường Thành Đông" in sheet.oddHeader.left.text
        assert "Công dân số Hải Phòng" in sheet.oddHeader.center.text
        assert "&P" in sheet.oddFooter.center.text and "&N" in sheet.oddFooter.center.text
        assert sheet.print_options.gridLines
        assert sheet.row_dimensions[1].height >= 30  # the wrapped titles have room
    units = book["Đơn vị"]
    assert units.freeze_panes == "B2"  # unit names stay in view
    widths = {c.value: units.column_dimensions[c.column_letter].width for c in units[1]}
    assert widths["Đơn vị"] >= len("Trường THCS Thành Đông")
    total = units[units.max_row]
    assert total[0].value.startswith(exports.TOTAL_LABEL)
    note = total[len(total) - 1]
    assert note.value.startswith(exports.TOTAL_NOTE) and note.alignment.wrap_text
    assert note.value.endswith(
        "vẫn được tính vào số liệu (có đánh dấu để xem lại). Có 1 lượt như vậy."
    )
    assert units.row_dimensions[units.max_row].height >= 45  # the note's lines are shown
    assists = book["Lượt hỗ trợ"]
    assert assists.max_row - 2 == EXPECTED["ward"]["assists"]
    last = [c.value for c in assists[assists.max_row]]
    assert last[0] == f"Tổng cộng ({EXPECTED['ward']['assists']} lượt hỗ trợ)"
    header = [c.value for c in assists[1]]
    assert last[header.index("Số lần thi")] == EXPECTED["ward"]["attempts"]


def test_workbook_units_and_days_follow_the_dashboard(ward, client, auth):
    book = _workbook(client, auth)
    units = [r[0] for r in book["Đơn vị"].iter_rows(min_row=2, values_only=True)]
    assert units[:-1] == [
        "Khu dân cư số 1",
        "Khu dân cư số 2",
        "Trạm Y tế phường",
        "Trường THCS Thành Đông",
    ]
    total = dict(
        zip(
            [c.value for c in book["Đơn vị"][1]],
            book["Đơn vị"][book["Đơn vị"].max_row],
            strict=True,
        )
    )
    assert total["Người dân được hỗ trợ"].value == EXPECTED["ward"]["residents"]
    assert total["Người hoàn thành bài thi"].value == EXPECTED["completed"]
    assert total["Tiến độ so với chỉ tiêu (%)"].value == pytest.approx(0.487)
    days = list(book["Theo ngày"].iter_rows(min_row=2, values_only=True))
    body, total_row = days[:-1], days[-1]
    # Bounded by the campaign's window (11/10–11/11/2025), not padded to today.
    assert body[0][0] == datetime(2025, 10, 11) and body[-1][0] == datetime(2025, 11, 11)
    assert len(body) == 32
    assert sum(r[1] for r in body) == EXPECTED["ward"]["assists"] == total_row[1]
    assert total_row[0] == "Tổng cộng"
    assert total_row[2] == EXPECTED["ward"]["residents"]  # counted once, not summed by day
    assert {r[0]: r[1] for r in body}[datetime(2025, 10, 20)] == 1


def test_neutralise_every_formula_start():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert exports.neutralise(start + "SUM(A1)") == "'" + start + "SUM(A1)"
    assert exports.neutralise("0912345678") == "0912345678"
    assert exports.neutralise(-5) == -5  # numbers stay numbers


def test_csv_is_streamed_in_chunks():
    rows = ([f"Người {i}"] for i in range(1200))
    sheet = exports.Sheet("t", "t.csv", [exports.Column("Họ và tên")], rows)
    chunks = list(exports.csv_chunks(sheet, rows_per_chunk=500))
    assert len(chunks) == 3
    assert chunks[0].startswith("\ufeff".encode())
    assert b"".join(chunks).decode("utf-8-sig").count("\r\n") == 1201


def test_each_download_is_audited_without_personal_values(ward, client, auth, app):
    from fieldapp.extensions import db

    for url in ("/reports/units.csv", "/reports/assists.csv", "/reports/ward.xlsx"):
        assert _get(client, auth, "canbo", url).status_code == 200
    events = db.session.query(AuditEvent).filter_by(action="download").all()
    assert sorted(e.detail["file"] for e in events) == ["assists.csv", "units.csv", "ward.xlsx"]
    assert all(e.actor_id == ward.users["officer"].id for e in events)
    assert all(HOA_PHONE not in str(e.detail) for e in events)


def test_group_head_downloads_only_their_unit_with_masked_phones(ward, client, auth):
    rows = _read_csv(_get(client, auth, "totruong1", "/reports/assists.csv").data)
    assert len(rows) == EXPECTED["kdc1"]["assists"]
    assert {r["Đơn vị"] for r in rows} == {"Khu dân cư số 1"}
    assert {r["Số điện thoại"] for r in rows if r["Số điện thoại"]} == {"***678"}
    units = _read_csv(_get(client, auth, "totruong1", "/reports/units.csv").data)
    assert [r["Đơn vị"] for r in units] == ["Khu dân cư số 1"]  # no ward total row
    difficulties = _read_csv(_get(client, auth, "totruong1", "/reports/difficulties.csv").data)
    assert len(difficulties) == 2
    response = _get(client, auth, "totruong1", "/reports/ward.xlsx")
    book = load_workbook(io.BytesIO(response.data))
    assert book["Lượt hỗ trợ"].max_row - 2 == EXPECTED["kdc1"]["assists"]  # header, total
    assert [r[0] for r in book["Đơn vị"].iter_rows(min_row=2, values_only=True)] == [
        "Khu dân cư số 1"
    ]
