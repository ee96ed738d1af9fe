"""CloudMonitor on localcloud: EAS/DSW metrics from what localcloud observed (DescribeMetricLast,
DescribeMetricList) and threshold alarm rules evaluated on the clock, notifying through the
``default`` EventBridge bus and the form-encoded webhook. Names and units: :mod:`.names`."""

from .responses import CmsService

__all__ = ["CmsService"]
