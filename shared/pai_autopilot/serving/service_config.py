"""The EAS bodies built from a pipeline's ``serving:`` template (pure).

* :func:`service_config` — the CreateService body (the service config JSON): ``metadata`` (name,
  instance, group, resources), ``containers`` (image mode) or ``processor``/``model_path``, and the
  model version mounted read-only from OSS at ``model_mount``;
* :func:`autoscaler_body` — the CreateServiceAutoScaler body: min/max, strategies, and the
  asymmetric windows as HPA ``behavior`` (``scaleUp``/``scaleDown`` stabilization, ``onZero`` grace).

Example
-------
>>> from ..config.models import Serving
>>> s = Serving(service_name="demo_model", image="img:1", command="serve --model {model_path} --v {version}",
...             instance_type="ecs.c6.large")
>>> cfg = service_config(s, service="demo_model_v1", pipeline="demo", version="v1", model_uri="oss://b/models/demo/v1/")
>>> cfg["metadata"], cfg["containers"][0]["command"], cfg["storage"][0]["mount_path"]
({'name': 'demo_model_v1', 'instance': 1, 'group': 'demo_model'}, 'serve --model /mnt/model/ --v v1', '/mnt/model/')
>>> autoscaler_body(s.autoscaler)["behavior"]["scaleUp"], autoscaler_body(s.autoscaler)["behavior"]["scaleDown"]
({'stabilizationWindowSeconds': 60}, {'stabilizationWindowSeconds': 300})
"""

from __future__ import annotations

from typing import Any

from ..config.models import Autoscaler, Serving


def _fill(template: str, values: dict[str, str]) -> str:
    return template.format(**values)


def service_config(s: Serving, *, service: str, pipeline: str, version: str, model_uri: str,
                   workspace_id: str = "") -> dict[str, Any]:
    """The service config of one version's service (group ``s.group_name``)."""
    values = {"model_uri": model_uri, "model_path": s.model_mount, "version": version, "pipeline": pipeline}
    meta: dict[str, Any] = {"name": service, "instance": s.instances, "group": s.group_name}
    if workspace_id:
        meta["workspace_id"] = workspace_id
    for key in ("cpu", "memory", "gpu"):
        if getattr(s, key) is not None:
            meta[key] = getattr(s, key)
    if s.resource_group:
        meta["resource"] = s.resource_group
    config: dict[str, Any] = {"metadata": meta}
    if s.instance_type:
        config["cloud"] = {"computing": {"instances": [{"type": s.instance_type}]}}
    if s.image:
        container: dict[str, Any] = {"image": s.image, "port": s.port}
        if s.command:
            container["command"] = _fill(s.command, values)
        if s.script:
            container["script"] = _fill(s.script, values)
        if s.env:
            container["env"] = [{"name": k, "value": _fill(v, values)} for k, v in sorted(s.env.items())]
        if s.readiness_path:
            container["readiness_probe"] = {"http_get": {"path": s.readiness_path, "port": s.port},
                                            "initial_delay_seconds": s.readiness_initial_delay_seconds}
        config["containers"] = [container]
    else:
        config["processor"] = s.processor
        config["model_path"] = _fill(s.model_path or "{model_uri}", values)
    config["storage"] = [{"oss": {"path": model_uri, "readOnly": True}, "mount_path": s.model_mount}]
    return config


def autoscaler_body(a: Autoscaler) -> dict[str, Any]:
    """CreateServiceAutoScaler's body (lowerCamel keys, as the SDK's request model serializes them)."""
    return {
        "min": a.min, "max": a.max,
        "scaleStrategies": [{"metricName": st.metric, "threshold": st.threshold} for st in a.strategies],
        "behavior": {
            "scaleUp": {"stabilizationWindowSeconds": a.scale_up_window},
            "scaleDown": {"stabilizationWindowSeconds": a.scale_down_window},
            "onZero": {"scaleDownGracePeriodSeconds": a.scale_to_zero_grace, "scaleUpActivationReplicas": 1},
        },
    }
