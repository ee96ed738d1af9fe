"""EventBridge on localcloud: buses, rules, targets, event patterns, PutEvents, and CloudEvents
delivery to FC functions (OSS object changes arrive on the ``default`` bus)."""

from .patterns import PatternError
from .responses import EventBridgeService

__all__ = ["EventBridgeService", "PatternError"]
