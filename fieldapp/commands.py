"""Commands for an officer with a shell: init, demo, create-officer, create-city-admin."""

from __future__ import annotations

import os

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import with_appcontext
from flask_migrate import upgrade

from . import audit
from .admin.forms import PASSWORD_MIN, USERNAME
from .extensions import db
from .models import User, Ward


def init_app(app: Flask) -> None:
    for command in (
        init_command,
        create_officer_command,
        create_city_admin_command,
        demo_command,
        recount_command,
    ):
        app.cli.add_command(command)


def init_database() -> None:
    """Create the database or bring it up to the newest schema."""
    upgrade()


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create the database, or upgrade it to the newest schema."""
    init_database()
    click.echo("Cơ sở dữ liệu đã sẵn sàng.")


@click.command("create-officer")
@click.argument("username")
@click.option("--name", "full_name", default=None, help="Họ và tên cán bộ.")
@click.option("--ward", "ward_name", default=None, help="Tên phường (tạo mới nếu chưa có).")
@with_appcontext
def create_officer_command(username: str, full_name: str | None, ward_name: str | None) -> None:
    """Create an officer account; the password is asked for, or read from FIELDAPP_PASSWORD."""
    username = username.strip().lower()
    if db.session.scalar(sa.select(User).where(User.username == username)):
        raise click.ClickException(f"Tên đăng nhập '{username}' đã có.")
    password = os.environ.get("FIELDAPP_PASSWORD") or click.prompt(
        "Mật khẩu", hide_input=True, confirmation_prompt=True
    )
    if len(password) < 8:
        raise click.ClickException("Mật khẩu cần ít nhất 8 ký tự.")
    ward = None
    if ward_name:
        ward = db.session.scalar(sa.select(Ward).where(Ward.name == ward_name))
        if ward is None:
            ward = Ward(name=ward_name)
            db.session.add(ward)
    else:
        ward = db.session.scalar(sa.select(Ward).order_by(Ward.id).limit(1))
    if ward is None:
        raise click.ClickException("Chưa có phường nào: hãy dùng --ward 'Tên phường'.")
    officer = User(username=username, role="officer", ward=ward)
    officer.set_name(full_name or username)
    officer.set_password(password)
    db.session.add(officer)
    db.session.flush()
    audit.record("user_created", officer, ward_id=ward.id, role="officer", via="shell")
    db.session.commit()
    click.echo(f"Đã tạo tài khoản cán bộ '{username}' cho {ward.name}.")


@click.command("create-city-admin")
@click.argument("username")
@click.option("--name", "full_name", default=None, help="Họ và tên cán bộ Sở.")
@with_appcontext
def create_city_admin_command(username: str, full_name: str | None) -> None:
    """Create a city administrator (no ward); the password is asked for, or FIELDAPP_PASSWORD."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise click.ClickException(
            "Tên đăng nhập gồm 3–60 ký tự: chữ thường không dấu, số, dấu chấm, "
            "gạch dưới hoặc gạch ngang."
        )
    if db.session.scalar(sa.select(User).where(User.username == username)):
        raise click.ClickException(f"Tên đăng nhập '{username}' đã có.")
    password = os.environ.get("FIELDAPP_PASSWORD") or click.prompt(
        "Mật khẩu", hide_input=True, confirmation_prompt=True
    )
    if len(password) < PASSWORD_MIN:
        raise click.ClickException(f"Mật khẩu cần ít nhất {PASSWORD_MIN} ký tự.")
    admin = User(username=username, role="city_admin", ward_id=None)
    admin.set_name(full_name or username)
    admin.set_password(password)
    db.session.add(admin)
    db.session.flush()
    audit.record("user_created", admin, role="city_admin", via="shell")
    db.session.commit()
    click.echo(f"Đã tạo tài khoản cán bộ Sở KH&CN '{username}' (quản lý mọi phường, xã).")


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create (once) a demo ward with units, people and a few hundred assists."""
    from .demo import build_demo

    init_database()
    click.echo(build_demo())


@click.command("recount")
@with_appcontext
def recount_command() -> None:
    """Count every ward's stored tally figures afresh at their next fold.

    For after a manual repair or a partial restore that the triggers on `assists` did not see
    (a restore that replaced the tables, say): every change to assists itself is folded in.
    """
    from .models import TallyState
    from .tally.store import forget

    pairs = db.session.execute(sa.select(TallyState.campaign_id, TallyState.ward_id)).all()
    forget(pairs)
    db.session.commit()
    click.echo(f"Số liệu của {len(pairs)} phường sẽ được tính lại ở lần xem tiếp theo.")
