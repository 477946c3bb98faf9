"""The app as the browser tests serve it: a real WSGI app over a temporary database."""

import os

from fieldapp import create_app

app = create_app(
    {
        "DATABASE_URL": os.environ["FIELDAPP_BROWSER_DB"],
        "SECRET_KEY": "browser-tests-" + "k" * 32,
        "FIELDAPP_ENV": "development",
        # Many phones enrol from one address within a minute here; the limits have own tests.
        "RATELIMIT_ENABLED": False,
    }
)
