"""A real stack on loopback for fault tests: a private redis-server on a free port (never the
shared one), gunicorn, a Celery worker and beat, all on the test database."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], seconds: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="heart-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is needed for the fault tests"
        self.process = subprocess.Popen(  # noqa: S603
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
        assert wait_for(self.answers, 10), "private redis-server did not start"

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


class Stack:
    """The processes of a deployment, under a small supervisor that starts a worker or beat
    again when it exits, as systemd or a container runtime would in production (a worker can
    exit when the broker drops its connection: a known kombu race)."""

    def __init__(self, redis: PrivateRedis) -> None:
        self.redis = redis
        self.port = free_port()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, list[str]] = {}
        self.restarts: list[str] = []
        self._supervising = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        db = settings.DATABASES["default"]
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": redis.url,
            "CELERY_BROKER_URL": redis.url,
            "DJANGO_SECRET_KEY": "fault-test",
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_COOKIES": "false",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "HEART_LOG_LEVEL": "WARNING",
        }
        self.schedule_dir = tempfile.mkdtemp(prefix="heart-beat-")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_web(self) -> None:
        self.processes["web"] = subprocess.Popen(  # noqa: S603
            [
                str(BIN / "gunicorn"),
                "heart_cases.wsgi",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=self.env,
        )
        assert wait_for(lambda: self.get("/healthz")[0] in (200, 503), 30), "gunicorn did not start"

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        self.commands[name] = command
        process = subprocess.Popen(command, cwd=ROOT, env=self.env)  # noqa: S603
        self.processes[name] = process
        if not self._supervisor.is_alive():
            self._supervising.set()
            self._supervisor.start()
        return process

    def _supervise(self) -> None:
        while self._supervising.is_set():
            for name, process in list(self.processes.items()):
                if name in self.commands and process.poll() is not None:
                    if not self._supervising.is_set() or self.processes.get(name) is not process:
                        continue
                    self.restarts.append(name)
                    self.processes[name] = subprocess.Popen(  # noqa: S603
                        self.commands[name], cwd=ROOT, env=self.env
                    )
            time.sleep(0.5)

    def start_worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        return self._spawn(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "heart_cases",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "2",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "warning",
            ],
        )

    def start_beat(self) -> None:
        self._spawn(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "heart_cases",
                "beat",
                "-l",
                "warning",
                "-s",
                str(Path(self.schedule_dir) / "schedule"),
            ],
        )

    def kill(self, name: str) -> None:
        """SIGKILL a process for good (the supervisor does not start it again)."""
        self.commands.pop(name, None)
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        self._supervising.clear()
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def request(self, method: str, path: str, token: str = "", body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback only
            self.base_url + path, data=data, method=method
        )
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Token {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")
        except (urllib.error.URLError, ConnectionError):
            return 0, None

    def get(self, path: str, token: str = "") -> tuple[int, Any]:
        return self.request("GET", path, token)

    def post(self, path: str, token: str, body: Any) -> tuple[int, Any]:
        return self.request("POST", path, token, body)
