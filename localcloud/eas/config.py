"""The EAS service config (the raw JSON body of CreateService/UpdateService) and what we read from it.

* name: ``metadata.name``, else the legacy top-level ``name`` (both appear in EAS docs);
* group: ``metadata.group`` — *unconfirmed* key (reference/alibaba-api.md §2), accepted as is;
* instances: ``metadata.instance`` (default 1); cpu/memory/gpu from ``metadata``; image from
  ``containers[0].image``; instance type from ``cloud.computing.instances[0].type`` (or the
  older ``cloud.computing.instance_type``);
* the localcloud behaviour profile: the top-level ``localcloud`` key (see :mod:`.profiles`).

Service names: lower-case letters, digits and ``_``, starting with a letter, at most 64
characters — EAS's documented rule as we remember it (*unconfirmed* in stored material). Note
that ``-`` is rejected.

Example
-------
>>> cfg = parse_config('{"metadata": {"name": "demo", "instance": 2, "group": "g"}}')
>>> config_name(cfg), config_group(cfg), config_instances(cfg)
('demo', 'g', 2)
>>> deep_merge({"metadata": {"instance": 1, "cpu": 2}}, {"metadata": {"instance": 3}})
{'metadata': {'instance': 3, 'cpu': 2}}
>>> only_scale_changed({"metadata": {"instance": 1, "cpu": 2}}, {"metadata": {"instance": 3, "cpu": 2}})
True
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from .exceptions import invalid_parameter
from .profiles import BehaviourProfile

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_INSTANCES = 1000


def parse_config(body: Any) -> dict[str, Any]:
    """The config object from a request body (bytes, str or an already parsed dict)."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    if isinstance(body, str):
        if not body.strip():
            raise invalid_parameter("The request body is empty: send the service config as JSON.")
        try:
            body = json.loads(body)
        except ValueError:
            raise invalid_parameter("The service config is not valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid_parameter("The service config must be a JSON object.")
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict):
        raise invalid_parameter("metadata must be a JSON object.")
    return body


def metadata(config: dict[str, Any]) -> dict[str, Any]:
    value = config.get("metadata")
    return value if isinstance(value, dict) else {}


def config_name(config: dict[str, Any]) -> str | None:
    name = metadata(config).get("name") or config.get("name")
    return name if isinstance(name, str) else None


def validate_name(name: Any, what: str = "service") -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise invalid_parameter(
            f"Invalid {what} name {name!r}: use 1-64 lower-case letters, digits or '_', starting with a letter."
        )
    return name


def config_group(config: dict[str, Any]) -> str | None:
    group = metadata(config).get("group")
    if group in (None, ""):
        return None
    return validate_name(group, "group")


def config_instances(config: dict[str, Any]) -> int:
    value = metadata(config).get("instance", 1)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INSTANCES:
        raise invalid_parameter(f"metadata.instance must be an integer within [0, {MAX_INSTANCES}], got {value!r}.")
    return value


def config_profile(config: dict[str, Any]) -> BehaviourProfile:
    try:
        return BehaviourProfile.parse(config.get("localcloud"))
    except ValueError as exc:
        raise invalid_parameter(f"Invalid localcloud profile: {exc}.") from None


def config_int(config: dict[str, Any], key: str) -> int:
    value = metadata(config).get(key, 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def config_image(config: dict[str, Any]) -> str:
    containers = config.get("containers")
    if isinstance(containers, list) and containers and isinstance(containers[0], dict):
        return str(containers[0].get("image") or "")
    return ""


def config_port(config: dict[str, Any]) -> int:
    containers = config.get("containers")
    if isinstance(containers, list) and containers and isinstance(containers[0], dict):
        try:
            return int(containers[0].get("port") or 8080)
        except (TypeError, ValueError):
            return 8080
    return 8080


def config_instance_type(config: dict[str, Any]) -> str:
    computing = (config.get("cloud") or {}).get("computing") if isinstance(config.get("cloud"), dict) else None
    if isinstance(computing, dict):
        instances = computing.get("instances")
        if isinstance(instances, list) and instances and isinstance(instances[0], dict) and instances[0].get("type"):
            return str(instances[0]["type"])
        if computing.get("instance_type"):
            return str(computing["instance_type"])
    return "ecs.c7.large"


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """UpdateType=merge: objects merge key by key (recursively, assumed), anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def only_scale_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """True when the configs differ at most in ``metadata.instance`` (a manual scale)."""
    return _without_instance(old) == _without_instance(new)


def _without_instance(config: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(config)
    if isinstance(stripped.get("metadata"), dict):
        stripped["metadata"].pop("instance", None)
    return stripped
