"""Dataset versions → DLC training runs: matching markers, run identity, job bodies, submission.

Pure decisions live in ``datasets``, ``runs``, ``jobs`` and ``submit.decide_on_existing``; the
side effects of one invocation in ``submit.submit_run`` and ``landed.on_dataset_event``.
"""
