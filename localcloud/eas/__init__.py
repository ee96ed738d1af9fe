"""PAI-EAS on localcloud: services, versions, groups, autoscalers with lifecycles on the clock,
and an inference gateway (``/api/predict/…``) whose answers follow each service's behaviour profile."""

from .gateway import InferenceGateway
from .models import EasBackend
from .profiles import BehaviourProfile
from .responses import EasService

__all__ = ["BehaviourProfile", "EasBackend", "EasService", "InferenceGateway"]
