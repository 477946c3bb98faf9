"""The downloads read back as a spreadsheet would read them: CSV module and openpyxl."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from fieldapp import exports, tally
from fieldapp.models import AuditEvent
from fieldapp.reports import XLSX_TYPE
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
    assert kdc1["Tiến độ so với chỉ tiêu (%)"] == "1"
    assert kdc1["Người cao tuổi (người)"] == "2"
    assert kdc1["Khó khăn chưa xử lý"] == "1" and kdc1["Khó khăn đã xử lý"] == "1"
    school = by_name["Trường THCS Thành Đông"]
    assert (school["Học sinh"], school["Giáo viên"], school["Danh sách đã tải lên (người)"]) == (
        "300",
        "20",
        "3",
    )
    assert school["Tiến độ so với chỉ tiêu (%)"] == "64"
    assert by_name["Trạm Y tế phường"]["Tiến độ so với chỉ tiêu (%)"] == "83.3"  # plain, not 83,3

    units, total = rows[:-1], rows[-1]
    assert len(units) == 4  # the other ward's unit is not there
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
    assert total["Tiến độ so với chỉ tiêu (%)"] == "48.7"


def test_assists_csv_rows_vietnamese_names_and_neutralised_formula(ward, client, auth):
    rows = _read_csv(_get(client, auth, "canbo", "/reports/assists.csv").data)
    assert len(rows) == EXPECTED["ward"]["assists"]  # current, not voided
    names = [r["Họ và tên"] for r in rows]
    assert "Nguyễn Thị Hoa" in names and "Đặng Thị Én" in names
    assert "Lê Văn Cường" not in names  # voided
    assert "'" + FORMULA_NAME in names and FORMULA_NAME not in names
    hoa = next(r for r in rows if r["Họ và tên"] == "Nguyễn Thị Hoa")
    assert hoa["Số điện thoại"] == HOA_PHONE  # the officer gets the ward's full data
    assert hoa["Thời gian nhận"] == "20/10/2025 09:00"
    assert hoa["Thi trực tuyến"] == "Có" and hoa["Số lần thi"] == "2"
    assert hoa["Phiên bản"] == "2" and hoa["Thành viên"] == "Lê Thị Mai"
    late = next(r for r in rows if r["Họ và tên"] == "Nguyen Thi Hoa")
    assert late["Thời gian nhận"] == "21/10/2025 23:30"
    flags = {r["Họ và tên"]: r["Cảnh báo"] for r in rows}
    assert flags["'" + FORMULA_NAME] == tally.FLAG_FUTURE
    assert flags["Đặng Thị Én"] == tally.FLAG_OUTSIDE
    assert flags["Trần Văn Bình"] == tally.FLAG_DUPLICATE
    assert sum(1 for r in rows if r["Cảnh báo"] == tally.FLAG_DUPLICATE) == 3
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


def test_workbook_has_a_sheet_each_phones_as_text_and_frozen_headers(ward, client, auth):
    response = _get(client, auth, "canbo", "/reports/ward.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX_TYPE
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Đơn vị", "Lượt hỗ trợ", "Khó khăn", "Theo ngày"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.column_dimensions["A"].width > 8
    units = list(book["Đơn vị"].iter_rows(values_only=True))
    header = units[0]
    total = dict(zip(header, units[-1], strict=True))
    assert total["Người dân được hỗ trợ"] == EXPECTED["ward"]["residents"]
    assert total["Người hoàn thành bài thi"] == EXPECTED["completed"]
    assert total["Tiến độ so với chỉ tiêu (%)"] == 48.7
    assists = book["Lượt hỗ trợ"]
    header = [c.value for c in assists[1]]
    phone_col = header.index("Số điện thoại") + 1
    name_col = header.index("Họ và tên") + 1
    phones = [assists.cell(row=i, column=phone_col) for i in range(2, assists.max_row + 1)]
    hoa = next(c for c in phones if c.value == HOA_PHONE)
    assert hoa.data_type == "s" and hoa.number_format == "@"
    names = [assists.cell(row=i, column=name_col) for i in range(2, assists.max_row + 1)]
    values = [c.value for c in names]
    assert "Nguyễn Thị Hoa" in values and "Trần Văn Bình" in values
    formula = next(c for c in names if c.value and FORMULA_NAME in c.value)
    assert formula.value == "'" + FORMULA_NAME and formula.data_type == "s"
    assert assists.max_row - 1 == EXPECTED["ward"]["assists"]
    days = list(book["Theo ngày"].iter_rows(values_only=True))
    assert days[1][:2] == ("20/10/2025", 1)


def test_neutralise_every_formula_start():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert exports.neutralise(start + "SUM(A1)") == "'" + start + "SUM(A1)"
    assert exports.neutralise("0912345678") == "0912345678"
    assert exports.neutralise(-5) == -5  # numbers stay numbers


def test_csv_is_streamed_in_chunks():
    sheet = exports.Sheet("t", "t.csv", ["Họ và tên"], ([f"Người {i}"] for i in range(1200)))
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
    assert {r["Số điện thoại"] for r in rows if r["Số điện thoại"]} == {"0912***678"}
    units = _read_csv(_get(client, auth, "totruong1", "/reports/units.csv").data)
    assert [r["Đơn vị"] for r in units] == ["Khu dân cư số 1"]  # no ward total row
    difficulties = _read_csv(_get(client, auth, "totruong1", "/reports/difficulties.csv").data)
    assert len(difficulties) == 2
    response = _get(client, auth, "totruong1", "/reports/ward.xlsx")
    book = load_workbook(io.BytesIO(response.data))
    assert book["Lượt hỗ trợ"].max_row - 1 == EXPECTED["kdc1"]["assists"]
    assert [r[0] for r in book["Đơn vị"].iter_rows(min_row=2, values_only=True)] == [
        "Khu dân cư số 1"
    ]
