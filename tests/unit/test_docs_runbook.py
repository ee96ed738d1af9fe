"""docs/runbook.md has an entry for every notification event the code can send.

Event names are found statically: every ``Notification(<event>, …)`` call (the class of
``pai_autopilot.notify``) in ``shared/`` and ``functions/``, its first argument resolved to the
string literals it can be (a literal, a name assigned in the function or the module, a dict of
names and ``.get(key, default)`` on it, a conditional, a constant imported from another module).
An event that cannot be resolved fails the test too: use a literal or a module-level constant.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "runbook.md"
SOURCES = [p for base in ("shared/pai_autopilot", "functions") for p in sorted((ROOT / base).rglob("*.py"))]
ENTRY = re.compile(r"^### `([a-z0-9_]+)`", re.M)


class Unresolved(Exception):
    pass


def _module_constants(trees: dict[Path, ast.Module]) -> dict[str, list[ast.expr]]:
    """Module-level ``NAME = <expr>`` of every module, by name (for cross-module constants)."""
    out: dict[str, list[ast.expr]] = {}
    for tree in trees.values():
        for stmt in tree.body:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) and stmt.value else []
            for target in targets:
                if isinstance(target, ast.Name):
                    out.setdefault(target.id, []).append(stmt.value)
    return out


def _notification_names(tree: ast.Module) -> set[str]:
    """Local names bound to ``pai_autopilot.notify``'s ``Notification`` in this module."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[-1] in ("notify", "formats"):
            names |= {a.asname or a.name for a in node.names if a.name == "Notification"}
    return names


def _resolve(expr: ast.expr, scope: list[ast.stmt], constants: dict[str, list[ast.expr]], depth: int = 0) -> set[str]:
    if depth > 10:
        raise Unresolved("too deep")
    again = lambda e: _resolve(e, scope, constants, depth + 1)  # noqa: E731
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.Dict):
        return set().union(*(again(v) for v in expr.values))
    if isinstance(expr, ast.IfExp):
        return again(expr.body) | again(expr.orelse)
    if isinstance(expr, ast.BoolOp):
        return set().union(*(again(v) for v in expr.values))
    if isinstance(expr, ast.Subscript):
        return again(expr.value)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get":
        return again(expr.func.value) | (again(expr.args[1]) if len(expr.args) > 1 else set())
    name = expr.id if isinstance(expr, ast.Name) else expr.attr if isinstance(expr, ast.Attribute) else None
    if name is None:
        raise Unresolved(ast.unparse(expr))
    local = [n.value for stmt in scope for n in ast.walk(stmt) if isinstance(n, ast.Assign)
             and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)]
    values = local or constants.get(name, [])
    if not values:
        raise Unresolved(ast.unparse(expr))
    return set().union(*(again(v) for v in values))


@functools.cache
def notification_events() -> tuple[dict[str, list[str]], list[str]]:
    """(event → call sites, unresolved call sites) over the whole code base."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in SOURCES}
    constants = _module_constants(trees)
    events: dict[str, list[str]] = {}
    unresolved: list[str] = []
    for path, tree in trees.items():
        names = _notification_names(tree)
        if not names:
            continue
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for fn in [*functions, tree]:
            body = fn.body
            for call in (n for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Call)):
                if not (isinstance(call.func, ast.Name) and call.func.id in names):
                    continue
                if fn is tree and any(call in list(ast.walk(f)) for f in functions):
                    continue  # counted with its function
                arg = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "event"), None)
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                try:
                    for event in _resolve(arg, body, constants):
                        events.setdefault(event, []).append(where)
                except Unresolved as exc:
                    unresolved.append(f"{where}: {exc}")
    return events, unresolved


def test_every_event_name_resolves_statically() -> None:
    _, unresolved = notification_events()
    assert not unresolved, ("notification event names must be literals or module-level constants so the "
                            "runbook test can find them:\n  " + "\n  ".join(unresolved))


def test_every_notification_event_has_a_runbook_entry() -> None:
    events, _ = notification_events()
    assert events, "no Notification(...) call found: is the finder broken?"
    documented = set(ENTRY.findall(RUNBOOK.read_text(encoding="utf-8")))
    missing = sorted(set(events) - documented)
    assert not missing, "docs/runbook.md has no entry for: " + ", ".join(missing) + (
        "\nAdd under '## Notifications' a section per event:\n"
        "### `<event>`\n**Sent by** <module> when … **Means** … **Do** …\n"
        + "".join(f"  {e}: sent from {', '.join(events[e])}\n" for e in missing))


def test_runbook_has_no_entry_for_an_event_the_code_never_sends() -> None:
    events, _ = notification_events()
    stale = sorted(set(ENTRY.findall(RUNBOOK.read_text(encoding="utf-8"))) - set(events))
    assert not stale, f"docs/runbook.md documents events the code no longer sends: {stale} (renamed? removed?)"


def test_resolver_follows_dicts_defaults_and_constants() -> None:
    src = ('from .notify import Notification\nEV = "b_done"\n_MAP = {"x": "c_done"}\n'
           'def f(state, a):\n    event = {"r": "a_done"}.get(state, "d_done")\n'
           '    Notification(event, "t")\n    Notification(EV, "t")\n    Notification(_MAP.get(a), "t")\n')
    tree = ast.parse(src)
    fn = tree.body[-1]
    constants = _module_constants({Path("x.py"): tree})
    found = set()
    for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Notification"):
        found |= _resolve(call.args[0], fn.body, constants)
    assert found == {"a_done", "b_done", "c_done", "d_done"}
