"""Logs never hold what was searched for: a filter that redacts personal searches.

The privacy screen's search is a POST (its query is in no URL), but an old bookmark, a
typed address or another screen's `?q=` still put a query in a request line. Every log
line of the development server (`werkzeug`), gunicorn (`gunicorn.access`, `gunicorn.error`)
and the app's own loggers (`fieldapp.*`) goes through `RedactSearches`: the whole query
string of a `/privacy` URL, and the value of any search parameter (`q`, `phone`, `name`)
anywhere, become `[redacted]`. SQL parameters never reach a log either (the engine's
`hide_parameters`, fieldapp/config.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

REDACTED = "[redacted]"
PERSONAL_PATHS = ("/privacy",)
_PERSONAL_URL = re.compile(r"(/privacy[^\s?\"']*)\?[^\s\"']*")
_SEARCH_PARAM = re.compile(r"(^|[?&])((?:q|phone|name)=)[^&\s\"']*")
# gunicorn's atoms that hold a query string without its path.
_QUERY_ATOMS = ("q", "{query_string}e")
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "fieldapp")


def redact(text: str) -> str:
    """A log text with personal searches' query strings replaced by [redacted]."""
    text = _PERSONAL_URL.sub(rf"\1?{REDACTED}", text)
    return _SEARCH_PARAM.sub(rf"\1\2{REDACTED}", text)


def _value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSearches(logging.Filter):
    """Rewrites a record's message (formatted) or gunicorn's dict of atoms."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, MutableMapping):  # gunicorn's access line: redact each atom
            personal = str(args.get("U") or "").startswith(PERSONAL_PATHS)
            for key in list(args.keys()):
                value = args[key]
                if personal and key in _QUERY_ATOMS and value:
                    args[key] = REDACTED
                else:
                    args[key] = _value(value)
            if isinstance(record.msg, str):
                record.msg = redact(record.msg)
        else:  # the line as it will read, then redacted (a search may be in msg or args)
            record.msg = redact(record.getMessage())
            record.args = ()
        return True


def install(*extra: str) -> None:
    """Put the filter on the servers' loggers and on every `fieldapp` logger (once each)."""
    names = [*LOGGERS, *extra]
    names += [n for n in logging.root.manager.loggerDict if n.startswith("fieldapp.")]
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSearches) for f in logger.filters):
            logger.addFilter(RedactSearches())
