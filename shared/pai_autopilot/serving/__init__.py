"""Serving: a landed model becomes an EAS service; later versions become zero-traffic canaries.

``stable`` records which version serves each pipeline today (the champion), read by the
evaluation gate and the rollout controller, written on first deploy and on promotion.
"""
