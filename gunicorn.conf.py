"""gunicorn settings for a city deployment: `gunicorn -c gunicorn.conf.py 'app:app'`.

Every value can still be overridden on the command line (`--workers 1`, `--bind ...`).
The environment variables read here are documented in the README ("Running for a city").
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from typing import Any

# Two pools of the same app, each its own gunicorn (deploy/fieldapp@.service, one unit per
# pool): "sync" takes the phones' POST /api/v1/sync, "web" everything else, and nginx sends
# each its requests (deploy/nginx-fieldapp.conf; while the sync pool is down, web takes the
# batches too). On deadline night the officer's dashboard, sign-in and /healthz are then
# served by processes that no batch keeps busy: with one pool for all, a dashboard shared
# its process (Python runs one thread at a time) with that process's writing batches and
# took 3.5-4.3 s at the 95th percentile under 100 phones, 0.4 s beside them (README,
# "Figures"). Where to listen: behind nginx on the same host, a loopback port per pool.
POOLS = {"web": "127.0.0.1:8000", "sync": "127.0.0.1:8001"}
pool = os.environ.get("FIELDAPP_POOL") or "web"
if pool not in POOLS:
    sys.exit(f"FIELDAPP_POOL={pool!r}: not a pool of gunicorn.conf.py ({', '.join(POOLS)})")
bind = os.environ.get("FIELDAPP_BIND") or POOLS[pool]

# Threaded workers: each process serves `threads` requests at once, so sign-in, pages and
# /healthz are answered while other threads wait on the database (with one-request "sync"
# workers they queued behind every batch). The app's sync gate (fieldapp/sync/gate.py) lets
# a quarter of the threads write batches at once (FIELDAPP_SYNC_SLOTS) and the rest but two
# wait up to 5 s for a slot (FIELDAPP_SYNC_QUEUE, FIELDAPP_SYNC_WAIT); any other batch is
# answered 503 + Retry-After: 2 at once. One more thread may be folding batches into the
# tally after their answers, and one is always free for the rest. Per pool, chosen by
# bench/sync_bench.py --phones 100 on 2 cores (README, "Figures"): the sync pool 12 threads
# (3 writing, 7 waiting): 2,747-3,386 records/s, a batch's 95th percentile 3.5-4.2 s, where 8
# threads turned a quarter of the batches away (p95 5.9-6.2 s) and 16 gained nothing. The web
# pool keeps 8: should it take the batches (sync down), fewer writers leave sign-in room.
# WEB_CONCURRENCY (the usual name, also read by gunicorn itself) or 2 x cores + 1 processes:
# Python runs one thread at a time per process, so processes use the cores, threads the waits.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count() + 1)
threads = int(os.environ.get("FIELDAPP_THREADS") or {"web": 8, "sync": 12}[pool])

# A worker that stops answering its master's heartbeat for `timeout` seconds is killed. With
# threaded workers the heartbeat does not wait for requests, so a long streamed export is
# not cut; the value bounds only a worker that hangs as a whole.
timeout = int(os.environ.get("FIELDAPP_WORKER_TIMEOUT", "120"))
# On restart (SIGHUP/SIGTERM) a worker may finish the export it is streaming.
graceful_timeout = 60
# nginx keeps connections to us alive between requests; a little over its own default.
keepalive = 5
if pool == "sync":
    # A sync worker takes a connection only when a thread is free for it: one per place at
    # its gate (slots and queue: threads - 2) and one for the fold. The rest wait in the
    # listening socket's queue, which every worker takes from, oldest first. With gunicorn's
    # 1000 each worker took connections as fast as it could and queued them behind its own
    # threads, where no gate saw them: a batch on a busy worker waited while another's threads
    # were free (bench/city_bench.py: a batch 3.95 s median, 9.6 s p95, 1.0 / 1.7 s of it in
    # the app). No keep-alive then: a connection kept open would hold a thread's place.
    worker_connections = threads - 1
    keepalive = 0
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

# Not reuse_port: with SO_REUSEPORT a new master could bind beside orphaned workers of a
# killed one, and the kernel would then hand part of the new connections to the orphans'
# socket, which nobody serves any more. The port is freed instead (post_fork below, and
# KillMode=control-group in deploy/fieldapp.service).
reuse_port = False

# prctl(2) option: the signal a process gets when the thread that forked it dies.
PR_SET_PDEATHSIG = 1


def on_starting(server: Any) -> None:
    """Tell the app how many workers and threads will run (after the command line was applied).

    The app refuses per-worker rate-limit counters (memory://) in production unless there is
    one worker (fieldapp/config.py, check_ratelimit_storage), and sizes each worker's sync gate
    from its threads (config.gate_sizes). Workers inherit the environment at fork.
    """
    os.environ["FIELDAPP_WORKERS"] = str(server.cfg.workers)
    os.environ["FIELDAPP_THREADS"] = str(server.cfg.threads)


def post_fork(server: Any, worker: Any) -> None:
    """Workers die with their master (Linux): the kernel SIGKILLs them the moment it dies.

    A gthread worker notices a new parent only after its poll (up to 1 s), then finishes its
    requests for up to graceful_timeout while still holding the listening socket: after a
    SIGKILL of the master, orphaned workers kept the port for about 20 s and a restart failed
    with "Address already in use". A dead master is a crash anyway (the phones resend what got
    no answer); orderly stops and reloads (SIGTERM, SIGHUP) go through the master, which
    outlives its workers, so they are never cut by this. FIELDAPP_DIE_WITH_MASTER=0 turns it
    off (tests/test_deploy.py shows the unit's KillMode=control-group alone frees the port).
    """
    if os.environ.get("FIELDAPP_DIE_WITH_MASTER", "1") == "0" or not sys.platform.startswith(
        "linux"
    ):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        server.log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %s", ctypes.get_errno())
        return
    if os.getppid() != server.pid:  # the master died between fork() and prctl()
        os._exit(1)


def post_worker_init(worker: Any) -> None:
    """A SIGTERM that finds the master dead ends the worker at once.

    After a crash of the master, systemd sends SIGTERM to what is left in the unit
    (KillMode=control-group) and waits TimeoutStopSec before SIGKILL. gunicorn's own handler
    would finish in-flight requests first, and one stalled upload would hold the port that
    long. With a live master, SIGTERM keeps its graceful meaning.
    """
    graceful = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: Any) -> None:
        if os.getppid() != worker.ppid:
            os._exit(0)
        graceful(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.siginterrupt(signal.SIGTERM, False)
