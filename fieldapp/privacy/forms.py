"""The form that registers a resident's request to see or erase their data."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, ValidationError
from wtforms.validators import DataRequired

from ..admin.forms import DateText, choices, nfc_text, strip_text, typed
from ..text import local_today
from . import rights


class PrivacyRequestForm(FlaskForm):
    """A resident's request registered as it arrives (rights.py)."""

    requester = StringField(
        "Người yêu cầu",
        filters=[strip_text, nfc_text],
        validators=[DataRequired("Vui lòng ghi ai đã yêu cầu (ví dụ họ tên người dân).")],
    )
    kind = RadioField(
        "Yêu cầu",
        choices=choices(rights.KINDS.items()),
        default="erasure",
        validate_choice=False,  # checked below, with a Vietnamese message
    )
    received_on = DateText("Ngày nhận", validators=[typed("Vui lòng nhập ngày nhận yêu cầu.")])

    def validate_requester(self, field: StringField) -> None:
        problem = rights.requester_problem(field.data or "")
        if problem:
            raise ValidationError(problem)

    def validate_kind(self, field: RadioField) -> None:
        if field.data not in rights.KINDS:
            raise ValidationError("Vui lòng chọn loại yêu cầu.")

    def validate_received_on(self, field: DateText) -> None:
        today = local_today()
        if field.data and field.data > today:
            raise ValidationError("Ngày nhận không thể sau hôm nay.")
        if field.data and (today - field.data).days > rights.RECEIVED_MAX_DAYS:
            raise ValidationError(
                f"Ngày nhận quá xa (hơn {rights.RECEIVED_MAX_DAYS} ngày trước). Vui lòng kiểm tra."
            )
