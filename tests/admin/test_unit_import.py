"""Importing units and targets from CSV: the plain parser, then the all-or-nothing screen."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from fieldapp.admin.unit_import import (
    MSG_NOT_UTF8,
    parse_count,
    parse_kind,
    parse_units_csv,
    sample_csv,
)
from fieldapp.extensions import db
from fieldapp.models import AuditEvent, Target, Unit


def csv_bytes(*lines: str, bom: bool = False, newline: str = "\r\n") -> bytes:
    return (("\ufeff" if bom else "") + newline.join(lines) + newline).encode("utf-8")


# ---------------------------------------------------------------- plain functions


@pytest.mark.parametrize(
    ("text", "value"),
    [("120", 120), (" 45 ", 45), ("1.200", 1200), ("0", 0), ("-1", None), ("12,5", None),
     ("1.5", None), ("mười", None), ("１２", None), ("", None)],
)  # fmt: skip
def test_parse_count(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize(
    ("text", "kind"),
    [("residential", "residential"), ("Tổ dân phố", "residential"), ("khu dan cu", "residential"),
     ("THÔN", "residential"), ("Cơ quan, đơn vị", "agency"), ("co quan", "agency"),
     ("Trường học", "school"), ("truong", "school"), ("Đoàn thể", "organisation"),
     ("doan the", "organisation"), ("bệnh viện", None)],
)  # fmt: skip
def test_parse_kind_accepts_keys_and_vietnamese_labels_without_accents(text, kind):
    assert parse_kind(text) == kind


def test_utf8_with_bom_comma_separated():
    result = parse_units_csv(
        csv_bytes(
            "ten,loai,chi_tieu",
            "Tổ dân phố số 1,Tổ dân phố,120",
            '"Trạm Y tế phường","Cơ quan, đơn vị",25',
            "Trường Tiểu học Hoa Sen,truong hoc,",
            bom=True,
        )
    )
    assert result.errors == []
    assert [(r.line, r.name, r.kind, r.target) for r in result.rows] == [
        (2, "Tổ dân phố số 1", "residential", 120),
        (3, "Trạm Y tế phường", "agency", 25),
        (4, "Trường Tiểu học Hoa Sen", "school", None),
    ]


def test_vietnamese_headers_semicolons_and_decomposed_names():
    decomposed = "Tô\u0309 dân phô\u0301 sô\u0301 2"  # as some Mac/phone keyboards send it
    result = parse_units_csv(
        csv_bytes("Tên đơn vị;Loại;Chỉ tiêu", f"{decomposed};Tổ dân phố;1.500", newline="\n")
    )
    assert result.errors == []
    (row,) = result.rows
    assert row.name == "Tổ dân phố số 2"  # stored as NFC
    assert row.target == 1500


def test_every_bad_line_is_reported_with_its_number():
    result = parse_units_csv(
        csv_bytes(
            "ten,loai,chi_tieu",
            "Tổ dân phố số 1,Tổ dân phố,120",
            ",Tổ dân phố,10",
            "Tổ dân phố số 3,Tổ dân phố,-4",
            "Tổ dân phố số 4,Bệnh viện,10",
            "tổ dân phố số 1,Tổ dân phố,5",
            "",
            "Tổ dân phố số 7,,5",
        )
    )
    assert result.errors == [
        "Dòng 3: Thiếu tên đơn vị",
        "Dòng 4: Chỉ tiêu phải là số nguyên không âm",
        "Dòng 5: Loại “Bệnh viện” không rõ; hãy dùng Tổ dân phố, Cơ quan, Trường học hoặc Đoàn thể",
        "Dòng 6: Tên đơn vị trùng với dòng 2",
        "Dòng 8: Thiếu loại đơn vị",
    ]
    assert not result.ok


def test_a_name_that_exists_with_another_kind_is_refused():
    result = parse_units_csv(
        csv_bytes("ten,loai,chi_tieu", "Trạm Y tế phường,Trường học,5"),
        existing={"trạm y tế phường": "agency"},
    )
    assert result.errors == [
        "Dòng 2: Đơn vị này đã có với loại “Cơ quan, đơn vị”; hãy sửa loại cho khớp"
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("ten,loai\r\nThôn Đông,Thôn\r\n".encode("cp1258"), MSG_NOT_UTF8),
        (b"", "Tệp trống."),
        (csv_bytes("ten,chi_tieu", "A,1"), "Dòng 1: thiếu cột loai"),
        (csv_bytes("ten,loai,chi_tieu"), "Tệp không có dòng dữ liệu nào."),
    ],
)
def test_whole_file_problems(data, message):
    result = parse_units_csv(data)
    assert result.rows == [] or result.errors
    assert any(message in error for error in result.errors)


def test_sample_file_has_bom_crlf_and_parses_cleanly():
    data = sample_csv("Khu dân cư")
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    result = parse_units_csv(data)
    assert result.errors == []
    assert result.rows[0].name == "Khu dân cư số 1" and result.rows[0].kind == "residential"


# ---------------------------------------------------------------- the screen


def upload(client, data: bytes):
    return client.post(
        "/admin/units/import",
        data={"file": (io.BytesIO(data), "don-vi.csv")},
        content_type="multipart/form-data",
    )


def snapshot():
    units = db.session.execute(sa.select(Unit.id, Unit.name, Unit.kind)).all()
    targets = db.session.execute(sa.select(Target.unit_id, Target.value)).all()
    return sorted(units), sorted(targets)


def test_a_file_with_one_bad_line_changes_nothing(client, world, auth):
    auth.login("canbo")
    before = snapshot()
    response = upload(
        client,
        csv_bytes(
            "ten,loai,chi_tieu",
            "Khu dân cư số 1,Khu dân cư,150",
            "Khu dân cư số 3,Khu dân cư,90",
            "Khu dân cư số 4,Khu dân cư,chín mươi",
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Dòng 4: Chỉ tiêu phải là số nguyên không âm" in page
    assert "Chưa nhập gì cả." in page
    assert snapshot() == before
    assert not db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "units_imported"))


def test_import_creates_new_units_and_updates_existing_targets(client, world, auth):
    auth.login("canbo")
    response = upload(
        client,
        csv_bytes(
            "ten;loai;chi_tieu",
            "khu dân cư số 1;khu dan cu;150",  # existing, other case: its target changes
            "Khu dân cư số 3;Khu dân cư;90",
            "Hội Phụ nữ phường;Đoàn thể;",
            "Trạm Y tế phường;Cơ quan, đơn vị;30",  # existing, same target: unchanged
            bom=True,
        ),
    )
    page = response.get_data(as_text=True)
    assert "Đã nhập xong." in page
    assert "Thêm mới 2 đơn vị, cập nhật chỉ tiêu 1 đơn vị, 1 đơn vị không thay đổi" in page
    kdc1 = db.session.get(Unit, world.units["kdc1"].id)
    assert kdc1.name == "Khu dân cư số 1" and kdc1.target_for(world.campaign) == 150
    new = db.session.scalar(
        sa.select(Unit).where(Unit.name == "Khu dân cư số 3", Unit.ward_id == world.ward.id)
    )
    assert new.kind == "residential" and new.target_for(world.campaign) == 90
    org = db.session.scalar(sa.select(Unit).where(Unit.name == "Hội Phụ nữ phường"))
    assert org.kind == "organisation" and org.target_for(world.campaign) is None
    # The other ward's unit of the same name is untouched.
    assert db.session.get(Unit, world.units["other1"].id).target_for(world.other_campaign) is None
    (event,) = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "units_imported")
    ).all()
    assert event.detail == {"created": 2, "updated": 1, "unchanged": 1}
    assert event.ward_id == world.ward.id


def test_a_non_utf8_upload_is_explained(client, world, auth):
    auth.login("canbo")
    before = snapshot()
    page = upload(client, "ten,loai\r\nThôn Đông,Thôn\r\n".encode("cp1258")).get_data(as_text=True)
    assert "UTF-8" in page and "Chưa nhập gì cả." in page
    assert snapshot() == before


def test_sample_download(client, world, auth):
    auth.login("canbo")
    response = client.get("/admin/units/sample.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbften,loai,chi_tieu\r\n")
    assert "Khu dân cư số 1" in response.data.decode("utf-8-sig")  # the ward's own word
