"""`make run`: the whole system on one machine — web, Celery worker and Celery beat.

Embedded default: SQLite in var/ and the Redis at REDIS_URL; if none answers, a private
redis-server from PATH; if there is none, a one-line message saying what to install.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import redis

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
DEMO_LOGINS = [
    ("supervisor", "sees every pair, the unassigned and the overdue"),
    ("clinician1", "clinician, pair 1 (English, Spanish)"),
    ("peer1", "peer, pair 1"),
    ("provider-casa", "provider staff, Casa Esperanza"),
    ("analyst", "metrics only"),
    ("admin", "Django admin at /admin/"),
]


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_redis(env: dict[str, str], children: list[subprocess.Popen[bytes]]) -> None:
    url = env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_answers(url):
        print(f"Redis: {url}")
        return
    server = shutil.which("redis-server")
    if server is None:
        sys.exit(
            f"No Redis answers at {url} and redis-server is not installed: "
            "install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install "
            "redis) or set REDIS_URL to a running Redis."
        )
    parsed = urlparse(url)
    port = parsed.port or 6379
    if parsed.hostname not in {"127.0.0.1", "localhost"}:
        port = free_port()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            port = free_port()  # something else holds that port
    except OSError:
        pass
    VAR.mkdir(exist_ok=True)
    children.append(
        subprocess.Popen(
            [
                server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(VAR),
            ],
            stdout=subprocess.DEVNULL,
        )
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        if redis_answers(url):
            break
        time.sleep(0.1)
    else:
        sys.exit(f"Started redis-server on port {port}, but it does not answer.")
    env["REDIS_URL"] = url
    print(f"Redis: started a private redis-server at {url}")


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of the processes `make run` starts. The web server, the worker and beat
    all need HEART_BASE_URL: the worker writes the signed links into the providers' emails, so
    unless it is set, it names the address and port this runserver serves."""
    env = dict(environ)
    env.setdefault("DJANGO_DEBUG", "true")
    env.setdefault("DJANGO_SETTINGS_MODULE", "heart_cases.settings")
    env.setdefault("HEART_HOST", "127.0.0.1")
    env.setdefault("HEART_PORT", "8000")
    if not env.get("HEART_BASE_URL"):
        env["HEART_BASE_URL"] = f"http://{env['HEART_HOST']}:{env['HEART_PORT']}"
    return env


def main() -> None:
    env = child_environment(os.environ)
    host = env["HEART_HOST"]
    port = env["HEART_PORT"]
    python = sys.executable
    bin_dir = Path(python).parent
    VAR.mkdir(exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []

    def stop(*_: object) -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    ensure_redis(env, children)
    manage = [python, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    subprocess.run([*manage, "seed_demo", "--if-empty"], env=env, check=True)
    # The retention rule's settings, and how many records it would erase tonight.
    subprocess.run([*manage, "retention_sweep", "--dry-run"], env=env, check=True)

    celery = str(bin_dir / "celery")
    commands = {
        "worker": [
            celery,
            "-A",
            "heart_cases",
            "worker",
            "-l",
            "info",
            "--concurrency",
            "2",
            "-n",
            "heart@%h",
        ],
        "beat": [
            celery,
            "-A",
            "heart_cases",
            "beat",
            "-l",
            "info",
            "-s",
            str(VAR / "celerybeat-schedule"),
        ],
        "web": [*manage, "runserver", f"{host}:{port}", "--noreload"],
    }
    supervised = {name: subprocess.Popen(command, env=env) for name, command in commands.items()}
    children.extend(supervised.values())
    print("\n" + "=" * 72)
    print(f"HEART Care Navigation: http://{host}:{port}/   (API docs: /api/docs/)")
    print("Demo logins, password 'heart-demo' for each:")
    for username, what in DEMO_LOGINS:
        print(f"  {username:<16} {what}")
    print("Ctrl-C stops web, worker, beat" + (" and Redis." if len(children) > 3 else "."))
    print("=" * 72 + "\n", flush=True)
    # A supervisor, as production has one (systemd, a container runtime): a worker can exit
    # when the broker drops its connection (a known kombu race); start it again rather than
    # stop the whole system. Give up only when a process keeps dying.
    exits: dict[str, list[float]] = {name: [] for name in commands}
    while True:
        for name, child in list(supervised.items()):
            if child.poll() is None:
                continue
            recent = [t for t in exits[name] if time.monotonic() - t < 60] + [time.monotonic()]
            exits[name] = recent
            if len(recent) > 5:
                print(f"{name} exited {len(recent)} times in a minute; stopping everything.")
                stop()
            print(f"{name} exited (code {child.returncode}); starting it again.", flush=True)
            children.remove(child)
            supervised[name] = subprocess.Popen(commands[name], env=env)
            children.append(supervised[name])
        time.sleep(1)


if __name__ == "__main__":
    main()
