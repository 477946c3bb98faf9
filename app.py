"""Entry point for `flask --app app` and for a WSGI server (gunicorn 'app:app')."""

from fieldapp import create_app

app = create_app()
