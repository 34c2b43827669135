"""bench/results/latest.json and the BENCHMARKS.md table, written from the same results.

Running one benchmark alone replaces only its own entry in latest.json; every entry keeps the
date it was measured, and the table says it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from .figures import Outcome

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
MARKDOWN = ROOT / "BENCHMARKS.md"
# Every full `make bench` that finished, newest last (the last few are kept): a goal is met
# only when it holds run after run, and BENCHMARKS.md shows the last three side by side.
FULL_RUNS = ROOT / "bench" / "results" / "full_runs.json"
KEEP_FULL_RUNS = 6
ORDER = ("intake", "task_list", "sweep", "memory", "metrics")


def _details(results: dict[str, Any], name: str) -> dict[str, Any]:
    return results.get("benchmarks", {}).get(name, {}).get("details", {})


def _why_intake_throughput(results: dict[str, Any]) -> str:
    figures = results.get("benchmarks", {}).get("intake", {}).get("figures", [])
    ratio = next((f.get("ratio") for f in figures if f.get("key") == "intake.throughput"), None)
    floor = next(
        (f.get("ratio") for f in figures if f.get("key") == "intake.throughput_floor"), None
    )
    # Throughput is CPU-bound, so work per intake must shrink by the share the ratio lacks.
    less_work = f"about {1 - ratio / 0.40:.0%}" if ratio and ratio < 0.40 else "no"
    single = _details(results, "intake").get("one_at_a_time", {})
    bare, intake = single.get("bare_row", {}), single.get("intake", {})
    ceiling = ""
    if bare.get("p50_ms") and intake.get("p50_ms"):
        ceiling = (
            f" One at a time, in this process and without HTTP, an intake took "
            f"{intake['p50_ms']} ms and {intake.get('queries')} queries against "
            f"{bare['p50_ms']} ms and {bare.get('queries')} queries for the bare row: a "
            f"ratio of {bare['p50_ms'] / intake['p50_ms']:.2f} before any queueing."
        )
    return (
        "Intake is one transaction: advisory locks on the match keys (one statement), the "
        "match by phone and by name and date of birth (one UNION), the likeness search (one "
        "UNION), a case number, five rows (neighbor, phone, case, field response, follow-up "
        "task) each with its django-simple-history row, the service schedule (one query), and "
        "the assignment queued on commit; the bare row writes one row." + ceiling + " With 2 "
        "sync workers on 2 cores that PostgreSQL and the load generator share, throughput is "
        "CPU-bound, so the ratio under load follows the ratio of work per request. What is "
        "left is spread thin (a sampling profile of intakes in one process): saving the ten "
        "rows, five and their history, is about 30% of the request; the checks every request "
        "makes, shared with the bare row (token, permissions, throttle), about 25%; the "
        "lookups about 15%; validating the body and queueing the assignment about 5% each. "
        f"Reaching 0.40 needs {less_work} less work per intake. What could give it: "
        "hand-written SQL in place of the ORM for the row writes and lookups, or fewer history "
        "rows; neither is worth it in a system whose history is its audit trail. Smaller "
        "candidates left: a case number from a sequence rather than a counter row (one "
        "statement), and the service schedule cached per process (one query, but another "
        "process would see a change of hours late)."
        + (
            f" Against its floor (the same ten rows in one SQL statement behind the same "
            f"authentication and validation) intake reaches {floor:g} of that rate: the rest is "
            "its logic (matching, locks, the schedule, history through the ORM)."
            if floor
            else ""
        )
    )


def _why_intake_open_loop(results: dict[str, Any]) -> str:
    details = _details(results, "intake")
    parts = []
    for share, result in details.get("open_loop", {}).items():
        parts.append(
            f"at {share} ({result.get('rate_per_s')} req/s) p50 {result.get('p50_ms')} ms, "
            f"p95 {result.get('p95_ms')} ms, start lag p99 {result.get('start_lag_p99_ms')} "
            f"ms, other work {result.get('cpu', {}).get('others_cores')} cores"
        )
    single = details.get("one_at_a_time", {}).get("intake", {})
    return (
        "Requests arrive on a schedule, so a slow one delays those behind it only while both "
        "gunicorn workers are busy; the latency is the request's own time plus that wait. One "
        f"intake alone took {single.get('p50_ms', '?')} ms in process. " + "; ".join(parts) + "."
        " Every intake commits, and a commit waits until the disk has its WAL: on this "
        "machine's shared virtual disk that usually takes well under a millisecond and now "
        "and then stalls for hundreds (timed in process on 2026-12-02: COMMITs of 258, 358 and "
        "1,576 ms among 1,500 intakes, while an idle probe's fdatasync had p99 33 ms and max "
        "650 ms); a stall holds both workers and every request scheduled behind it. Before "
        "this run"
        f"{_disk_sync_words(results.get('machine', {}).get('disk_sync')) or ': not measured'}."
    )


def _why_task_list(results: dict[str, Any]) -> str:
    details = _details(results, "task_list")
    small, large = details.get("small", {}), details.get("large", {})
    parts = []
    for surface in ("api", "page"):
        s, b = small.get(surface, {}), large.get(surface, {})
        parts.append(
            f"{surface}: database time p50 {s.get('database_p50_ms')} -> "
            f"{b.get('database_p50_ms')} ms, other work on the machine "
            f"{s.get('cpu', {}).get('others_cores')} -> {b.get('cpu', {}).get('others_cores')} "
            "cores"
        )
    return (
        "The query count is the same at both sizes, and the list query reads the partial "
        "index `task_open_by_pair` (a pair's open follow-ups in work-by order, nothing of its "
        "history), so the database's share does not grow with the cases. The rest of a "
        "request is Python (DRF, the template) and moves with the load on the shared machine ("
        + "; ".join(parts)
        + ")."
    )


def _why_sweep_time(results: dict[str, Any]) -> str:
    return (
        "Per batch of 500 the claim reads 500 entries of the partial index of unreminded "
        "follow-ups (about 1 ms, whatever the backlog); what is left is the work per reminder: "
        "rendering one notice per language, two notifications and one notice written with "
        "INSERT … SELECT FROM UNNEST, and the task marked reminded, about 0.25 ms of Python and "
        "database time per follow-up on this machine. A worker and PostgreSQL share two cores "
        "with everything else running here (see 'Who used the cores')."
    )


def _why_sweep_speedup(results: dict[str, Any]) -> str:
    runs = _details(results, "sweep").get("runs", [])
    parts = []
    for size in sorted({r["size"] for r in runs}):
        one = next((r for r in runs if r["size"] == size and r["workers"] == 1), None)
        two = next((r for r in runs if r["size"] == size and r["workers"] == 2), None)
        if not one or not two or not one.get("cpu") or not two.get("cpu"):
            continue
        need = one["cpu"]["busy_cores"]
        parts.append(
            f"at {size:,}, one worker's run kept {need} cores busy (the worker, its PostgreSQL "
            f"backend, and {one['cpu']['others_cores']} cores of PostgreSQL's own WAL writing, "
            f"autovacuum of the tables being filled and the kernel's disk writes, which the "
            f"meter books as other work), so two could go at most 2 / {need} = "
            f"{2 / need:.2f}x faster on 2 cores; two kept {two['cpu']['busy_cores']} of 2 busy"
            if need
            else ""
        )
    return (
        "The cores, not the code: the two workers no longer get in each other's way (a "
        "follow-up one of them reminded is marked on its row, so the other's lock re-checks "
        "and skips it; every batch records reminders). On this 2-core machine, "
        + "; ".join(p for p in parts if p)
        + "."
        + "".join(
            f" Three runs of each at {r['size']:,} with {r['workers']} worker(s): "
            + ", ".join(f"{x['seconds']} s" for x in r.get("repeats", []))
            + "."
            for r in runs
            if r["size"] == max(x["size"] for x in runs) and r.get("repeats")
        )
        + " Each reminder writes a notice, two notifications and a new version of its follow-up "
        "row (reminded_at: nine of the table's ten indexes get an entry, as the update cannot be "
        "HOT), and PostgreSQL's WAL and autovacuum work grows with those writes."
    )


def _why_memory(results: dict[str, Any]) -> str:
    return (
        "The sweep holds at most one batch (500 follow-ups) in memory; growth beyond that "
        "would come from the allocator keeping freed memory."
    )


def _why_neighbor_search(results: dict[str, Any]) -> str:
    search = _details(results, "neighbor_search").get("search", {})
    per_query = search.get("p95_ms_per_query", {})
    slow = ", ".join(
        f"{q!r} {ms:g} ms" for q, ms in sorted(per_query.items(), key=lambda kv: -kv[1])[:2]
    )
    return (
        f"The slowest name queries at p95: {slow}. Since 2026-12-01 a one-letter typo of a 7- "
        "to 15-letter name is searched by one LIKE pattern per place the typo can be, so the "
        "trigram index intersects every run of letters before reading a row (24 rows read for "
        "'Dwayne Okafr' instead of every Dwayne), and prefixes are read from the b-tree in "
        "length order. What is left: short names with a typo ('Ana Dioz') still recheck every "
        "namesake, as does a typo beside a short last name ('Maria Lex'); a shared machine "
        "moves both this and its phone baseline."
    )


# The likely why of a missed goal, by figure; shown only beside a goal that was missed. They
# come from reading this run's measurements (latest.json) and from the investigation written
# up under 'Possible speed-ups', not from guesses made before measuring.
WHY: dict[str, Callable[[dict[str, Any]], str]] = {
    "intake.throughput": _why_intake_throughput,
    "intake.open_25.p95": _why_intake_open_loop,
    "intake.open_50.p95": _why_intake_open_loop,
    "task_list.api.p50": _why_task_list,
    "task_list.api.p95": _why_task_list,
    "task_list.page.p50": _why_task_list,
    "task_list.page.p95": _why_task_list,
    "sweep.large.1_worker": _why_sweep_time,
    "sweep.large.2_workers": _why_sweep_speedup,
    "sweep.small.2_workers": _why_sweep_speedup,
    "memory.growth": _why_memory,
    "neighbor_search.name.p95": _why_neighbor_search,
}


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    # The benchmark's own outputs (this file and the results) are not changes to what it ran.
    changed = [
        line
        for line in git("status", "--porcelain").splitlines()
        # (`git()` strips the output, so the first line may have lost its leading blank.)
        if line and not line[2:].lstrip().startswith(("BENCHMARKS.md", "bench/results/"))
    ]
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_files": len(changed)}


def disk_sync_latency(directory: Path, seconds: float = 10.0) -> dict[str, Any]:
    """How long the disk under PostgreSQL takes to make 8 kB durable (write, then fdatasync,
    as a commit flushes the WAL), 50 times a second for `seconds`: a commit waits this long
    whatever the code does, and on a shared virtual disk it stalls now and then."""
    probe = directory / f".heart-bench-fsync-{os.getpid()}"
    latencies: list[float] = []
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        return {"error": str(exc)}
    try:
        block = b"\0" * 8192
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            os.pwrite(fd, block, (len(latencies) % 128) * 8192)
            started = time.perf_counter()
            os.fdatasync(fd)
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.02)
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)
    latencies.sort()

    def at(fraction: float) -> float:
        return round(latencies[min(int(len(latencies) * fraction), len(latencies) - 1)], 2)

    return {
        "directory": str(directory),
        "syncs": len(latencies),
        "p50_ms": at(0.5),
        "p99_ms": at(0.99),
        "max_ms": round(latencies[-1], 1),
        "over_50_ms": sum(1 for value in latencies if value > 50),
    }


def _disk_sync_words(sync: dict[str, Any] | None) -> str:
    if not sync or "p50_ms" not in sync:
        return ""
    return (
        f", fdatasync p50 {sync['p50_ms']} ms, p99 {sync['p99_ms']} ms, max {sync['max_ms']} ms "
        f"({sync['over_50_ms']} of {sync['syncs']} over 50 ms)"
    )


def machine_facts(bench: Any) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
        cursor.execute("SHOW data_directory")
        data_directory = Path(cursor.fetchone()[0])
    redis_version = bench.redis_client().info("server").get("redis_version", "?")
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "postgresql": postgres,
        "redis": redis_version,
        "django": version("django"),
        "celery": version("celery"),
        "gunicorn": version("gunicorn"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        # Beside the data directory (same disk), where this process may write.
        "disk_sync": disk_sync_latency(data_directory.parent),
        "git": _git(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def load_results() -> dict[str, Any]:
    if RESULTS.exists():
        try:
            return json.loads(RESULTS.read_text())
        except json.JSONDecodeError:
            pass
    return {"benchmarks": {}}


def save(
    *, outcomes: list[Outcome], machine: dict[str, Any], run: dict[str, Any]
) -> dict[str, Any]:
    results = load_results()
    results.setdefault("benchmarks", {})
    for outcome in outcomes:
        entry = outcome.as_dict()
        entry["machine"] = machine
        results["benchmarks"][outcome.name] = entry
    results["machine"] = machine
    results["last_run"] = run
    # The known benchmarks in their order, then any other that reported (a later addition).
    names = [*ORDER, *sorted(set(results["benchmarks"]) - set(ORDER))]
    results["figures"] = [
        {**figure, "benchmark": name, "measured": entry["started"]}
        for name in names
        if (entry := results["benchmarks"].get(name))
        for figure in entry["figures"]
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    full_runs = load_full_runs()
    if run.get("command") == "make bench" and run.get("finished"):
        full_runs.append(
            {
                "started": run.get("started"),
                "wall_seconds": run.get("wall_seconds"),
                "commit": machine.get("git", {}).get("commit"),
                "uncommitted_files": machine.get("git", {}).get("uncommitted_files"),
                "disk_sync": machine.get("disk_sync"),
                "load_average_at_start": machine.get("load_average_at_start"),
                "figures": [
                    {
                        key: figure.get(key)
                        for key in ("key", "name", "value", "unit", "ratio", "goal", "met")
                    }
                    for figure in results["figures"]
                ],
            }
        )
        full_runs = full_runs[-KEEP_FULL_RUNS:]
        FULL_RUNS.write_text(json.dumps(full_runs, indent=2, default=str) + "\n")
    MARKDOWN.write_text(render(results, full_runs))
    return results


def load_full_runs() -> list[dict[str, Any]]:
    if FULL_RUNS.exists():
        try:
            return list(json.loads(FULL_RUNS.read_text()))
        except (json.JSONDecodeError, TypeError):
            pass
    return []


def _full_runs(full_runs: list[dict[str, Any]]) -> list[str]:
    """The last three full runs side by side: every goal, and whether it held in each."""
    last = full_runs[-3:]
    lines = ["## The last three full runs", ""]
    if not last:
        return [*lines, "No full `make bench` has finished yet.", ""]
    lines += [
        "A goal is met when it holds in each of them. Each run: "
        + "; ".join(
            f"{k + 1}: {run['started'][:16].replace('T', ' ')}, commit {run.get('commit')}"
            f"{' + uncommitted files' if run.get('uncommitted_files') else ''}, "
            f"{run.get('wall_seconds', 0) / 60:.0f} min, load average at start "
            f"{(run.get('load_average_at_start') or ['?'])[0]}"
            f"{_disk_sync_words(run.get('disk_sync'))}"
            for k, run in enumerate(last)
        )
        + ".",
        "",
        "| figure | goal | " + " | ".join(f"run {k + 1}" for k in range(len(last))) + " | held |",
        "| --- | --- | " + " | ".join("---" for _ in last) + " | --- |",
    ]
    order: list[str] = []
    names: dict[str, tuple[str, str]] = {}
    for run in last:
        for figure in run["figures"]:
            if figure["met"] is None:
                continue
            if figure["key"] not in names:
                order.append(figure["key"])
            names[figure["key"]] = (figure["name"], figure["goal"])
    for key in order:
        cells = []
        held = True
        for run in last:
            figure = next((f for f in run["figures"] if f["key"] == key), None)
            if figure is None:
                cells.append("—")
                held = False
                continue
            held = held and figure["met"] is True
            mark = "" if figure["met"] else " **(missed)**"
            # A goal on a ratio ("1.8 x speed-up") shows the ratio beside the value.
            shown = _number(figure["value"], figure["unit"])
            if " x " in figure["goal"] and figure.get("ratio") is not None:
                shown += f" ({figure['ratio']:g}x)"
            cells.append(shown + mark)
        name, goal = names[key]
        lines.append(
            f"| {name} | {goal} | " + " | ".join(cells) + f" | {'yes' if held else '**no**'} |"
        )
    return [*lines, ""]


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"
    return f"{text} {unit}".strip()


def _runs(runs: int) -> str:
    return "1 run" if runs == 1 else f"{runs} runs"


def _met(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "—"}[met]


def _cpu_row(label: str, cpu: dict[str, Any] | None) -> str:
    if not cpu:
        return f"| {label} | — | — | — | — |"
    return (
        f"| {label} | {cpu['seconds']} | {cpu['busy_cores']} of {cpu['cores']} | "
        f"{cpu['ours_cores']} | {cpu['others_cores']} |"
    )


def _contention(results: dict[str, Any]) -> list[str]:
    """Who used the cores during each measurement (bench.infra.CpuMeter)."""
    rows = []
    intake = _details(results, "intake")
    for key, label in (
        ("bare_row", "intake: bare-row baseline"),
        ("sql_rows", "intake: SQL floor baseline"),
        ("intake", "intake, closed loop"),
    ):
        if key in intake:
            rows.append(_cpu_row(label, intake[key].get("cpu")))
    for share, result in intake.get("open_loop", {}).items():
        rows.append(_cpu_row(f"intake, open loop at {share}", result.get("cpu")))
    task_list = _details(results, "task_list")
    for size in ("small", "large"):
        for surface in ("api", "page"):
            if surface in task_list.get(size, {}):
                label = f"task list {surface} @ {task_list[size].get('cases', 0):,} cases"
                rows.append(_cpu_row(label, task_list[size][surface].get("cpu")))
    for run in _details(results, "sweep").get("runs", []):
        label = f"sweep {run['size']:,} due, {run['workers']} worker(s)"
        rows.append(_cpu_row(label, run.get("cpu")))
    if not rows:
        return []
    return [
        "## Who used the cores",
        "",
        "Other work on the machine (test runs, other databases on the same PostgreSQL server) "
        "uses the same cores. Cores busy during each measurement (from /proc/stat), split "
        "between the benchmark's own processes (this process, gunicorn, the workers, "
        "redis-server and the PostgreSQL backends of the benchmark database) and everything "
        "else. A speed-up or a ratio measured while other work took a core is not the code's "
        "alone.",
        "",
        "| measurement | seconds | cores busy | ours | other work |",
        "| --- | --- | --- | --- | --- |",
        *rows,
    ]


def render(results: dict[str, Any], full_runs: list[dict[str, Any]] | None = None) -> str:
    figures = results.get("figures", [])
    machine = results.get("machine", {})
    run = results.get("last_run", {})
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench.run`) from `bench/results/latest.json`; "
        "do not edit by hand. Each figure is measured side by side with its baseline in the "
        "same run. Benchmarks are never timed assertions inside `make test`.",
        "",
        f"Last run: `{run.get('command', '?')}` — {', '.join(run.get('benchmarks', []))}; "
        f"started {run.get('started', '?')}, wall time {run.get('wall_seconds', '?')} s.",
        "",
        "| figure | value | median of | baseline | ratio | goal | met | measured |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        baseline = f"{_number(f['baseline'], f['unit'])} ({f['baseline_name']})"
        ratio = "—" if f["ratio"] is None else f"{f['ratio']:g} ({f['ratio_is']})"
        value = _number(f["value"], f["unit"]) + (f" ({f['note']})" if f.get("note") else "")
        lines.append(
            f"| {f['name']} | {value} | {_runs(f.get('runs', 1))} | {baseline} | {ratio} | "
            f"{f['goal']} | {_met(f['met'])} | {f['measured'][:16].replace('T', ' ')} |"
        )
    lines += ["", *_full_runs(full_runs if full_runs is not None else load_full_runs())]
    missed = [f for f in figures if f["met"] is False]
    lines += ["## Goals missed", ""]
    if not missed:
        lines.append("None: every figure with a goal met it.")
    for f in missed:
        explain = WHY.get(f["key"])
        why = f" Likely why: {explain(results)}" if explain else ""
        lines.append(f"- **{f['name']}** ({f['goal']}): {f['missed_by']}.{why}")
    lines += ["", *_contention(results)]
    lines += [
        "",
        "## Machine",
        "",
        f"- {machine.get('cores', '?')} cores ({machine.get('cpu', '?')}), "
        f"{machine.get('memory_gib', '?')} GiB memory, Linux {machine.get('kernel', '?')}",
        f"- Python {machine.get('python', '?')}, PostgreSQL {machine.get('postgresql', '?')}, "
        f"Redis {machine.get('redis', '?')}, Django {machine.get('django', '?')}, "
        f"Celery {machine.get('celery', '?')}, gunicorn {machine.get('gunicorn', '?')}",
        f"- Load average when the run started: {machine.get('load_average_at_start', '?')} "
        f"— {machine.get('date', '?')}",
        "- The disk under PostgreSQL before the run (8 kB written and fdatasync'd 50 times a "
        "second for 10 s, as a commit flushes the WAL; a commit waits at least this long)"
        f"{_disk_sync_words(machine.get('disk_sync')) or ': not measured'}",
        f"- Code: commit {machine.get('git', {}).get('commit', '?')}, "
        + (
            f"plus {uncommitted} uncommitted files in the work tree during the run"
            if (uncommitted := machine.get("git", {}).get("uncommitted_files"))
            else "nothing uncommitted"
        ),
        "- Everything on this one machine: the PostgreSQL server (other databases on it too), "
        "a private redis-server, gunicorn, Celery workers and the load generator compete for "
        "the same cores; what other work took shows in the table above.",
        "",
        *HOW_TO_RUN,
        "",
        *METHOD,
        "",
        *SPEED_UPS,
    ]
    return "\n".join(lines) + "\n"


HOW_TO_RUN = [
    "## How to run",
    "",
    "```",
    "make bench                          # all ten: about 40 minutes on this machine",
    ".venv/bin/python -m bench.run intake       # or any one or several of: task_list, sweep,",
    "                                           # memory, metrics, eligible_calls, retention,",
    "                                           # hsds, fhir_task, neighbor_search",
    "```",
    "",
    "Needs PostgreSQL at `HEART_BENCH_DATABASE_URL` (default "
    "`postgres://postgres@127.0.0.1:5432/heart_bench`; the run drops and re-creates that "
    "database, so its name must contain `bench`, and drops it at the end unless `--keep-db`) "
    "and `redis-server` on the PATH (a private one is started on a free port; the shared Redis "
    "is never touched). Results: `bench/results/latest.json` (every figure, its unit, "
    "baseline, ratio, goal and whether it was met, the measurements behind it and the "
    "machine) and this file. Running one benchmark replaces only its own rows. A full `make "
    "bench` that finishes is also kept in `bench/results/full_runs.json` (the last six), and "
    "this file shows the last three side by side: a goal met in one run and missed in the "
    "next is not met.",
    "",
    "For a quick try of a change, smaller runs (their rows then say so in their names): "
    "`HEART_BENCH_LOAD_SECONDS` (intake, default 30), `HEART_BENCH_TASK_LIST_CASES` "
    "(default 1000000), `HEART_BENCH_SWEEP_SIZES` (default `10000,100000`), "
    "`HEART_BENCH_SWEEP_BOUND` (default 60 s), `HEART_BENCH_SWEEP_REPEATS` (default 3), "
    "`HEART_BENCH_OPEN_LOOP_SECONDS` (default 20), `HEART_BENCH_MEMORY_FOLLOW_UPS` (default "
    "100000), `HEART_BENCH_METRICS_RESPONSES` (default 800000) and "
    "`HEART_BENCH_METRICS_RUNS` (default 25). Gunicorn's and the workers' output goes to "
    "`var/bench-logs/`.",
]

METHOD = [
    "## What is measured",
    "",
    "1. **Intake throughput and latency.** gunicorn, 2 sync workers, on PostgreSQL holding "
    "10,000 earlier cases. A closed-loop load generator (Python threads, `http.client`) with 16 "
    "clients posts in turns to three endpoints, 3 slices of 10 s counted for each (3 s of "
    "warm-up before the first slice of each, 1 s before the others), so that other work on the "
    "shared machine falls on all alike: the benchmark-only bare-row endpoint "
    "(`HEART_BENCH_ENDPOINTS=true`: same token auth, permission and JSON parsing, one bare "
    "row); the benchmark-only SQL floor (`/api/v1/bench/sql-rows/`, heart_cases/bench_api.py: "
    "the same authentication and the same validation of the same body as intake, then the ten "
    "rows a new neighbor's intake writes, neighbor, phone, case number, case, field response "
    "and follow-up with the history row of each of the five, in one hand-written `WITH … "
    "INSERT` statement; a test keeps it writing exactly what intake writes); and `POST "
    "/api/v1/field-responses/`. Throughput is the median of the three slices' rates. Intake "
    "bodies have distinct incident numbers and distinct neighbors (name, date of birth and "
    "phone unused before); each intake also queues `assign_case` on commit to the private "
    "Redis (no worker consumes it during the run). Requests/s counts 201 answers; closed-loop "
    "percentiles are over those answers, pooled over the slices (with 16 clients on 2 workers "
    "they mostly measure the queue, so they carry no goal). Then **open loop**: intake alone, "
    "requests started on a fixed schedule at 25% and then 50% of intake's median closed-loop "
    "rate just measured (20 s each after 2 s of warm-up, `HEART_BENCH_OPEN_LOOP_SECONDS`), by "
    "64 threads that each take the next slot in the schedule; latency counts from the "
    "scheduled start, so a request that waited for a thread or a worker carries that wait (no "
    "coordinated omission). Each open-loop row says the rate, the answers, how late the "
    "generator itself started requests (p99) and its own share of the cores. The per-token "
    "API throttle is raised (`HEART_API_RATE=1000000/min`) so that it does not answer 429. "
    "Beside it, the bare row and intake one request at a time in this process (100 each), "
    "with their query counts.",
    "2. **Task list at scale.** In-process with Django's test client: the peer of pair 1 asks "
    "for `GET /api/v1/tasks/?view=today&mine=true` (knox token) and `GET /tasks/` (session), "
    "200 timed requests per surface and size; query count with `CaptureQueriesContext`. The "
    "10,000-case database is copied (`CREATE DATABASE … TEMPLATE`) before 990,000 more cases "
    "are added to the original, and the two sizes are measured in turns: 4 rounds of 50 "
    "requests each, the order alternating, 5 untimed requests after each switch. Pair 1 owns "
    "25 open "
    "follow-ups at both sizes (6 overdue, 12 later today, 7 upcoming) and each of the other 49 "
    "pairs 24, so every pair is near its capacity of 25 and the open work is the same at both "
    "sizes; everything else is closed history over a year and all 50 pairs (pair 1's share "
    "grows with it), each case with a done follow-up and a successful call. The intake "
    "benchmark's 10,000 earlier cases are the same shape.",
    "3. **Sweep.** 10,000 and then 100,000 open cases, each with a pending follow-up assigned "
    "to one of 50 pairs, all with work-by 30 minutes from now (expanded schedule active). Time "
    "from queueing the first `navigation.sweep_follow_ups` until the count of reminder notices "
    "equals the number of due tasks (polled every 0.2 s), with one worker node "
    "(`--concurrency 1`, `HEART_SWEEP_FANOUT=1`) and with two (`HEART_SWEEP_FANOUT=2`). "
    "Navigators have no email address, so no email is sent. Each size is run three times with "
    "each worker count (`HEART_BENCH_SWEEP_REPEATS`), the counts taking turns, on the same "
    "seeded rows (notices cleared and follow-ups marked unreminded between runs); each figure "
    "is the median run. A run that has not finished after 60 s (`HEART_BENCH_SWEEP_BOUND`) is "
    "stopped; its time is then projected from its steady rate (reminders per second from the "
    "first reminder on), the table says so, and a speed-up between two stopped runs is the "
    "ratio of their rates. The bound is above the 45 s goal, so that goal's verdict is always "
    "measured.",
    "4. **Memory.** One worker node, one pool process, measured three times: warm (after "
    "one task), with 1,000 follow-ups scheduled ('before') and with 100,000 ('after'); the "
    "figure is the growth from before to after, what depends on the number scheduled. The "
    "project's way: follow-up rows due in 48 hours, and the normal sweep runs five times at "
    "each step (it reads one batch of 500 candidates each time). The naive way: messages of "
    "`bench.naive_follow_up` (bench/naive.py, loaded with `-I bench.naive`) queued with a "
    "48-hour countdown, until the worker holds them all (the queue is empty and every "
    "message is unacknowledged in the worker's hands). Memory is VmRSS of the worker's main "
    "process plus its pool children.",
    "5. **Metrics.** A year at 100 times the pilot's volume seeded in set-based SQL: 800,000 "
    "field responses over the year (about 568,000 neighbors: most seen once, 80,000 seen one "
    "to a dozen times, 8,000 about ten times), one case each, a 48-hour follow-up for the 90% "
    "who consented, 1 to 3 contact attempts on most, and a referral with its consent for "
    "about 1 in 5 reached neighbors, across the referral statuses. The metrics facts are "
    "built once after the load, as `manage.py metrics_rebuild` would at deploy (the bulk "
    "load bypasses the triggers that feed them). Then in this process with Django's test "
    "client, an analyst's token for `GET /api/v1/metrics/` (the full year, and its last "
    "month) and a supervisor's session for `GET /metrics/` (the full year); and the API for "
    "the year again with 10 new field responses recorded through intake before each read "
    "(the read folds them in first). p50/p95 over 25 requests after 3 untimed ones, and the "
    "query count. Baseline: a plain `SELECT count(*)` of the year's field responses, the "
    "floor under any live count of the year.",
    "6. **Eligible calls.** bench.metrics' year (kept as it left it when it ran just before, "
    "else seeded the same way) measured as it is, then with about 2,000,000 eligible calls "
    "seeded over the year in set-based SQL in the pilot's shape (every weekday-daytime field "
    "response's incident has its call; demand around the clock, mostly outside hours) and the "
    "facts rebuilt: the metrics API for the year p50/p95 (20 reads after 3 untimed ones) and "
    "its query count against one month's. Then batch intake: one gunicorn sync worker, 50 "
    "requests of 1,000 new calls each to `POST /api/v1/eligible-calls/batch/` with the CAD's "
    "token, against a COPY (psycopg `cursor.copy`) of the same rows, same column values, into "
    "the same table with its triggers on (the COPY writes no history rows; the service writes "
    "one per call); the two take turns three times and each figure is the median of three.",
    "7. **Retention sweep.** 1,000,000 neighbors seeded in set-based SQL "
    "(`HEART_BENCH_RETENTION_NEIGHBORS`), each with a field response, a case, its follow-up, "
    "a call, a phone row and a history row; 100,000 of them (`HEART_BENCH_RETENTION_DUE`) "
    "last had anything happen eight years ago, every other within the last year, and pair 1 "
    "has its 25 open follow-ups. `manage.py retention_sweep` runs in its own process with the "
    "default settings (batches of 500, resting as long as each batch took), timed to its "
    "exit; the figure also checks that exactly the due records were erased and logged. "
    "Meanwhile this process asks for pair 1's peer's `GET /api/v1/tasks/?view=today&mine=true` "
    "in blocks of 50 timed requests; the baseline is 200 of the same just before, with "
    "nothing else running. Three runs on 2026-12-01 (load average under 2.1): 47.9, 47.1 and "
    "47.6 s; the task list's p95 1.34, 1.29 and 1.29 times its figure alone.",
    "",
    "## Shortcuts in the setup",
    "",
    "- Cases are seeded in bulk with SQL (`INSERT … SELECT FROM generate_series`, "
    "bench/seed.py), not through the API: no django-simple-history rows for seeded objects, "
    "no NeighborPhone rows except for the intake benchmark's history, and foreign-key "
    "triggers off while loading (`session_replication_role = replica`; the rows are "
    "consistent by construction). `VACUUM ANALYZE` runs after each load, as autovacuum "
    "would soon after.",
    "- The shared PostgreSQL server keeps its default configuration (shared_buffers 128 MB).",
]

SPEED_UPS = [
    "## Speed-ups applied on 2026-12-02 (issue 19)",
    "",
    "### Sweep",
    "",
    "Watching the processes during a 100,000 sweep with one worker (`top`, `ps`, "
    "`pg_stat_database.sessions`): the worker's child used 0.35–0.40 of a core and no "
    "PostgreSQL backend lived long enough to show; the CPU meter booked 0.54 cores as other "
    "work. Celery's Django fixup closes every database connection before and after each "
    "task, so each batch of 500 reminders (and each `assign_case`) started a new backend, and "
    "paid its start and its catalog caches again.",
    "",
    "1. Workers keep their connection as web processes do: `heart_cases.celery` runs "
    "Django's `close_old_connections` around each task (a connection older than "
    "`CONN_MAX_AGE`, 60 s, or left unusable by an error is closed; the others are checked "
    "before their next use), and `CELERY_DB_REUSE_MAX` puts the fixup's own closing out of "
    "reach. A test with a real worker checks that one backend serves four assignments.",
    "",
    "Measured alone, minutes apart, the same commit otherwise: 100,000 due with 1 worker "
    "36.5 -> 29.0 s, with 2 workers 26.4 -> 12.3 s; other work during the 1-worker run "
    "0.54 -> 0.02 cores.",
    "",
    "### Intake (the measurement)",
    "",
    "The SQL floor and intake were given the same phone numbers, and the floor, which runs "
    "first in each turn, stored them: most intakes then matched an existing neighbor by "
    "phone. Each endpoint now takes its own block of numbers, so every intake is a new "
    "neighbor's, as the method says. Since the last full runs, intake also makes fewer "
    "round trips (14 -> 10 queries for a new neighbor, 15 -> 12 for a matched one): the "
    "match is sent with the advisory locks, and the new neighbor, phone, case and field "
    "response are one statement with their history rows.",
    "",
    "### HSDS services, fully nested",
    "",
    "Profiled per request in one process (CPU time around the test client, and cProfile): "
    "at 200 a page most of the time went to building Service and Provider model instances, "
    "to the ORM and psycopg expanding 200-element `IN` lists, and to building the nested "
    "dicts; the tail of the latency was Python's full garbage collection walking the "
    "previous pages, which DRF's response keeps in a reference cycle.",
    "",
    "1. A page of services is read as `values()` rows (with its organization's columns "
    "joined), not model instances.",
    "2. Nested rows are read by one array parameter (`= ANY(%s)`) on PostgreSQL, an `IN` "
    "list on SQLite.",
    "3. Four nested queries instead of eight: languages; the service-at-location links "
    "with their locations and addresses joined; the phones, and the schedules, of the "
    "services and their locations together. A full page is 10 queries (was 14).",
    "4. `need_term_id` is cached; each location's object is built once per page.",
    "5. The services page drops its data once rendered, so its 100,000 objects are freed at "
    "once rather than at the next full collection.",
    "",
    "259 responses captured before the change (every shape, page size, filter and error, on "
    "PostgreSQL and SQLite) are byte-identical after it. Back to back with the old code, "
    "`bench.run hsds`: fully nested 200 a page p95 178–210 -> 83–89 ms; CPU per request "
    "63–82 -> 29–47 ms.",
    "",
    "### Eligible-call batches",
    "",
    "On a machine whose disk made COPY quicker (56,830 calls/s), the batch goal held by "
    "0.102 against 0.10. A 1,000-call batch timed in one process, part by part: parsing 4 ms, "
    "validation 74–84 ms, building the statement's rows 9 ms, the statement 36 ms (of which "
    "11 ms the history rows), rendering 1 ms.",
    "",
    "1. A time is parsed once (`AwareDateTimeField`): DRF parsed it, then the field parsed "
    "it again to tell a time without an offset.",
    "2. Text fields of the batch check for surrogate characters by one regular-expression "
    "search (`TextField`), not DRF's Python loop over every character.",
    "3. The batch's serializers list their writable fields once (`FixedFieldsSerializer`); "
    "the earliest-record bound is cached by its settings; the statement's rows are built "
    "without a dict per call.",
    "",
    "A test compares the new fields with DRF's and the old ones on 26 inputs (values, "
    "errors and their codes); the API schema is byte-identical. In one process: validation "
    "-> 62 ms, the whole post 168 -> 146 ms.",
    "",
    "## Speed-ups applied on 2026-12-01 (issue 19)",
    "",
    "### Sweep",
    "",
    "Profiled in one process at 100,000 due (`sweep()` called in a loop, each part timed, "
    "and cProfile): a continuation spent 225 ms, of which 42 ms was the look for open cases "
    "without a pair (it reads every open case, and found none) and 178 ms the reminders' batch "
    "of 500 (121 ms of it Python).",
    "",
    "1. A continuation runs only the parts whose batch was full "
    "(`navigation.sweep_follow_ups(parts)`); beat still runs every part each minute, so a part a "
    "continuation skipped waits at most until the next beat. With 100,000 reminders due, the "
    "other three parts no longer run 200 times.",
    "2. The reminders' batch loads the columns a reminder names (`values_list`), not model "
    "instances of the task, the case and the neighbor; the follow-up kind's label is looked "
    "up once per batch, not once per task (a translated label cost 80 µs each).",
    "3. Notices and notifications are written with each column's values prepared for the "
    "database once per distinct value (a batch's 10,000 values were each passed through "
    "their field's `get_db_prep_save`).",
    "",
    "After, the same in-process measure: 128 ms per reminders' batch (77 ms of Python), and "
    "no other part in a continuation.",
    "",
    "## Speed-ups applied on 2026-11-21",
    "",
    "The benchmark's first full runs that day found these; they are now in the code, and "
    "the table above measures the result.",
    "",
    "### Sweep",
    "",
    "Before (first full run, 10:31): 10,000 due in 11.5 s with one worker, 100,000 "
    "projected at 289 s, two workers 1.16x (10,000) and 0.92x (100,000).",
    "",
    "1. `sweeps.sweep_reminders` claims ids alone (SKIP LOCKED, LIMIT 500) and loads the "
    "cases, neighbors and pairs after, by primary key (a pair once per batch, not once per "
    "follow-up; the neighbor's phone number is not parsed).",
    "2. The claim reads a partial index of the unreminded follow-ups in work-by order "
    "(`task_to_remind`), so a claim costs the same with 100 or 100,000 waiting; the sweep "
    "marks each reminded follow-up (`reminded_at`, left out of history: the notice is the "
    "record), so a second worker's lock re-checks a follow-up the first has just reminded "
    "and skips it instead of spending its batch on it (before: 11 of 33 batches wasted "
    "with two sweepers at 100,000).",
    "3. A notice is rendered once per language, not once per recipient (the templates do "
    "not name their reader; a test keeps it so), its dates by a small filter that writes "
    "what Django's `date` filter writes (a test compares the two in English and Spanish), "
    "from plain values rather than model lookups.",
    "4. Notices and notifications are written column-wise (`INSERT … SELECT FROM UNNEST … "
    "ON CONFLICT DO NOTHING RETURNING`): no model instance per row, and the statement says "
    "which notices it recorded, where a second query had to find out (that query grew with "
    "the table).",
    "5. PostgreSQL's JIT is off for the application's connections (`-c jit=off`): with "
    "stale statistics a sweep batch once spent 0.6 s compiling its plan.",
    "6. The task list reads the partial index `task_open_by_pair` (a pair's open "
    "follow-ups, nothing of its history): its list query went from 4.5 to 1.1 ms at "
    "1,000,000 cases (EXPLAIN ANALYZE).",
    "",
    "Measured one at a time while applying them (same machine, other work light): 1 alone "
    "took 10,000 due to 8.4 s and 100,000 to a projected 117 s; all six, 5.5 s and 55.3 s "
    "(two workers 2.1x and 1.6x).",
    "",
    "### Intake",
    "",
    "Before (the last full run without them, commit 49a6009): 30 queries and 27.7 ms for one "
    "intake in process, 0.28x the bare row under load.",
    "",
    "1. A neighbor created in this request needs no row lock (no other transaction can see "
    "it yet), has no open case to look for and no closed case to link: three queries "
    "skipped. A case opened in this request has no pair to look up: one more.",
    "2. A matched neighbor is read and locked in one query (`SELECT … FOR UPDATE`) after "
    "the match, which now asks for ids only; the lock also follows a link made meanwhile.",
    "3. The match by phone and by name and birth date is one UNION ALL of two limited "
    "queries, and so are the likeness searches (one query per likeness on SQLite, which "
    "cannot combine limited queries); the advisory locks are taken in one statement.",
    "4. The replay check asks for the id alone and loads the recorded response only on a "
    "replay (a replay now costs 9 queries instead of 8).",
    "5. The service schedule and its windows are read in one query.",
    "6. django-simple-history built a new manager class (with `inspect`) for each history "
    "row it wrote; `heart_cases.history.HistoricalRecords` builds it once.",
    "",
    "After: 22 queries for a new neighbor and case (18 for a matched neighbor) and about "
    "30% less CPU per intake, Python and PostgreSQL together (in process, three runs of 300 "
    "intakes side by side with the old code). The table above measures the result under "
    "load.",
]
