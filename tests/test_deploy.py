"""A service that comes back: deploy/fieldapp@.service (a unit per pool), the nginx site
deploy/nginx-fieldapp.conf, and the kill and restart rules they promise, replayed on the real
gunicorn; nginx sending the phones' batches to the sync pool and the rest to the web pool,
replayed on a real nginx.

systemd itself does not run here (no init system in the test machine or CI). So the unit and
the nginx site are read for the settings they promise (and checked by `systemd-analyze verify`
and `nginx -t` where those programs are installed), and the behaviour is replayed by hand:
the production command, `gunicorn -c gunicorn.conf.py app:app`, in a process group of its own
(a unit's cgroup), its master killed with SIGKILL, what systemd would then do (SIGTERM to the
processes left, SIGKILL after TimeoutStopSec, a new start after RestartSec), and `/healthz`
answering again within 10 s. Rate limits in Redis database 7, as in tests/test_ops.py.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import os
import re
import runpy
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp import config as app_config
from fieldapp import create_app
from tests.fleet import GUNICORN, ROOT, free_port, request

UNIT = ROOT / "deploy" / "fieldapp@.service"
NGINX = ROOT / "deploy" / "nginx-fieldapp.conf"
CONFIG = ROOT / "gunicorn.conf.py"
REDIS = "redis://127.0.0.1:6379/7"
WITHIN = 10.0  # seconds from the master's death to /healthz answering again
# ... on a machine where a cold start of the server takes at most WITHIN - RestartSec - 2 s
# (4-7 s here when quiet). Under a heavier load the bound is that cold start (measured in the
# same test) + RestartSec + 2 s: the restart itself must cost nothing more.
IN_CI = os.environ.get("CI") == "true"


# ---------------------------------------------------------------- reading the files


def unit_settings() -> dict[str, dict[str, list[str]]]:
    """The unit file as {section: {key: [values]}} (systemd lets a key repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def service(key: str) -> str:
    """The one value of `key` in [Service]."""
    (value,) = unit_settings()["Service"][key]
    return value


def nginx_statements() -> list[tuple[str, str]]:
    """Every `directive arguments;` of the nginx site, comments dropped, blocks flattened."""
    text = re.sub(r"#[^\n]*", "", NGINX.read_text(encoding="utf-8"))
    found = []
    for part in re.split(r"[;{}]", text):
        words = part.split()
        if words:
            found.append((words[0], " ".join(words[1:])))
    return found


def nginx(directive: str) -> list[str]:
    return [args for name, args in nginx_statements() if name == directive]


def seconds(value: str) -> float:
    """An nginx or systemd duration ('120s', '4s', '70', '1m') in seconds."""
    match = re.fullmatch(r"(\d+)(ms|s|m)?", value)
    assert match, value
    number, unit = int(match.group(1)), match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1, "m": 60}[unit]


def gunicorn_settings(pool: str = "") -> dict[str, object]:
    """gunicorn.conf.py's values, as gunicorn reads them (FIELDAPP_POOL=`pool`, no other
    FIELDAPP_* overrides)."""
    saved = {k: os.environ.pop(k) for k in ("FIELDAPP_POOL", "FIELDAPP_BIND") if k in os.environ}
    try:
        if pool:
            os.environ["FIELDAPP_POOL"] = pool
        return runpy.run_path(str(CONFIG))
    finally:
        os.environ.pop("FIELDAPP_POOL", None)
        os.environ.update(saved)


# ---------------------------------------------------------------- the unit


def test_the_unit_restarts_the_service_and_kills_its_whole_group():
    assert service("Restart") == "always"
    assert seconds(service("RestartSec")) == 1
    assert service("KillMode") == "control-group"
    # A stop may wait for gunicorn's graceful shutdown, and not much longer.
    graceful = gunicorn_settings()["graceful_timeout"]
    assert graceful < seconds(service("TimeoutStopSec")) <= graceful + 30


def test_the_unit_runs_the_production_command_as_its_own_user():
    command = service("ExecStart").split()
    assert command[0].startswith("/") and command[0].endswith("/.venv/bin/gunicorn")
    assert command[1:3] == ["-c", "gunicorn.conf.py"] and command[-1] == "app:app"
    assert service("WorkingDirectory") == str(Path(command[0]).parents[2])
    assert service("EnvironmentFile").startswith("/etc/")
    assert service("User") not in ("", "root") and service("Group") == service("User")
    assert service("Type") == "notify"  # gunicorn tells systemd when it listens


def test_one_unit_per_pool_each_on_its_own_port_and_run_directory():
    # fieldapp@web and fieldapp@sync: the instance name is the pool gunicorn.conf.py reads.
    assert service("Environment") == "FIELDAPP_POOL=%i"
    assert service("RuntimeDirectory") == "fieldapp-%i"
    assert "--control-socket /run/fieldapp-%i/gunicorn.ctl" in service("ExecStart")
    binds = {pool: gunicorn_settings(pool)["bind"] for pool in ("web", "sync")}
    assert binds == {"web": "127.0.0.1:8000", "sync": "127.0.0.1:8001"}
    # The sync pool's threads wait for a writing slot (config.gate_sizes): 3 write, 7 wait.
    assert {pool: gunicorn_settings(pool)["threads"] for pool in binds} == {"web": 8, "sync": 12}
    assert gunicorn_settings()["bind"] == binds["web"]  # no pool named: the whole app


def test_a_sync_worker_takes_only_the_connections_it_has_threads_for():
    # A place at the gate for each (config.gate_sizes: threads - 2) and one for the fold; the
    # rest wait in the listening socket's queue, shared by the workers, oldest first.
    sync = gunicorn_settings("sync")
    slots, queue = app_config.gate_sizes(None, None, sync["threads"])
    assert sync["worker_connections"] == slots + queue + 1 == sync["threads"] - 1
    assert sync["keepalive"] == 0  # a kept-alive connection would hold a thread's place
    web = gunicorn_settings("web")
    assert "worker_connections" not in web and web["keepalive"] == 5  # browsers' pages reuse


def test_a_full_sync_worker_leaves_new_connections_to_a_free_one(tmp_path):
    # The behaviour the setting above promises, on the real gunicorn and its config: two sync
    # workers of 4 threads (so 3 connections each) and 8 requests held open at once. Each
    # worker holds 3, though it has a 4th thread; the other 2 wait in the listening socket's
    # queue, taken by no worker (none queues them behind its own busy threads), until a
    # worker has room again.
    port = free_port()
    env = dict(os.environ, FIELDAPP_POOL="sync", FIELDAPP_THREADS="4", PYTHONPATH=str(ROOT))
    env["FIELDAPP_HOLD_DIR"] = str(tmp_path)
    command = [str(GUNICORN), "-c", str(CONFIG), "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    command += ["--no-control-socket", "tests.hold_wsgi:app"]
    with (tmp_path / "gunicorn.log").open("wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)

    def started() -> list[str]:
        """The held requests so far, each as "<worker's pid>-<number>"."""
        return sorted(p.name for p in tmp_path.iterdir() if p.name[0].isdigit())

    answers: list[tuple[int, object]] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError, http.client.HTTPException):
                if request(port, "GET", "/healthz", timeout=2)[0] == 200:
                    break
            assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.1)
        senders = [
            threading.Thread(
                target=lambda: answers.append(request(port, "GET", "/hold", timeout=60))
            )
            for _ in range(8)
        ]
        for sender in senders:
            sender.start()
        deadline = time.monotonic() + 30
        while len(started()) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # room for a worker to take a 7th, if it would
        held = started()
        per_worker = Counter(name.split("-")[0] for name in held)
        assert sorted(per_worker.values()) == [3, 3], held
        (tmp_path / "release").touch()
        for sender in senders:
            sender.join(timeout=60)
    finally:
        (tmp_path / "release").touch()  # (a failed check above must not leave them held)
        server.terminate()
        server.wait(timeout=30)
    assert [status for status, _ in answers] == [200] * 8
    pids = {body["pid"] for _, body in answers}
    assert len(pids) == 2 and max(body["peak"] for _, body in answers) == 3
    assert len(started()) == 8  # the two that waited were served once there was room


def test_gunicorn_refuses_a_pool_it_does_not_know():
    with pytest.raises(SystemExit, match="FIELDAPP_POOL='sinc'"):
        gunicorn_settings("sinc")


def test_the_unit_is_hardened():
    assert service("NoNewPrivileges") == "yes"
    assert service("ProtectSystem") == "strict"
    assert service("ReadWritePaths") == "/srv/fieldapp/instance"  # SQLite and the dev key
    for key in ("ProtectHome", "PrivateTmp", "PrivateDevices", "RestrictSUIDSGID"):
        assert service(key) == "yes", key
    assert service("CapabilityBoundingSet") == ""  # no capability at all
    assert service("RestrictAddressFamilies") == "AF_UNIX AF_INET AF_INET6"


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if IN_CI:
            pytest.fail("systemd-analyze is missing (package systemd)")
        pytest.skip("systemd-analyze is not installed")
    return found


def unit_copy(tmp_path: Path) -> Path:
    """The unit with its ExecStart pointing at this checkout's gunicorn (verify checks it)."""
    copy = tmp_path / "fieldapp@web.service"  # an instance: verify needs one
    text = UNIT.read_text(encoding="utf-8")
    copy.write_text(text.replace("/srv/fieldapp/.venv/bin/gunicorn", str(GUNICORN)))
    return copy


def test_systemd_accepts_the_unit_and_rates_it_well_exposed(tmp_path):
    program = systemd_analyze()
    copy = unit_copy(tmp_path)
    verify = subprocess.run(
        [program, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
    security = subprocess.run(
        [program, "security", "--offline=yes", "--no-pager", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
    assert level, security.stdout[-2000:] + security.stderr
    print(f"\nsystemd-analyze security: exposure {level.group(1)} (0 safest, 10 unsafe)")
    assert float(level.group(1)) <= 2.0


# ---------------------------------------------------------------- the nginx site


def test_nginx_serves_https_and_sends_plain_http_there():
    listens = nginx("listen")
    assert "443 ssl http2" in listens and "80" in listens
    assert nginx("ssl_certificate") and nginx("ssl_certificate_key")
    assert nginx("return") == ["301 https://$host$request_uri"]


def test_nginx_takes_the_apps_upload_limit_and_waits_as_long_as_a_worker():
    limit = app_config.defaults("/tmp")["MAX_CONTENT_LENGTH"]
    (body,) = nginx("client_max_body_size")
    assert body == f"{limit // (1024 * 1024)}m"
    worker_timeout = gunicorn_settings()["timeout"]
    for directive in ("proxy_read_timeout", "proxy_send_timeout"):
        (value,) = nginx(directive)
        assert seconds(value) >= worker_timeout, directive
    # nginx drops an idle upstream connection before gunicorn does (no 502 on reuse).
    idles = nginx("keepalive_timeout")
    assert len(idles) == 2  # one per upstream: web and sync
    assert all(seconds(idle) < gunicorn_settings()["keepalive"] for idle in idles)


def test_nginx_proxies_to_gunicorn_with_the_headers_the_app_trusts():
    servers = [args for args in nginx("server") if args]  # not the `server {` blocks
    web, sync = gunicorn_settings("web")["bind"], gunicorn_settings("sync")["bind"]
    assert servers == [web, sync, f"{web} backup"]  # fieldapp, then fieldapp_sync
    assert nginx("location") == ["/.well-known/acme-challenge/", "/", "= /api/v1/sync", "/"]
    assert nginx("proxy_pass") == ["http://fieldapp_sync", "http://fieldapp"]
    headers = dict(value.split(" ", 1) for value in nginx("proxy_set_header"))
    # ProxyFix(x_for, x_proto, x_host) with FIELDAPP_TRUSTED_PROXIES=1 (fieldapp/__init__.py).
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Forwarded-Host"] == "$host"
    assert headers["Host"] == "$host"
    # gunicorn's other scheme headers are emptied, so a client cannot send its own.
    assert headers["X-Forwarded-Protocol"] == '""' and headers["X-Forwarded-Ssl"] == '""'


def test_nginx_compresses_every_text_type_the_app_sends(tmp_path):
    assert nginx("gzip") == ["on"]
    types = set(" ".join(nginx("gzip_types")).split())
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k" * 40,
            "FIELDAPP_ENV": "development",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}",
        }  # fmt: skip
    )
    client = app.test_client()
    sent = set()
    for path in ("/manifest.webmanifest", "/sw.js", "/static/css/app.css", "/healthz"):
        with client.get(path) as response:
            sent.add(response.mimetype)
    sent |= {"text/csv", "image/svg+xml"}  # the downloads, the QR codes
    assert sent - {"text/html"} <= types, sent - types


def nginx_program() -> str:
    program = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if program is None:
        if IN_CI:
            pytest.fail("nginx is missing (apt-get install nginx-light)")
        pytest.skip("nginx is not installed")
    return program


def site_copy(tmp_path: Path, site: str) -> Path:
    """nginx.conf running `site` under tmp_path, with a certificate made for it."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=cds.example.vn", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = re.sub(r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};", site)
    site = re.sub(r"ssl_certificate \S+;", f"ssl_certificate {cert};", site)
    (tmp_path / "site.conf").write_text(site)
    conf = tmp_path / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers write tmp_path's temp files
    conf.write_text(
        f"{user}pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n include {tmp_path}/site.conf;\n}}\n"
    )
    return conf


def test_nginx_accepts_the_site(tmp_path):
    program = nginx_program()
    conf = site_copy(tmp_path, NGINX.read_text(encoding="utf-8"))
    result = subprocess.run(
        [program, "-t", "-p", str(tmp_path), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "test is successful" in result.stderr, result.stderr


class Pool(threading.Thread):
    """A stand-in for one gunicorn pool: answers every request with its own name."""

    def __init__(self, name: str, port: int) -> None:
        super().__init__(daemon=True)
        pool = name

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # closed after each answer: a stopped pool is gone

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                body = pool.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)

    def run(self) -> None:
        self.server.serve_forever(poll_interval=0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_nginx_sends_the_batches_to_the_sync_pool_and_to_web_while_it_is_down(tmp_path):
    program = nginx_program()
    web_port, sync_port, https = free_port(), free_port(), free_port()
    site = NGINX.read_text(encoding="utf-8")
    site = site.replace("127.0.0.1:8000", f"127.0.0.1:{web_port}")
    site = site.replace("127.0.0.1:8001", f"127.0.0.1:{sync_port}")
    site = re.sub(r"listen \[::\]:\S+( ssl http2)?;", "", site)
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl;")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    conf = site_copy(tmp_path, site)
    pools = {name: Pool(name, port) for name, port in (("web", web_port), ("sync", sync_port))}
    for pool in pools.values():
        pool.start()
    server = subprocess.Popen(
        [program, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # (its errors go to tmp_path/error.log)
    )

    def ask(method: str, path: str) -> str:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        deadline = time.monotonic() + 20
        while True:
            connection = http.client.HTTPSConnection(
                "127.0.0.1", https, timeout=10, context=context
            )
            try:
                connection.request(method, path, body=b"{}" if method == "POST" else None,
                                   headers={"Host": "cds.example.vn"})  # fmt: skip
                response = connection.getresponse()
                return f"{response.status} {response.read().decode()}"
            except (ConnectionRefusedError, ssl.SSLError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # nginx is still starting
            finally:
                connection.close()

    try:
        assert ask("POST", "/api/v1/sync") == "200 sync"
        for method, path in (("GET", "/reports/"), ("GET", "/healthz"), ("POST", "/login"),
                             ("POST", "/api/v1/devices"), ("GET", "/api/v1/sync/x")):  # fmt: skip
            assert ask(method, path) == "200 web", (method, path)
        pools["sync"].close()  # fieldapp@sync restarting, or never enabled
        assert ask("POST", "/api/v1/sync") == "200 web"
    finally:
        server.terminate()
        server.wait(timeout=10)
        for pool in pools.values():
            with contextlib.suppress(Exception):
                pool.close()


# ---------------------------------------------------------------- killed, and back


class Service:
    """The unit's command in a process group of its own, as systemd would run it."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.port = free_port()
        self.log = tmp_path / "gunicorn.log"
        self.env = {
            **os.environ,
            "FIELDAPP_ENV": "production",
            "SECRET_KEY": "deploy-test-" + "s" * 40,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'fieldapp.sqlite'}",
            "FIELDAPP_RATELIMIT_STORAGE_URI": REDIS,
            "FIELDAPP_TRUSTED_PROXIES": "0",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.processes: list[subprocess.Popen] = []
        self.sockets: list[socket.socket] = []

    def command(self) -> list[str]:
        # The unit's ExecStart; its control socket lives in /run/fieldapp, here none.
        return [str(GUNICORN), "-c", str(CONFIG), "--bind", f"127.0.0.1:{self.port}",
                "--workers", "2", "--no-control-socket", "app:app"]  # fmt: skip

    def start(self) -> subprocess.Popen:
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, as a unit has its own cgroup
            )  # fmt: skip
        self.processes.append(process)
        return process

    def first_start(self) -> tuple[subprocess.Popen, float]:
        """Start, wait for /healthz; the process and how long its cold start took."""
        began = time.monotonic()
        process = self.start()
        return process, self.healthy(began + 60) - began

    def healthy(self, until: float) -> float:
        """Wait for /healthz to answer 200; the moment it did."""
        while time.monotonic() < until:
            with contextlib.suppress(OSError, ConnectionError):
                if request(self.port, "GET", "/healthz", timeout=2)[0] == 200:
                    return time.monotonic()
            time.sleep(0.05)
        pytest.fail(f"/healthz did not answer in time:\n{self.log.read_text()[-3000:]}")

    def stalled_upload(self) -> socket.socket:
        """A phone that sent its headers and stopped mid-body: a worker thread waits on it."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
            b"\r\nContent-Length: 100000\r\n\r\nusername=a"
        )
        time.sleep(0.5)  # taken by a worker
        self.sockets.append(sock)
        return sock

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator:
    made: list[Service] = []

    def make(**env: str) -> Service:
        made.append(Service(tmp_path, **env))
        return made[-1]

    yield make
    for item in made:
        item.close()


def alive_in_group(group: int) -> list[int]:
    """Processes of a process group still running (zombies hold no socket)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def port_is_free(port: int) -> bool:
    """Could a new master listen here (SO_REUSEADDR, as gunicorn binds)?"""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def bound(cold: float) -> float:
    """Seconds from the kill by which /healthz must answer again (see WITHIN)."""
    return max(WITHIN, cold + seconds(service("RestartSec")) + 2)


def wait_empty(group: int, until: float) -> bool:
    while time.monotonic() < until:
        if not alive_in_group(group):
            return True
        time.sleep(0.02)
    return not alive_in_group(group)


def wait_port_free(port: int, until: float) -> bool:
    """The port free by `until`: the kernel closes the listening socket with the last process
    holding it, a moment after that process is no longer listed as alive."""
    while time.monotonic() < until:
        if port_is_free(port):
            return True
        time.sleep(0.02)
    return port_is_free(port)


def test_without_the_fix_orphaned_workers_keep_the_port(make_service):
    """The issue's finding, shown on this gunicorn: neither rule, and the port stays taken."""
    server = make_service(FIELDAPP_DIE_WITH_MASTER="0")
    master = server.start()
    server.healthy(time.monotonic() + 60)
    server.stalled_upload()
    master.kill()
    master.wait(timeout=10)
    time.sleep(3)  # the restart came 3 s later
    assert alive_in_group(master.pid) and not port_is_free(server.port)
    retry = server.start()
    assert retry.wait(timeout=60) != 0  # "Address already in use", gunicorn gives up
    assert "Address already in use" in server.log.read_text()


def test_a_killed_master_comes_back_when_systemd_kills_its_group(make_service):
    """KillMode=control-group alone (workers not tied to the master): back within 10 s."""
    server = make_service(FIELDAPP_DIE_WITH_MASTER="0")
    master, cold = server.first_start()
    server.stalled_upload()
    killed = time.monotonic()
    master.kill()
    master.wait(timeout=10)
    time.sleep(0.5)
    assert alive_in_group(master.pid), "the orphans this rule is for"
    # systemd: the main process died, so stop the unit: KillSignal (SIGTERM) to every process
    # left in it, SIGKILL after TimeoutStopSec, then start again after RestartSec.
    os.killpg(master.pid, signal.SIGTERM)
    if not wait_empty(master.pid, time.monotonic() + seconds(service("TimeoutStopSec"))):
        os.killpg(master.pid, signal.SIGKILL)
    emptied = time.monotonic() - killed
    assert wait_port_free(server.port, killed + 3)
    time.sleep(seconds(service("RestartSec")))
    server.start()
    back = server.healthy(killed + bound(cold)) - killed
    print(f"\nkill group: unit empty {emptied:.2f} s after the kill, /healthz again {back:.1f} s"
          f" (a cold start: {cold:.1f} s)")  # fmt: skip
    assert emptied < 2  # orphans end at once on SIGTERM (gunicorn.conf.py post_worker_init)


def test_workers_die_with_their_master_and_it_comes_back(make_service):
    """Without any group kill: the workers are gone within 2 s, back within 10 s."""
    server = make_service()
    master, cold = server.first_start()
    assert len(alive_in_group(master.pid)) == 3  # the master and its 2 workers
    server.stalled_upload()
    killed = time.monotonic()
    master.kill()
    master.wait(timeout=10)
    assert wait_empty(master.pid, killed + 2), alive_in_group(master.pid)
    gone = time.monotonic() - killed
    assert wait_port_free(server.port, killed + 3)
    time.sleep(seconds(service("RestartSec")))
    server.start()
    back = server.healthy(killed + bound(cold)) - killed
    print(f"\npdeathsig: workers gone {gone:.2f} s after the kill, /healthz again {back:.1f} s"
          f" (a cold start: {cold:.1f} s)")  # fmt: skip


def test_an_orderly_reload_keeps_serving_with_workers_tied_to_the_master(make_service):
    """SIGHUP (systemctl reload) replaces the workers; none is killed by the new rules."""
    server = make_service()
    master = server.start()
    server.healthy(time.monotonic() + 60)
    before = set(alive_in_group(master.pid)) - {master.pid}
    master.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = set(alive_in_group(master.pid)) - {master.pid}
        if len(now) == 2 and not now & before:
            break
        time.sleep(0.1)
    assert len(now) == 2 and not now & before
    server.healthy(time.monotonic() + 30)
    assert master.poll() is None
    master.send_signal(signal.SIGTERM)  # a stop: the master ends its workers, then itself
    assert master.wait(timeout=30) == 0
    assert wait_empty(master.pid, time.monotonic() + 5)
