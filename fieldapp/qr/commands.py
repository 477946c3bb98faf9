"""`flask enrol-link USERNAME`: a fresh enrolment URL for an officer working from a shell."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..models import User
from ..text import fmt_datetime
from . import codes

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
GUESS_WARNING = (
    "Lưu ý: chưa đặt FIELDAPP_PUBLIC_URL nên địa chỉ trên chỉ là đoán ({base}, địa chỉ của "
    "`flask run` trên chính máy này); điện thoại của thành viên có thể không mở được. "
    "Hãy đặt địa chỉ thật của sổ, ví dụ FIELDAPP_PUBLIC_URL=https://cds.example.vn "
    "(biến môi trường, hoặc trong instance/config.py), hoặc ghi --base-url https://…"
)


def enrol_link(
    username: str, base_url: str | None = None, hours: int | None = None
) -> codes.Issued:
    """Issue a code for the member or group head `username` (its URL is `.url`).

    Raises click.ClickException (a clear message, exit code 1) when no code may be issued.
    """
    username = (username or "").strip().lower()
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"Không có tài khoản '{username}'.")
    base = current_app.config.get("FIELDAPP_PUBLIC_URL") or base_url or DEFAULT_BASE_URL
    try:
        issued = codes.issue_for_person(user, None, hours=hours, base_url=base)
    except codes.QrError as error:
        db.session.rollback()
        raise click.ClickException(f"{username}: {error.message}") from None
    db.session.commit()
    return issued


@click.command("enrol-link")
@click.argument("username")
@click.option(
    "--base-url",
    default=None,
    help="Địa chỉ của sổ khi chưa đặt FIELDAPP_PUBLIC_URL (mặc định http://127.0.0.1:5000).",
)
@click.option("--hours", type=click.IntRange(1, 24 * 30), default=None, help="Số giờ mã còn hạn.")
@with_appcontext
def enrol_link_command(username: str, base_url: str | None, hours: int | None) -> None:
    """Print a fresh one-time enrolment URL for a member or group head."""
    if base_url and current_app.config.get("FIELDAPP_PUBLIC_URL"):
        click.echo("FIELDAPP_PUBLIC_URL đã được đặt: bỏ qua --base-url.", err=True)
    issued = enrol_link(username, base_url, hours)
    click.echo(issued.url)
    # On stderr, so that `$(flask enrol-link tv.lan)` captures the URL alone.
    click.echo(f"Dùng được một lần, hết hạn lúc {fmt_datetime(issued.expires_at)}.", err=True)
    if not (current_app.config.get("FIELDAPP_PUBLIC_URL") or base_url):
        click.echo(GUESS_WARNING.format(base=DEFAULT_BASE_URL), err=True)
