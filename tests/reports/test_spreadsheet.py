"""The files opened by a real spreadsheet, as the officer opens them on an office PC.

LibreOffice (Debian's libreoffice-calc-nogui) stands in for Excel: each CSV goes through its
CSV import with number and date detection on and formulas evaluated, once under Vietnamese
(vi-VN: 1.234,5; dd/mm/yyyy) and once under US English (en-US: 1,234.5; mm/dd/yyyy)
settings, and the result is read back with openpyxl. Each workbook is printed to PDF and
its pages read with pypdf. One LibreOffice start converts all the files of a step.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from fieldapp import demo
from fieldapp.extensions import db
from fieldapp.models import Unit, Ward
from tests.conftest import make_app
from tests.pdf import page_texts
from tests.tally_world import EXPECTED, FORMULA_NAME, HOA_PHONE, build_records
from tests.world import PASSWORD, build_world

SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"
# The CSV import's options: comma, double quote, UTF-8, from line 1, columns detected, the
# language, quoted fields not forced to text, special numbers (dates, times) detected, not
# trimmed, formulas evaluated (token 13).
CSV_IMPORT = "CSV:44,34,76,1,,{language},false,true,false,false,false,-1,true"
LANGUAGES = {"vi-VN": 1066, "en-US": 1033}


def _soffice(profile: Path, *args: str) -> None:
    """One run of LibreOffice, with a profile of this test run's own."""
    subprocess.run(
        [SOFFICE, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}", *args],
        check=True,
        capture_output=True,
        timeout=180,
    )


def _download(app, username: str, password: str, urls: dict[str, str], into: Path) -> None:
    client = app.test_client()
    with app.app_context():
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302
        for name, url in urls.items():
            response = client.get(url)
            assert response.status_code == 200, url
            (into / name).write_bytes(response.data)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The officer's and the city's files of a known ward and of the demo, converted."""
    if not Path(SOFFICE).exists():
        reason = "LibreOffice not installed: apt-get install libreoffice-calc-nogui"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("spreadsheet")
    got = root / "files"
    got.mkdir()
    known = make_app("sqlite", _dir(root / "known"))
    with known.app_context():
        db.create_all()
        build_records(build_world())
    _download(
        known,
        "canbo",
        PASSWORD,
        {
            "units.csv": "/reports/units.csv",
            "assists.csv": "/reports/assists.csv",
            "difficulties.csv": "/reports/difficulties.csv",
        },
        got,
    )
    shown = make_app("sqlite", _dir(root / "demo"))
    with shown.app_context():
        db.create_all()
        demo.build_demo()
        ward = db.session.scalar(sa.select(Ward).where(Ward.name == demo.WARD_NAME))
        units = list(db.session.scalars(sa.select(Unit.name).where(Unit.ward_id == ward.id)))
    _download(shown, demo.OFFICER[0], demo.OFFICER[1], {"ward.xlsx": "/reports/ward.xlsx"}, got)
    _download(
        shown,
        demo.CITY_ADMIN,
        demo.PASSWORD,
        {"city.xlsx": "/city/reports/city.xlsx", "wards.csv": "/city/reports/wards.csv"},
        got,
    )
    profile = root / "profile"
    csvs = sorted(str(p) for p in got.glob("*.csv"))
    for language, code in LANGUAGES.items():
        out = _dir(root / language)
        _soffice(
            profile,
            f"--infilter={CSV_IMPORT.format(language=code)}",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            *csvs,
        )
    pdfs = _dir(root / "pdf")
    books = [str(got / "ward.xlsx"), str(got / "city.xlsx")]
    _soffice(profile, "--convert-to", "pdf", "--outdir", str(pdfs), *books)
    return {"root": root, "units": units}


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read(files: dict, language: str, name: str) -> tuple[list[str], list[dict]]:
    """A CSV as the spreadsheet opened it: the header, and each row's cells by title."""
    book = load_workbook(files["root"] / language / name.replace(".csv", ".xlsx"))
    rows = list(book.active.iter_rows())
    header = [c.value for c in rows[0]]
    return header, [dict(zip(header, row, strict=False)) for row in rows[1:]]


def _csv_rows(files: dict, name: str) -> list[list[str]]:
    import csv

    text = (files["root"] / "files" / name).read_text(encoding="utf-8-sig")
    return list(csv.reader(text.splitlines()))


@pytest.mark.parametrize("language", LANGUAGES)
def test_phones_keep_their_zero_and_times_are_the_files_own(files, language):
    header, rows = _read(files, language, "assists.csv")
    hoa = next(r for r in rows if r["Họ và tên"].value == "Nguyễn Thị Hoa")
    phone = hoa["Số điện thoại"]
    assert phone.data_type == "s" and phone.value.replace(" ", "") == HOA_PHONE
    assert hoa["Năm sinh"].value == 1950 and hoa["Số lần thi"].value == 2
    assert hoa["Thời gian nhận"].value == datetime(2025, 10, 20, 9, 0)  # 20 October, 09:00
    # Every time is a real date, equal to the one the file meant, under either setting (a
    # dd/mm text would have become 10 December under US settings, or stayed text).
    written = {row[-2]: row for row in _csv_rows(files, "assists.csv")[1:]}  # by record id
    for row in rows:
        line = written[row["Mã lượt"].value]
        for title in ("Thời gian nhận", "Giờ thiết bị"):
            cell = row[title]
            assert cell.is_date, (language, title, cell.value)
            assert cell.value == datetime.fromisoformat(line[header.index(title)])
    assert len(rows) == EXPECTED["ward"]["assists"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_counts_read_as_numbers_and_no_formula_ever_runs(files, language):
    header, rows = _read(files, language, "units.csv")
    by_name = {r["Đơn vị"].value: r for r in rows}
    kdc1 = by_name["Khu dân cư số 1"]
    assert kdc1["Người dân được hỗ trợ"].value == 4 and kdc1["Lượt hỗ trợ"].value == 6
    total = rows[-1]
    assert total["Người dân được hỗ trợ"].value == EXPECTED["ward"]["residents"]
    assert total["Người hoàn thành bài thi"].value == EXPECTED["completed"]
    counts = [t for t in header if t not in ("Đơn vị", "Loại đơn vị", "Ghi chú")]
    for row in rows:  # every figure a number the spreadsheet can sum and sort
        for title in counts:
            assert row[title].value is None or row[title].data_type == "n", (title, row[title])
    # Ratios are not in the CSV (the workbook has them, as numbers): no decimal separator
    # reads right under both settings.
    assert not any("Tiến độ" in t for t in header)
    for name in ("units.csv", "assists.csv", "difficulties.csv", "wards.csv"):
        _, rows = _read(files, language, name)
        assert not [c for r in rows for c in r.values() if c.data_type == "f"], name
    _, assists = _read(files, language, "assists.csv")
    formula = next(r["Họ và tên"] for r in assists if FORMULA_NAME in (r["Họ và tên"].value or ""))
    assert formula.data_type == "s"
    _, difficulties = _read(files, language, "difficulties.csv")
    assert any(str(r["Nội dung"].value).endswith("=cmd|' /C calc'!A0") for r in difficulties)
    _, wards = _read(files, language, "wards.csv")
    assert wards[-1]["Phường, xã, đặc khu"].value == "Tổng cộng toàn thành phố"
    assert all(isinstance(w["Lượt hỗ trợ"].value, int) for w in wards)


def test_the_demo_ward_workbook_prints_on_a_dozen_pages_each_with_its_titles(files):
    pages = page_texts(files["root"] / "pdf" / "ward.pdf")
    assert 1 < len(pages) <= 12, len(pages)
    by_sheet: dict[str, list[str]] = {}
    for number, text in enumerate(pages, 1):
        first = text.splitlines()[0]
        # The page header: the ward, the campaign, the sheet; the footer: the page number.
        assert first.startswith(demo.WARD_NAME) and "Công dân số Hải Phòng" in first
        assert f"Trang {number} / {len(pages)}" in text
        sheet = next(
            t for t in ("Đơn vị", "Lượt hỗ trợ", "Khó khăn", "Theo ngày") if first.endswith(t)
        )
        by_sheet.setdefault(sheet, []).append(text)
    units = by_sheet["Đơn vị"]
    for text in units:  # every page of the units sheet has the unit names, and its title row
        assert "Loại đơn vị" in text and any(name in text for name in files["units"])
    assert all(any(name in text for text in units) for name in files["units"])
    assert "Tổng cộng toàn phường" in units[-1]
    assert len(by_sheet["Lượt hỗ trợ"]) > 1
    for text in by_sheet["Lượt hỗ trợ"]:  # the title row on each page, and the units' names
        assert "Thời gian nhận" in text and "Tổ dân phố số" in text


def test_the_city_workbook_prints_each_sheet_with_a_total(files):
    pages = page_texts(files["root"] / "pdf" / "city.pdf")
    assert all(text.startswith("Toàn thành phố") for text in pages)
    assert "Tổng cộng toàn thành phố" in "".join(pages)
    difficulties = [t for t in pages if t.splitlines()[0].endswith("Khó khăn")]
    assert difficulties and "Tổng cộng" in difficulties[-1]
