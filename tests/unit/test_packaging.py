"""The FC code package: flat layout, importable on its own, dependency pins in step with pyproject."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from pai_autopilot.packaging import PackagingError, build_code_package, pip_commands

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def make_project(root: Path) -> Path:
    """A minimal project tree shaped like the repo."""
    (root / "functions").mkdir(parents=True)
    (root / "functions" / "__init__.py").write_text("")
    (root / "functions" / "alpha.py").write_text("def handler(event, context):\n    return 'a'\n")
    (root / "functions" / "beta.py").write_text("def handler(event, context):\n    return 'b'\n")
    lib = root / "shared" / "pai_autopilot"
    (lib / "sub" / "__pycache__").mkdir(parents=True)
    (lib / "__init__.py").write_text("VERSION = 1\n")
    (lib / "sub" / "__init__.py").write_text("")
    (lib / "sub" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (lib / "py.typed").write_text("")
    (root / "autopilot.yaml").write_text("version: 1\n")
    return root


def test_repo_package_is_flat_and_imports_with_nothing_else_on_the_path(tmp_path: Path):
    # given the real repo and a configuration file
    config = tmp_path / "pipelines.yaml"
    config.write_text("version: 1\n# test config\n")
    out = tmp_path / "code"
    # when the code package is built without dependencies
    report = build_code_package(ROOT, out, config=config, install_deps=False)
    # then the handler modules, the library and the config sit at its root
    assert "dataset_landed" in report.functions
    assert (out / "dataset_landed.py").read_bytes() == (ROOT / "functions" / "dataset_landed.py").read_bytes()
    assert not (out / "__init__.py").exists()
    assert (out / "pai_autopilot" / "__init__.py").is_file()
    assert (out / "pai_autopilot" / "syaml" / "__init__.py").is_file()
    assert (out / "autopilot.yaml").read_text() == config.read_text()
    assert not list(out.rglob("__pycache__"))
    # and the report lists every file with its size
    listed = {f.path: f.size for f in report.files}
    on_disk = {p.relative_to(out).as_posix(): p.stat().st_size for p in out.rglob("*") if p.is_file()}
    assert listed == on_disk and report.total_bytes == sum(on_disk.values())

    # when a fresh interpreter sees only the package (+ site-packages for the deps), as FC does
    site = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    probe = (
        "import sys\n"
        f"sys.path[:] = [{str(out)!r}] + [p for p in sys.path if 'site-packages' not in p] + {sorted(site)!r}\n"
        "import dataset_landed, pai_autopilot\n"
        "assert callable(dataset_landed.handler)\n"
        "print(pai_autopilot.__file__)\n"
    )
    done = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    # then `import dataset_landed` works and pai_autopilot comes from the package, not the repo
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).resolve() == (out / "pai_autopilot" / "__init__.py").resolve()


def test_layout_default_config_and_clean_output(tmp_path: Path):
    # given a project and an output directory holding a stale file
    root = make_project(tmp_path / "proj")
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.py").write_text("old")
    # when the package is built with the default config
    report = build_code_package(root, out, install_deps=False)
    # then it holds exactly the functions, the library (no bytecode) and the config
    assert sorted(f.path for f in report.files) == [
        "alpha.py", "autopilot.yaml", "beta.py", "pai_autopilot/__init__.py", "pai_autopilot/py.typed",
        "pai_autopilot/sub/__init__.py"]
    assert report.functions == ("alpha", "beta") and not report.deps_installed
    assert "total: 6 files" in report.summary()


@pytest.mark.parametrize(("breakage", "message"), [
    (lambda root: [p.unlink() for p in (root / "functions").glob("[ab]*.py")], "no function modules"),
    (lambda root: (root / "autopilot.yaml").unlink(), "configuration not found"),
    (lambda root: (root / "shared" / "pai_autopilot" / "__init__.py").unlink(), "library package not found"),
])
def test_missing_inputs_are_refused(tmp_path: Path, breakage, message):
    # given a project missing one input
    root = make_project(tmp_path / "proj")
    breakage(root)
    # when packaging, then it fails naming what is missing, and writes nothing
    with pytest.raises(PackagingError, match=message):
        build_code_package(root, tmp_path / "out", install_deps=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target", [".", "..", "shared", "functions/out"])
def test_output_that_would_delete_the_project_is_refused(tmp_path: Path, target: str):
    # given an output that is (or contains, or sits inside the sources of) the project
    root = make_project(tmp_path / "proj")
    # when packaging there, then it refuses and the sources survive
    with pytest.raises(PackagingError, match="refusing"):
        build_code_package(root, root / target, install_deps=False)
    assert (root / "functions" / "alpha.py").is_file() and (root / "shared" / "pai_autopilot").is_dir()


def test_pip_failure_is_reported_with_its_command(tmp_path: Path):
    # given a project and an "interpreter" whose pip always fails
    root = make_project(tmp_path / "proj")
    (root / "requirements.txt").write_text("six==1.17.0\n")
    # when packaging with dependencies, then the failure names the pip command
    with pytest.raises(PackagingError, match=r"pip failed \(exit 1\): false -m pip"):
        build_code_package(root, tmp_path / "out", python="false")


def test_pip_targets_the_fc_runtime_with_binary_wheels_only():
    # when the pip commands are built for the defaults
    wheel, install = pip_commands(Path("requirements.txt"), Path("out"), Path("wh"), python="py")
    # then sdists become wheels first, and the install takes FC-runtime wheels only, into the package
    assert wheel[:3] == ["py", "-m", "pip"] and "wheel" in wheel and "--wheel-dir" in wheel
    flags = " ".join(install)
    for expected in ("--target out", "--platform manylinux2014_x86_64", "--implementation cp",
                     "--python-version 3.10", "--only-binary=:all:", "--find-links wh", "--no-compile",
                     "-r requirements.txt"):
        assert expected in flags


def test_requirements_are_pinned_identically_in_pyproject():
    # given requirements.txt and pyproject.toml
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    pins = [line for line in lines if line and not line.startswith("#")]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # then every requirement is an exact pin, and pyproject carries the same pin
    assert pins, "requirements.txt is empty"
    for pin in pins:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][A-Za-z0-9.+!-]*", pin), pin
        assert pin in project["dependencies"], f"{pin} is not in pyproject [project].dependencies"


def test_progress_while_pip_runs_then_a_one_line_summary(tmp_path: Path, monkeypatch):
    # given a project and an "interpreter" whose pip takes a while, then succeeds
    import pai_autopilot.packaging as packaging

    root = make_project(tmp_path / "proj")
    (root / "requirements.txt").write_text("six==1.17.0\n")
    slow = tmp_path / "slowpy"
    slow.write_text("#!/bin/sh\nsleep 0.5\n")
    slow.chmod(0o755)
    real = packaging._install_deps
    monkeypatch.setattr(packaging, "_install_deps", lambda *a, **k: real(*a, **k, heartbeat=0.1))
    lines: list[str] = []
    # when packaging with dependencies
    report = build_code_package(root, tmp_path / "out", python=str(slow), progress=lines.append)
    # then each pip step announces itself, says it is still running, and says when it is done
    assert lines[0] == "pip 1/2: building wheels …"
    assert any(line.startswith("pip 2/2: installing manylinux2014_x86_64 wheels for Python 3.10") for line in lines)
    assert any(line.startswith("pip 1/2: still running (") for line in lines)
    assert lines[-1].startswith("pip 2/2: done in ")
    assert report.short() == f"packaged 2 functions in {tmp_path / 'out'}: {len(report.files)} files, 0 wheels, " \
        + report.short().rsplit(", ", 1)[1]
