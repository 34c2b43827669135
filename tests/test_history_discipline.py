"""Tracked models change only in ways simple-history sees: never QuerySet.update() or bulk_*
(bulk_create_with_history is the exception). Scans the apps' code."""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps
from simple_history.models import registered_models

ROOT = Path(__file__).resolve().parents[1]
APPS = ("heart_cases", "navigation", "referrals", "calls", "demo")
FORBIDDEN = {"update", "bulk_create", "bulk_update", "update_or_create"}
# Modules that write tracked models in bulk and each changed record's history row themselves,
# in the same transaction, with a test that every such row is there.
WRITES_ITS_OWN_HISTORY = {
    # The retention sweep blanks a batch in a few statements and writes the history rows by
    # INSERT … SELECT (retention._history); tests/heart_cases/test_retention.py checks that
    # every record it changed has its row, by the sweep's actor, saying why.
    "heart_cases/retention.py",
}


def tracked_model_names() -> set[str]:
    names = set()
    for model in apps.get_models():
        tracked = model in registered_models.values() or hasattr(model, "history")
        if tracked and not model.__name__.startswith("Historical"):
            names.add(model.__name__)
    return names


def receiver_root(node: ast.AST) -> str | None:
    """The name at the start of a chain like Case.objects.filter(...).update."""
    while True:
        if isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def sets_only_untracked_fields(model_name: str, call: ast.Call) -> bool:
    """`update(field=...)` of fields the model's history leaves out (its UNTRACKED_FIELDS)
    changes nothing history records."""
    model = next(m for m in apps.get_models() if m.__name__ == model_name)
    untracked = getattr(model, "UNTRACKED_FIELDS", frozenset())
    fields = {keyword.arg for keyword in call.keywords}
    return (
        call.func.attr == "update"  # type: ignore[attr-defined]
        and not call.args
        and bool(fields)
        and None not in fields
        and fields <= untracked
    )


def violations() -> list[str]:
    tracked = tracked_model_names()
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            if str(path.relative_to(ROOT)) in WRITES_ITS_OWN_HISTORY:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in FORBIDDEN
                ):
                    root = receiver_root(node.func.value)
                    if root in tracked and not sets_only_untracked_fields(root, node):
                        found.append(
                            f"{path.relative_to(ROOT)}:{node.lineno} {root}.….{node.func.attr}()"
                        )
    return found


def test_the_scan_knows_the_tracked_models():
    names = tracked_model_names()
    assert {"Neighbor", "Case", "FieldResponse", "FollowUpTask", "ContactAttempt"} <= names
    assert {"PairAssignment"} <= names


def test_the_scan_catches_a_bulk_write_on_a_tracked_model(tmp_path):
    snippet = "Case.objects.filter(status='open').update(status='closed')\n"
    call = next(
        n
        for n in ast.walk(ast.parse(snippet))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "update"
    )
    assert receiver_root(call.func.value) == "Case"


def test_only_fields_history_leaves_out_may_be_set_by_update():
    from navigation.models import FollowUpTask

    def call(snippet: str) -> ast.Call:
        return next(n for n in ast.walk(ast.parse(snippet)) if isinstance(n, ast.Call))

    allowed = call("FollowUpTask.objects.filter(id__in=ids).update(reminded_at=now)\n")
    assert sets_only_untracked_fields("FollowUpTask", allowed)
    for snippet in (
        "FollowUpTask.objects.filter(id__in=ids).update(reminded_at=now, status='missed')\n",
        "FollowUpTask.objects.filter(id__in=ids).update(**changes)\n",
        "FollowUpTask.objects.bulk_update(rows, ['reminded_at'])\n",
    ):
        assert not sets_only_untracked_fields("FollowUpTask", call(snippet)), snippet
    # And history really leaves it out.
    historical = {f.name for f in FollowUpTask.history.model._meta.get_fields()}
    assert "reminded_at" not in historical
    assert "status" in historical


def test_no_app_code_writes_a_tracked_model_behind_historys_back():
    assert violations() == []
