"""pai-autopilot: event-driven automation for Alibaba Cloud PAI on Function Compute 3.0.

The package is shipped with every function. Importing it (or any submodule except
``pai_autopilot.clients`` on the paths that build clients) loads no Alibaba Cloud SDK.
"""

__version__ = "0.1.0"
