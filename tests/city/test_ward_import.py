"""The city's administrative list from a CSV: 114 wards in one upload, all lines or none."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from fieldapp.city import ward_import
from fieldapp.extensions import db
from fieldapp.models import AuditEvent, Ward
from tests.conftest import sign_in_directly
from tests.world import add_user

KINDS = ["Phường", "Xã", "Đặc khu"]


def city_list(count: int = 114) -> str:
    """A made-up administrative list: 114 units, mostly wards and communes, 2 special zones."""
    lines = ["Mã,Tên,Loại"]
    for n in range(1, count + 1):
        kind = "Đặc khu" if n > count - 2 else KINDS[n % 2]
        lines.append(f"{11000 + n},{kind} Số {n},{kind}")
    return "\r\n".join(lines) + "\r\n"


@pytest.fixture
def admin(app):
    user = add_user("so_khcn", "city_admin", None, name="Đinh Thị Quỳnh")
    db.session.commit()
    return user


@pytest.fixture
def signed_in(client, admin):
    sign_in_directly(client, admin)
    return client


def upload(client, data: bytes, name: str = "phuong-xa.csv"):
    return client.post(
        "/city/wards/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def wards() -> list[Ward]:
    return list(db.session.scalars(sa.select(Ward).order_by(Ward.code)))


def test_114_wards_in_one_upload(signed_in):
    response = upload(signed_in, ("\ufeff" + city_list()).encode("utf-8"))
    assert response.status_code == 200
    assert "Thêm mới 114" in response.get_data(as_text=True)
    rows = wards()
    assert len(rows) == 114
    kinds = [w.kind for w in rows]
    assert (kinds.count("ward"), kinds.count("commune"), kinds.count("special_zone")) == (56, 56, 2)
    first = rows[0]
    assert (first.code, first.name, first.kind, first.unit_label) == (
        "11001",
        "Xã Số 1",
        "commune",
        "Thôn",
    )
    events = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert events.count("ward_created") == 114 and events.count("wards_imported") == 1
    page = signed_in.get("/city/").get_data(as_text=True)
    assert "Phường, xã, đặc khu (114)" in page and "Đặc khu Số 114" in page


def test_a_second_upload_updates_by_code_and_creates_the_rest(signed_in):
    upload(signed_in, city_list(3).encode("utf-8"))  # 11001 Xã Số 1, 11002 and 11003 Đặc khu
    changed = (
        "ma;ten;loai\n11001;Xã Số Một;xa\n11004;Phường Bốn;phuong\n"
        "11002;Phường Số 2;Phường\n11003;Đặc khu Số 3;Đặc khu\n"
    )
    response = upload(signed_in, changed.encode("utf-8"))
    text = response.get_data(as_text=True)
    assert "Thêm mới 1, cập nhật 2, 1 không thay đổi." in text
    assert [(w.code, w.name, w.kind) for w in wards()] == [
        ("11001", "Xã Số Một", "commune"),
        ("11002", "Phường Số 2", "ward"),
        ("11003", "Đặc khu Số 3", "special_zone"),
        ("11004", "Phường Bốn", "ward"),
    ]


def test_a_ward_without_a_code_gets_its_code_by_name(signed_in):
    db.session.add(Ward(name="Phường Thành Đông"))
    db.session.commit()
    upload(signed_in, "ma,ten,loai\nTD01,Phường Thành Đông,Phường\n".encode())
    assert [(w.code, w.name) for w in wards()] == [("TD01", "Phường Thành Đông")]


def test_one_bad_line_imports_nothing_and_every_problem_is_named(signed_in):
    db.session.add(Ward(name="Phường Hoa Sen", code="HS01"))
    db.session.commit()
    data = "\n".join(
        [
            "Mã,Tên,Loại",
            "A1,Phường Một,Phường",
            "a1,Phường Hai,Phường",  # duplicate code (case ignored)
            "A3,,Xã",  # empty name
            "A4,Xã Bốn,Tỉnh",  # unknown type
            ",Xã Năm,Xã",  # no code
            "A6,Phường Hoa Sen,Phường",  # another ward's name
            "A7,Phường Một,Phường",  # name twice in the file
            "A8,Xã Tám,",  # no type
        ]
    ).encode("utf-8")
    response = upload(signed_in, data)
    text = response.get_data(as_text=True)
    assert "Chưa nhập gì cả" in text
    for message in [
        "Dòng 3: Mã A1 trùng với dòng 2",
        "Dòng 4: Thiếu tên",
        "Dòng 5: Loại “Tỉnh” không rõ; hãy dùng Phường, Xã hoặc Đặc khu",
        "Dòng 6: Thiếu mã",
        "Dòng 7: Tên “Phường Hoa Sen” đã là của đơn vị mã HS01",
        "Dòng 8: Tên “Phường Một” trùng với dòng 2",
        "Dòng 9: Thiếu loại",
    ]:
        assert message in text, message
    assert [w.code for w in wards()] == ["HS01"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("Tên,Loại\nXã Một,Xã\n".encode(), "Dòng 1: thiếu cột ma"),
        (b"ma,ten,loai\n", "Tệp không có dòng dữ liệu nào."),
        ("ma,ten,loai\nA1,Xã Một,Xã\n".encode("utf-16"), "Tệp không ở dạng UTF-8"),
        (b"", "Vui lòng chọn một tệp CSV."),
        (("ma,ten,loai\nA1,Xã Một,Xã\n" + "A,B,Xã\n" * 2001).encode(), "Tệp quá dài"),
        ("ma,ten,loai\nmã có dấu,Xã Một,Xã\n".encode(), "Dòng 2: Mã “MÃ CÓ DẤU” không hợp lệ"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message(signed_in, data, message):
    response = upload(signed_in, data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert wards() == []


def test_the_sample_file_imports_cleanly(signed_in):
    response = signed_in.get("/city/wards/sample.csv")
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf") and b"\r\n" in response.data
    parsed = ward_import.parse_wards_csv(response.data)
    assert parsed.errors == []
    assert [r.kind for r in parsed.rows] == ["ward", "commune", "special_zone"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Phường", "ward"),
        ("phuong", "ward"),
        ("XÃ", "commune"),
        ("Đặc khu", "special_zone"),
        ("dac_khu", "special_zone"),
        ("special_zone", "special_zone"),
        ("Huyện", None),
    ],
)
def test_kind_words(text, kind):
    assert ward_import.parse_kind(text) == kind
