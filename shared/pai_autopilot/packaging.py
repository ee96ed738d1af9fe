"""Build the flat FC code package (``s.yaml`` ``code: ./.build/code``) without Docker.

FC resolves handlers like ``dataset_landed.handler`` from the root of the code package, so the
package is flat::

    .build/code/
      dataset_landed.py        <- functions/*.py (not __init__.py)
      pai_autopilot/           <- shared/pai_autopilot/ (no __pycache__)
      autopilot.yaml           <- the pipeline configuration (AUTOPILOT_CONFIG=/code/autopilot.yaml)
      oss2/ yaml/ msgspec/ ... <- requirements.txt, as wheels for the FC runtime

Dependencies are installed in two pip steps, neither needing Docker:

1. ``pip wheel -r requirements.txt`` into a temporary wheelhouse, with ``CC=false``. Several pinned
   packages are published as sdists only (oss2, aliyun-python-sdk-core, crcmod, alibabacloud-tea-util
   ...); this turns each into a pure-Python wheel. With the C compiler disabled, crcmod falls back to
   its pure-Python build instead of compiling an extension for the *host* interpreter; an sdist whose
   C extension is mandatory fails here instead of shipping a host ``.so``.
2. ``pip install --target <output> --platform manylinux2014_x86_64 --implementation cp
   --python-version 3.10 --only-binary=:all: --find-links <wheelhouse> -r requirements.txt``:
   binary packages come as wheels built for the FC runtime, sdist-only ones from step 1.
   ``--no-compile``: the host's ``.pyc`` files would be for the host's Python version.

pip evaluates environment markers (``async-timeout; python_version < "3.11"``) with the interpreter
that *runs* it, not with ``--python-version``, so both steps run under a Python of the target version:
the current one if it matches, else ``python3.10`` from ``PATH``. Without one the build fails rather
than ship a package that misses a dependency (aiohttp needs async-timeout on 3.10, not on 3.11).

Example
-------
>>> from pathlib import Path
>>> report = build_code_package(Path("."), Path(".build/code"), install_deps=False)  # doctest: +SKIP
>>> print(report.summary())  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import AutopilotError

__all__ = ["PackageReport", "PackagedFile", "PackagingError", "build_code_package", "find_python",
           "pip_commands"]


class PackagingError(AutopilotError):
    """The code package cannot be built (missing inputs, unsafe output, pip failure)."""

    code = "PackagingError"


@dataclass(frozen=True)
class PackagedFile:
    path: str  # relative to the package root, with /
    size: int


@dataclass(frozen=True)
class PackageReport:
    """What :func:`build_code_package` wrote."""

    output: Path
    functions: tuple[str, ...]  # handler modules at the root, e.g. ("dataset_landed",)
    files: tuple[PackagedFile, ...]
    deps_installed: bool

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def top_level(self) -> dict[str, int]:
        """Bytes per top-level entry (a file, or a directory with everything below it)."""
        sizes: dict[str, int] = {}
        for f in self.files:
            head = f.path.split("/", 1)[0]
            sizes[head] = sizes.get(head, 0) + f.size
        return dict(sorted(sizes.items()))

    @property
    def wheels(self) -> int:
        """Installed distributions (one ``*.dist-info`` directory per wheel pip installed)."""
        return len({f.path.split("/", 1)[0] for f in self.files if f.path.split("/", 1)[0].endswith(".dist-info")})

    def short(self) -> str:
        """One line: functions, files, wheels, size.

        >>> r = PackageReport(Path("out"), ("a", "b"), (PackagedFile("a.py", 10), PackagedFile("x-1.dist-info/RECORD", 5)), True)
        >>> r.short()
        'packaged 2 functions in out: 2 files, 1 wheel, 15 B'
        """
        wheels = f"{self.wheels} wheel{'s' if self.wheels != 1 else ''}" if self.deps_installed else "no wheels (--no-deps)"
        return (f"packaged {len(self.functions)} functions in {self.output}: {len(self.files)} files, {wheels}, "
                f"{_human(self.total_bytes)}")

    def summary(self) -> str:
        """Human-readable lines: one per top-level entry, then the total.

        >>> r = PackageReport(Path("out"), ("f",), (PackagedFile("f.py", 10), PackagedFile("p/a.py", 5)), False)
        >>> print(r.summary())
        f.py  10 B
        p/  5 B
        total: 2 files, 15 B in out (dependencies not installed)
        """
        dirs = {f.path.split("/", 1)[0] for f in self.files if "/" in f.path}
        lines = [f"{name}{'/' if name in dirs else ''}  {_human(size)}" for name, size in self.top_level().items()]
        deps = "dependencies installed" if self.deps_installed else "dependencies not installed"
        lines.append(f"total: {len(self.files)} files, {_human(self.total_bytes)} in {self.output} ({deps})")
        return "\n".join(lines)


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def pip_commands(requirements: Path, output: Path, wheelhouse: Path, *, python: str = "python3.10",
                 python_version: str = "3.10", platform: str = "manylinux2014_x86_64") -> list[list[str]]:
    """The two pip invocations described in the module docstring (run with ``CC=false``).

    >>> cmds = pip_commands(Path("r.txt"), Path("out"), Path("wh"))
    >>> cmds[1][cmds[1].index("--platform") + 1], "--only-binary=:all:" in cmds[1]
    ('manylinux2014_x86_64', True)
    """
    pip = [python, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    return [
        [*pip, "wheel", "--use-pep517", "--no-cache-dir", "--wheel-dir", str(wheelhouse), "-r", str(requirements)],
        [*pip, "install", "--target", str(output), "--platform", platform, "--implementation", "cp",
         "--python-version", python_version, "--only-binary=:all:", "--find-links", str(wheelhouse),
         "--no-compile", "-r", str(requirements)],
    ]


def _check_output(root: Path, output: Path) -> None:
    root, output = root.resolve(), output.resolve()
    if output == root or output in root.parents:
        raise PackagingError(f"refusing to clean {output}: it contains the project")
    for source in ("functions", "shared"):
        if output == root / source or (root / source) in output.parents:
            raise PackagingError(f"refusing to write the package inside {source}/: {output}")
    if output.exists() and not output.is_dir():
        raise PackagingError(f"output {output} exists and is not a directory")


def build_code_package(root: Path, output: Path, *, config: Path | None = None, install_deps: bool = True,
                       python_version: str = "3.10", platform: str = "manylinux2014_x86_64",
                       python: str | None = None, progress: Callable[[str], None] | None = None) -> PackageReport:
    """Clean ``output`` and write the flat code package of the project at ``root`` into it.

    ``config`` defaults to ``root/autopilot.yaml`` and is written as ``autopilot.yaml``.
    ``install_deps=False`` skips pip (tests, or a layer that carries the dependencies).
    ``python`` is the interpreter that runs pip (default: see :func:`find_python`).
    ``progress`` receives a line as each pip step starts and every few seconds while it runs.
    Raises :class:`PackagingError` for a missing input, an unsafe ``output`` or a failed pip run.
    """
    root, output = Path(root), Path(output)
    config = Path(config) if config is not None else root / "autopilot.yaml"
    modules = sorted(p for p in (root / "functions").glob("*.py") if p.name != "__init__.py")
    library = root / "shared" / "pai_autopilot"
    requirements = root / "requirements.txt"
    if not modules:
        raise PackagingError(f"no function modules in {root / 'functions'}")
    if not (library / "__init__.py").is_file():
        raise PackagingError(f"library package not found: {library}")
    if not config.is_file():
        raise PackagingError(f"configuration not found: {config}")
    if install_deps and not requirements.is_file():
        raise PackagingError(f"requirements not found: {requirements}")
    _check_output(root, output)
    if install_deps and python is None:
        python = find_python(python_version)

    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    if install_deps:  # first, so that our own files win over anything pip writes
        _install_deps(requirements, output, python=str(python), python_version=python_version,
                      platform=platform, progress=progress or (lambda _line: None))
    for module in modules:
        shutil.copy2(module, output / module.name)
    shutil.copytree(library, output / "pai_autopilot",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))
    shutil.copy2(config, output / "autopilot.yaml")
    __import__("pai_autopilot.config.compiled").config.compiled.write_compiled(str(output / "autopilot.yaml"))  # no YAML at cold start

    files = tuple(PackagedFile(p.relative_to(output).as_posix(), p.stat().st_size)
                  for p in sorted(output.rglob("*")) if p.is_file())
    return PackageReport(output, tuple(m.stem for m in modules), files, install_deps)


def find_python(version: str = "3.10") -> str:
    """An interpreter of ``version`` to run pip: this one if it matches, else ``python<version>``.

    >>> find_python(f"{sys.version_info[0]}.{sys.version_info[1]}") == sys.executable
    True
    """
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if running == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found:
        probe = subprocess.run([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return found
    raise PackagingError(
        f"installing dependencies for Python {version} needs a python{version} interpreter (pip "
        f"evaluates environment markers with the interpreter that runs it); this is "
        f"{running} and python{version} is not on PATH")


def _install_deps(requirements: Path, output: Path, *, python: str, python_version: str,
                  platform: str, progress: Callable[[str], None], heartbeat: float = 5.0) -> None:
    env = {**os.environ, "CC": "false", "CXX": "false"}
    with tempfile.TemporaryDirectory(prefix="pai-autopilot-wheels-") as wheelhouse:
        commands = pip_commands(requirements, output, Path(wheelhouse), python=python,
                                python_version=python_version, platform=platform)
        for step, cmd in enumerate(commands, 1):
            what = "building wheels" if "wheel" in cmd else f"installing {platform} wheels for Python {python_version}"
            progress(f"pip {step}/{len(commands)}: {what} …")
            began = time.monotonic()
            with tempfile.TemporaryFile("w+") as log:
                proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
                while True:
                    try:
                        proc.wait(timeout=heartbeat)
                        break
                    except subprocess.TimeoutExpired:
                        progress(f"pip {step}/{len(commands)}: still running ({time.monotonic() - began:.0f} s)")
                log.seek(0)
                out = log.read()
            if proc.returncode != 0:
                tail = "\n".join(out.strip().splitlines()[-20:])
                raise PackagingError(f"pip failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
            progress(f"pip {step}/{len(commands)}: done in {time.monotonic() - began:.0f} s")
