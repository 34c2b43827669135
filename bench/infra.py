"""The machinery the benchmarks stand on: a dedicated PostgreSQL database, a private
redis-server on a free port (never the shared one at 6379), gunicorn and Celery workers as real
processes, and their memory as /proc sees it.

Everything here is loopback-only and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Output of gunicorn and the workers (var/ is not tracked); look here when a run fails.
LOG_DIR = ROOT / "var" / "bench-logs"


def log_file(name: str) -> Any:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return (LOG_DIR / f"{name}.log").open("ab")


DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/heart_bench"
# Other developers run their tests on these, on the same server: never touch them.
PROTECTED_DATABASES = frozenset({"heart", "test_heart", "heart_ref", "test_heart_ref", "postgres"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


# --- the benchmark database -------------------------------------------------------------------


def bench_database_url() -> str:
    url = os.environ.get("HEART_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    name = database_name(url)
    if name in PROTECTED_DATABASES or "bench" not in name:
        raise SystemExit(
            f"Refusing to benchmark on database {name!r}: the benchmarks drop and re-create "
            "their database, so its name must contain 'bench'."
        )
    return url


def database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def _server_url(url: str) -> str:
    return urlparse(url)._replace(path="/postgres").geturl()


def database_recreate(url: str) -> None:
    """Drop and create the benchmark database (its name was checked by bench_database_url)."""
    name = database_name(url)
    with psycopg.connect(_server_url(url), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_drop(url: str) -> None:
    name = database_name(url)
    with psycopg.connect(_server_url(url), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


# --- a private Redis --------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of our own on a free loopback port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="heart-bench-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise SystemExit("The benchmarks need redis-server (apt-get install redis-server).")
        self.process = subprocess.Popen(
            [
                server,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
        )
        if not wait_for(self.answers, 10):
            raise RuntimeError("The private redis-server did not start.")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)


# --- processes --------------------------------------------------------------------------------


def process_env(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or "bench-only-not-a-secret",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_COOKIES": "false",
        # The benchmark servers speak plain HTTP on loopback.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "HEART_BENCH_ENDPOINTS": "true",
        "HEART_LOG_LEVEL": "WARNING",
        # The per-token API throttle (1200/min by default) would answer most of the load
        # with 429: the benchmark measures the work, not the limit.
        "HEART_API_RATE": "1000000/min",
        **extra,
    }


def start_gunicorn(env: dict[str, str], *, port: int, workers: int = 2) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "heart_cases.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "60",
            "--backlog",
            "256",
        ],
        cwd=ROOT,
        env=env,
        stdout=(log := log_file("gunicorn")),
        stderr=subprocess.STDOUT,
    )
    log.close()

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    if not wait_for(answers, 30):
        stop_process(process)
        raise RuntimeError("gunicorn did not start.")
    return process


def start_worker(
    env: dict[str, str], *, name: str, concurrency: int = 1, include: str | None = None
) -> subprocess.Popen[bytes]:
    command = [
        str(BIN / "celery"),
        "-A",
        "heart_cases",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        str(concurrency),
        "-n",
        f"{name}@%h",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "warning",
    ]
    if include:
        command += ["-I", include]
    with log_file(name) as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen[bytes], *, cold: bool = False) -> None:
    """Stop one process we started. `cold`: kill it and its pool children at once, so that a
    Celery worker does not hand its reserved messages back (the naive worker holding 100,000
    countdowns would otherwise spend minutes returning them)."""
    if process.poll() is not None:
        return
    if cold:
        children = descendants(process.pid)
        process.kill()
        process.wait(timeout=10)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- memory -----------------------------------------------------------------------------------


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields after the last ')' are safe.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1])


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def tree_rss_bytes(pid: int) -> tuple[int, int]:
    """(main process RSS, main plus every descendant's RSS)."""
    main = rss_bytes(pid)
    return main, main + sum(rss_bytes(child) for child in descendants(pid))


# --- who used the CPU -------------------------------------------------------------------------
# The machine is shared (other developers run their tests on it). To say how much of a
# measurement's time the cores were busy with other work, compare the machine's busy time
# (/proc/stat) with what our processes used: this process and its descendants (gunicorn,
# workers, redis-server) and the PostgreSQL backends serving the benchmark database.

_TICKS = os.sysconf("SC_CLK_TCK")


def _machine_jiffies() -> tuple[int, int, int]:
    """(busy, steal, total) jiffies of all cores since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    steal = fields[7] if len(fields) > 7 else 0
    total = sum(fields[:8])
    return total - idle - steal, steal, total


def _process_jiffies(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _our_pids(database: str) -> list[int]:
    pids = [os.getpid(), *descendants(os.getpid())]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # The benchmark database and its copies (e.g. heart_bench_small).
        if title.startswith("postgres: ") and (
            f" {database} " in title or f" {database}_" in title
        ):
            pids.append(int(entry.name))
    return pids


class CpuMeter:
    """Use as `with CpuMeter(database) as meter: ...`, then `meter.result`.

    Our processes are sampled every half second, not only at both ends: a worker's database
    connection is replaced when it reaches CONN_MAX_AGE, and the backend that did the work
    would otherwise vanish from the count (and its CPU be booked as other work)."""

    INTERVAL = 0.5

    def __init__(self, database: str) -> None:
        self.database = database
        self.result: dict[str, float] = {}
        self._first: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, *, first: bool = False) -> None:
        for pid in _our_pids(self.database):
            jiffies = _process_jiffies(pid)
            if first:
                self._first[pid] = jiffies
            self._last[pid] = max(jiffies, self._last.get(pid, 0))

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self._sample(first=True)
        self._started = time.monotonic()
        self._machine = _machine_jiffies()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample()
        seconds = max(time.monotonic() - self._started, 1e-9)
        busy, steal, _ = _machine_jiffies()
        busy0, steal0, _ = self._machine
        # A process born during the measurement counts from zero.
        ours = sum(last - self._first.get(pid, 0) for pid, last in self._last.items())
        machine = (busy - busy0) / _TICKS / seconds
        mine = ours / _TICKS / seconds
        self.result = {
            "seconds": round(seconds, 1),
            "cores": os.cpu_count() or 0,
            "busy_cores": round(machine, 2),
            "ours_cores": round(min(mine, machine), 2),
            "others_cores": round(max(machine - mine, 0.0), 2),
            "steal_cores": round((steal - steal0) / _TICKS / seconds, 2),
        }


def database_url_named(url: str, name: str) -> str:
    return urlparse(url)._replace(path=f"/{name}").geturl()


def database_clone(url: str, name: str) -> str:
    """A copy of the benchmark database (CREATE DATABASE … TEMPLATE) named `name`; returns
    its URL. Nobody may be connected to the source: our own sessions are ended first, and an
    autovacuum worker that is briefly connected is waited out (bounded)."""
    source = database_name(url)
    if "bench" not in name or name in PROTECTED_DATABASES:
        raise SystemExit(f"Refusing to create database {name!r}: its name must contain 'bench'.")
    with psycopg.connect(_server_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        for _ in range(20):
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [source],
            )
            try:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(source)
                    )
                )
                break
            except psycopg.errors.ObjectInUse:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"Could not copy {source}: it stayed in use.")
    return database_url_named(url, name)
