"""The webhook's routes: a declarative table and a pure matcher (path → handler name + parameters).

Paths are matched on the *decoded* path, segment by segment; ``{name}`` captures one non-empty
segment. A path that matches a route under another method is ``405`` (with the methods allowed),
one that matches none is ``404``.

Example
-------
>>> match("POST", "/v1/rollouts/demo/promote")
RouteMatch(handler='rollout', params={'pipeline': 'demo', 'action': 'promote'}, link_auth=False, callback_auth=False)
>>> match("DELETE", "/v1/status")
WrongMethod(allowed=('GET',))
>>> match("GET", "/v1/nope")
NoRoute(path='/v1/nope')
>>> match("POST", "/v1/rollouts/demo/explode")
NoRoute(path='/v1/rollouts/demo/explode')
"""

from __future__ import annotations

import dataclasses

ROLLOUT_ACTIONS = ("promote", "abort", "pause", "resume", "rollback")


@dataclasses.dataclass(frozen=True)
class Route:
    """One route: method, path pattern, the handler's name, allowed values of captured segments."""

    method: str
    pattern: str
    handler: str
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Authenticated by its own signed query (the notebook snooze link), not the signature headers.
    link_auth: bool = False
    #: Also accepts a static callback token (``?kid=…&token=…``) when unsigned: for CloudMonitor.
    callback_auth: bool = False

    @property
    def segments(self) -> list[str]:
        return self.pattern.strip("/").split("/")


ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/retrain", "retrain"),
    Route("POST", "/v1/rollouts/{pipeline}/{action}", "rollout", choices=(("action", ROLLOUT_ACTIONS),)),
    Route("GET", "/v1/status", "status"),
    Route("GET", "/v1/runs/{run_id}", "run"),
    Route("GET", "/v1/timeline/{pipeline}/{version}", "timeline"),
    Route("POST", "/v1/alerts/cms", "cms_alarm", callback_auth=True),
    Route("POST", "/v1/notebooks/{instance}/snooze", "snooze"),
    Route("GET", "/v1/notebooks/{instance}/snooze", "snooze_link", link_auth=True),
)


@dataclasses.dataclass(frozen=True)
class RouteMatch:
    handler: str
    params: dict[str, str]
    link_auth: bool = False
    callback_auth: bool = False


@dataclasses.dataclass(frozen=True)
class WrongMethod:
    allowed: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class NoRoute:
    path: str


def _capture(route: Route, parts: list[str]) -> dict[str, str] | None:
    segments = route.segments
    if len(segments) != len(parts):
        return None
    params: dict[str, str] = {}
    for segment, part in zip(segments, parts, strict=True):
        if segment.startswith("{") and segment.endswith("}"):
            if not part:
                return None
            params[segment[1:-1]] = part
        elif segment != part:
            return None
    for name, allowed in route.choices:
        if params.get(name) not in allowed:
            return None
    return params


def match(method: str, path: str, routes: tuple[Route, ...] = ROUTES) -> RouteMatch | WrongMethod | NoRoute:
    """The route of ``method path`` (pure)."""
    parts = path.strip("/").split("/") if path.strip("/") else [""]
    allowed: list[str] = []
    for route in routes:
        params = _capture(route, parts)
        if params is None:
            continue
        if route.method == method.upper():
            return RouteMatch(route.handler, params, route.link_auth, route.callback_auth)
        allowed.append(route.method)
    if allowed:
        return WrongMethod(tuple(sorted(set(allowed))))
    return NoRoute(path)
