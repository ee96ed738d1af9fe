"""docs/runbook.md has an entry for every notification event the code can send.

Event names are found statically: every ``Notification(<event>, …)`` call (the class of
``pai_autopilot.notify``) in ``shared/`` and ``functions/``, its first argument resolved to the
string literals it can be (a literal, a name assigned in the function or the module, a dict of
names and ``.get(key, default)`` on it, a conditional, a constant imported from another module).
An event that cannot be resolved fails the test too: use a literal or a module-level constant.
"""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "runbook.md"
SOURCES = [p for base in ("shared/pai_autopilot", "functions") for p in sorted((ROOT / base).rglob("*.py"))]
ENTRY = re.compile(r"^### `([a-z0-9_*]+)`", re.M)


class Unresolved(Exception):
    pass


@dataclasses.dataclass
class _Module:
    """What the resolver needs of one module: its tree and its functions."""

    tree: ast.Module
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef]

    @classmethod
    def of(cls, tree: ast.Module) -> _Module:
        return cls(tree, [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))])

    def enclosing(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The innermost function containing ``node``."""
        inside = [fn for fn in self.functions
                  if fn.lineno <= node.lineno <= (fn.end_lineno or fn.lineno) and any(n is node for n in ast.walk(fn))]
        return max(inside, key=lambda fn: fn.lineno, default=None)


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


def _family(expr: ast.JoinedStr) -> str:
    """``f"rollout_{state}"`` → ``rollout_*`` (a family of events; the runbook documents it as one)."""
    parts = [v.value if isinstance(v, ast.Constant) else "*" for v in expr.values]
    pattern = re.sub(r"\*+", "*", "".join(parts))
    if not re.fullmatch(r"[a-z0-9_]+\*[a-z0-9_]*", pattern):
        raise Unresolved(ast.unparse(expr))
    return pattern


def _resolve(expr: ast.expr | None, mod: _Module, fn: ast.AST | None, constants: dict[str, list[ast.expr]],
             depth: int = 0) -> set[str]:
    """Every string ``expr`` can be: literals, names (local, parameter via the module's call sites,
    module or cross-module constants), dict values and ``.get`` defaults, conditionals, f-string families."""
    if expr is None or depth > 12:
        raise Unresolved("no event argument" if expr is None else "too deep")
    again = lambda e, where=fn: _resolve(e, mod, where, constants, depth + 1)  # noqa: E731
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.JoinedStr):
        return {_family(expr)}
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
    if isinstance(expr, ast.Name) and isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        local = [n.value for n in ast.walk(fn) if isinstance(n, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)]
        if local:
            return set().union(*(again(v) for v in local))
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        if name in params + [a.arg for a in fn.args.kwonlyargs]:
            return _from_callers(fn, name, params, mod, constants, depth)
    values = constants.get(name, [])
    if not values:
        raise Unresolved(ast.unparse(expr))
    return set().union(*(_resolve(v, mod, None, constants, depth + 1) for v in values))


def _from_callers(fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str, params: list[str], mod: _Module,
                  constants: dict[str, list[ast.expr]], depth: int) -> set[str]:
    """A parameter: what every call to ``fn`` in the module passes (positionally or by keyword)."""
    found: set[str] = set()
    calls = [c for c in ast.walk(mod.tree) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == fn.name]
    index = params.index(name) if name in params else None
    for call in calls:
        arg = next((k.value for k in call.keywords if k.arg == name), None)
        if arg is None and index is not None and index < len(call.args):
            arg = call.args[index]
        if arg is None:
            default = _default(fn, name)
            if default is None:
                raise Unresolved(f"{fn.name}({name}=…) called without it")
            arg = default
        found |= _resolve(arg, mod, mod.enclosing(call), constants, depth + 1)
    if not calls:
        raise Unresolved(f"parameter {name!r} of {fn.name}, which this module never calls")
    return found


def _default(fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.expr | None:
    positional = fn.args.posonlyargs + fn.args.args
    defaults = dict(zip([a.arg for a in positional][len(positional) - len(fn.args.defaults):], fn.args.defaults, strict=True))
    defaults |= {a.arg: d for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True) if d is not None}
    return defaults.get(name)


@functools.cache
def notification_events() -> tuple[dict[str, list[str]], list[str]]:
    """(event or ``family_*`` → call sites, unresolved call sites) over the whole code base."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in SOURCES}
    constants = _module_constants(trees)
    events: dict[str, list[str]] = {}
    unresolved: list[str] = []
    for path, tree in trees.items():
        names = _notification_names(tree)
        if not names:
            continue
        mod = _Module.of(tree)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            if not (isinstance(call.func, ast.Name) and call.func.id in names):
                continue
            arg = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "event"), None)
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            try:
                for event in _resolve(arg, mod, mod.enclosing(call), constants):
                    events.setdefault(event, []).append(where)
            except Unresolved as exc:
                unresolved.append(f"{where}: {exc}")
    return events, unresolved


def _documents(entry: str, event: str) -> bool:
    """Whether a runbook heading covers an event (``rollout_*`` covers the family and its members)."""
    return fnmatch.fnmatchcase(event, entry) or entry == event


def test_every_event_name_resolves_statically() -> None:
    _, unresolved = notification_events()
    assert not unresolved, ("notification event names must be literals or module-level constants so the "
                            "runbook test can find them:\n  " + "\n  ".join(unresolved))


def test_every_notification_event_has_a_runbook_entry() -> None:
    events, _ = notification_events()
    assert events, "no Notification(...) call found: is the finder broken?"
    documented = set(ENTRY.findall(RUNBOOK.read_text(encoding="utf-8")))
    missing = sorted(e for e in events if not any(_documents(d, e) for d in documented))
    assert not missing, "docs/runbook.md has no entry for: " + ", ".join(missing) + (
        "\nAdd under '## Notifications' a section per event:\n"
        "### `<event>`\n**Sent by** <module> when … **Means** … **Do** …\n"
        + "".join(f"  {e}: sent from {', '.join(events[e])}\n" for e in missing))


def test_runbook_has_no_entry_for_an_event_the_code_never_sends() -> None:
    events, _ = notification_events()
    stale = sorted(d for d in set(ENTRY.findall(RUNBOOK.read_text(encoding="utf-8")))
                   if not any(_documents(d, e) or fnmatch.fnmatchcase(d, e) for e in events))
    assert not stale, f"docs/runbook.md documents events the code no longer sends: {stale} (renamed? removed?)"


def test_resolver_follows_dicts_defaults_constants_parameters_and_families() -> None:
    src = ('from .notify import Notification\nEV = "b_done"\n_MAP = {"x": "c_done"}\n'
           'def f(state, a):\n    event = {"r": "a_done"}.get(state, "d_done")\n'
           '    Notification(event, "t")\n    Notification(EV, "t")\n    Notification(_MAP.get(a), "t")\n'
           'def _settle(rt, state, event):\n    Notification(event, "t")\n'
           'def g(rt, phase):\n    _settle(rt, "x", "e_done")\n    _settle(rt, "y", event="f_done")\n'
           '    Notification(f"rollout_{phase}", "t")\n')
    tree = ast.parse(src)
    mod, constants = _Module.of(tree), _module_constants({Path("x.py"): tree})
    found = set()
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Notification"):
        found |= _resolve(call.args[0], mod, mod.enclosing(call), constants)
    assert found == {"a_done", "b_done", "c_done", "d_done", "e_done", "f_done", "rollout_*"}
    assert _documents("rollout_*", "rollout_*") and _documents("run_failed", "run_failed")


def test_every_event_the_code_sends_may_be_named_in_the_configuration() -> None:
    """`notifications[].events` is validated against NOTIFICATION_EVENTS: an event the code sends but
    the list lacks could never be subscribed to (validate would call it unknown)."""
    from pai_autopilot.config.models import NOTIFICATION_EVENTS

    events, _ = notification_events()
    missing = sorted(e for e in events if not any(fnmatch.fnmatchcase(known, e) for known in NOTIFICATION_EVENTS))
    assert not missing, f"add to NOTIFICATION_EVENTS in config/models.py: {missing}"


def test_every_rollout_phase_may_be_named_in_the_configuration() -> None:
    from pai_autopilot.config.models import NOTIFICATION_EVENTS
    from pai_autopilot.rollout.state import PHASES

    assert {f"rollout_{p}" for p in PHASES} <= set(NOTIFICATION_EVENTS)
