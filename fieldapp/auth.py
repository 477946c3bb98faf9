"""Password sign-in for the web, and sign-out."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from . import audit, params, sessions
from .extensions import db, limiter
from .models import User
from .text import utcnow

bp = Blueprint("auth", __name__)

GENERIC_ERROR = "Tên đăng nhập hoặc mật khẩu không đúng."


class LoginForm(FlaskForm):
    username = StringField(
        "Tên đăng nhập",
        validators=[DataRequired("Vui lòng nhập tên đăng nhập."), Length(max=60)],
    )
    password = PasswordField(
        "Mật khẩu", validators=[DataRequired("Vui lòng nhập mật khẩu."), Length(max=200)]
    )


def _login_rate() -> str:
    return current_app.config["FIELDAPP_LOGIN_RATE"]


def _username_key() -> str:
    return "login-user:" + (request.form.get("username") or "").strip().lower()


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths without control characters: never an open redirect."""
    return params.safe_next(target)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
@limiter.limit(_login_rate, methods=["POST"], key_func=_username_key)
def login() -> Any:
    """Sign in with username and password; the error never says which one was wrong."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None or not user.active or not user.check_password(form.password.data):
            audit.record("login_failed", ward_id=user.ward_id if user else None)
            db.session.commit()
            form.password.errors.append(GENERIC_ERROR)
        else:
            # A fresh session at sign-in: the one this browser had before ends for good.
            sessions.end(session.get("_user_id"))
            sessions.purge_expired()
            session.clear()
            sessions.start(user)
            login_user(user)
            user.last_login_at = utcnow()
            audit.record("login", user)
            db.session.commit()
            if user.role == "member":
                # A member signing in on a phone enrols that phone like a QR code would.
                return redirect(url_for("field.enrol_signed_in"))
            return redirect(_safe_next(request.args.get("next")) or url_for("main.home"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Any:
    """End this session on the server: a copy of the cookie opens nothing afterwards."""
    user = current_user._get_current_object()
    audit.record("logout", user)
    sessions.end(user.session_token)
    db.session.commit()
    logout_user()
    session.clear()
    flash("Bạn đã đăng xuất.", "info")
    return redirect(url_for("auth.login"))
