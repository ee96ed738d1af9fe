"""docs/configuration.md is generated from the config Structs and must be current.

Regenerate with ``make docs`` (``python scripts/gen_config_reference.py --write``).
"""

from __future__ import annotations

import difflib
from typing import Annotated, Literal

import msgspec
import msgspec.inspect as mi
from msgspec import Meta

from .scripts_support import ROOT, load_script

gen = load_script("gen_config_reference")


def test_configuration_md_is_current() -> None:
    wanted = gen.generate()
    current = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    if current != wanted:
        delta = "".join(list(difflib.unified_diff(current.splitlines(True), wanted.splitlines(True),
                                                  "docs/configuration.md", "generated"))[:40])
        raise AssertionError(f"docs/configuration.md is stale: run `make docs`\n{delta}")


def test_every_struct_and_field_of_the_schema_is_documented() -> None:
    from pai_autopilot.config.models import AutopilotConfig

    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for struct in gen.structs(AutopilotConfig):
        section = text.split(f"\n## {struct.cls.__name__}\n", 1)
        assert len(section) == 2, f"no section for {struct.cls.__name__}: run `make docs`"
        body = section[1].split("\n## ", 1)[0]
        for field in struct.fields:
            assert f"| `{field.encode_name}` |" in body, f"{struct.cls.__name__}.{field.name} missing: run `make docs`"


class _Leaf(msgspec.Struct):
    """A leaf."""

    size: Annotated[int, Meta(ge=1, le=9)] = 3
    tags: list[Annotated[str, Meta(pattern="^[a-z]+$", description="lower-case")]] = []


class _Root(msgspec.Struct):
    """The root."""

    name: Literal["a", "b"] = "a"
    leaf: _Leaf | None = None


def test_types_defaults_and_constraints_render() -> None:
    leaf, = [s for s in gen.structs(_Root) if s.cls is _Leaf]
    size, tags = leaf.fields
    assert gen.render_type(size.type) == "int" and gen.constraints(size.type) == ["≥ `1`", "≤ `9`"]
    assert gen.render_default(size) == "`3`"
    assert gen.render_type(tags.type) == "list of string"
    assert gen.constraints(tags.type) == ["items: pattern `^[a-z]+$`"] and gen.descriptions(tags.type) == ["lower-case"]
    root = mi.type_info(_Root)
    assert gen.render_type(root.fields[1].type) == "[_Leaf](#_leaf) or `null`"


def test_every_property_of_the_json_schema_is_documented() -> None:
    """Cross-check against the schema `pai-autopilot validate` uses (a different code path)."""
    from pai_autopilot.config.models import json_schema

    schema = json_schema()
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for name, definition in schema.get("$defs", {}).items():
        body = text.split(f"\n## {name}\n", 1)
        assert len(body) == 2, f"schema definition {name} has no section: run `make docs`"
        section = body[1].split("\n## ", 1)[0]
        for prop in definition.get("properties", {}):
            assert f"| `{prop}` |" in section, f"{name}.{prop} is in the schema but not documented: run `make docs`"
        for prop in definition.get("required", []):
            assert f"| `{prop}` |" in section and "**required**" in section.split(f"| `{prop}` |", 1)[1].split("\n", 1)[0]
