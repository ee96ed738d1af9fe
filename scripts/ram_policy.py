"""The least-privilege RAM policies, derived from the code: every SDK call found statically.

``shared/`` and ``functions/`` are parsed with :mod:`ast`; a call is an SDK call when its
receiver is one of our clients and the method exists on that SDK's client class:

* ``<x>.dlc|eas|cms|dsw|fc.<method>(…)`` (the :class:`~pai_autopilot.clients.Clients` properties),
  directly or through a local alias (``dlc = rt.clients.dlc``);
* the EventBridge client (``eventbridge_client(…)``, or a name ``eventbridge``/``eb``, as in ``wiring.py``);
* ``oss2.Bucket`` methods on ``<x>.bucket(name)``, ``self.bucket``, a name ``bucket``, and the
  ``oss2`` helpers that take a bucket (``oss2.ObjectIteratorV2(bucket, …)``).

A POP method maps to the API action the SDK itself names (``action='CreateJob'`` inside
``create_job_with_options``), prefixed with the product's RAM code. oss2 methods map through
:data:`OSS_ACTIONS`. Two policies come out:

* ``docs/ram-policy.json`` — the functions' role: calls reachable from ``functions/`` (every
  module except the CLI and ``wiring.py``), plus what FC does with the role per ``s.yaml``
  (the MNS dead-letter queue, the SLS logstore);
* ``docs/ram-policy-operator.json`` — the principal that runs the CLI (``wire``, ``retrain``…).

    python scripts/ram_policy.py              # print the proposed policies and the diff
    python scripts/ram_policy.py --check      # exit 1, listing missing/extra actions, when stale
    python scripts/ram_policy.py --write      # regenerate both JSON files
    python scripts/ram_policy.py --set BUCKET=my-bucket --set ACCOUNT_ID=123 …   # rendered, to attach

Example
-------
>>> pascal_action("alibabacloud_pai_dlc20201203", "get_job")
'GetJob'
>>> find_calls_in_source("def f(rt):\\n    dlc = rt.clients.dlc\\n    dlc.stop_job('j')\\n", "x.py")
[Call(product='dlc', method='stop_job', where='x.py:3')]
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import importlib.util
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_POLICY = ROOT / "docs" / "ram-policy.json"
OPERATOR_POLICY = ROOT / "docs" / "ram-policy-operator.json"
SOURCE_ROOTS = ("shared/pai_autopilot", "functions")

#: Modules that only ever talk to localcloud (the demo, ``local …`` commands): not in any policy.
LOCAL_ONLY = ("shared/pai_autopilot/cli/demo/", "shared/pai_autopilot/cli/local.py",
              "shared/pai_autopilot/cli/control.py", "shared/pai_autopilot/cli/traffic.py")
#: Modules run by the operator's principal only (the CLI, ``pai-autopilot wire``), never by a function.
OPERATOR_ONLY = ("shared/pai_autopilot/cli/", "shared/pai_autopilot/wiring.py")


@dataclasses.dataclass(frozen=True)
class Product:
    """One SDK: its client module, RAM code and how its resources are scoped."""

    module: str
    ram: str
    #: Resource ARNs (with placeholders) the actions are granted on; ``*`` only where the
    #: product's RAM page lists the actions as "all resources" (no resource-level authorization).
    resources: tuple[str, ...]
    #: RAM actions whose name differs from the API action.
    renames: tuple[tuple[str, str], ...] = ()


PRODUCTS: dict[str, Product] = {
    "dlc": Product("alibabacloud_pai_dlc20201203", "paidlc", ("*",)),
    "eas": Product("alibabacloud_eas20210701", "eas", ("acs:eas:REGION:ACCOUNT_ID:service/*",)),
    "cms": Product("alibabacloud_cms20190101", "cms", ("*",)),
    "dsw": Product("alibabacloud_pai_dsw20220101", "paidsw", ("*",), (("DeleteInstance", "DeletePostPaidInstance"),)),
    "fc": Product("alibabacloud_fc20230330", "fc", ("acs:fc:REGION:ACCOUNT_ID:functions/FUNCTION_PREFIX-*",)),
    "eventbridge": Product("alibabacloud_eventbridge20200401", "eventbridge", (
        "acs:eventbridge:REGION:ACCOUNT_ID:eventbus/pai-system-WORKSPACE_NAME",
        "acs:eventbridge:REGION:ACCOUNT_ID:eventbus/pai-system-WORKSPACE_NAME/rule/pai-autopilot-job-events",
    )),
}

#: oss2 ``Bucket`` methods (and ``oss2`` helpers taking a bucket) → (RAM action, bucket-level?).
OSS_ACTIONS: dict[str, tuple[tuple[str, bool], ...]] = {
    "put_object": (("oss:PutObject", False),),
    "put_object_from_file": (("oss:PutObject", False),),
    "append_object": (("oss:PutObject", False),),
    "init_multipart_upload": (("oss:PutObject", False),),
    "upload_part": (("oss:PutObject", False),),
    "complete_multipart_upload": (("oss:PutObject", False),),
    "resumable_upload": (("oss:PutObject", False),),
    "get_object": (("oss:GetObject", False),),
    "get_object_to_file": (("oss:GetObject", False),),
    "resumable_download": (("oss:GetObject", False),),
    "head_object": (("oss:GetObject", False),),
    "get_object_meta": (("oss:GetObject", False),),
    "object_exists": (("oss:GetObject", False),),
    "copy_object": (("oss:GetObject", False), ("oss:PutObject", False)),
    "delete_object": (("oss:DeleteObject", False),),
    "batch_delete_objects": (("oss:DeleteObject", False),),
    "list_objects": (("oss:ListObjects", True),),
    "list_objects_v2": (("oss:ListObjects", True),),
    "ObjectIterator": (("oss:ListObjects", True),),
    "ObjectIteratorV2": (("oss:ListObjects", True),),
    "get_bucket_versioning": (("oss:GetBucketVersioning", True),),
    "get_bucket_lifecycle": (("oss:GetBucketLifecycle", True),),
    "put_bucket_lifecycle": (("oss:PutBucketLifecycle", True),),
}
OSS_BUCKET = "acs:oss:*:ACCOUNT_ID:BUCKET"
OSS_OBJECTS = "acs:oss:*:ACCOUNT_ID:BUCKET/*"
#: Bucket attributes that are not requests.
OSS_NOT_CALLS = {"bucket_name", "endpoint", "auth", "session", "timeout", "app_name", "region", "sign_url"}

#: A bare name means this client (the convention used across the code).
NAME_HINTS = {"bucket": "oss", "eventbridge": "eventbridge", "eb": "eventbridge",
              **{name: name for name in ("dlc", "eas", "cms", "dsw", "fc")}}


@dataclasses.dataclass(frozen=True, order=True)
class Call:
    """One SDK call site."""

    product: str
    method: str
    where: str


# -- the SDKs' own action names ---------------------------------------------------------------

@functools.cache
def sdk_actions(module: str) -> dict[str, str]:
    """``method → API action`` read from the SDK's ``client.py`` (``action='…'`` in ``*_with_options``)."""
    spec = importlib.util.find_spec(f"{module}.client")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"SDK {module} is not installed (make install)")
    text = Path(spec.origin).read_text(encoding="utf-8")
    starts = [(m.start(), m.group(1)) for m in re.finditer(r"^    def (\w+)_with_options\(", text, re.M)]
    actions: dict[str, str] = {}
    for (start, method), (end, _) in zip(starts, [*starts[1:], (len(text), "")], strict=True):
        found = _ACTION.search(text, start, end)
        if found:
            actions[method] = found.group(1)
    return actions


_ACTION = re.compile(r"action\s*=\s*['\"](\w+)['\"]")


def pascal_action(module: str, method: str) -> str | None:
    """The API action of an SDK method (``create_job``, ``create_job_with_options[_async]`` → ``CreateJob``)."""
    base = method.removesuffix("_async").removesuffix("_with_options")
    return sdk_actions(module).get(base)


# -- finding the calls ------------------------------------------------------------------------

class _Finder(ast.NodeVisitor):
    def __init__(self, where: str, tree: ast.Module) -> None:
        self.where = where
        self.calls: list[Call] = []
        self.aliases: list[dict[str, str | None]] = [{}]
        #: Products whose SDK this module imports: there, a method unique to that SDK is an SDK
        #: call whatever the receiver is called (``client.list_instances(…)`` in a helper module).
        self.imported = [name for name, product in PRODUCTS.items() if _imports(tree, product.module)]

    def product_of(self, node: ast.AST) -> str | None:
        """Which client an expression is, if any."""
        if isinstance(node, ast.Attribute):
            if node.attr == "bucket":  # ``self.bucket`` (the ledger's store); ``x.bucket`` elsewhere is a name
                return "oss" if isinstance(node.value, ast.Name) and node.value.id == "self" else None
            return node.attr if node.attr in PRODUCTS and node.attr != "eventbridge" else None
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "bucket":
                return "oss"
            if isinstance(func, ast.Name) and func.id == "eventbridge_client":
                return "eventbridge"
            return None
        if isinstance(node, ast.Name):
            for scope in reversed(self.aliases):
                if node.id in scope:
                    return scope[node.id]
            return NAME_HINTS.get(node.id)
        return None

    def _scoped(self, node: ast.AST) -> None:
        scope: dict[str, str | None] = {}
        args = getattr(node, "args", None)
        for arg in (args.posonlyargs + args.args + args.kwonlyargs) if args else []:
            if isinstance(arg.annotation, ast.Name) and arg.annotation.id == "str":
                scope[arg.arg] = None  # a bucket *name*, not a client
        self.aliases.append(scope)
        self.generic_visit(node)
        self.aliases.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _scoped

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:  # ``from . import dsw``: a module of ours, not a client
            self.aliases[-1][alias.asname or alias.name] = None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.aliases[-1][(alias.asname or alias.name).split(".")[0]] = None

    def visit_Assign(self, node: ast.Assign) -> None:
        product = self.product_of(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.aliases[-1][target.id] = product  # None masks a name hint
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        where = f"{self.where}:{node.lineno}"
        if isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Name) and func.value.id == "oss2" and func.attr in OSS_ACTIONS:
                self.calls.append(Call("oss", func.attr, where))
            else:
                product = self.product_of(func.value)
                if product == "oss" and func.attr not in OSS_NOT_CALLS:
                    self.calls.append(Call("oss", func.attr, where))
                elif product in PRODUCTS and pascal_action(PRODUCTS[product].module, func.attr):
                    self.calls.append(Call(product, func.attr, where))
                elif product is None:
                    for name in self.imported:
                        if pascal_action(PRODUCTS[name].module, func.attr):
                            self.calls.append(Call(name, func.attr, where))
        self.generic_visit(node)


def _imports(tree: ast.Module, module: str) -> bool:
    """Whether ``tree`` imports ``module`` (or a submodule) anywhere, lazily inside functions included."""
    for node in ast.walk(tree):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        if any(n == module or n.startswith(module + ".") for n in names):
            return True
    return False


def find_calls_in_source(source: str, where: str) -> list[Call]:
    """Every SDK call in one module's source."""
    tree = ast.parse(source)
    finder = _Finder(where, tree)
    finder.visit(tree)
    return sorted(finder.calls, key=lambda c: (c.where.split(":")[0], int(c.where.split(":")[1])))


def source_files(root: Path = ROOT) -> list[Path]:
    files = [p for base in SOURCE_ROOTS for p in sorted((root / base).rglob("*.py"))]
    return [p for p in files if not any(str(p.relative_to(root)).startswith(x) for x in LOCAL_ONLY)]


@functools.lru_cache(maxsize=4)
def find_calls(root: Path = ROOT) -> tuple[Call, ...]:
    """Every SDK call in ``shared/`` and ``functions/`` (localcloud-only modules excepted)."""
    calls: list[Call] = []
    for path in source_files(root):
        calls += find_calls_in_source(path.read_text(encoding="utf-8"), str(path.relative_to(root)))
    return tuple(calls)


def operator_only(call: Call) -> bool:
    return call.where.startswith(OPERATOR_ONLY)


# -- from calls to actions and policies -------------------------------------------------------

class UnmappedCall(Exception):
    """An oss2 method without an entry in :data:`OSS_ACTIONS`."""


def actions_of(call: Call) -> list[tuple[str, tuple[str, ...]]]:
    """The (RAM action, resources) a call needs."""
    if call.product == "oss":
        if call.method not in OSS_ACTIONS:
            raise UnmappedCall(f"{call.where}: oss2 method {call.method!r} has no RAM action: add it to OSS_ACTIONS "
                               "in scripts/ram_policy.py (see docs/ram-policy.md)")
        return [(action, (OSS_BUCKET,) if bucket_level else (OSS_OBJECTS,)) for action, bucket_level in OSS_ACTIONS[call.method]]
    product = PRODUCTS[call.product]
    api = pascal_action(product.module, call.method)
    assert api is not None
    return [(f"{product.ram}:{dict(product.renames).get(api, api)}", product.resources)]


def platform_grants(syaml: Path = ROOT / "s.yaml") -> list[tuple[str, tuple[str, ...], str]]:
    """What FC does with the functions' role per ``s.yaml``: (action, resources, why)."""
    import yaml

    text = syaml.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    props = [r.get("props", {}) for r in (doc.get("resources") or {}).values()]
    props += list((doc.get("template") or {}).values())
    grants: list[tuple[str, tuple[str, ...], str]] = []
    if any(p.get("asyncInvokeConfig", {}).get("destinationConfig", {}).get("onFailure") for p in props) and "acs:mns:" in text:
        grants.append(("mns:SendMessage", ("acs:mns:REGION:ACCOUNT_ID:/queues/DLQ_QUEUE/messages",),
                       "s.yaml asyncInvokeConfig.destinationConfig.onFailure: the MNS dead-letter queue"))
    if any(isinstance(p.get("logConfig"), dict) for p in props):
        grants.append(("log:PostLogStoreLogs", ("acs:log:REGION:ACCOUNT_ID:project/LOG_PROJECT/logstore/LOGSTORE",),
                       "s.yaml logConfig: FC writes the function logs to SLS"))
    return grants


def build_policy(calls: Iterable[Call], extra: Iterable[tuple[str, tuple[str, ...], str]] = ()) -> dict[str, Any]:
    """A RAM policy document: one statement per distinct resource set, actions sorted."""
    by_resources: dict[tuple[str, ...], set[str]] = {}
    for call in calls:
        for action, resources in actions_of(call):
            by_resources.setdefault(resources, set()).add(action)
    for action, resources, _why in extra:
        by_resources.setdefault(resources, set()).add(action)
    statements = [{"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
                  for resources, actions in sorted(by_resources.items(), key=lambda kv: (sorted(kv[1])[0], kv[0]))]
    return {"Version": "1", "Statement": statements}


def proposed(root: Path = ROOT) -> dict[Path, dict[str, Any]]:
    """Both policies as the code needs them now."""
    calls = find_calls(root)
    return {
        FUNCTION_POLICY: build_policy([c for c in calls if not operator_only(c)], platform_grants(root / "s.yaml")),
        OPERATOR_POLICY: build_policy(calls),
    }


def grants(policy: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (action, resource) pair a policy allows."""
    out: set[tuple[str, str]] = set()
    for st in policy.get("Statement", []):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        out |= {(a, r) for a in actions for r in resources if st.get("Effect") == "Allow"}
    return out


def diff(current: dict[str, Any], wanted: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(missing, extra) ``action on resource`` lines of ``current`` against ``wanted``."""
    have, need = grants(current), grants(wanted)
    return [f"{a} on {r}" for a, r in sorted(need - have)], [f"{a} on {r}" for a, r in sorted(have - need)]


def render(policy: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The policy with placeholders (``BUCKET``, ``ACCOUNT_ID``…) replaced."""
    text = json.dumps(policy)
    for key, value in sorted(values.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(key, value)
    return json.loads(text)


def dump(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="regenerate docs/ram-policy*.json")
    parser.add_argument("--check", action="store_true", help="exit 1 when a policy differs from the code's needs")
    parser.add_argument("--calls", action="store_true", help="list every SDK call site found")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="render placeholders")
    args = parser.parse_args(argv)
    if args.calls:
        for call in find_calls():
            print(f"{call.where:<55} {call.product}.{call.method} -> {', '.join(a for a, _ in actions_of(call))}")
        return 0
    stale = False
    for path, wanted in proposed().items():
        name = path.relative_to(ROOT)
        if args.set:
            print(f"# {name}, rendered\n" + dump(render(wanted, dict(kv.split("=", 1) for kv in args.set))))
            continue
        if args.write:
            path.write_text(dump(wanted), encoding="utf-8")
            print(f"wrote {name}")
            continue
        current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        missing, extra = diff(current, wanted)
        if missing or extra:
            stale = True
            print(f"{name} differs from what the code calls (regenerate: python scripts/ram_policy.py --write):")
            print("".join(f"  missing: {m}\n" for m in missing) + "".join(f"  extra:   {e}\n" for e in extra), end="")
        else:
            print(f"{name}: up to date")
        if not args.check:
            print(f"# proposed {name}\n" + dump(wanted))
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
