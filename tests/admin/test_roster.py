"""The ward's roster from CSV or XLSX: checked line by line, all or nothing, scoped to the
officer's ward; then the new members' QR sheets, a page per unit."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from fieldapp.admin import roster
from fieldapp.extensions import db
from fieldapp.field import enrol
from fieldapp.models import AuditEvent, EnrolmentCode, Unit, User
from tests.qr.test_codes import code_of, decode_page, sign_in

HEADER = "Họ và tên,Số điện thoại,Đơn vị,Vai trò"


def csv_bytes(*lines: str, bom: bool = True) -> bytes:
    return (("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n").encode("utf-8")


def xlsx_bytes(*rows: list) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, filename: str = "danh-sach.csv"):
    return client.post(
        "/admin/people/import",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def people_rows():
    return sorted(
        db.session.execute(
            sa.select(User.username, User.full_name, User.phone, User.role, User.unit_id)
        ).all()
    )


def audit_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))


@pytest.fixture
def officer(client, world):
    sign_in(client, world.users["officer"])
    return world.users["officer"]


def created(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


# ---------------------------------------------------------------- good files


def test_a_csv_with_vietnamese_headers_creates_everyone_in_the_right_unit(client, world, officer):
    response = upload(
        client,
        csv_bytes(
            HEADER,
            "Nguyễn Thị Lan,0912 345 001,Khu dân cư số 1,Thành viên",
            "Trần Văn Bảo,+84912345002,khu dân cư số 2,Tổ trưởng",
            "Hoàng Thị Cúc,,Khu dan cu so 2,",  # accents left out; blank role: a member
            "Vũ Văn Dương,0912.345.004,Trạm Y tế phường,Người báo cáo",
        ),
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Đã nhập xong 4 người." in html
    lan, bao, cuc, duong = (created(u) for u in ("lannt", "baotv", "cucht", "duongvv"))
    kdc1, kdc2, agency = (world.units[k] for k in ("kdc1", "kdc2", "agency"))
    assert (lan.full_name, lan.phone, lan.role, lan.unit_id) == (
        "Nguyễn Thị Lan",
        "0912345001",
        "member",
        kdc1.id,
    )
    assert (bao.phone, bao.role, bao.unit_id) == ("0912345002", "group_head", kdc2.id)
    assert (cuc.phone, cuc.role, cuc.unit_id) == (None, "member", kdc2.id)
    assert (duong.role, duong.unit_id) == ("reporter", agency.id)
    assert all(p.ward_id == world.ward.id and p.password_hash is None for p in (lan, bao, duong))
    # The QR action carries the new members and group heads, not the reporter.
    ids = re.findall(r'name="person" value="(\d+)"', html)
    assert sorted(map(int, ids)) == sorted([lan.id, bao.id, cuc.id])
    assert "In phiếu mã QR cho 3 người mới" in html
    assert "cần đặt mật khẩu" in html  # the group head and the reporter
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "people_imported"))
    assert event.detail["created"] == 4 and event.detail["reporter"] == 1
    assert event.actor_id == officer.id


def test_an_xlsx_with_the_group_column_and_phones_typed_as_numbers(client, world, officer):
    data = xlsx_bytes(
        ["STT", "Họ và tên", "Số điện thoại", "Tổ", "Vai trò"],
        [1, "Phạm Thị Hòa", 912000101, "Khu dân cư số 1", "Tổ trưởng"],
        [2, "Đỗ Văn Giang", "0912000102", "Khu dân cư số 1", "thành viên tổ CNSCĐ"],
        [None, None, None, None, None],
        [3, "Lê Thị Én", None, "Khu dân cư số 2", "TV"],
    )
    response = upload(client, data, "to-cnscd.xlsx")
    assert "Đã nhập xong 3 người." in response.get_data(as_text=True)
    assert created("hoapt").phone == "0912000101"  # the zero Excel dropped is back
    assert created("hoapt").role == "group_head"
    assert created("giangdv").phone == "0912000102"
    assert created("enlt").unit_id == world.units["kdc2"].id


def test_keys_as_headers_semicolons_and_a_username_column(client, world, officer):
    response = upload(
        client,
        csv_bytes(
            "name;phone;unit;role;username",
            "Ngô Thị Hạnh;;Khu dân cư số 1;member;tv.hanh",
            "Ngô Thị Hạnh;;Khu dân cư số 2;group_head;",
            bom=False,
        ),
    )
    assert "Đã nhập xong 2 người." in response.get_data(as_text=True)
    assert created("tv.hanh").unit_id == world.units["kdc1"].id
    assert created("hanhnt").role == "group_head"


def test_generated_usernames_never_collide():
    taken = {"lannt", "lannt2"}
    assert roster.new_username("Nguyễn Thị Lan", taken) == "lannt3"
    assert roster.new_username("Đặng  Đức", set()) == "ducd"
    assert roster.new_username("An", set()) == "tv.an"
    assert roster.new_username("Nguyễn Văn Thành", {"thanhnv"}) == "thanhnv2"


def test_two_new_people_with_the_same_initials_get_two_usernames(client, world, officer):
    upload(
        client,
        csv_bytes(
            HEADER,
            "Nguyễn Thị Lan,,Khu dân cư số 1,",
            "Nông Thị Lan,,Khu dân cư số 2,",
        ),
    )
    assert created("lannt").full_name == "Nguyễn Thị Lan"
    assert created("lannt2").full_name == "Nông Thị Lan"


def test_the_sample_names_the_wards_units_and_imports_as_it_is(client, world, officer):
    response = client.get("/admin/people/sample.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "mau-danh-sach-nguoi-dung.csv" in response.headers["Content-Disposition"]
    data = response.data
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == HEADER
    assert "Khu dân cư số 1" in text and "Trạm Y tế phường" in text
    html = upload(client, data, "mau.csv").get_data(as_text=True)
    assert "Đã nhập xong 6 người." in html


def test_the_people_screen_links_to_the_import(client, world, officer):
    html = client.get("/admin/people").get_data(as_text=True)
    assert 'href="/admin/people/import"' in html
    page = client.get("/admin/people/import").get_data(as_text=True)
    assert 'href="/admin/people/sample.csv"' in page
    assert 'accept=".csv,.xlsx' in page


# ---------------------------------------------------------------- refusals, by line


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (",0912345099,Khu dân cư số 1,Thành viên", "Dòng 3: Thiếu họ và tên"),
        ("1234,,Khu dân cư số 1,", "Dòng 3: Họ và tên “1234” không hợp lệ"),
        ("Lê\x00 An,,Khu dân cư số 1,", "Dòng 3: Họ và tên có ký tự lạ (ký tự điều khiển)"),
        ("Lê " + "A" * 130 + ",,Khu dân cư số 1,", "Dòng 3: Họ và tên dài quá 120 ký tự"),
        (
            "Lê Văn An,09123,Khu dân cư số 1,",
            "Dòng 3: Số điện thoại “09123” không đúng: cần 10 chữ số, bắt đầu bằng 0",
        ),
        (
            "Lê Văn An,,Khu dân cư số 1,Trưởng ban",
            "Dòng 3: Vai trò “Trưởng ban” không rõ; hãy ghi Thành viên, Tổ trưởng hoặc "
            "Người báo cáo",
        ),
        (
            "Lê Văn An,,Khu dân cư số 1,Cán bộ phường",
            "Dòng 3: Không nhập cán bộ phường từ tệp; hãy thêm ở màn hình Người dùng → "
            "Thêm người dùng",
        ),
        ("Lê Văn An,,,Thành viên", "Dòng 3: Thiếu đơn vị"),
        (
            "Lê Văn An,,Khu dân cư số 9,",
            "Dòng 3: Phường chưa có đơn vị “Khu dân cư số 9”; hãy sửa tên cho khớp danh sách "
            "đơn vị, hoặc thêm đơn vị trước",
        ),
        (
            "Lê Văn An,,Trạm Y tế phường,Thành viên",
            "Dòng 3: “Trạm Y tế phường” là cơ quan, đơn vị: tổ trưởng và thành viên cần thuộc "
            "một khu dân cư",
        ),
        (
            "Lê Văn An,,Khu dân cư số 2,Người báo cáo",
            "Dòng 3: “Khu dân cư số 2” là khu dân cư: người báo cáo cần thuộc một cơ quan, "
            "trường học hoặc đoàn thể",
        ),
        (
            "Lê Văn An,0912 345 001,Khu dân cư số 2,",
            "Dòng 3: Số điện thoại trùng với dòng 2",
        ),
        ("nguyễn thị lan,,Khu dân cư số 1,", "Dòng 3: Trùng với dòng 2 (cùng họ tên, cùng đơn vị)"),
        (
            "Lê Thị Mai,,Khu dân cư số 1,",
            "Dòng 3: Lê Thị Mai đã có trong Khu dân cư số 1 (tên đăng nhập thanhvien1); nếu là "
            "hai người khác nhau, hãy thêm người này ở màn hình Người dùng",
        ),
        (
            "Lê Văn An,0987 654 321,Khu dân cư số 2,",
            "Dòng 3: Số điện thoại này đã có ở Phạm Văn Hùng (tên đăng nhập totruong1)",
        ),
    ],
)
def test_each_bad_line_is_refused_with_its_number_and_nothing_changes(
    client, world, officer, line, message
):
    world.users["head"].phone = "0987654321"
    db.session.commit()
    before, audits = people_rows(), audit_count()
    data = csv_bytes(HEADER, "Nguyễn Thị Lan,0912 345 001,Khu dân cư số 1,", line)
    result = roster.parse("ds.csv", data, world.ward)
    assert result.errors == [message]
    assert result.rows == []
    response = upload(client, data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Chưa nhập gì cả." in html
    assert people_rows() == before
    assert audit_count() == audits


def test_every_problem_of_every_line_is_listed_at_once(world):
    data = csv_bytes(
        HEADER + ",Tên đăng nhập",
        "Lê Văn An,123,Bệnh viện,Giám đốc,ab",
        "Lê Văn Ba,,Khu dân cư số 1,,thanhvien1",
        "Lê Văn Ca,,Khu dân cư số 1,,tv.ca",
        "Lê Văn Da,,Khu dân cư số 2,,TV.CA",
    )
    errors = roster.parse("ds.csv", data, world.ward).errors
    assert [e.split(":")[0] for e in errors] == ["Dòng 2"] * 4 + ["Dòng 3", "Dòng 5"]
    assert errors[0].startswith("Dòng 2: Số điện thoại “123”")
    assert errors[1].startswith("Dòng 2: Vai trò “Giám đốc” không rõ")
    assert errors[2].startswith("Dòng 2: Phường chưa có đơn vị “Bệnh viện”")
    assert errors[3].startswith("Dòng 2: Tên đăng nhập “ab” không hợp lệ")
    assert errors[4] == "Dòng 3: Tên đăng nhập “thanhvien1” đã có người dùng"
    assert errors[5] == "Dòng 5: Tên đăng nhập trùng với dòng 4"


def test_an_inactive_unit_is_refused(world):
    world.units["kdc2"].active = False
    db.session.commit()
    errors = roster.parse("ds.csv", csv_bytes(HEADER, "Lê Văn An,,Khu dân cư số 2,"), world.ward)
    assert errors.errors == ["Dòng 2: Đơn vị “Khu dân cư số 2” đã ngừng hoạt động"]


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("ds.pdf", b"%PDF-1.4", "Tệp phải có đuôi .csv hoặc .xlsx."),
        ("ds.xlsx", b"PK\x03\x04 not a workbook", "Không đọc được tệp"),
        ("ds.csv", b"", "Vui lòng chọn một tệp CSV hoặc Excel (.xlsx)."),
        ("ds.csv", "\ufeff\r\n ,, \r\n".encode(), "Tệp trống."),
        ("ds.csv", csv_bytes(HEADER), "Tệp không có dòng dữ liệu nào."),
        (
            "ds.csv",
            csv_bytes("Họ và tên,Số điện thoại", "Lê Văn An,"),
            "Dòng 1: thiếu cột “Đơn vị”. Dòng đầu tiên phải là: " + HEADER,
        ),
        (
            "ds.csv",
            csv_bytes("Lê Văn An,0912345001,Khu dân cư số 1"),  # no header at all
            "Dòng 1: thiếu cột “Họ và tên”, “Đơn vị”.",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(
    client, world, officer, filename, data, message
):
    before = people_rows()
    html = upload(client, data, filename).get_data(as_text=True)
    assert "Chưa nhập gì cả." in html
    assert message in html
    assert people_rows() == before


def test_a_file_too_long_is_refused(world):
    lines = [f"Người Số {n},,Khu dân cư số 1," for n in range(roster.MAX_LINES + 1)]
    result = roster.parse("ds.csv", csv_bytes(HEADER, *lines), world.ward)
    assert result.errors == [roster.MSG_TOO_LONG]


def test_one_bad_line_among_many_good_ones_creates_nobody(client, world, officer):
    lines = [f"Nguyễn Văn Tốt {n},,Khu dân cư số {1 + n % 2}," for n in range(40)]
    lines.insert(25, "Nguyễn Văn Xấu,,Khu dân cư số 3,")
    before, audits = people_rows(), audit_count()
    html = upload(client, csv_bytes(HEADER, *lines)).get_data(as_text=True)
    assert "Tệp có 1 lỗi" in html
    assert "Dòng 27: Phường chưa có đơn vị “Khu dân cư số 3”" in html
    assert people_rows() == before and audit_count() == audits


def test_a_username_taken_meanwhile_creates_nobody(client, world, officer, monkeypatch):
    real = roster.parse

    def parse_then_someone_takes_the_name(*args):
        result = real(*args)
        db.session.add(User(username=result.rows[-1].username, full_name="X", role="member"))
        db.session.commit()  # committed by "another officer" between the check and the insert
        return result

    monkeypatch.setattr(roster, "parse", parse_then_someone_takes_the_name)
    before = people_rows()
    data = csv_bytes(HEADER, "Lê Văn An,,Khu dân cư số 1,", "Lê Văn Bình,,Khu dân cư số 2,")
    html = upload(client, data).get_data(as_text=True)
    assert "có người vừa được thêm với cùng tên đăng nhập" in html
    assert len(people_rows()) == len(before) + 1  # only the other officer's account
    assert created("anlv") is None


# ---------------------------------------------------------------- scoped to the ward and role


def test_another_wards_unit_is_not_found_and_the_same_name_is_this_wards(client, world, officer):
    other_only = Unit(ward=world.other_ward, kind="residential", name="Khu dân cư số 7")
    db.session.add(other_only)
    db.session.commit()
    result = roster.parse(
        "ds.csv",
        csv_bytes(HEADER, "Lê Văn An,,Khu dân cư số 7,", "Lê Văn Bình,,Khu dân cư số 1,"),
        world.ward,
    )
    assert result.errors[0].startswith("Dòng 2: Phường chưa có đơn vị “Khu dân cư số 7”")
    result = roster.parse("ds.csv", csv_bytes(HEADER, "Lê Văn Bình,,Khu dân cư số 1,"), world.ward)
    assert result.rows[0].unit.id == world.units["kdc1"].id  # not the other ward's namesake


def test_the_other_wards_officer_imports_into_their_own_ward_only(client, world):
    sign_in(client, world.users["other_officer"])
    html = upload(client, csv_bytes(HEADER, "Lê Văn An,,Khu dân cư số 1,")).get_data(as_text=True)
    assert "Đã nhập xong 1 người." in html
    person = created("anlv")
    assert person.ward_id == world.other_ward.id
    assert person.unit_id == world.units["other1"].id
    # A phone or a name of ward A's people is no duplicate in ward B (and is not shown there).
    world.users["member"].phone = "0912345009"
    db.session.commit()
    result = roster.parse(
        "ds.csv", csv_bytes(HEADER, "Lê Thị Mai,0912345009,Khu dân cư số 1,"), world.other_ward
    )
    assert result.errors == []


@pytest.mark.parametrize("who", ["head", "member", "reporter", "city_admin"])
def test_only_an_officer_may_import(client, world, who):
    sign_in(client, world.users[who])
    before = people_rows()
    assert upload(client, csv_bytes(HEADER, "Lê Văn An,,Khu dân cư số 1,")).status_code == 403
    assert client.get("/admin/people/sample.csv").status_code == 403
    assert people_rows() == before


def test_the_file_cannot_make_officers_or_city_administrators(world):
    for role in ("Cán bộ phường", "officer", "Cán bộ Sở KH&CN", "city_admin"):
        result = roster.parse("ds.csv", csv_bytes(HEADER, f"Lê Văn An,,,{role}"), world.ward)
        assert result.rows == []
        assert "cán bộ phường" in result.errors[0] or "không rõ" in result.errors[0]


# ---------------------------------------------------------------- the new members' QR sheets


def test_one_action_prints_the_new_members_sheets_a_page_per_unit(client, world, officer, tmp_path):
    html = upload(
        client,
        csv_bytes(
            HEADER,
            "Nguyễn Thị Lan,,Khu dân cư số 2,Thành viên",
            "Trần Văn Bảo,,Khu dân cư số 1,Thành viên",
            "Hoàng Thị Cúc,,Khu dân cư số 2,Tổ trưởng",
            "Vũ Văn Dương,,Trạm Y tế phường,Người báo cáo",
        ),
    ).get_data(as_text=True)
    ids = re.findall(r'name="person" value="(\d+)"', html)
    # Someone of another ward slipped into the form is left out.
    ids.append(str(world.users["other_member"].id))
    response = client.post("/qr/people/sheets", data={"person": ids})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    sheets = re.findall(r'<article class="sheet">(.*?)</article>', page, flags=re.S)
    titles = [re.search(r"<h1>(.*?)</h1>", s).group(1) for s in sheets]
    assert titles == [
        "Phiếu đăng ký thiết bị · Khu dân cư số 1",
        "Phiếu đăng ký thiết bị · Khu dân cư số 2",
    ]
    names = [re.findall(r'class="qr-name">(.*?)<', s) for s in sheets]
    assert names == [["Trần Văn Bảo"], ["Hoàng Thị Cúc", "Nguyễn Thị Lan"]]  # head first
    # Only the new people got codes: the old members of Khu dân cư số 1 are not on the sheet.
    codes = db.session.scalars(sa.select(EnrolmentCode)).all()
    assert sorted(c.user_id for c in codes) == sorted(
        created(u).id for u in ("baotv", "cucht", "lannt")
    )
    urls = decode_page(page, tmp_path)
    owners = [
        db.session.scalar(
            sa.select(EnrolmentCode.user_id).where(
                EnrolmentCode.code_hash == enrol.hash_secret(code_of(url))
            )
        )
        for url in urls
    ]
    assert owners == [created(u).id for u in ("baotv", "cucht", "lannt")]
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "enrol_sheet_issued")
    ).all()
    assert sorted(e.detail["codes"] for e in events) == [1, 2]
    assert "break-before: page" in Path("static/css/print.css").read_text(encoding="utf-8")


def test_sheets_of_nobody_say_so_and_issue_nothing(client, world, officer):
    reporter = world.users["reporter"]
    response = client.post("/qr/people/sheets", data={"person": [str(reporter.id), "x", "999999"]})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Không có thành viên hay tổ trưởng nào đang hoạt động để in phiếu." in page
    assert db.session.scalar(sa.select(sa.func.count(EnrolmentCode.id))) == 0
