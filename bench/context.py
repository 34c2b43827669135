"""One benchmark run's world: the dedicated database, the private Redis, Django set up in this
process against both, the staff (a CAD service account and clinician–peer pairs) and the
seeder. Benchmarks receive a `Bench` and leave the database as they found it, apart from the
domain tables that each benchmark truncates and seeds for itself."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from .infra import PrivateRedis, bench_database_url, database_recreate, process_env
from .seed import Seeder

PAIRS = 50
# Pair 1's peer is the navigator whose task list is measured.
NAVIGATOR = "bench-peer-1"


@dataclass
class Bench:
    database_url: str
    redis: PrivateRedis
    env: dict[str, str]
    responder_id: int = 0
    responder_token: str = ""
    navigator_id: int = 0
    navigator_token: str = ""
    pair_ids: list[int] = field(default_factory=list)
    seeder: Seeder | None = None
    log_lines: list[str] = field(default_factory=list)

    @property
    def seed(self) -> Seeder:
        assert self.seeder is not None
        return self.seeder

    def log(self, message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        self.log_lines.append(line)
        print(line, flush=True)

    def cpu(self) -> Any:
        """A CpuMeter for the benchmark database: `with bench.cpu() as meter: ...`."""
        from .infra import CpuMeter, database_name

        return CpuMeter(database_name(self.database_url))

    def redis_client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.redis.url)

    def close(self) -> None:
        if self.seeder is not None:
            self.seeder.close()
        self.redis.stop()


def open_bench() -> Bench:
    """Start the private Redis, re-create and migrate the benchmark database, set Django up
    in this process, and create the staff every benchmark uses."""
    url = bench_database_url()
    redis = PrivateRedis()
    redis.start()
    env = process_env(database_url=url, redis_url=redis.url)
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "DJANGO_SECRET_KEY",
        "DJANGO_DEBUG",
        "DJANGO_ALLOWED_HOSTS",
        "DJANGO_SECURE_COOKIES",
        "DJANGO_SECURE_SSL_REDIRECT",
        "HEART_BENCH_ENDPOINTS",
        "HEART_LOG_LEVEL",
        "HEART_API_RATE",
    ):
        os.environ[name] = env[name]
    os.environ["DJANGO_SETTINGS_MODULE"] = "heart_cases.settings"
    bench = Bench(database_url=url, redis=redis, env=env)
    try:
        started = time.monotonic()
        database_recreate(url)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        bench.log(f"Database {url.rsplit('/', 1)[1]} created and migrated")
        _create_staff(bench)
        bench.seeder = Seeder(url, responder_id=bench.responder_id)
        bench.seeder.analyze()
        bench.log(f"Staff and {PAIRS} pairs ready ({time.monotonic() - started:.0f} s)")
    except BaseException:
        bench.close()
        raise
    return bench


def _create_staff(bench: Bench) -> None:
    from django.core.management import call_command

    from heart_cases.actors import system_actor
    from heart_cases.roles import ensure_role_groups
    from heart_cases.staff import staff_create_or_update
    from navigation.services import pair_create

    ensure_role_groups()
    # The pilot schedule has no weekend hours; the expanded one works every day 07–19.
    call_command("service_hours", use="expanded", stdout=open(os.devnull, "w"))  # noqa: SIM115
    responder = staff_create_or_update(
        username="cad", role="responder", languages=["en"], service_account=True
    )
    bench.responder_id = responder.user.pk
    bench.responder_token = responder.token
    actor = system_actor("bench.setup")
    for k in range(1, PAIRS + 1):
        # Every third pair speaks Spanish too, so reminders render in both languages.
        languages = ["en", "es"] if k % 3 == 0 else ["en"]
        clinician = staff_create_or_update(
            username=f"bench-clinician-{k}",
            role="clinician",
            languages=languages,
            first_name="Clinician",
            last_name=str(k),
        )
        peer = staff_create_or_update(
            username=f"bench-peer-{k}",
            role="peer",
            languages=languages,
            first_name="Peer",
            last_name=str(k),
        )
        pair = pair_create(actor=actor, clinician=clinician.user, peer=peer.user)
        bench.pair_ids.append(pair.pk)
        if peer.user.get_username() == NAVIGATOR:
            bench.navigator_id = peer.user.pk
            bench.navigator_token = peer.token


def run_alone(
    name: str, run: Any, *, database_url: str, description: str | None, argv: list[str] | None
) -> int:
    """`python -m bench.NAME`: one benchmark on a database of its own, created and dropped
    (unless --keep-db), outside `bench.run`'s results; its outcome goes to var/bench-NAME.json."""
    import argparse
    import json

    from .infra import ROOT, database_drop

    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=description)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args(argv)
    os.environ.setdefault("HEART_BENCH_DATABASE_URL", database_url)
    bench = open_bench()
    try:
        began = time.monotonic()
        outcome = run(bench)
        outcome.seconds = time.monotonic() - began
    finally:
        bench.close()
        if not args.keep_db:
            database_drop(bench.database_url)
    out = ROOT / "var" / f"bench-{name.replace('_', '-')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(outcome.as_dict(), indent=2, default=str) + "\n")
    for figure in outcome.figures:
        mark = {True: "met", False: "MISSED", None: "-"}[figure.met]
        print(
            f"{figure.name:<66} {figure.value:>9g} {figure.unit:<7} baseline "
            f"{figure.baseline!s:>8}  ratio {figure.ratio!s:>7}  goal {figure.goal} [{mark}]"
        )
    return 0
