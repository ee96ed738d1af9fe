"""PAI-DLC on localcloud: jobs with real lifecycles on the clock, a runner that gives them an effect on
OSS (simulated steps and checkpoints, or the job's own command run locally), fault rules, and status
events on the workspace bus. Guesses about DLC are kept in :mod:`.assumed`."""

from .responses import DlcService

__all__ = ["DlcService"]
