"""requirements.lock is the tested set that ./rf installs: it must cover pyproject.toml's dependencies
(within their ranges), and envs/*.yaml must pin the same versions. After changing either side, run
scripts/relock (it rewrites the lock and the envs' pins), then ./rf pytest -q."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
ENVS = sorted((REPO / "envs").glob("*.yaml"))
# Conda-only pins with no counterpart in a pip lock.
NOT_IN_LOCK = {"python"}
FIX = "run scripts/relock (see the header of requirements.lock)"


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def public(version: str) -> str:
    """2.13.0+cpu -> 2.13.0: envs/ leave the torch build (CPU or CUDA) to the node."""
    return Version(version).public


def read_lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for n, line in enumerate(LOCK.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_.-]*)==([^\s;#]+)", line)
        assert m, f"requirements.lock:{n}: not an exact `name==version` pin: {line!r}"
        assert norm(m[1]) not in pins, f"requirements.lock:{n}: {m[1]} is pinned twice"
        pins[norm(m[1])] = m[2]
    return pins


def env_pins(path: Path) -> list[tuple[str, str, str]]:
    """(name, operator, version) for each pinned package of a conda env file, conda and pip sections."""
    deps = yaml.safe_load(path.read_text())["dependencies"]
    pins = []
    for dep in deps:
        if isinstance(dep, dict):
            for spec in dep.get("pip", []):
                req = Requirement(spec)
                ops = [(s.operator, s.version) for s in req.specifier]
                assert len(ops) == 1 and ops[0][0] == "==", f"{path.name}: pip entry {spec!r} is not an exact pin"
                pins.append((req.name, "==", ops[0][1]))
        else:
            m = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(=|==)\s*([^\s=]+)", dep)
            assert m, f"{path.name}: conda entry {dep!r} is not pinned"
            pins.append((m[1], m[2], m[3]))
    return pins


def pyproject_requirements() -> list[tuple[str, Requirement]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = [("dependencies", Requirement(r)) for r in project.get("dependencies", [])]
    for extra, items in project.get("optional-dependencies", {}).items():
        reqs += [(f"[{extra}]", Requirement(r)) for r in items]
    return reqs


def test_lock_is_exact_pins_including_the_installer():
    lock = read_lock()
    assert "recforge" not in lock, "the project itself is installed editable by ./rf, not from the lock"
    # torch needs setuptools at run time; pip is the tested installer. `pip freeze` without --all drops both.
    for name in ("pip", "setuptools", "torch"):
        assert name in lock, f"requirements.lock has no {name} pin; {FIX}"
    assert Version(lock["torch"]).local == "cpu", "the lock must name the CPU build of torch (+cpu)"


def test_pyproject_dependencies_are_locked_within_their_ranges():
    lock = read_lock()
    missing, outside = [], []
    for where, req in pyproject_requirements():
        name = norm(req.name)
        if name not in lock:
            missing.append(f"{req} ({where})")
        elif not req.specifier.contains(lock[name], prereleases=True):
            outside.append(f"{req} ({where}) but the lock has {lock[name]}")
    assert not missing, f"pyproject.toml dependencies missing from requirements.lock: {missing}; {FIX}"
    assert not outside, f"locked versions outside pyproject.toml's ranges: {outside}; {FIX}"


@pytest.mark.parametrize("env", ENVS, ids=[p.name for p in ENVS])
def test_env_pins_agree_with_the_lock(env):
    lock = read_lock()
    wrong = []
    for name, op, version in env_pins(env):
        if norm(name) in NOT_IN_LOCK:
            continue
        if norm(name) not in lock:
            wrong.append(f"{name}{op}{version} is not in requirements.lock")
        elif public(version) != public(lock[norm(name)]):
            wrong.append(f"{name}{op}{version} but requirements.lock has {lock[norm(name)]}")
    assert not wrong, f"envs/{env.name}: {wrong}; {FIX}"


def test_envs_exist():
    assert {p.name for p in ENVS} >= {"data.yaml", "torch-train.yaml", "llm.yaml"}
