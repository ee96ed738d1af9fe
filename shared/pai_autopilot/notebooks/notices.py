"""The notifications of the governor: the idle warning (with its snooze link) and the stop notice.

With ``AUTOPILOT_WEBHOOK_URL`` and ``AUTOPILOT_WEBHOOK_SECRET`` set, the warning carries signed
snooze links (4 h and 24 h, valid until the stop time + one day); without them it says how to
snooze with the CLI. Nothing secret is in a notice: the link's signature only authorises that
one snooze of that one instance, until it expires.

Example
-------
>>> from ..settings import Settings
>>> from .views import InstanceView
>>> inst = InstanceView("dsw-1", "nb", "Running", "ecs.g7.xlarge", False, 0, "alice", {}, None, 75, None)
>>> n = idle_warning(inst, "idle 75 min >= 60 min", stop_at=1_800_001_800.0, mode="enforce",
...                  settings=Settings.resolve(environ={}))
>>> n.event, n.details["snooze"]
('notebook_idle_warning', 'pai-autopilot notebooks snooze dsw-1 --hours 4')
"""

from __future__ import annotations

from ..notify import Notification
from ..settings import Settings
from .links import snooze_url
from .views import InstanceView, iso

LINK_HOURS = (4, 24)
LINK_VALID_AFTER_STOP_S = 86_400


def idle_warning(inst: InstanceView, reason: str, *, stop_at: float, mode: str, settings: Settings,
                 keep_alive_label: str = "autopilot-keep-alive") -> Notification:
    """The one warning of an idle episode."""
    what = "will be stopped" if mode == "enforce" else "would be stopped (mode: warn, nothing is stopped)"
    details = {"instance": inst.instance_id, "name": inst.name, "owner": inst.owner, "spec": inst.ecs_spec,
               "why": reason, "stops at": iso(stop_at) + f" ({what})"}
    if settings.webhook_url and settings.webhook_secret:
        for hours in LINK_HOURS:
            details[f"snooze {hours} h"] = snooze_url(
                settings.webhook_url, inst.instance_id, hours, secret=settings.webhook_secret,
                key_id=settings.webhook_key_id, expires_at=stop_at + LINK_VALID_AFTER_STOP_S)
    else:
        details["snooze"] = f"pai-autopilot notebooks snooze {inst.instance_id} --hours 4"
    details["keep alive"] = f"label {keep_alive_label}=YYYY-MM-DD exempts it through that day"
    return Notification("notebook_idle_warning", f"Idle notebook {inst.name or inst.instance_id} {what} at {iso(stop_at)}",
                        details)


def stopped_notice(inst: InstanceView, reason: str, *, save_image: bool) -> Notification:
    """After the governor stopped an instance."""
    details = {"instance": inst.instance_id, "name": inst.name, "owner": inst.owner, "why": reason,
               "image saved": "yes" if save_image else "no"}
    return Notification("notebook_stopped", f"Stopped idle notebook {inst.name or inst.instance_id}", details)
