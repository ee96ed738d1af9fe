"""The pipeline configuration, ``autopilot.yaml``: typed models, loading and validation."""

from .load import Problem, load_config, parse_config, validate_text
from .models import AutopilotConfig, Pipeline, Training

__all__ = ["AutopilotConfig", "Pipeline", "Problem", "Training", "load_config", "parse_config", "validate_text"]
