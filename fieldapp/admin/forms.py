"""The officer's setup forms, with Vietnamese messages and the typed text kept on errors."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    Field,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import TextInput

from ..retention import AFTER_END_COUNT_ONLY, AFTER_END_RULES, default_retention
from ..text import fmt_date, nfc, normalise_phone, parse_date
from ..vocab import (
    DEFAULT_CATEGORIES,
    DEFAULT_STEPS,
    RESIDENTIAL_LABELS,
    UNIT_KINDS,
    WARD_KINDS,
    WARD_ROLES,
)
from . import campaign_items
from .campaign_items import ItemKind, Row
from .unit_import import parse_count

USERNAME = re.compile(r"^[a-z0-9._-]{3,60}$")
PASSWORD_MIN = 8


def choices(pairs: Any) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def strip_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def nfc_text(value: Any) -> Any:
    return nfc(value) if isinstance(value, str) else value


class DateText(Field):
    """A date typed as dd/mm/yyyy (yyyy-mm-dd also accepted); what was typed is kept."""

    widget = TextInput()
    data: date | None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return fmt_date(self.data) if self.data else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = (valuelist[0] if valuelist else "") or ""
        self.data = None
        if raw.strip():
            self.data = parse_date(raw)
            if self.data is None:
                raise ValueError("Ngày chưa đúng. Vui lòng nhập ngày/tháng/năm, ví dụ 11/10/2025.")


class CountText(Field):
    """A whole number ≥ 0 (1200 or 1.200), or empty."""

    widget = TextInput()
    data: int | None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = (valuelist[0] if valuelist else "") or ""
        self.data = None
        if raw.strip():
            self.data = parse_count(raw)
            if self.data is None:
                raise ValueError("Chỉ tiêu phải là số nguyên không âm, ví dụ 120.")


def typed(message: str) -> Any:
    """Like DataRequired, but keeps a parse error (e.g. a bad date) instead of replacing it."""

    def check(_form: Any, field: Field) -> None:
        if not (field.raw_data and str(field.raw_data[0]).strip()):
            field.errors[:] = []
            raise StopValidation(message)

    return check


class ItemListField(Field):
    """A campaign's steps or categories: one row per item (label, "Bỏ"), two rows to add.

    `data` is the list before the edit; after validation `outcome.items` is the list to save.
    The rules are campaign_items.apply_rows; the form supplies which keys records use.
    """

    data: list[dict[str, str]]

    def __init__(self, label: str, kind: ItemKind, default: list[dict[str, str]], **kw: Any):
        super().__init__(label, default=lambda: [dict(item) for item in default], **kw)
        self.kind = kind
        self.rows: list[Row] | None = None
        self.outcome = campaign_items.Outcome([])

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:
        self.process_errors = []
        if data is None or not isinstance(data, list):
            data = self.default()
        self.data = [dict(item) for item in data]
        self.raw_data = []
        self.rows = campaign_items.parse_rows(formdata, self.name) if formdata else None
        self.outcome = campaign_items.Outcome([dict(item) for item in self.data])

    def posted(self) -> dict[str, Row]:
        """The posted existing rows by key (to show what was typed after an error)."""
        return {row.key: row for row in self.rows or [] if row.key is not None}

    def new_labels(self) -> list[str]:
        """What was typed in the rows for new items, padded to the number of empty rows."""
        labels = [row.label for row in self.rows or [] if row.key is None]
        return labels + [""] * (campaign_items.NEW_ROWS - len(labels))

    def pre_validate(self, form: Any) -> None:
        removed = campaign_items.removed_keys(self.data, self.rows)
        in_use = form.items_in_use(self.kind, removed) if removed else {}
        self.outcome = campaign_items.apply_rows(self.kind, self.data, self.rows, in_use)
        if self.outcome.errors:
            self.errors.extend(self.outcome.errors[:-1])
            raise ValidationError(self.outcome.errors[-1])


class CampaignForm(FlaskForm):
    name = StringField(
        "Tên Cuộc thi",
        filters=[nfc_text],
        validators=[DataRequired("Vui lòng nhập tên Cuộc thi."), Length(max=200)],
    )
    starts_on = DateText("Ngày bắt đầu", validators=[typed("Vui lòng nhập ngày bắt đầu.")])
    ends_on = DateText("Ngày kết thúc", validators=[typed("Vui lòng nhập ngày kết thúc.")])
    report_due = DateText("Hạn báo cáo kết quả", validators=[typed("Vui lòng nhập hạn báo cáo.")])
    contest_url = StringField(
        "Đường dẫn Cuộc thi (không bắt buộc)",
        filters=[strip_text],
        validators=[Optional(), Length(max=500, message="Đường dẫn dài quá 500 ký tự.")],
    )
    retention_until = DateText("Ngày xóa thông tin cá nhân")
    after_end = RadioField(
        "Lượt ghi mới sau ngày kết thúc",
        choices=choices(AFTER_END_RULES.items()),
        default=AFTER_END_COUNT_ONLY,
        validate_choice=False,  # checked below, with a Vietnamese message
    )
    unit_label = SelectField(
        "Tên gọi khu dân cư của phường",
        choices=choices((label, label) for label in RESIDENTIAL_LABELS),
    )
    consent_wording = TextAreaField(
        "Nội dung đồng ý đọc cho người dân",
        validators=[
            DataRequired("Vui lòng nhập nội dung đồng ý."),
            Length(max=2000, message="Nội dung dài quá 2000 ký tự."),
        ],
    )

    count_outside = RadioField(
        "Lượt ghi ngoài thời gian Cuộc thi",
        choices=[
            SelectChoice(True, "Vẫn tính vào số liệu (có đánh dấu để xem lại)"),
            SelectChoice(False, "Không tính vào số liệu"),
        ],
        coerce=lambda value: {True: True, "True": True, False: False, "False": False}.get(value),
        validate_choice=False,  # checked below, with a Vietnamese message
        default=True,
    )

    steps = ItemListField("Các bước được tính", campaign_items.STEPS, DEFAULT_STEPS)
    categories = ItemListField("Đối tượng người dân", campaign_items.CATEGORIES, DEFAULT_CATEGORIES)

    def __init__(self, *args: Any, campaign: Any = None, **kwargs: Any) -> None:
        """`campaign`: the campaign being edited (None for a new one); its values fill the form."""
        self.campaign = campaign
        super().__init__(*args, obj=campaign, **kwargs)

    def items_in_use(self, kind: ItemKind, keys: set[str]) -> dict[str, int]:
        """How many assists of the campaign use each of these keys."""
        return campaign_items.keys_in_use(self.campaign, kind, keys)

    def validate_count_outside(self, field: RadioField) -> None:
        if field.data is None:
            raise ValidationError("Vui lòng chọn có tính hay không tính các lượt này.")

    def validate_ends_on(self, field: DateText) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError("Ngày kết thúc phải bằng hoặc sau ngày bắt đầu.")

    def validate_report_due(self, field: DateText) -> None:
        if field.data and self.ends_on.data and field.data < self.ends_on.data:
            raise ValidationError("Hạn báo cáo phải bằng hoặc sau ngày kết thúc.")

    def validate_retention_until(self, field: DateText) -> None:
        # The report (and the units' participant lists) need the data until its deadline.
        if field.data and self.report_due.data and field.data < self.report_due.data:
            raise ValidationError("Ngày xóa thông tin phải bằng hoặc sau hạn báo cáo.")

    def validate_after_end(self, field: RadioField) -> None:
        if field.data not in AFTER_END_RULES:
            raise ValidationError("Vui lòng chọn cách xử lý lượt ghi mới sau ngày kết thúc.")

    def retention(self) -> date | None:
        """The retention date to save: the one typed, else the default (report date + N days);
        None while the report date itself is missing (the form is not valid then)."""
        if self.retention_until.data:
            return self.retention_until.data
        return default_retention(self.report_due.data) if self.report_due.data else None

    def validate_contest_url(self, field: StringField) -> None:
        parts = urlsplit(field.data or "")
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in field.data:
            raise ValidationError(
                "Đường dẫn phải bắt đầu bằng http:// hoặc https://, "
                "ví dụ https://cuocthi.example.vn"
            )


class UnitLabelForm(FlaskForm):
    """The ward's own setting when the campaign is the city's."""

    unit_label = CampaignForm.unit_label


class CityCampaignForm(CampaignForm):
    """The city's campaign: the same fields, but no ward setting (each ward keeps its own)."""

    unit_label = None


def kind_choices(unit_label: str) -> list[SelectChoice]:
    """Unit kinds with the residential one named as the ward names it."""
    return choices(
        (key, unit_label if key == "residential" else label) for key, label in UNIT_KINDS.items()
    )


class UnitForm(FlaskForm):
    name = StringField(
        "Tên đơn vị",
        filters=[nfc_text],
        validators=[
            DataRequired("Vui lòng nhập tên đơn vị."),
            Length(max=120, message="Tên đơn vị dài quá 120 ký tự."),
        ],
    )
    kind = SelectField("Loại đơn vị", choices=kind_choices(UNIT_KINDS["residential"]))
    target = CountText("Chỉ tiêu cho Cuộc thi hiện tại")
    active = BooleanField("Đang hoạt động", default=True)


class UnitImportForm(FlaskForm):
    file = FileField("Tệp CSV")


class RosterImportForm(FlaskForm):
    file = FileField("Tệp CSV hoặc Excel (.xlsx)")


class PersonForm(FlaskForm):
    username = StringField(
        "Tên đăng nhập",
        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
        validators=[InputRequired("Vui lòng nhập tên đăng nhập.")],
    )
    full_name = StringField(
        "Họ và tên",
        filters=[nfc_text],
        validators=[
            DataRequired("Vui lòng nhập họ và tên."),
            Length(max=120, message="Họ và tên dài quá 120 ký tự."),
        ],
    )
    phone = StringField("Số điện thoại (không bắt buộc)", filters=[strip_text])
    role = SelectField("Vai trò", choices=choices(WARD_ROLES.items()), default="member")
    unit_id = SelectField("Đơn vị", choices=choices([("", "— Không thuộc đơn vị nào —")]))
    password = PasswordField("Mật khẩu ban đầu")

    def validate_username(self, field: StringField) -> None:
        if not USERNAME.match(field.data or ""):
            raise ValidationError(
                "Tên đăng nhập gồm 3–60 ký tự: chữ thường không dấu, số, dấu chấm, "
                "gạch dưới hoặc gạch ngang (ví dụ: tv.lan01)."
            )

    def validate_phone(self, field: StringField) -> None:
        if field.data and normalise_phone(field.data) is None:
            raise ValidationError("Số điện thoại cần 10 chữ số, bắt đầu bằng 0 (ví dụ 0912345678).")

    def validate_password(self, field: PasswordField) -> None:
        if field.data and len(field.data) < PASSWORD_MIN:
            raise ValidationError(f"Mật khẩu cần ít nhất {PASSWORD_MIN} ký tự.")
        if field.data and len(field.data) > 200:
            raise ValidationError("Mật khẩu dài quá 200 ký tự.")


class OfficerForm(PersonForm):
    """A ward officer's account made by the city: the person form without phone, role, unit."""

    phone = None
    role = None
    unit_id = None


class WardForm(FlaskForm):
    code = StringField(
        "Mã",
        filters=[lambda v: v.strip().upper() if isinstance(v, str) else v],
        validators=[DataRequired("Vui lòng nhập mã (ví dụ mã đơn vị hành chính).")],
    )
    name = StringField(
        "Tên",
        filters=[nfc_text],
        validators=[
            DataRequired("Vui lòng nhập tên phường, xã hoặc đặc khu."),
            Length(max=120, message="Tên dài quá 120 ký tự."),
        ],
    )
    kind = SelectField("Loại", choices=choices(WARD_KINDS.items()), default="ward")
    unit_label = SelectField(
        "Tên gọi khu dân cư",
        choices=choices((label, label) for label in RESIDENTIAL_LABELS),
    )

    def validate_code(self, field: StringField) -> None:
        if not re.match(r"^[A-Z0-9._-]{1,20}$", field.data or ""):
            raise ValidationError(
                "Mã gồm tối đa 20 ký tự: chữ không dấu, số, dấu chấm, gạch dưới hoặc gạch ngang."
            )


class PasswordResetForm(FlaskForm):
    new_password = PasswordField(
        "Mật khẩu mới",
        validators=[
            DataRequired("Vui lòng nhập mật khẩu mới."),
            Length(
                min=PASSWORD_MIN, max=200, message=f"Mật khẩu cần ít nhất {PASSWORD_MIN} ký tự."
            ),
        ],
    )


class ConfirmForm(FlaskForm):
    """An empty form: a POST button that carries only its CSRF token."""
