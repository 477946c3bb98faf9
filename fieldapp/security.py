"""Response headers that every page and API answer carries."""

from __future__ import annotations

from flask import Flask, Response, request

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
    """Add the security headers to every response."""
    app.after_request(add_headers)


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
