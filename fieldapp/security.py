"""Response headers that every page and API answer carries."""

from __future__ import annotations

from flask import Flask, Response, abort, request

# No inline script or style anywhere: the PWA, the service worker and the charts work under it.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    """Add the security headers to every response; refuse NUL characters in any request."""
    app.before_request(refuse_nul)
    app.after_request(add_headers)


def refuse_nul() -> None:
    """Answer 400 to a NUL in the path, query or form: no person types one, and PostgreSQL
    refuses it in text, so it would otherwise reach a query and answer 500."""
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [*request.form.keys(), *request.form.values()]
    if any("\x00" in value for value in values):
        abort(400)


def add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # Enrolment URLs carry one-time codes: never send them to another site.
    headers.setdefault("Referrer-Policy", "same-origin")
    if "Cache-Control" not in headers and not request.path.startswith("/static/"):
        # Pages and answers hold residents' data: no shared or back-button cache.
        headers["Cache-Control"] = "no-store"
    return response
