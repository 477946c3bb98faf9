"""QR codes: enrolment codes for members, enrolment sheets, contest posters and images.

Plain functions, no request inside (but for `enrol.enrolment_url`, which falls back to the
request's address). A QR code carries only a URL: the enrolment address with its one-time code,
or the campaign's contest link - never a name or a phone number.

Images of the contest link are cached in process (a small LRU), since every poster and every
download asks for the same few. Enrolment images are never cached: their code is a secret that
exists only in the response that shows it.
"""

from __future__ import annotations

import hashlib
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

import qrcode
import qrcode.constants
import sqlalchemy as sa
from markupsafe import Markup
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathFillImage

from .. import audit
from ..extensions import db
from ..field import enrol
from ..models import Campaign, Device, EnrolmentCode, Unit, User
from ..tally import counts
from ..text import fold, utcnow
from ..vocab import FIELD_ROLES

# M recovers ~15 % damage: enough for a creased sheet, and keeps the code small (a 22-character
# enrolment code in a URL fits version 3-4). Quiet zone: the 4 modules the standard requires.
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
QUIET_ZONE = 4
MAX_DATA = 1000  # characters; a longer "link" is not something a phone should open
PNG_BOX = 10  # pixels per module: a version-4 code is 410 px, sharp on a social network
CACHE_SIZE = 32
SHEET_PEOPLE_MAX = 2000  # people on one print of several units' sheets (a roster's size)
CODES_SHOWN = 20  # a person's latest codes on the officer's screen
_CONTROL = re.compile(r"[\x00-\x20\x7f]")

ERRORS = {
    "disabled": "Tài khoản này đang bị khóa: hãy mở lại tài khoản trước khi cấp mã QR.",
    "role": "Chỉ cấp mã QR cho Thành viên Tổ CNSCĐ và Tổ trưởng.",
    "no_members": "Đơn vị này chưa có thành viên hay tổ trưởng nào đang hoạt động.",
    "no_new_members": "Không có thành viên hay tổ trưởng nào đang hoạt động để in phiếu.",
    "base_url": "Địa chỉ phải bắt đầu bằng http:// hoặc https://, ví dụ https://so.phuong.vn",
}


class QrError(Exception):
    """A QR code that cannot be issued; `message` is the Vietnamese reason to show."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.message = ERRORS[kind]
        super().__init__(self.message)


# ---------------------------------------------------------------- images


def _qr(data: str) -> qrcode.QRCode:
    if not isinstance(data, str) or not data or len(data) > MAX_DATA:
        raise ValueError("QR data must be a non-empty string of at most 1000 characters")
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=QUIET_ZONE, box_size=PNG_BOX)
    code.add_data(data)
    code.make(fit=True)
    return code


def png(data: str, box_size: int = PNG_BOX) -> bytes:
    """The QR code of `data` as a black-on-white PNG (not cached)."""
    code = _qr(data)
    code.box_size = box_size
    image = code.make_image(image_factory=PilImage, fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _svg_root(data: str) -> ET.Element:
    image = _qr(data).make_image(image_factory=SvgPathFillImage)
    root = image.get_image()
    # The library names its path "qr-path": several codes on one page must not share an id.
    if image.path is not None:
        image.path.attrib.pop("id", None)
    root.set("shape-rendering", "crispEdges")
    return root


def svg_document(data: str) -> bytes:
    """The QR code of `data` as a standalone SVG file (white background, quiet zone kept)."""
    root = _svg_root(data)
    out = io.BytesIO()
    ET.ElementTree(root).write(out, encoding="UTF-8", xml_declaration=True)
    return out.getvalue()


def svg_inline(data: str, label: str = "Mã QR") -> Markup:
    """The QR code of `data` as <svg> markup to put in a page; CSS sets its size."""
    root = _svg_root(data)
    for name in ("width", "height", "version"):
        root.attrib.pop(name, None)
    root.set("class", "qr-image")
    root.set("role", "img")
    root.set("aria-label", label)
    # The library writes the namespace by hand; ElementTree would write it twice otherwise.
    return Markup(ET.tostring(root, encoding="unicode"))  # noqa: S704 - built from our own tree


@lru_cache(maxsize=CACHE_SIZE)
def cached_png(data: str) -> bytes:
    """png(data), remembered: for the contest link, asked for by every poster and download."""
    return png(data)


@lru_cache(maxsize=CACHE_SIZE)
def cached_svg_document(data: str) -> bytes:
    """svg_document(data), remembered."""
    return svg_document(data)


@lru_cache(maxsize=CACHE_SIZE)
def cached_svg_inline(data: str, label: str = "Mã QR") -> Markup:
    """svg_inline(data), remembered."""
    return svg_inline(data, label)


def etag(data: str, kind: str) -> str:
    """A strong ETag for the image of `data` in format `kind` (same data, same bytes)."""
    return hashlib.sha256(f"{kind}\x00{qrcode.__name__}\x00{data}".encode()).hexdigest()[:32]


# ---------------------------------------------------------------- links


def safe_link(url: str | None) -> str | None:
    """`url` if a phone may safely open it (http or https, a host, no spaces), else None."""
    if not isinstance(url, str) or not url or len(url) > MAX_DATA or _CONTROL.search(url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def contest_link(campaign: Campaign | None) -> str | None:
    """The campaign's contest link, if there is one that a QR code may carry."""
    return safe_link(campaign.contest_url) if campaign else None


def enrolment_url(code: str, base_url: str | None = None) -> str:
    """The enrolment address of `code` under `base_url` (default: the configured public URL)."""
    if base_url is None:
        return enrol.enrolment_url(code)
    if safe_link(base_url) is None:
        raise QrError("base_url")
    return f"{base_url.rstrip('/')}/e/{code}"


# ---------------------------------------------------------------- issuing


@dataclass
class Issued:
    """A code just issued: the raw code exists only here, only its hash is stored."""

    person: User
    code: str
    row: EnrolmentCode
    url: str
    revoked: int = 0

    @property
    def expires_at(self) -> datetime:
        return self.row.expires_at


def check_can_enrol(person: User) -> None:
    """Raise QrError unless `person` may get an enrolment code (active, member or group head)."""
    if person.role not in FIELD_ROLES:
        raise QrError("role")
    if not person.active:
        raise QrError("disabled")


def issue_for_person(
    person: User,
    by: User | None,
    *,
    revoke_old: bool = False,
    hours: int | None = None,
    base_url: str | None = None,
) -> Issued:
    """Issue a one-time enrolment code for `person`; other devices stay unless `revoke_old`.

    Flushes only: the caller commits.
    """
    check_can_enrol(person)
    if base_url is not None and safe_link(base_url) is None:
        raise QrError("base_url")  # checked before anything changes
    revoked = 0
    if revoke_old:
        live = sa.select(Device).where(Device.user_id == person.id, Device.revoked_at.is_(None))
        for device in db.session.scalars(live).all():
            if by is None:
                raise ValueError("revoking devices needs the officer who asks")
            enrol.revoke_device(device, by)
            revoked += 1
    code, row = enrol.issue_code(person, by, hours)
    return Issued(person, code, row, enrolment_url(code, base_url), revoked)


def unit_people(unit: Unit) -> list[User]:
    """The active members and group heads of a unit, group heads first, then by name."""
    rows = db.session.scalars(
        sa.select(User).where(User.unit_id == unit.id, User.active, User.role.in_(FIELD_ROLES))
    ).all()
    return sorted(
        rows, key=lambda u: (u.role != "group_head", counts.natural_key(u.full_name), u.id)
    )


def issue_for_unit(unit: Unit, by: User, hours: int | None = None) -> list[Issued]:
    """Fresh codes for every active member and group head of `unit` (for a printed sheet)."""
    people = unit_people(unit)
    if not people:
        raise QrError("no_members")
    issued = [issue_for_person(person, by, hours=hours) for person in people]
    audit.record(
        "enrol_sheet_issued", unit, ward_id=unit.ward_id, actor_id=by.id, codes=len(issued)
    )
    db.session.flush()
    return issued


def issue_for_people(
    people: list[User], by: User, hours: int | None = None
) -> list[tuple[Unit, list[Issued]]]:
    """Fresh codes for the active members and group heads among `people`, grouped by unit in
    the dashboard's order (one printed sheet each); others are left out."""
    groups: dict[int, list[User]] = {}
    for person in people:
        if person.active and person.role in FIELD_ROLES and person.unit is not None:
            groups.setdefault(person.unit_id, []).append(person)
    if not groups:
        raise QrError("no_new_members")
    units = sorted((group[0].unit for group in groups.values()), key=counts.unit_key)
    sheets = []
    for unit in units:
        members = sorted(
            groups[unit.id],
            key=lambda u: (u.role != "group_head", counts.natural_key(u.full_name), u.id),
        )
        issued = [issue_for_person(person, by, hours=hours) for person in members]
        audit.record(
            "enrol_sheet_issued", unit, ward_id=unit.ward_id, actor_id=by.id, codes=len(issued)
        )
        sheets.append((unit, issued))
    db.session.flush()
    return sheets


# ---------------------------------------------------------------- what the officer sees


@dataclass
class CodeLine:
    """One issued code as the officer's screen lists it."""

    row: EnrolmentCode
    state: str  # used, cancelled, expired, unused
    device: Device | None

    @property
    def label(self) -> str:
        labels = {"used": "Đã dùng", "cancelled": "Đã hủy", "expired": "Hết hạn"}
        return labels.get(self.state, "Chưa dùng")


def code_lines(codes: list[EnrolmentCode], now: datetime | None = None) -> list[CodeLine]:
    """Each code with its state: used (and by which device), cancelled, expired, not used yet."""
    now = now or utcnow()
    lines = []
    for row in codes:
        if row.used_at is not None:
            state = "used"
        elif row.expires_at == row.created_at:  # enrol.cancel_code's mark
            state = "cancelled"
        elif row.expires_at <= now:
            state = "expired"
        else:
            state = "unused"
        lines.append(CodeLine(row, state, row.device))
    return lines


# ---------------------------------------------------------------- posters


POSTER_STEPS = (
    "Mở camera điện thoại, quét mã QR ở trên.",
    "Đăng ký tài khoản bằng số điện thoại của bạn.",
    "Làm bài thi trực tuyến ngay trên điện thoại.",
)


@dataclass
class Poster:
    """What a unit's contest poster shows."""

    unit: Unit
    campaign: Campaign | None
    link: str | None
    contact: User | None
    contact_title: str


def poster_for(unit: Unit) -> Poster:
    """The poster of a unit: the campaign's contest link and whom residents may ask for help."""
    campaign = unit.ward.current_campaign()
    if unit.is_residential:
        roles, title = ("group_head",), "Tổ trưởng"
    else:
        roles, title = ("reporter",), "Cán bộ phụ trách"
    people = db.session.scalars(
        sa.select(User).where(User.unit_id == unit.id, User.active, User.role.in_(roles))
    ).all()
    contact = min(people, key=lambda u: (fold(u.full_name), u.id)) if people else None
    return Poster(unit, campaign, contest_link(campaign), contact, title)
