"""PAI-DSW on localcloud: notebook instances with real lifecycles, a seedable usage timeline,
the native idle culler and shutdown timers, all on localcloud's clock."""

from .responses import DswService

__all__ = ["DswService"]
