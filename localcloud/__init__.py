"""localcloud: an offline emulator of the Alibaba Cloud APIs pai-autopilot calls.

The real SDK clients (oss2, alibabacloud-pai-dlc20201203, …) talk to it over HTTP on one port;
signatures are verified, error bodies and field names are the real ones. A local FC runtime
reads the project's ``s.yaml`` and delivers events to the functions with FC's async semantics.

Never deployed: it is a development and test tool.
"""

from .cloud import DEFAULT_PORT, LocalCloud

__all__ = ["DEFAULT_PORT", "LocalCloud"]
