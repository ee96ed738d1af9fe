"""docs/architecture.md lists every package and function module as it is in the tree.

Its layout table says, per path, ``exists`` or ``designed (<branch>)``. A path marked ``exists``
must exist; every function module and every package or module of ``shared/pai_autopilot/`` that
exists must be listed and marked ``exists``. After merging a branch, update the row.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `([^`]+)` \| (exists|designed)[^|]*\|", re.M)


def rows() -> dict[str, str]:
    return dict(ROW.findall((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")))


def in_tree() -> set[str]:
    lib = ROOT / "shared" / "pai_autopilot"
    found = {f"functions/{p.name}" for p in (ROOT / "functions").glob("*.py") if p.name != "__init__.py"}
    found |= {f"shared/pai_autopilot/{p.name}/" for p in lib.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    found |= {f"shared/pai_autopilot/{p.name}" for p in lib.glob("*.py") if p.name != "__init__.py"}
    return found


def test_rows_marked_exists_exist() -> None:
    missing = [path for path, status in rows().items() if status == "exists" and not (ROOT / path).exists()]
    assert not missing, f"docs/architecture.md marks as existing what is not in the tree: {missing}"


def test_every_module_in_the_tree_is_listed_as_existing() -> None:
    table = rows()
    unlisted = sorted(p for p in in_tree() if p not in table)
    stale = sorted(p for p in in_tree() if table.get(p) == "designed")
    assert not unlisted, f"docs/architecture.md: add a layout row for {unlisted}"
    assert not stale, f"docs/architecture.md: these exist now, mark them `exists` and describe them: {stale}"
