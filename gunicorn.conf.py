"""gunicorn settings for a city deployment: `gunicorn -c gunicorn.conf.py 'app:app'`.

Every value can still be overridden on the command line (`--workers 1`, `--bind ...`).
The environment variables read here are documented in docs/notes/ops.md.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

# Where to listen: behind nginx on the same host, a loopback port.
bind = os.environ.get("FIELDAPP_BIND", "127.0.0.1:8000")

# Threaded workers: each process serves `threads` requests at once, so sign-in, pages and
# /healthz are answered while other threads wait on the database for a phone's batch (with
# one-request "sync" workers they queued behind every batch). The app lets at most
# threads - 2 batches per process be written at once and answers the next one 503 with
# Retry-After at once (FIELDAPP_SYNC_SLOTS); one more thread may be folding batches into the
# tally after their answers, and one is always free for the rest.
# WEB_CONCURRENCY (the usual name, also read by gunicorn itself) or 2 x cores + 1 processes:
# Python runs one thread at a time per process, so processes use the cores, threads the waits.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count() + 1)
threads = int(os.environ.get("FIELDAPP_THREADS") or 6)

# A worker that stops answering its master's heartbeat for `timeout` seconds is killed. With
# threaded workers the heartbeat does not wait for requests, so a long streamed export is
# not cut; the value bounds only a worker that hangs as a whole.
timeout = int(os.environ.get("FIELDAPP_WORKER_TIMEOUT", "120"))
# On restart (SIGHUP/SIGTERM) a worker may finish the export it is streaming.
graceful_timeout = 60
# nginx keeps connections to us alive between requests; a little over its own default.
keepalive = 5
# Restart each worker after some thousands of requests (jittered so they do not all restart
# at once): bounds the memory any slow leak could take over a long campaign.
max_requests = 5000
max_requests_jitter = 500

# Access log to stdout (journald / docker logs collect it), errors to stderr.
accesslog = "-"
errorlog = "-"
# %(h)s is the proxy behind nginx; the client is in X-Forwarded-For. %(M)s: milliseconds.
access_log_format = '%(h)s %({x-forwarded-for}i)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# X-Forwarded-* are trusted only when the app is told a proxy sets them
# (FIELDAPP_TRUSTED_PROXIES > 0): then from the proxy's addresses (FORWARDED_ALLOW_IPS,
# default the loopback where nginx runs). With no proxy nobody may set them: a client could
# otherwise claim https or another address. The app's ProxyFix reads the same setting.
if int(os.environ.get("FIELDAPP_TRUSTED_PROXIES") or 0) > 0:
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
else:
    forwarded_allow_ips = ""

# preload_app off: each worker imports the app and builds its own database engine and Redis
# client after the fork, so no connection or socket is ever shared between processes (a pool
# created before fork would be), and `kill -HUP` reloads new code without restarting the
# master. What preloading would save, a few MB per worker, does not matter here. A bad
# setting still stops the whole server: a worker that fails to boot halts gunicorn.
preload_app = False


def on_starting(server: Any) -> None:
    """Tell the app how many workers and threads will run (after the command line was applied).

    The app refuses per-worker rate-limit counters (memory://) in production unless there is
    one worker (fieldapp/config.py, check_ratelimit_storage), and lets threads - 2 of each
    worker's threads write sync batches at once. Workers inherit the environment at fork.
    """
    os.environ["FIELDAPP_WORKERS"] = str(server.cfg.workers)
    os.environ["FIELDAPP_THREADS"] = str(server.cfg.threads)
