"""The notebook policy, read: the culler it wants, quiet hours, exemptions, prices (all pure).

* :func:`wanted_culler` — the native IdleInstanceCuller every in-scope instance should carry:
  the policy's thresholds and ``MaxIdleTimeInMinutes = idle_minutes + warn_minutes + margin``,
  a backstop that never fires before the governor's own warning and grace.
* :func:`in_quiet_hours` — a moment is quiet when the ``quiet_hours.cron`` expression matches
  its minute, or (``weekends``) it falls on a Saturday or Sunday, in ``quiet_hours.timezone``.
* :func:`keep_alive` — the label ``autopilot-keep-alive=YYYY-MM-DD`` exempts an instance
  through the end of that day (in the policy's time zone); after it, the policy applies again.
* :data:`DEFAULT_PRICES` — *estimates* of pay-as-you-go prices per hour (CNY, cn-hangzhou, late
  2026, rounded) for the savings report. Replace them with your own in ``notebooks.prices``.

Example
-------
>>> from ..config.models import Notebooks, QuietHours
>>> policy = Notebooks(idle_minutes=60, warn_minutes=30, quiet_hours=QuietHours(cron=None, timezone="UTC"))
>>> wanted_culler(policy)
{'CpuPercentThreshold': 20, 'GpuPercentThreshold': 10, 'MaxIdleTimeInMinutes': 105}
>>> in_quiet_hours(policy.quiet_hours, 1_800_000_000.0)   # 2027-01-15 08:00 UTC, a Friday
False
>>> in_quiet_hours(policy.quiet_hours, 1_800_000_000.0 + 86_400)   # Saturday
True
>>> keep_alive({"autopilot-keep-alive": "2027-01-15"}, policy, now=1_800_000_000.0)
(True, 'exempt: label autopilot-keep-alive=2027-01-15 keeps it alive through that day (UTC)')
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from ..config.models import NotebookPrice, Notebooks, QuietHours

#: Estimated pay-as-you-go prices (CNY per hour, rounded; check your own bill) and GPU counts.
DEFAULT_PRICES: dict[str, NotebookPrice] = {
    "ecs.gn7i-c8g1.2xlarge": NotebookPrice(per_hour=9.0, gpus=1),  # 8 vCPU, 1 × NVIDIA A10
    "ecs.gn7e-c12g1.3xlarge": NotebookPrice(per_hour=32.0, gpus=1),  # 12 vCPU, 1 × NVIDIA A100 80 GB
    "ecs.gn8v-c8g1.2xlarge": NotebookPrice(per_hour=30.0, gpus=1),  # 8 vCPU, 1 × GPU (gn8v)
    "ecs.g7.xlarge": NotebookPrice(per_hour=1.0, gpus=0),  # 4 vCPU, 16 GiB, no GPU
}


def wanted_culler(policy: Notebooks) -> dict[str, int]:
    """The IdleInstanceCuller body the policy wants on every instance (CreateIdleInstanceCuller)."""
    limit = policy.idle_minutes + policy.warn_minutes + policy.native_culler.margin_minutes
    return {"CpuPercentThreshold": policy.cpu_percent, "GpuPercentThreshold": policy.gpu_percent,
            "MaxIdleTimeInMinutes": limit}


def time_zone(policy: Notebooks) -> dt.tzinfo:
    """The policy's time zone (quiet hours, keep-alive dates, weekends); UTC without quiet hours."""
    name = policy.quiet_hours.timezone if policy.quiet_hours is not None else "UTC"
    return _zone(name)


@functools.lru_cache(maxsize=16)
def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def in_quiet_hours(quiet: QuietHours | None, at: float) -> bool:
    """Whether ``at`` (epoch seconds) lies inside the quiet hours (decided per minute, cached)."""
    if quiet is None:
        return False
    return _quiet_minute(quiet, int(at // 60))


@functools.lru_cache(maxsize=512)
def _quiet_minute(quiet: QuietHours, minute: int) -> bool:
    local = dt.datetime.fromtimestamp(minute * 60, tz=_zone(quiet.timezone))
    if quiet.weekends and local.weekday() >= 5:
        return True
    if not quiet.cron:
        return False
    from croniter import croniter

    return bool(croniter.match(quiet.cron, local.replace(second=0, microsecond=0)))


def quiet_hours_problem(quiet: QuietHours) -> str | None:
    """Why the quiet hours cannot be used (bad cron or time zone), or None.

    Example
    -------
    >>> quiet_hours_problem(QuietHours(cron="* 0-7 * * *", timezone="Mars/Olympus"))
    "unknown time zone 'Mars/Olympus'; use an IANA name such as Asia/Shanghai or UTC"
    """
    try:
        _zone(quiet.timezone)
    except Exception:
        return f"unknown time zone {quiet.timezone!r}; use an IANA name such as Asia/Shanghai or UTC"
    if quiet.cron and not cron_is_valid(quiet.cron):
        return f"cron {quiet.cron!r} is not a 5-field cron expression (minute hour day month weekday)"
    return None


#: (lowest, highest) of each cron field: minute, hour, day of month, month, day of week
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_NAMES = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
               "sun", "mon", "tue", "wed", "thu", "fri", "sat"}


def cron_is_valid(expression: str) -> bool:
    """A 5-field cron check without importing croniter (config loading is on every cold start).

    Example
    -------
    >>> cron_is_valid("* 0-7,20-23 * * 1-5"), cron_is_valid("*/15 * * * sat"), cron_is_valid("* 25 * * *")
    (True, True, False)
    """
    fields = expression.split()
    if len(fields) != 5:
        return False
    for field, (lo, hi) in zip(fields, _CRON_RANGES, strict=True):
        for part in field.lower().split(","):
            base, _, step = part.partition("/")
            if step and not (step.isdigit() and int(step) > 0):
                return False
            if base == "*" or base in _CRON_NAMES:
                continue
            bounds = base.split("-")
            if len(bounds) > 2 or not all(b.isdigit() or b in _CRON_NAMES for b in bounds):
                return False
            if not all(lo <= int(b) <= hi for b in bounds if b.isdigit()):
                return False
    return True


def keep_alive(labels: Mapping[str, str], policy: Notebooks, *, now: float) -> tuple[bool, str]:
    """``(exempt, reason)`` from the keep-alive label: exempt through the end of its date."""
    key = policy.keep_alive_label
    raw = labels.get(key)
    if raw is None:
        return False, "no keep-alive label"
    zone = time_zone(policy)
    try:
        day = dt.date.fromisoformat(raw.strip())
    except ValueError:
        return False, f"label {key}={raw!r} is not a date (YYYY-MM-DD): ignored"
    today = dt.datetime.fromtimestamp(now, tz=zone).date()
    zone_name = policy.quiet_hours.timezone if policy.quiet_hours is not None else "UTC"
    if day >= today:
        return True, f"exempt: label {key}={raw} keeps it alive through that day ({zone_name})"
    return False, f"label {key}={raw} expired"


def wants_save_image(labels: Mapping[str, str], policy: Notebooks) -> bool:
    """Save the image before stopping: the label ``<save_image_label>=true|false`` wins over the policy.

    Example
    -------
    >>> wants_save_image({"autopilot-save-image": "true"}, Notebooks()), wants_save_image({}, Notebooks())
    (True, False)
    """
    raw = labels.get(policy.save_image_label)
    if raw is not None and raw.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return raw.strip().lower() in ("true", "yes", "1")
    return policy.save_image


def prices(policy: Notebooks) -> dict[str, NotebookPrice]:
    """The price table: the defaults, overridden and extended by ``notebooks.prices``."""
    return {**DEFAULT_PRICES, **policy.prices}


def describe_culler(culler: Mapping[str, Any] | None) -> str:
    """A culler in one short phrase (for reasons).

    Example
    -------
    >>> describe_culler({"CpuPercentThreshold": 20, "GpuPercentThreshold": 10, "MaxIdleTimeInMinutes": 105})
    'CPU<20% GPU<10% for 105 min'
    >>> describe_culler(None)
    'none'
    """
    if not culler:
        return "none"
    return (f"CPU<{culler.get('CpuPercentThreshold')}% GPU<{culler.get('GpuPercentThreshold')}% "
            f"for {culler.get('MaxIdleTimeInMinutes')} min")


def policy_of(config: Any) -> Notebooks:
    """The configuration's ``notebooks:`` policy; :class:`InvalidInputError` when there is none.

    Example
    -------
    >>> policy_of(type("Cfg", (), {"notebooks": None})())
    Traceback (most recent call last):
    ...
    pai_autopilot.errors.InvalidInputError: autopilot.yaml has no notebooks: section (see README.md#notebooks)
    """
    from ..errors import InvalidInputError

    if config.notebooks is None:
        raise InvalidInputError("autopilot.yaml has no notebooks: section (see README.md#notebooks)")
    return config.notebooks
