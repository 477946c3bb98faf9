"""Text rules shared by every module: Unicode NFC, accent folding, phone numbers, dates."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_SPACES = re.compile(r"\s+")
_PHONE_PUNCT = re.compile(r"[\s.\-()]")
_DIACRITICS = re.compile("[\u0300-\u034e\u0350-\u036f]")  # the combining marks block but CGJ


def nfc(value: str) -> str:
    """Trim, collapse inner whitespace and compose to Unicode NFC."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()


def fold(value: str) -> str:
    """Accent-folded, lower-case search key: "Nguyễn Thị Đào" -> "nguyen thi dao"."""
    value = nfc(value).lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", value)
    plain = _DIACRITICS.sub("", decomposed)  # Vietnamese marks: then ASCII, nothing left to do
    if plain.isascii():
        return plain
    return "".join(ch for ch in plain if not unicodedata.combining(ch))


def normalise_phone(value: str) -> str | None:
    """A Vietnamese mobile or landline number as 10 digits starting with 0, or None."""
    digits = _PHONE_PUNCT.sub("", value)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if len(digits) == 10 and digits.isascii() and digits.isdigit() and digits[0] == "0":
        return digits
    return None


def resident_key_for(
    phone: str | None,
    name_key: str | None,
    birth_year: int | None,
    unit_id: int | None,
    record_id: str,
    secret: str | None = None,
) -> str:
    """The tally's pseudonymous resident identity: 32 hex digits of HMAC-SHA256.

    Of the normalised phone when there is one, else the folded name + birth year + unit, else
    the record itself, keyed with a secret kept outside the database (FIELDAPP_KEY_SECRET or
    instance/key_secret, config.key_secret; the app's by default): without it, trying every
    phone number finds nothing. Erasure and purge still replace it with a random key per
    resident (erasure._unlink_resident_keys): the counts stay, the link to the person goes.
    """
    if phone:
        identity = "p" + phone
    elif name_key is not None:
        year = "" if birth_year is None else str(birth_year)
        identity = f"n{name_key}|{year}|{unit_id}"
    else:
        identity = "r" + record_id
    if secret is None:
        from flask import current_app

        secret = current_app.config["FIELDAPP_KEY_SECRET"]
    return hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()[:32]


def mask_phone(phone: str | None) -> str:
    """0912345678 -> ***678, for screens that need only to recognise a number (the least:
    its last three digits; 0912***678 showed 7 of 10 digits)."""
    if not phone:
        return ""
    return "***" + phone[-3:]


MASKED = "[số đã ẩn]"
# A citizen-ID (CCCD) number: 12 digits, maybe grouped by spaces or dots; a phone number:
# 0 or +84/84 then 9 digits, maybe grouped. static/js/validate.js has the same rule.
_ID_NUMBER = re.compile(r"(?<![\d])\d{3}(?:[ .]?\d{3}){3}(?![\d])", re.ASCII)
_PHONE_NUMBER = re.compile(r"(?<![\d+])(?:\+84|84|0)(?:[ .\-]?\d){9}(?![\d])", re.ASCII)


def mask_numbers(value: str) -> str:
    """Free text with CCCD and phone numbers replaced by [số đã ẩn] (least data in notes)."""
    return _PHONE_NUMBER.sub(MASKED, _ID_NUMBER.sub(MASKED, value))


def utcnow() -> datetime:
    """The current time as a naive UTC datetime, the form the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_local(moment: datetime | None) -> datetime | None:
    """A stored naive-UTC datetime in Asia/Ho_Chi_Minh."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(LOCAL_TZ)


def local_today() -> date:
    """Today's date in Asia/Ho_Chi_Minh."""
    return datetime.now(LOCAL_TZ).date()


def fmt_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy, in local time for datetimes."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value)
    return value.strftime("%d/%m/%Y")


def fmt_datetime(value: datetime | None) -> str:
    """dd/mm/yyyy HH:MM in local time."""
    if value is None:
        return ""
    return to_local(value).strftime("%d/%m/%Y %H:%M")


def fmt_number(value: int | float | None, decimals: int = 0) -> str:
    """Vietnamese style: 1.234 and 45,6."""
    if value is None:
        return ""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def parse_date(value: str) -> date | None:
    """dd/mm/yyyy or yyyy-mm-dd, or None if it is neither."""
    value = value.strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


def hash_secret(value: str) -> str:
    """SHA-256 hex of a code or token: what the database keeps instead of the secret."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
