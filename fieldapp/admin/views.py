"""The officer's setup screens: campaign, units and targets, people, devices."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from wtforms import SelectChoice

from .. import audit, sessions
from ..extensions import db
from ..field import enrol
from ..field.views import get_shell
from ..models import Campaign, ConsentText, Device, TallyState, Target, Unit, User, Ward
from ..params import int_arg, parse_id
from ..retention import (
    AFTER_END_COUNT_ONLY,
    RETENTION_DAYS,
    consent_with_retention,
    consent_without_retention,
)
from ..roles import get_visible_or_404, role_required, visible
from ..sync import outbox
from ..tally import counts, store
from ..text import fmt_date, fold, normalise_phone, utcnow
from ..vocab import DEFAULT_CATEGORIES, DEFAULT_CONSENT, DEFAULT_STEPS, UNIT_KINDS, WARD_ROLES
from . import unit_import
from .forms import (
    CampaignForm,
    ConfirmForm,
    PasswordResetForm,
    PersonForm,
    UnitForm,
    UnitImportForm,
    UnitLabelForm,
    choices,
    kind_choices,
)
from .imports import run_import

bp = Blueprint("admin", __name__, url_prefix="/admin")

RESIDENT_ROLES = ("group_head", "member")
PEOPLE_PAGE = 100  # people per page of the "Người dùng" screen


# ---------------------------------------------------------------- rules (no request inside)


def consent_text(value: str) -> str:
    """Consent wording as stored: NFC, Unix line ends, no surrounding blanks."""
    return unicodedata.normalize("NFC", value).replace("\r\n", "\n").strip()


@dataclass
class CampaignValues:
    name: str
    starts_on: date
    ends_on: date
    report_due: date
    contest_url: str
    retention_until: date
    consent: str
    count_outside: bool = True
    after_end: str = AFTER_END_COUNT_ONLY
    steps: list[dict[str, str]] | None = None  # None: the defaults (new) or unchanged
    categories: list[dict[str, str]] | None = None
    changes: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def campaign_values(form: CampaignForm) -> CampaignValues:
    """What a validated campaign form says (the officer's and the city's)."""
    return CampaignValues(
        name=form.name.data,
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        report_due=form.report_due.data,
        contest_url=form.contest_url.data or "",
        retention_until=form.retention(),
        consent=form.consent_wording.data,
        count_outside=bool(form.count_outside.data),
        after_end=form.after_end.data,
        steps=form.steps.outcome.items,
        categories=form.categories.outcome.items,
        changes={
            name: {
                "added": outcome.added,
                "removed": outcome.removed,
                "renamed": outcome.renamed,
            }
            for name, outcome in (
                ("steps", form.steps.outcome),
                ("categories", form.categories.outcome),
            )
            if outcome.changed
        },
    )


def save_campaign(ward: Ward | None, campaign: Campaign | None, values: CampaignValues) -> Campaign:
    """Create or update a campaign (the ward's, or the city's when `ward` is None).

    A changed consent wording becomes a new version; the wording stored is the one read out,
    with the sentence naming the retention date (retention.consent_with_retention), so a new
    retention date is a new version too. Steps and categories are saved as given
    (campaign_items.apply_rows made them); their audit names the keys added, removed, renamed.
    A change of what counts (the rule for other days, or the days themselves while the rule
    leaves other days out) has every ward's stored figures counted afresh.
    """
    fields = (
        "name",
        "starts_on",
        "ends_on",
        "report_due",
        "contest_url",
        "retention_until",
        "count_outside",
        "after_end",
    )
    wording = consent_with_retention(consent_text(values.consent), values.retention_until)
    ward_id = ward.id if ward else None
    if campaign is None:
        campaign = Campaign(
            ward_id=ward_id,
            steps=[dict(s) for s in values.steps or DEFAULT_STEPS],
            categories=[dict(c) for c in values.categories or DEFAULT_CATEGORIES],
            consent_version=1,
            active=True,
            **{name: getattr(values, name) for name in fields},
        )
        db.session.add(campaign)
        db.session.flush()
        db.session.add(ConsentText(campaign_id=campaign.id, version=1, text=wording))
        audit.record("campaign_created", campaign, ward_id=ward_id, city=ward is None)
        return campaign
    changed = [name for name in fields if getattr(campaign, name) != getattr(values, name)]
    for name in changed:
        setattr(campaign, name, getattr(values, name))
    days_matter = not campaign.count_outside and {"starts_on", "ends_on"} & set(changed)
    if "count_outside" in changed or days_matter:
        forget_figures(campaign)
    for name in ("steps", "categories"):
        items = getattr(values, name)
        if items is not None and items != getattr(campaign, name):
            setattr(campaign, name, [dict(item) for item in items])  # a new list: JSON is saved
            changed.append(name)
    if changed:
        detail = {name: values.changes[name] for name in changed if name in values.changes}
        audit.record("campaign_updated", campaign, ward_id=ward_id, fields=changed, **detail)
    current = campaign.consent()
    if current is None or current.text != wording:
        version = (
            db.session.scalar(
                sa.select(sa.func.max(ConsentText.version)).where(
                    ConsentText.campaign_id == campaign.id
                )
            )
            or 0
        ) + 1
        db.session.add(ConsentText(campaign_id=campaign.id, version=version, text=wording))
        campaign.consent_version = version
        audit.record("consent_changed", campaign, ward_id=ward_id, version=version)
    return campaign


def prefill_campaign_form(form: CampaignForm, current: Campaign | None) -> None:
    """A campaign form as first shown: the wording without the retention sentence the app
    adds on saving (the officer's and the city's form)."""
    consent = current.consent() if current else None
    wording = consent.text if consent else DEFAULT_CONSENT
    form.consent_wording.data = consent_without_retention(wording)


def saved_campaign_note(form: CampaignForm, saved: Campaign, old_version: int | None) -> str:
    """What the message after saving adds: the default retention date when none was typed,
    and a new consent version."""
    note = ""
    if not form.retention_until.data:
        note += (
            f" Ngày xóa thông tin cá nhân được đặt là {fmt_date(saved.retention_until)}"
            f" (hạn báo cáo + {RETENTION_DAYS} ngày)."
        )
    if old_version is not None and saved.consent_version != old_version:
        note += (
            f" Nội dung đồng ý mới là phiên bản {saved.consent_version};"
            " các lượt đã ghi vẫn giữ phiên bản cũ."
        )
    return note


def forget_figures(campaign: Campaign) -> None:
    """Every ward's stored figures of the campaign are counted afresh at their next read."""
    pairs = db.session.execute(
        sa.select(TallyState.campaign_id, TallyState.ward_id).where(
            TallyState.campaign_id == campaign.id
        )
    ).all()
    store.forget(pairs)


def set_unit_label(ward: Ward, label: str) -> None:
    """Change the ward's word for a residential unit (Tổ dân phố, Khu dân cư, Thôn)."""
    if ward.unit_label != label:
        ward.unit_label = label
        audit.record("ward_updated", ward, ward_id=ward.id, fields=["unit_label"])


def unit_name_taken(ward: Ward, name: str, except_id: int | None = None) -> bool:
    """True if another unit of the ward has this name (NFC, case ignored)."""
    key = unit_import.name_key(name)
    return any(
        unit_import.name_key(unit.name) == key and unit.id != except_id
        for unit in db.session.scalars(sa.select(Unit).where(Unit.ward_id == ward.id))
    )


def save_unit(
    ward: Ward,
    unit: Unit | None,
    *,
    name: str,
    kind: str,
    active: bool,
    campaign: Campaign | None,
    target: int | None,
) -> Unit:
    """Create or update a unit and its target for the current campaign."""
    if unit is None:
        unit = Unit(ward_id=ward.id, name=name, kind=kind, active=active)
        db.session.add(unit)
        db.session.flush()
        audit.record("unit_created", unit, ward_id=ward.id, kind=kind)
    else:
        changed = [
            field
            for field, value in (("name", name), ("kind", kind), ("active", active))
            if getattr(unit, field) != value
        ]
        unit.name, unit.kind, unit.active = name, kind, active
        if changed:
            audit.record("unit_updated", unit, ward_id=ward.id, fields=changed)
    if campaign is not None:
        unit_import.set_target(unit, campaign, target)
    return unit


def unit_problem(role: str, unit: Unit | None) -> str | None:
    """Why this unit cannot go with this role, or None if it can."""
    if role == "officer":
        if unit is None:
            return None
        return "Cán bộ phường không thuộc đơn vị nào: hãy chọn “Không thuộc đơn vị nào”."
    if role in RESIDENT_ROLES:
        if unit is None or not unit.is_residential:
            return "Tổ trưởng và thành viên cần thuộc một khu dân cư: hãy chọn đơn vị."
    elif role == "reporter" and (unit is None or unit.is_residential):
        return "Cán bộ cơ quan, trường học cần thuộc một cơ quan, trường học hoặc đoàn thể."
    return None


def password_required(role: str) -> bool:
    """Members usually enrol by QR code; everyone else signs in with a password."""
    return role != "member"


def create_person(
    ward: Ward,
    *,
    username: str,
    full_name: str,
    phone: str | None,
    role: str,
    unit: Unit | None,
    password: str | None,
) -> User:
    """Add an account to the ward."""
    user = User(
        ward_id=ward.id,
        username=username,
        role=role,
        unit_id=unit.id if unit else None,
        phone=normalise_phone(phone) if phone else None,
        active=True,
    )
    user.set_name(full_name)
    if password:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user_created", user, ward_id=ward.id, role=role, with_password=bool(password))
    return user


def update_person(
    user: User, *, full_name: str, phone: str | None, role: str, unit: Unit | None
) -> list[str]:
    """Change a person's details; returns the names of the fields that changed."""
    values = {
        "full_name": full_name,
        "phone": normalise_phone(phone) if phone else None,
        "role": role,
        "unit_id": unit.id if unit else None,
    }
    changed = [field for field, value in values.items() if getattr(user, field) != value]
    user.set_name(full_name)
    user.phone, user.role, user.unit_id = values["phone"], role, values["unit_id"]
    if changed:
        audit.record("user_updated", user, ward_id=user.ward_id, fields=changed)
    return changed


def revoke(device: Device, by: User) -> None:
    """Stop a device from sending; its past records stay."""
    if device.revoked_at is None:
        enrol.revoke_device(device, by)


def set_active(user: User, active: bool, by: User) -> int:
    """Disable or enable an account. Disabling ends its sessions and revokes its devices.

    Returns how many devices were revoked.
    """
    if user.active == active:
        return 0
    user.active = active
    revoked = ended = 0
    if not active:
        ended = sessions.end_all(user)  # open sessions end: their next request signs in again
        for device in db.session.scalars(
            sa.select(Device).where(Device.user_id == user.id, Device.revoked_at.is_(None))
        ):
            revoke(device, by)
            revoked += 1
    audit.record(
        "user_enabled" if active else "user_disabled",
        user,
        ward_id=user.ward_id,
        devices_revoked=revoked,
        sessions_ended=ended,
    )
    return revoked


def reset_password(user: User, password: str) -> None:
    """Set a new password and end every open session of the account."""
    user.set_password(password)
    ended = sessions.end_all(user)
    audit.record("password_reset", user, ward_id=user.ward_id, sessions_ended=ended)


def end_sessions(user: User) -> int:
    """End every session of the account (a lost phone, a shared computer); returns how many."""
    ended = sessions.end_all(user)
    audit.record("sessions_ended", user, ward_id=user.ward_id, sessions_ended=ended)
    return ended


# ---------------------------------------------------------------- helpers for views


def person_problems(
    form: PersonForm, person: User | None, unit: Unit | None
) -> list[tuple[str, str]]:
    """(field, message) for the rules a form field alone cannot check."""
    problems = []
    role = form.role.data
    if role in WARD_ROLES and not form.unit_id.errors:
        problem = unit_problem(role, unit)
        if problem:
            problems.append(("unit_id", problem))
    if person is None:
        problems.extend(new_account_problems(form, role))
    elif person.id == current_user.id and role != person.role:
        problems.append(("role", "Bạn không thể tự đổi vai trò của chính mình."))
    return problems


def new_account_problems(form: PersonForm, role: str) -> list[tuple[str, str]]:
    """A new account's username must be free, and it needs a password unless QR-enrolled."""
    problems = []
    username = form.username.data
    taken = sa.select(User.id).where(User.username == username)
    if not form.username.errors and username and db.session.scalar(taken):
        problems.append(("username", "Tên đăng nhập này đã có người dùng. Vui lòng chọn tên khác."))
    if password_required(role) and not form.password.data and not form.password.errors:
        problems.append(
            (
                "password",
                "Vui lòng đặt mật khẩu ban đầu (ít nhất 8 ký tự). "
                "Chỉ thành viên mới có thể bỏ trống vì đăng nhập bằng mã QR.",
            )
        )
    return problems


@dataclass(frozen=True)
class Paging:
    """Where a page of a list is: its number, how many pages, how many rows in all."""

    page: int
    pages: int
    total: int
    first: int  # the 1-based position of the page's first row


def page_number(raw: str | None, pages: int) -> int:
    """The page asked for in ?page=, kept within 1..pages (anything else: the first page)."""
    if not raw or not (raw.isascii() and raw.isdigit()):
        return 1
    return min(max(int(raw), 1), pages)


def _ward() -> Ward:
    ward = current_user.ward
    if ward is None:  # an officer must belong to a ward; a broken account sees nothing
        abort(403)
    return ward


def _ward_units() -> list[Unit]:
    units = list(db.session.scalars(visible(Unit)))
    units.sort(key=counts.unit_key)
    return units


def _unit_choices(units: list[Unit], ward: Ward) -> list[SelectChoice]:
    pairs = [("", "— Không thuộc đơn vị nào —")]
    for unit in units:
        kind = ward.unit_label if unit.is_residential else UNIT_KINDS.get(unit.kind, unit.kind)
        suffix = "" if unit.active else " (ngừng hoạt động)"
        pairs.append((str(unit.id), f"{unit.name} · {kind}{suffix}"))
    return choices(pairs)


def _devices_of(user_ids: list[int]) -> dict[int, list[Device]]:
    found: dict[int, list[Device]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return found
    rows = db.session.scalars(
        visible(Device).where(Device.user_id.in_(user_ids)).order_by(Device.created_at.desc())
    )
    for device in rows:
        found.setdefault(device.user_id, []).append(device)
    return found


@bp.app_context_processor
def _endpoints() -> dict[str, Any]:
    """Lets a template link to another module's screen only once that module is installed."""

    def has_endpoint(name: str) -> bool:
        return name in current_app.view_functions

    return {"has_endpoint": has_endpoint}


# ---------------------------------------------------------------- views


@bp.get("/")
@role_required("officer")
def index() -> Any:
    """The officer's landing page: the campaign, a few counts, links to each setup screen."""
    ward = _ward()
    campaign = ward.current_campaign()

    def count(model: type) -> int:
        query = visible(model).with_only_columns(sa.func.count()).order_by(None)
        return db.session.scalar(query) or 0

    totals = {
        "units": count(Unit),
        "people": count(User),
        "devices": db.session.scalar(
            visible(Device).with_only_columns(sa.func.count()).where(Device.revoked_at.is_(None))
        )
        or 0,
    }
    return render_template("admin/index.html", ward=ward, campaign=campaign, counts=totals)


@bp.route("/campaign", methods=["GET", "POST"])
@role_required("officer")
def campaign() -> Any:
    """Edit the ward's current campaign, or create it if there is none yet.

    When the current campaign is the city's, it is shown read-only: the ward sets only its own
    word for a residential unit here (and its targets on the units screen).
    """
    ward = _ward()
    current = ward.current_campaign()
    if current is not None and current.is_city:
        return _city_campaign(ward, current)
    return _campaign_form(ward, current)


@bp.route("/campaign/new", methods=["GET", "POST"])
@role_required("officer")
def campaign_new() -> Any:
    """Create a campaign of the ward's own (besides the city's)."""
    return _campaign_form(_ward(), None)


def _city_campaign(ward: Ward, current: Campaign) -> Any:
    form = UnitLabelForm()
    if request.method == "GET":
        form.unit_label.data = ward.unit_label
    if form.validate_on_submit():
        set_unit_label(ward, form.unit_label.data)
        db.session.commit()
        flash("Đã lưu tên gọi khu dân cư của phường.", "success")
        return redirect(url_for("admin.campaign"))
    return render_template(
        "admin/campaign_city.html",
        form=form,
        campaign=current,
        ward=ward,
        consent=current.consent(),
    )


def _campaign_form(ward: Ward, current: Campaign | None) -> Any:
    form = CampaignForm(campaign=current)
    if request.method == "GET":
        form.unit_label.data = ward.unit_label
        prefill_campaign_form(form, current)
    if form.validate_on_submit():
        old_version = current.consent_version if current else None
        saved = save_campaign(ward, current, campaign_values(form))
        set_unit_label(ward, form.unit_label.data)
        db.session.commit()
        message = "Đã lưu Cuộc thi." if current else "Đã tạo Cuộc thi."
        message += saved_campaign_note(form, saved, old_version)
        if current is None and ward.current_campaign() is not saved:
            message += (
                " Lưu ý: Cuộc thi của thành phố bắt đầu sau nên vẫn là Cuộc thi đang tính"
                " số liệu của phường."
            )
        flash(message, "success")
        return redirect(url_for("admin.campaign"))
    return render_template(
        "admin/campaign.html",
        form=form,
        campaign=current,
        ward=ward,
        versions=consent_versions(current),
    )


def consent_versions(campaign: Campaign | None) -> list[ConsentText]:
    """Every consent wording of a campaign, newest first."""
    if campaign is None:
        return []
    return list(
        db.session.scalars(
            sa.select(ConsentText)
            .where(ConsentText.campaign_id == campaign.id)
            .order_by(ConsentText.version.desc())
        )
    )


@bp.get("/units")
@role_required("officer")
def units() -> Any:
    """Every unit of the ward with its target and the number of people attached."""
    ward = _ward()
    campaign = ward.current_campaign()
    rows = _ward_units()
    targets: dict[int, int] = {}
    if campaign:
        targets = dict(
            db.session.execute(
                sa.select(Target.unit_id, Target.value).where(
                    Target.campaign_id == campaign.id,
                    Target.unit_id.in_([u.id for u in rows] or [0]),
                )
            ).all()
        )
    people = dict(
        db.session.execute(
            visible(User)
            .with_only_columns(User.unit_id, sa.func.count(User.id))
            .where(User.active)
            .group_by(User.unit_id)
        ).all()
    )
    return render_template(
        "admin/units.html",
        ward=ward,
        campaign=campaign,
        units=rows,
        targets=targets,
        people=people,
        total_target=sum(targets.values()),
    )


@bp.route("/units/new", methods=["GET", "POST"])
@role_required("officer")
def unit_new() -> Any:
    return _unit_form(None)


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@role_required("officer")
def unit_edit(unit_id: int) -> Any:
    return _unit_form(get_visible_or_404(Unit, unit_id))


def _unit_form(unit: Unit | None) -> Any:
    ward = _ward()
    campaign = ward.current_campaign()
    form = UnitForm(obj=unit)
    form.kind.choices = kind_choices(ward.unit_label)
    if request.method == "GET" and unit is not None and campaign is not None:
        form.target.data = unit.target_for(campaign)
    if request.method == "GET" and unit is None and request.args.get("kind") in UNIT_KINDS:
        form.kind.data = request.args["kind"]
    valid = form.validate_on_submit()
    if valid and unit_name_taken(ward, form.name.data, unit.id if unit else None):
        form.name.errors.append("Phường đã có đơn vị tên này. Vui lòng đặt tên khác.")
        valid = False
    if valid and unit is not None and unit.is_residential != (form.kind.data == "residential"):
        attached = db.session.scalar(
            sa.select(sa.func.count(User.id)).where(User.unit_id == unit.id)
        )
        if attached:
            form.kind.errors.append(
                f"Đơn vị đang có {attached} người dùng nên không đổi được giữa "
                f"{ward.unit_label.lower()} và cơ quan, trường học. "
                "Hãy chuyển họ sang đơn vị khác trước."
            )
            valid = False
    if valid and form.target.data is not None and campaign is None:
        form.target.errors.append("Chưa có Cuộc thi: hãy tạo Cuộc thi trước rồi nhập chỉ tiêu.")
        valid = False
    if valid:
        saved = save_unit(
            ward,
            unit,
            name=form.name.data,
            kind=form.kind.data,
            active=form.active.data,
            campaign=campaign,
            target=form.target.data,
        )
        db.session.commit()
        flash(f"Đã lưu đơn vị “{saved.name}”.", "success")
        return redirect(url_for("admin.units"))
    return render_template(
        "admin/unit_form.html", form=form, unit=unit, campaign=campaign, ward=ward
    )


@bp.route("/units/import", methods=["GET", "POST"])
@role_required("officer")
def units_import() -> Any:
    """Create units and set targets from a CSV file: all lines or none."""
    ward = _ward()
    campaign = ward.current_campaign()
    form = UnitImportForm()

    def check(_filename: str, data: bytes) -> unit_import.ParseResult:
        parsed = unit_import.parse_units_csv(data, unit_import.existing_kinds(ward))
        targets = any(row.target is not None for row in parsed.rows)
        if not parsed.errors and campaign is None and targets:
            parsed.errors.append("Chưa có Cuộc thi: hãy tạo Cuộc thi trước rồi nhập chỉ tiêu.")
        return parsed

    errors, summary = run_import(
        form,
        "Vui lòng chọn một tệp CSV.",
        check,
        lambda rows: unit_import.import_units(ward, campaign, rows),
    )
    return render_template(
        "admin/units_import.html",
        form=form,
        errors=errors,
        summary=summary,
        ward=ward,
        campaign=campaign,
    )


@bp.get("/units/sample.csv")
@role_required("officer")
def units_sample() -> Any:
    """A sample import file that opens in Excel with Vietnamese intact."""
    return Response(
        unit_import.sample_csv(_ward().unit_label),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=mau-don-vi.csv"},
    )


@bp.get("/people")
@role_required("officer")
def people() -> Any:
    """The ward's people, filtered by unit and role, searched by name without accents."""
    ward = _ward()
    units = _ward_units()
    query = visible(User)
    unit_id = request.args.get("unit", "")
    unit_filter = None if unit_id in ("", "none") else int_arg("unit")
    role = request.args.get("role", "")
    q = request.args.get("q", "").strip()
    if unit_filter is not None:
        query = query.where(User.unit_id == unit_filter)
    elif unit_id == "none":
        query = query.where(User.unit_id.is_(None))
    if role in WARD_ROLES:
        query = query.where(User.role == role)
    if q:
        key = fold(q)
        query = query.where(
            sa.or_(
                User.name_key.contains(key, autoescape=True),
                User.username.contains(q.lower(), autoescape=True),
            )
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PEOPLE_PAGE))
    page = page_number(request.args.get("page"), pages)
    rows = list(
        db.session.scalars(
            query.order_by(User.name_key, User.id)
            .offset((page - 1) * PEOPLE_PAGE)
            .limit(PEOPLE_PAGE)
        )
    )
    units_by_id = {u.id: u for u in units}
    filters = {"unit": unit_id, "role": role, "q": q}
    return render_template(
        "admin/people.html",
        ward=ward,
        people=rows,
        paging=Paging(page, pages, total, (page - 1) * PEOPLE_PAGE + 1),
        page_args={key: value for key, value in filters.items() if value},
        units=units,
        units_by_id=units_by_id,
        unit_choices=_unit_choices(units, ward),
        devices=_devices_of([u.id for u in rows]),
        filters=filters,
    )


@bp.route("/people/new", methods=["GET", "POST"])
@role_required("officer")
def person_new() -> Any:
    return _person_form(None)


@bp.route("/people/<int:user_id>", methods=["GET", "POST"])
@role_required("officer")
def person_edit(user_id: int) -> Any:
    return _person_form(get_visible_or_404(User, user_id))


def _person_form(person: User | None) -> Any:
    ward = _ward()
    units = _ward_units()
    form = PersonForm(obj=person)
    form.unit_id.choices = _unit_choices(units, ward)
    if request.method == "GET":
        if person is not None:
            form.unit_id.data = str(person.unit_id or "")
        else:
            if request.args.get("role") in WARD_ROLES:
                form.role.data = request.args["role"]
            if parse_id(request.args.get("unit")) is not None:
                form.unit_id.data = request.args["unit"]
    if person is not None:
        del form.username  # a username never changes: it is how the person signs in
        del form.password  # changed with "Đặt mật khẩu mới", which also ends sessions
    valid = form.validate_on_submit()
    unit = next((u for u in units if str(u.id) == form.unit_id.data), None)
    if form.is_submitted():
        # Check everything at once, so the officer sees every problem in one go.
        problems = person_problems(form, person, unit)
        for field_name, message in problems:
            getattr(form, field_name).errors.append(message)
        valid = valid and not problems
    if valid:
        if person is None:
            person = create_person(
                ward,
                username=form.username.data,
                full_name=form.full_name.data,
                phone=form.phone.data,
                role=form.role.data,
                unit=unit,
                password=form.password.data or None,
            )
            db.session.commit()
            flash(f"Đã thêm {person.full_name} ({person.username}).", "success")
            return redirect(url_for("admin.person_edit", user_id=person.id))
        update_person(
            person,
            full_name=form.full_name.data,
            phone=form.phone.data,
            role=form.role.data,
            unit=unit,
        )
        db.session.commit()
        flash(f"Đã lưu thông tin của {person.full_name}.", "success")
        return redirect(url_for("admin.person_edit", user_id=person.id))
    devices = _devices_of([person.id]).get(person.id, []) if person else []
    return render_template(
        "admin/person_form.html",
        form=form,
        person=person,
        ward=ward,
        devices=devices,
        reset_form=PasswordResetForm(formdata=None),
        confirm_form=ConfirmForm(),
        open_sessions=sessions.open_count(person) if person else 0,
    )


@bp.post("/people/<int:user_id>/password")
@role_required("officer")
def person_password(user_id: int) -> Any:
    """Set a new password; every open session of the account ends."""
    person = get_visible_or_404(User, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        reset_password(person, form.new_password.data)
        db.session.commit()
        flash(
            f"Đã đặt mật khẩu mới cho {person.username}. "
            "Mọi phiên đăng nhập cũ của tài khoản này đã kết thúc.",
            "success",
        )
        if person.id == current_user.id:
            return redirect(url_for("auth.login"))
        return redirect(url_for("admin.person_edit", user_id=person.id))
    ward = _ward()
    edit = PersonForm(obj=person, formdata=None)
    edit.unit_id.choices = _unit_choices(_ward_units(), ward)
    edit.unit_id.data = str(person.unit_id or "")
    return render_template(
        "admin/person_form.html",
        form=edit,
        person=person,
        ward=ward,
        devices=_devices_of([person.id]).get(person.id, []),
        reset_form=form,
        confirm_form=ConfirmForm(),
        open_sessions=sessions.open_count(person),
    )


@bp.post("/people/<int:user_id>/sessions/end")
@role_required("officer")
def person_end_sessions(user_id: int) -> Any:
    """End every signed-in session of the account; it signs in again with its password."""
    person = get_visible_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ended = end_sessions(person)
    db.session.commit()
    if person.id == current_user.id:
        flash("Đã kết thúc mọi phiên đăng nhập của bạn. Vui lòng đăng nhập lại.", "success")
        return redirect(url_for("auth.login"))
    flash(f"Đã kết thúc {ended} phiên đăng nhập của {person.username}.", "success")
    return redirect(url_for("admin.person_edit", user_id=person.id))


@bp.post("/people/<int:user_id>/disable")
@role_required("officer")
def person_disable(user_id: int) -> Any:
    """Disable an account: it cannot sign in, its sessions end and its devices are revoked."""
    person = get_visible_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if person.id == current_user.id:
        flash("Bạn không thể tự khóa tài khoản của chính mình.", "error")
        return redirect(url_for("admin.person_edit", user_id=person.id))
    revoked = set_active(person, False, current_user)
    db.session.commit()
    message = f"Đã khóa tài khoản {person.username}: không đăng nhập được nữa."
    if revoked:
        message += f" Đã thu hồi {revoked} thiết bị của người này."
    flash(message, "success")
    return redirect(url_for("admin.person_edit", user_id=person.id))


@bp.post("/people/<int:user_id>/enable")
@role_required("officer")
def person_enable(user_id: int) -> Any:
    """Let a disabled account sign in again (its revoked devices stay revoked)."""
    person = get_visible_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    set_active(person, True, current_user)
    db.session.commit()
    flash(
        f"Đã mở lại tài khoản {person.username}. Thiết bị đã thu hồi cần được cấp mã QR mới.",
        "success",
    )
    return redirect(url_for("admin.person_edit", user_id=person.id))


@bp.get("/devices")
@role_required("officer")
def devices() -> Any:
    """Every phone of the ward's people with its outbox, those needing attention first."""
    ward = _ward()
    state = request.args.get("state", "")
    phones = outbox.visible_phones(current_user, utcnow())
    if state in ("active", "revoked"):
        shown = [p for p in phones if p.device.revoked == (state == "revoked")]
    else:
        shown = phones
    return render_template(
        "admin/devices.html",
        ward=ward,
        phones=shown,
        state=state,
        figure=outbox.figure(phones),
        current_version=get_shell().version,
    )


@bp.route("/devices/<int:device_id>/revoke", methods=["GET", "POST"])
@role_required("officer")
def device_revoke(device_id: int) -> Any:
    """Ask, then revoke a device: it can no longer send; what it sent stays."""
    device = get_visible_or_404(Device, device_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        if device.revoked:
            flash("Thiết bị này đã được thu hồi trước đó.", "info")
        else:
            revoke(device, current_user)
            db.session.commit()
            flash(
                f"Đã thu hồi thiết bị của {device.user.full_name}. "
                "Các lượt hỗ trợ đã gửi vẫn được giữ.",
                "success",
            )
        back = request.form.get("back")
        if back == "person":
            return redirect(url_for("admin.person_edit", user_id=device.user_id))
        return redirect(url_for("admin.devices"))
    return render_template(
        "admin/device_revoke.html", device=device, form=form, back=request.args.get("back", "")
    )
