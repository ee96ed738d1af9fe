"""Serving: a landed model becomes an EAS service; later versions become zero-traffic canaries.

Shaped like ``training``: pure decisions in ``versions`` (naming, matching), ``metrics``
(``metrics.json``), ``gates`` (evaluation, capacity, one rollout per pipeline),
``service_config`` (EAS bodies) and ``runs.next_run_state``; the side effects in ``eas`` (every
EAS call), ``deploy`` (land a version once), ``watch`` (reconcile's serving pass) and ``queue``;
``landed.on_model_event`` is the ``model_landed`` use case. ``stable`` records which version
serves each pipeline today (the champion), read by the evaluation gate and the rollout controller.
"""
