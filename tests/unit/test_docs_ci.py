"""The CI examples under docs/ci/ run commands that exist.

Every shell command of the GitHub Actions workflow (``run:``) and of the Flow pipeline
(``step: Command`` → ``with.run``) is read; each ``pai-autopilot …`` call must name a command
of the typer app (``pai_autopilot.cli.app``), each ``make …`` a target of the Makefile, and
every deploy must be ``s deploy -y`` (CI cannot answer the trigger-update prompt).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
FLOW = ROOT / "docs" / "ci" / "flow-pipeline.yml"
#: Commands another branch is adding; their checks are xfail until it is merged.
PENDING: dict[tuple[str, str], str] = {}  # `webhook sign` landed with the ops branch (issue 13)


def github_scripts(doc: dict[str, Any]) -> Iterator[str]:
    for job in (doc.get("jobs") or {}).values():
        for step in job.get("steps") or []:
            if "run" in step:
                yield step["run"]


def flow_scripts(doc: dict[str, Any]) -> Iterator[str]:
    for stage in (doc.get("stages") or {}).values():
        for job in (stage.get("jobs") or {}).values():
            for step in (job.get("steps") or {}).values():
                if step.get("step") == "Command":
                    yield step["with"]["run"]


def substitutions(text: str) -> Iterator[str]:
    """The inside of every ``$( … )`` command substitution (balanced, nested ones too)."""
    start = text.find("$(")
    while start != -1:
        depth, i = 1, start + 2
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        inner = text[start + 2:i - 1]
        yield inner
        yield from substitutions(inner)
        start = text.find("$(", i)


def commands(script: str) -> Iterator[list[str]]:
    """Each simple command of a shell script, as words (continuations joined, comments dropped),
    including the commands inside ``$( … )`` (``eval "$(pai-autopilot webhook sign …)"``)."""
    text = re.sub(r"\\\n", " ", script)
    for inner in substitutions("\n".join(line.split(" #", 1)[0] for line in text.splitlines())):
        yield from commands(inner)
    for line in text.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:  # an unbalanced quote inside `body='…'` parts: fall back to spaces
            words = line.split()
        current: list[str] = []
        for word in words:
            if word in ("&&", "||", ";", "|") or word.startswith(">"):
                if current:
                    yield current
                current = [] if not word.startswith(">") else ["__redirect__"]
                continue
            if current != ["__redirect__"]:
                current.append(word)
        if current and current != ["__redirect__"]:
            yield current


def all_commands() -> dict[str, list[list[str]]]:
    out = {}
    for path, scripts in ((GITHUB, github_scripts), (FLOW, flow_scripts)):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[path.name] = [cmd for script in scripts(doc) for cmd in commands(script)]
    return out


def autopilot_calls() -> list[tuple[str, list[str]]]:
    """(file, arguments after `pai-autopilot`) for every call in both files."""
    return [(name, cmd[1:]) for name, cmds in all_commands().items() for cmd in cmds
            if cmd and Path(cmd[0]).name == "pai-autopilot"]


def resolve(args: list[str]) -> tuple[list[str], str | None]:
    """Walk the click tree of the app: (the command path found, the error if any)."""
    from pai_autopilot.cli import app

    node: Any = typer.main.get_command(app)  # a group has `.commands` (typer ships its own click)
    path: list[str] = []
    for word in args:
        if not hasattr(node, "commands"):
            break
        if word.startswith("-"):
            return path, f"an option before a command: {' '.join(args)}"
        child = node.commands.get(word)
        if child is None:
            return path, f"`pai-autopilot {' '.join([*path, word])}` is not a command (have: {', '.join(sorted(node.commands))})"
        node, path = child, [*path, word]
    if hasattr(node, "commands"):
        return path, f"`pai-autopilot {' '.join(path)}` needs a subcommand"
    try:  # the arguments must parse (arity, option names); nothing is run
        node.make_context(" ".join(["pai-autopilot", *path]), list(args[len(path):]))
    except Exception as exc:
        return path, f"`pai-autopilot {' '.join(args)}`: {exc}"
    return path, None


def _params() -> list[Any]:
    params = []
    for name, args in autopilot_calls():
        key = tuple(a for a in args[:2] if not a.startswith("-"))
        marks = [pytest.mark.xfail(strict=False, reason=PENDING[key])] if key in PENDING else []
        params.append(pytest.param(args, id=f"{name}:{' '.join(args[:2])}", marks=marks))
    return params


@pytest.mark.parametrize("args", _params())
def test_every_pai_autopilot_command_exists(args: list[str]) -> None:
    _, error = resolve(args)
    assert error is None, error


def test_both_files_run_validate_the_tests_and_a_canary_action() -> None:
    for name, cmds in all_commands().items():
        lines = [" ".join(c) for c in cmds]
        assert any(line.startswith(("pai-autopilot validate", ".venv/bin/pai-autopilot validate")) for line in lines), name
        assert any(line in ("make test", ".venv/bin/pytest") for line in lines), f"{name} runs no tests"
        assert any("webhook sign POST" in line for line in lines), f"{name} never calls the webhook"
        text = (ROOT / "docs" / "ci" / name).read_text(encoding="utf-8")
        assert "promote" in text and "abort" in text, f"{name}: the webhook call must offer promote and abort"


def test_every_make_target_exists() -> None:
    targets = set(re.findall(r"^([A-Za-z0-9_.-]+):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))
    used = {t for cmds in all_commands().values() for c in cmds if c[0] == "make" for t in c[1:] if not t.startswith("-")}
    assert used, "no make target used"
    assert used <= targets, f"Makefile has no target {sorted(used - targets)}"


def test_every_deploy_is_s_deploy_y() -> None:
    for name, cmds in all_commands().items():
        deploys = [c for c in cmds if c[:2] == ["s", "deploy"]]
        assert deploys, f"{name} never runs `s deploy`"
        for c in deploys:
            assert "-y" in c or "--assume-yes" in c, f"{name}: `{' '.join(c)}` would stop at the trigger prompt"


def test_the_checker_catches_a_missing_command() -> None:
    assert resolve(["validate", "--syaml", "s.yaml"]) == (["validate"], None)
    assert resolve(["run", "show", "X"]) == (["run", "show"], None)
    assert "is not a command" in (resolve(["deploy-everything"])[1] or "")
    assert "needs a subcommand" in (resolve(["local"])[1] or "")
    assert "--dryrun" in (resolve(["wire", "--dryrun"])[1] or "")
