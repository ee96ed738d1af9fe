"""Every name, unit and format CloudMonitor on localcloud ASSUMES, in one place.

Confirmed facts are marked **[C]**, assumptions **[A]** (see reference/alibaba-api.md §5 and
events-and-syaml.md §2.3). Change an assumption here and nowhere else.

Namespaces and dimensions
-------------------------
* **[A]** ``acs_pai_eas`` is EAS's namespace; its dimension key is ``serviceName`` (the EAS
  service name). Neither appears in a public doc or SDK; the EAS alerting doc's item names are
  used as metric names (below).
* **[C]** ``acs_pai_dsw`` is DSW's namespace (DSW GetMetrics doc). **[A]** its dimension key is
  ``instanceId``.
* **[A]** any other namespace found in ``cloud.timeline`` uses ``instanceId``.
* **[A]** every datapoint also carries ``userId`` (the account id), as the real ones do for
  ``acs_ecs_dashboard``.

EAS metrics (derived from the gateway's request log, one row per request)
-------------------------------------------------------------------------
Item names from the EAS "service monitoring and alerting" doc **[A: equal to the CMS MetricName]**:

===================================== ======== ==================================================
MetricName                            unit     value of one period
===================================== ======== ==================================================
``QueryPerSecondTotal``               count/s  requests in the period / period seconds
``ResponsePerSecondWithStatusCode2xx`` count/s 2xx responses / period seconds (also ``4xx``, ``5xx``)
``2xxResponseRatio``                  fraction 2xx responses / all responses, **0..1** (also 4xx, 5xx)
``TP5`` … ``TP100``                   ms       response-time percentile (nearest rank)
===================================== ======== ==================================================

* Ratios are a **fraction 0..1** (``RATIO_SCALE = 1.0``) **[A]**: the project's canary
  thresholds and the sample callback (``curValue=0.12`` for ``5xxResponseRatio``) use fractions.
  Set ``RATIO_SCALE = 100.0`` if the real metric turns out to be a percentage.
* Percentiles: ``TP5, TP50, TP80, TP90, TP95, TP99, TP100`` (``TP50`` is localcloud's addition;
  the doc lists TP5/TP80/TP90/TP95/TP99/TP100).
* Statistics of one period: ``Average`` is the value over the whole period; ``Maximum`` and
  ``Minimum`` are over its ``RAW_PERIOD``-second slices that have data; ``SampleCount`` is the
  number of requests; rates also carry ``Sum`` (the count of matching responses).
* A period with no request has no ratio/percentile point; rates report 0 from the first period
  with traffic in the queried range onwards (a service whose traffic stops shows QPS 0).

Query formats
-------------
* **[C]** ``Period`` in seconds: 15, 60, 900, 3600 (SDK doc); default ``DEFAULT_PERIOD``.
* **[A]** ``StartTime``/``EndTime``: epoch milliseconds (13 digits), epoch seconds (10 digits),
  ``YYYY-MM-DD HH:MM:SS`` (read in ``NAIVE_TIME_UTC_OFFSET_HOURS``, i.e. Beijing time like the
  console) or ISO 8601 (``…T…Z`` / with an offset; naive ISO is read like the space form).
* **[C]** ``Length`` default 1000, at most 1440; ``Dimensions`` at most 50 objects.
* **[C]** lookback of DescribeMetricLast: 20 min for second-level, 2 h for minute-level, 2 days
  for hour-level periods (SDK doc of ``EndTime``).

Alarm callback (form-encoded webhook and EventBridge ``data``)
--------------------------------------------------------------
* **[C]** fields and form encoding (doc 60714); **[C]** type ``cms:CloudMonitor:AlertWebHook``;
  **[A]** source ``acs.cms``; **[A]** ``data`` = the callback fields as a JSON object of strings;
  **[A]** the webhook is tried ``WEBHOOK_ATTEMPTS`` times in all, ``WEBHOOK_TIMEOUT_S`` each.
"""

from __future__ import annotations

import dataclasses

# -- namespaces and dimension keys ---------------------------------------------------------------
EAS_NAMESPACE = "acs_pai_eas"
DSW_NAMESPACE = "acs_pai_dsw"
EAS_DIMENSION = "serviceName"
DSW_DIMENSION = "instanceId"
DEFAULT_DIMENSION = "instanceId"
USER_DIMENSION = "userId"
DIMENSION_KEYS = {EAS_NAMESPACE: EAS_DIMENSION, DSW_NAMESPACE: DSW_DIMENSION}


def dimension_key(namespace: str) -> str:
    """The dimension key that names a resource of ``namespace``.

    >>> dimension_key("acs_pai_eas"), dimension_key("acs_other")
    ('serviceName', 'instanceId')
    """
    return DIMENSION_KEYS.get(namespace, DEFAULT_DIMENSION)


# -- EAS metrics derived from the request log ----------------------------------------------------
RATIO_SCALE = 1.0  # 1.0: ratios are fractions 0..1; 100.0 would make them percentages
RAW_PERIOD = 15  # seconds: the slices Maximum/Minimum are taken over


@dataclasses.dataclass(frozen=True)
class EasMetric:
    """How one EAS metric is derived from request rows.

    ``kind``: ``rate`` (responses per second), ``ratio`` (share of responses) or ``latency``
    (percentile ``quantile`` of the response times, ms). ``status_class``: 2, 4 or 5 for the
    ``2xx``/``4xx``/``5xx`` family, ``None`` for all responses.
    """

    kind: str
    status_class: int | None = None
    quantile: float | None = None
    unit: str = ""


EAS_METRICS: dict[str, EasMetric] = {
    "QueryPerSecondTotal": EasMetric("rate", None, unit="count/s"),
    **{f"ResponsePerSecondWithStatusCode{c}xx": EasMetric("rate", c, unit="count/s") for c in (2, 4, 5)},
    **{f"{c}xxResponseRatio": EasMetric("ratio", c, unit="%" if RATIO_SCALE == 100.0 else "ratio") for c in (2, 4, 5)},
    **{f"TP{q}": EasMetric("latency", quantile=q / 100, unit="ms") for q in (5, 50, 80, 90, 95, 99, 100)},
}

# -- DSW and other timeline metrics (what the DSW service writes; listed for documentation) -------
DSW_METRICS = ("CpuCoreUsage", "GpuCoreUsage", "MemoryUsage", "GpuMemoryUsage")

# -- query parameters ----------------------------------------------------------------------------
PERIODS = (15, 60, 900, 3600)
DEFAULT_PERIOD = 60
DEFAULT_LENGTH = 1000
MAX_LENGTH = 1440
MAX_DIMENSIONS = 50
NAIVE_TIME_UTC_OFFSET_HOURS = 8


def lookback_seconds(period: int) -> int:
    """How far back DescribeMetricLast looks for a point (and DescribeMetricList by default).

    >>> lookback_seconds(15), lookback_seconds(60), lookback_seconds(3600)
    (1200, 7200, 172800)
    """
    if period < 60:
        return 20 * 60
    if period < 3600:
        return 2 * 3600
    return 2 * 86400


# -- alarm rules ---------------------------------------------------------------------------------
LEVELS = ("Critical", "Warn", "Info")  # highest first
TRIGGER_LEVELS = {"Critical": "CRITICAL", "Warn": "WARN", "Info": "INFO"}
OPERATORS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanOrEqualToThreshold": "<=",
    "LessThanThreshold": "<",
    "NotEqualToThreshold": "!=",
    "EqualToThreshold": "==",
}
STATISTICS = ("Average", "Maximum", "Minimum", "Sum", "SampleCount")
NO_DATA_POLICIES = ("KEEP_LAST_STATE", "INSUFFICIENT_DATA", "OK")
RULE_STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")  # DescribeMetricRuleList's AlertState values
CALLBACK_STATES = {"OK": "OK", "ALARM": "ALERT", "INSUFFICIENT_DATA": "INSUFFICIENT_DATA"}
ALL_RESOURCES = "_ALL"  # Resources [{"resource": "_ALL"}]: every resource of the metric
DEFAULT_SILENCE_TIME = 86400

# -- notifications -------------------------------------------------------------------------------
CMS_SOURCE = "acs.cms"
CMS_ALERT_TYPE = "cms:CloudMonitor:AlertWebHook"
ALERT_BUS = "default"
WEBHOOK_ATTEMPTS = 3
WEBHOOK_TIMEOUT_S = 5.0
WEBHOOK_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"
