"""The member's PWA: the app shell, its service worker and manifest, and enrolment pages.

The shell is one static page (no per-user content) plus ES modules, CSS and icons. All of it
is versioned by one content hash, computed once per process: asset URLs carry the hash in
their path (`/app/v/<hash>/js/app.js`), so relative imports between modules keep it too and
an old page can never mix files of two versions; the service worker's bytes carry it, so a
deploy makes browsers install a new worker and precache the new shell atomically.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from .. import vocab
from ..extensions import db
from ..roles import role_required
from .enrol import code_member_id, code_status, issue_code

bp = Blueprint("field", __name__)

# The shell's ES modules (static/js/<name>.js); app.js is the entry, the rest are preloaded.
SHELL_MODULES = (
    "app", "store", "outbox", "connection", "backoff", "records", "validate", "fold", "ui",
    "form", "difficulty", "list", "autosend", "pwa", "enrol", "lifecycle",
    "progress",
)  # fmt: skip
# Static folders and files that make up the shell (relative to static/).
SHELL_DIRS = ("vendor", "icons")
SHELL_FILES = ("css/app.css", "css/field.css", *(f"js/{name}.js" for name in SHELL_MODULES))
SHELL_SUFFIXES = (".js", ".css", ".svg", ".png")  # not the vendored READMEs and licences
# Templates whose source is part of the shell's version.
SHELL_TEMPLATES = ("field/shell.html", "field/sw.js")
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
THEME = "#0b5563"
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass
class Asset:
    """One shell file held in memory, as served (and its gzip form)."""

    body: bytes
    mimetype: str
    gzipped: bytes | None = None


@dataclass
class Shell:
    """The shell of this process: its version and its files."""

    version: str
    assets: dict[str, Asset] = field(default_factory=dict)
    page: Asset | None = None  # the rendered /app page, made on first request
    workers: dict[bool, Asset] = field(default_factory=dict)  # sw.js, classic and module


def _mimetype(name: str) -> str:
    if name.endswith((".js", ".mjs")):
        return "text/javascript; charset=utf-8"
    if name.endswith(".webmanifest"):
        return "application/manifest+json"
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return guessed + ("; charset=utf-8" if guessed.startswith("text/") else "")


def _compress(body: bytes, mimetype: str) -> bytes | None:
    if not mimetype.startswith(COMPRESSIBLE):
        return None
    # mtime=0: the same bytes give the same gzip, so ETags and sizes are stable.
    packed = gzip.compress(body, compresslevel=9, mtime=0)
    return packed if len(packed) < len(body) else None


def shell_paths(static_folder: Path) -> list[str]:
    """The shell's static files, as paths relative to static/, sorted."""
    names = [name for name in SHELL_FILES if (static_folder / name).is_file()]
    for folder in SHELL_DIRS:
        root = static_folder / folder
        if root.is_dir():
            names += [
                p.relative_to(static_folder).as_posix()
                for p in root.rglob("*")
                if p.is_file() and p.suffix in SHELL_SUFFIXES
            ]
    return sorted(set(names))


def manifest() -> dict[str, Any]:
    """The web app manifest (no per-version URLs in it: browsers key the app on it)."""
    return {
        "id": "/app",
        "name": "Sổ hỗ trợ Công dân số",
        "short_name": "Hỗ trợ CDS",
        "description": "Ghi nhận lượt hỗ trợ người dân tham gia Cuộc thi, kể cả khi không có mạng.",
        "lang": "vi",
        "dir": "ltr",
        "start_url": "/app",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME,
        "background_color": "#f4f6f7",
        "icons": [
            {"src": "/static/icons/icon.svg", "sizes": "any", "type": "image/svg+xml"},
            {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {
                "src": "/static/icons/icon-maskable-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }


def shell_vocab() -> dict[str, Any]:
    """The fixed words the shell's scripts need (embedded as JSON data, not as a script)."""
    return {
        "genders": vocab.GENDERS,
        "difficulty_kinds": vocab.DIFFICULTY_KINDS,
        "test_step": vocab.TEST_STEP,
        "consent_box": vocab.CONSENT_BOX,
    }


def build_shell(app: Flask) -> Shell:
    """Read the shell's files and hash them, with the templates and words that shape it."""
    static = Path(app.static_folder or "static")
    templates = Path(app.root_path) / (app.template_folder or "templates")
    digest = hashlib.sha256()
    assets: dict[str, Asset] = {}
    for name in shell_paths(static):
        body = (static / name).read_bytes()
        mimetype = _mimetype(name)
        assets[name] = Asset(body, mimetype, _compress(body, mimetype))
        digest.update(name.encode() + b"\0" + body + b"\0")
    for name in SHELL_TEMPLATES:
        digest.update(name.encode() + b"\0" + (templates / name).read_bytes() + b"\0")
    extra = {"manifest": manifest(), "vocab": shell_vocab()}
    digest.update(json.dumps(extra, sort_keys=True, ensure_ascii=False).encode())
    return Shell(version=digest.hexdigest()[:16], assets=assets)


def get_shell() -> Shell:
    """This process's shell, built on first use."""
    shell = current_app.extensions.get("fieldapp_shell")
    if shell is None:
        shell = current_app.extensions["fieldapp_shell"] = build_shell(current_app)
    return shell


@bp.app_template_global()
def shell_asset(name: str) -> str:
    """The versioned URL of a shell file, e.g. shell_asset('js/app.js')."""
    return url_for("field.asset", version=get_shell().version, filename=name)


# Shell files the service worker need not keep: the enrolment page is online only, and the
# large icons are the manifest's (fetched when installing, which needs the network anyway).
NOT_PRECACHED = ("js/enrol.js", "icons/icon-512.png", "icons/icon-maskable-512.png")


def precache_urls(shell: Shell) -> list[str]:
    """What the service worker stores on install: the page, its files, the manifest."""
    urls = ["/app", "/manifest.webmanifest"]
    urls += [
        url_for("field.asset", version=shell.version, filename=name)
        for name in shell.assets
        if name not in NOT_PRECACHED
    ]
    return urls


def _send(asset: Asset, cache_control: str, etag: str) -> Response:
    """Send an in-memory file, gzipped when the client takes it, answering 304 when it can."""
    use_gzip = asset.gzipped is not None and "gzip" in request.accept_encodings
    body = asset.gzipped if use_gzip else asset.body
    response = Response(body, content_type=asset.mimetype)
    if use_gzip:
        response.headers["Content-Encoding"] = "gzip"
    if asset.gzipped is not None:
        response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = cache_control
    response.set_etag(etag + ("-gz" if use_gzip else ""))
    return response.make_conditional(request)


@bp.get("/app")
def shell() -> Any:
    """The app shell: the same bytes for everyone, so the service worker can keep it."""
    app_shell = get_shell()
    if app_shell.page is None:
        html = render_template(
            "field/shell.html",
            version=app_shell.version,
            shell_vocab=shell_vocab(),
            preload=[m for m in SHELL_MODULES if m not in ("app", "enrol")],
        ).encode()
        mimetype = "text/html; charset=utf-8"
        app_shell.page = Asset(html, mimetype, _compress(html, mimetype))
    return _send(app_shell.page, "no-cache", app_shell.version)


@bp.get("/app/v/<version>/<path:filename>")
def asset(version: str, filename: str) -> Any:
    """A shell file of this version, cached for good. Another version's address is a 404:
    a server never answers for files it does not have, so no shell is ever made of two."""
    app_shell = get_shell()
    found = app_shell.assets.get(filename)
    if found is None or version != app_shell.version:
        abort(404)
    return _send(found, IMMUTABLE, app_shell.version + filename)


@bp.get("/sw.js")
def service_worker() -> Any:
    """The service worker, at the root so that its scope is the whole site.

    `?module=1` is the same worker as an ES module that can also send the outbox on
    Background Sync (Chromium only; it supports module workers); plain `/sw.js` is the
    classic worker for every other browser.
    """
    app_shell = get_shell()
    module = request.args.get("module") == "1"
    if module not in app_shell.workers:
        body = render_template(
            "field/sw.js",
            version=app_shell.version,
            precache=precache_urls(app_shell),
            module=module,
            outbox_url=shell_asset("js/outbox.js"),
        ).encode()
        mimetype = "text/javascript; charset=utf-8"
        app_shell.workers[module] = Asset(body, mimetype, _compress(body, mimetype))
    etag = f"{app_shell.version}-{'module' if module else 'classic'}"
    return _send(app_shell.workers[module], "no-cache", etag)


@bp.get("/manifest.webmanifest")
def web_manifest() -> Any:
    """The web app manifest, in Vietnamese."""
    body = json.dumps(manifest(), ensure_ascii=False, indent=1)
    response = Response(body, mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/e/<path:code>")
def enrol(code: str) -> Any:
    """The page a member's QR code opens: checks the code, then the phone enrols itself."""
    status = code_status(code)
    if status != "ok":
        # Used and expired codes are gone for good (410); an unknown one was never here (404).
        return render_template("field/code_invalid.html"), 410 if status != "unknown" else 404
    # The member's id lets the phone refuse, before the code is spent, to switch to another
    # member while the previous member's entries still wait to be sent.
    page = render_template("field/enrol.html", code=code, member_id=code_member_id(code))
    response = current_app.make_response(page)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/app/enrol-signed-in")
@role_required(*vocab.FIELD_ROLES)
def enrol_signed_in() -> Any:
    """A member who signed in with a password enrols this phone as a QR code would."""
    user = current_user._get_current_object()
    code, _row = issue_code(user, created_by=user, hours=1)
    db.session.commit()
    return redirect(url_for("field.enrol", code=code))
