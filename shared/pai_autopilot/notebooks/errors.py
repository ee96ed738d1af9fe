"""Errors of the notebooks package.

Example
-------
>>> err = NotebookNotFound("dsw-1")
>>> err.code, err.instance_id, isinstance(err, InvalidInputError)
('NotebookNotFound', 'dsw-1', True)
"""

from __future__ import annotations

from ..errors import InvalidInputError


class NotebookNotFound(InvalidInputError):
    """DSW does not know this instance id (never retried)."""

    code = "NotebookNotFound"

    def __init__(self, instance_id: str) -> None:
        super().__init__(f"no DSW instance {instance_id!r}: check the id with `pai-autopilot notebooks`")
        self.instance_id = instance_id
