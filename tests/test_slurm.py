"""The cluster path for real: the fixture pipeline through profiles/slurm on a one-node Slurm
(tests/slurm/start_cluster.sh) with fake GPUs. What was asked for is read back from Slurm's own
records (`scontrol show job`), not from Snakemake's.

Needs root (the test cluster's daemons run as root) and Debian's slurm-wlm + munge, which
start_cluster.sh installs with apt-get when they are missing. Without them the Slurm tests skip;
with CI=true they fail instead, so that CI always exercises them.

    CI=true python -m pytest tests/test_slurm.py -v
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from workflow_helpers import copy_checkout

REPO = Path(__file__).resolve().parents[1]
PROFILE = "profiles/slurm"
FIXTURE_CONFIG = "tests/config/fixture.yaml"
TARGET = "results/Movies/metrics.json"
SLURM_DIR = REPO / "tests" / "slurm"
# Test-only settings, on the command line rather than in the shipped profile: check job status
# 1 s after a job finishes instead of 20 s, and keep the Slurm logs of successful jobs for inspection.
TEST_FLAGS = ["--slurm-init-seconds-before-status-checks", "1", "--slurm-keep-successful-logs"]
RUN_TIMEOUT = 2700  # a hang guard: the chain takes minutes idle, far longer on a loaded machine


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def slurm_profile() -> dict:
    return load_yaml(REPO / PROFILE / "config.yaml")


def rule_names() -> set[str]:
    return set(re.findall(r"^rule (\w+):", "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk")), re.M))


def gpu_rules() -> set[str]:
    """Rules that ask for GPUs: `gpu=` (other than 0; a function counts) in rules/*.smk, or a gpu
    count in the profile."""
    annotated = set(
        re.findall(
            r"^rule (\w+):(?:(?!^rule ).)*?^\s+gpu=(?!0\b)",
            "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk")),
            flags=re.M | re.S,
        )
    )
    in_profile = {rule for rule, res in slurm_profile().get("set-resources", {}).items() if res.get("gpu", 0) >= 1}
    return annotated | in_profile


def conditional_gpu_rules() -> set[str]:
    """Rules whose GPU count is a function of the config (e.g. summarize_items needs one only for a local
    LLM backend): the profile may leave them to the rule, or give them a GPU explicitly."""
    return set(
        re.findall(
            r"^rule (\w+):(?:(?!^rule ).)*?^\s+gpu=[A-Za-z_]",
            "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk")),
            flags=re.M | re.S,
        )
    )


def rule_resources(rule: str) -> dict:
    profile = slurm_profile()
    return {**profile.get("default-resources", {}), **profile.get("set-resources", {}).get(rule, {})}


# --------------------------------------------------------------------------------------------
# Checks of the shipped profiles that need no cluster.


def test_slurm_profile_sizes_every_rule_in_one_place():
    profile = slurm_profile()
    assert profile["executor"] == "slurm"
    assert profile["default-resources"].get("slurm_partition"), "CPU partition is set in the profile"
    assert "gpu" not in profile["default-resources"] and "gpu_model" not in profile["default-resources"]
    sized = profile.get("set-resources", {})
    missing = sorted(rule_names() - set(sized) - {"all"})
    assert not missing, f"rules without runtime/mem_mb in {PROFILE}/config.yaml: {missing}"
    for rule, res in sized.items():
        assert isinstance(res.get("runtime"), int) and isinstance(res.get("mem_mb"), int), rule
        if rule in gpu_rules() and (rule not in conditional_gpu_rules() or "gpu" in res):
            assert res["gpu"] >= 1 and res["gpu_model"] and res.get("slurm_partition"), rule
        elif rule not in conditional_gpu_rules():
            assert "gpu" not in res and "gpu_model" not in res and "gres" not in res, rule


def test_local_profile_requests_no_gpu():
    """profiles/local declares a machine without GPUs once (a global `gpu: 0`) and lists no rule; every
    GPU request is capped by it, so training launches on the CPU."""
    local = load_yaml(REPO / "profiles/local/config.yaml")
    assert local.get("executor", "local") == "local"
    assert local["resources"] == {"gpu": 0} and "set-resources" not in local
    assert "gpu" not in local.get("default-resources", {}) and "gres" not in local.get("default-resources", {})
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-p", "--profile", "profiles/local", TARGET,
         "--configfile", FIXTURE_CONFIG],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    launches = [line for line in proc.stdout.splitlines() if "accelerate launch" in line]
    assert launches and all("accelerate launch --cpu " in line for line in launches), launches[:2]


# --------------------------------------------------------------------------------------------
# The real cluster.


def cluster_shape() -> list[str]:
    """start_cluster.sh flags for a cluster that has what the shipped profile names."""
    profile = slurm_profile()
    partitions = [profile["default-resources"]["slurm_partition"]]
    models, gpus, memory_mb = [], 1, int(profile["default-resources"]["mem_mb"])
    for res in profile.get("set-resources", {}).values():
        if res.get("slurm_partition") and res["slurm_partition"] not in partitions:
            partitions.append(res["slurm_partition"])
        if res.get("gpu_model") and res["gpu_model"] not in models:
            models.append(res["gpu_model"])
        gpus = max(gpus, int(res.get("gpu", 0)))
        memory_mb = max(memory_mb, int(res.get("mem_mb", 0)))
    # Slurm refuses a job that asks for more memory than any node has (the node's size is declared,
    # config_overrides, so the fake node is as large as the largest request).
    return ["--partitions", ",".join(partitions), "--gpu-types", ",".join(models or ["a100"]),
            "--gpus", str(gpus), "--memory-mb", str(memory_mb)]


def read_pids(state: Path) -> dict[str, int]:
    pids = {}
    for name in ["munged", "slurmctld", "slurmd"]:
        pidfile = state / f"{name}.pid"
        if pidfile.exists() and pidfile.read_text().strip().isdigit():
            pids[name] = int(pidfile.read_text().strip())
    return pids


def running(pid: int) -> bool:
    """Alive and not a zombie (in containers nobody may reap the daemons' exit status)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(") ", 1)[1].split()[0] not in {"Z", "X"}


def cluster_processes(slurm_conf: str) -> dict[int, str]:
    """Live processes that belong to the test cluster: their environment names its SLURM_CONF
    (daemons, job steps and jobs all inherit it)."""
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            comm = (proc / "comm").read_text().strip()
        except OSError:
            continue
        if f"SLURM_CONF={slurm_conf}".encode() in environ and running(int(proc.name)):
            found[int(proc.name)] = comm
    return found


SYSCONF = Path("/etc/slurm/slurm.conf")


def leave_a_dead_clusters_link() -> Path | None:
    """Where nothing is at SYSCONF (and this is root), link it to the state directory of a test
    cluster whose daemons are gone, as a machine that stopped mid-test leaves it; return that dir."""
    if os.path.lexists(SYSCONF) or os.geteuid() != 0:
        return None
    dead = Path(tempfile.mkdtemp(prefix="recforge-slurm-dead-", dir="/tmp"))
    (dead / "slurm.conf").write_text("# the configuration of a cluster that is gone\n")
    (dead / "linked-sysconf").write_text(f"{SYSCONF}\n")
    (dead / "slurmctld.pid").write_text(f"{os.getpid()}\n")  # alive, but not a slurmctld: not its daemon
    SYSCONF.parent.mkdir(parents=True, exist_ok=True)
    SYSCONF.symlink_to(dead / "slurm.conf")
    return dead


@pytest.fixture(scope="module")
def slurm_env():
    """Start the test cluster (installing Slurm if needed); always stop it, then check that none of
    its daemons, job steps or jobs is left."""
    # munged wants every directory above its socket to be reachable by all: a fresh 0755 directory
    # under /tmp, not pytest's 0700 tmp_path (and a short path, unix sockets allow ~100 bytes).
    state = Path(tempfile.mkdtemp(prefix="recforge-slurm-", dir="/tmp"))
    state.chmod(0o755)
    env = {**os.environ, "SLURM_CONF": str(state / "slurm.conf")}
    # A test cluster whose machine stopped before stop_cluster.sh ran leaves /etc/slurm/slurm.conf
    # linked to its state (a CI run once failed on one): start from such a link, to show it is replaced.
    stale = leave_a_dead_clusters_link()
    try:
        proc = subprocess.run(
            ["bash", str(SLURM_DIR / "start_cluster.sh"), *cluster_shape(), str(state)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        failure = None if proc.returncode == 0 else f"could not start Slurm: {proc.stderr[-3000:]}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        failure = f"could not start Slurm: {exc}"
    pids = read_pids(state)
    try:
        if failure:
            if os.environ.get("CI") == "true":
                pytest.fail(failure)
            pytest.skip(failure)
        assert set(pids) == {"munged", "slurmctld", "slurmd"}, pids
        if stale:
            assert os.readlink(SYSCONF) == str(state / "slurm.conf"), "the dead cluster's link was kept"
        yield env
    finally:
        if stale:
            if SYSCONF.is_symlink() and Path(os.readlink(SYSCONF)).parent == stale:
                SYSCONF.unlink()  # the cluster did not start: take back the link this fixture made
            shutil.rmtree(stale, ignore_errors=True)
        stop = subprocess.run(
            ["bash", str(SLURM_DIR / "stop_cluster.sh"), str(state)], capture_output=True, text=True, timeout=120
        )
        left = {name: pid for name, pid in pids.items() if running(pid)}
        left.update({f"{comm} (pid {pid})": pid for pid, comm in cluster_processes(env["SLURM_CONF"]).items()})
        logs = {p.name: p.read_text()[-2000:] for p in (state / "log").glob("*.log")} if left else {}
        shutil.rmtree(state, ignore_errors=True)
        assert stop.returncode == 0 and not left, f"daemons left running: {left}\n{stop.stderr}\n{logs}"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("slurm-workspace"))


def snakemake(workdir: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    """Run Snakemake in its own process group; on timeout kill the group (its sbatch calls too)."""
    cmd = [sys.executable, "-m", "snakemake", *args]
    proc = subprocess.Popen(
        cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"snakemake {' '.join(args)} did not finish in {RUN_TIMEOUT} s:\n{out[-6000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "")


def planned_jobs(workdir: Path, env: dict, *args: str) -> dict[str, int]:
    """Rule -> job count that a dry run would execute (parsed from Snakemake's job stats table)."""
    proc = snakemake(workdir, env, *args, "-n", "--quiet", "rules")
    assert proc.returncode == 0, proc.stdout[-4000:]
    if "Nothing to be done" in proc.stdout:
        return {}
    rows = re.findall(r"^(\w+)\s+(\d+)$", proc.stdout.split("Job stats:", 1)[1], flags=re.M)
    return {rule: int(n) for rule, n in rows if rule != "total"}


def slurm_jobs_of_run(out: str, env: dict) -> list[dict[str, str]]:
    """Slurm's record (`scontrol show job`) of every job that one Snakemake run submitted.

    The plugin names all jobs of a run after its run ID and puts rule and wildcards in the comment."""
    run_id = re.search(r"SLURM run ID: (\S+)", out)
    assert run_id, out[-4000:]
    submitted = set(re.findall(r"has been submitted with SLURM jobid (\d+)", out))
    show = subprocess.run(["scontrol", "show", "job", "-o"], env=env, capture_output=True, text=True, check=True)
    jobs = []
    for line in show.stdout.splitlines():
        if not line.startswith("JobId="):
            continue
        record = dict(token.split("=", 1) for token in line.split() if "=" in token)
        if record.get("JobName") != run_id.group(1):
            continue
        comment = record.get("Comment", "")
        assert comment.startswith("rule_"), record
        rule, _, wildcards = comment[len("rule_") :].partition("_wildcards_")
        jobs.append({**record, "rule": rule, "wildcards": wildcards})
    assert {j["JobId"] for j in jobs} == submitted, "Slurm knows every job Snakemake submitted, and no other"
    return jobs


def assert_gpu_requests(jobs: list[dict[str, str]]) -> None:
    """GPU rules were submitted with --gpus=MODEL:N to their partition; all other jobs with no GPU."""
    for job in jobs:
        res = rule_resources(job["rule"])
        gpu_fields = " ".join(job.get(k, "") for k in ["TresPerJob", "TresPerNode", "TresPerTask", "TRES", "Gres"])
        assert job["Partition"] == str(res["slurm_partition"]), job
        if job["rule"] in gpu_rules() - conditional_gpu_rules() or "gpu_model" in res:
            assert f"gres:gpu:{res['gpu_model']}:{res['gpu']}" in job.get("TresPerJob", ""), job
        else:  # CPU rules, and LLM rules whose backend (the fixture's heuristic one) needs no GPU
            assert "gpu" not in gpu_fields.lower(), f"CPU rule {job['rule']} asked for a GPU: {job}"


# Through Slurm: the baselines and seed 000's teacher (accelerate-launched GPU training rules); the
# full method list runs locally in tests/test_workflow.py and would double this test's time.
SLURM_METHODS = ["global_mean", "user_mean", "item_mean", "mf", "popularity", "sasrec", "isir_cot"]


@pytest.mark.slow
def test_fixture_pipeline_runs_through_slurm_with_gpu_requests(slurm_env, workspace, tmp_path):
    overlay = tmp_path / "methods.yaml"
    overlay.write_text(yaml.safe_dump({"datasets": {"Movies": {"methods": SLURM_METHODS}}}))
    args = [TARGET, "--profile", PROFILE, "--configfile", FIXTURE_CONFIG, str(overlay)]
    planned = planned_jobs(workspace, slurm_env, *args)
    assert set(planned) & gpu_rules(), "the fixture pipeline has a GPU rule to check"

    start = time.monotonic()
    run = snakemake(workspace, slurm_env, *args, *TEST_FLAGS)
    elapsed = time.monotonic() - start
    assert run.returncode == 0, run.stdout[-6000:]
    print(f"fixture pipeline through Slurm: {elapsed:.0f} s, {sum(planned.values())} jobs")

    jobs = slurm_jobs_of_run(run.stdout, slurm_env)
    assert collections.Counter(j["rule"] for j in jobs) == collections.Counter(planned), "one sbatch per job"
    assert all(j["JobState"] == "COMPLETED" for j in jobs), [(j["rule"], j["JobState"]) for j in jobs]
    assert_gpu_requests(jobs)

    metrics = json.loads((workspace / TARGET).read_text())
    assert sorted(metrics["methods"]) == sorted(SLURM_METHODS)
    assert {"isir_sft", "isir_grpo"} <= set(planned) & gpu_rules()
    assert planned_jobs(workspace, slurm_env, *args) == {}, "a finished run is stable"


@pytest.mark.slow
def test_failed_job_fails_the_run_and_rerun_resubmits_only_the_rest(slurm_env, workspace, tmp_path):
    # Two more datasets shaped like the fixture: "Spare" reads the fixture, "Broken" a directory
    # that does not exist yet, so its prepare_dataset job fails on the cluster.
    config = load_yaml(workspace / "config/config.yaml")
    fixture = load_yaml(workspace / FIXTURE_CONFIG)
    movies = {**config["datasets"]["Movies"], **fixture["datasets"]["Movies"]}
    options = {**config["datasets"]["Movies"]["options"], **fixture["datasets"]["Movies"]["options"]}
    overlay = tmp_path / "broken.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "datasets": {
                    "Spare": {"adapter": movies["adapter"], "options": options, "methods": ["popularity"]},
                    "Broken": {
                        "adapter": movies["adapter"],
                        "options": {**options, "path": "broken_source"},
                        "methods": ["popularity"],
                    },
                }
            }
        )
    )
    targets = ["results/Spare/metrics.json", "results/Broken/metrics.json"]
    args = [*targets, "--profile", PROFILE, "--configfile", FIXTURE_CONFIG, str(overlay)]
    assert planned_jobs(workspace, slurm_env, *args) == {
        "prepare_dataset": 2,
        "popularity": 2,
        "evaluate": 2,
        "gather_metrics": 2,
    }

    failed = snakemake(workspace, slurm_env, *args, *TEST_FLAGS)
    assert failed.returncode != 0, failed.stdout[-6000:]
    assert "Error in rule prepare_dataset" in failed.stdout, failed.stdout[-6000:]
    jobs = slurm_jobs_of_run(failed.stdout, slurm_env)
    states = {(j["rule"], j["wildcards"]): j["JobState"] for j in jobs}
    assert states[("prepare_dataset", "Broken")] == "FAILED", states
    # keep-going (profile): the independent dataset finished; Broken's dependents never went out.
    finished = {key for key, state in states.items() if state == "COMPLETED"}
    spare_done = {rule for rule, wildcards in finished if "Spare" in wildcards}
    assert spare_done == {"prepare_dataset", "popularity", "evaluate", "gather_metrics"}, states
    assert not [key for key in states if "Broken" in key[1] and key[0] != "prepare_dataset"], states
    assert (workspace / "results/Spare/metrics.json").exists()
    assert_gpu_requests(jobs)

    # Fix the cause; the rerun resubmits exactly what did not finish.
    shutil.copytree(workspace / options["path"], workspace / "broken_source")
    rerun_plan = planned_jobs(workspace, slurm_env, *args)
    assert rerun_plan == {"prepare_dataset": 1, "popularity": 1, "evaluate": 1, "gather_metrics": 1}, rerun_plan
    rerun = snakemake(workspace, slurm_env, *args, *TEST_FLAGS)
    assert rerun.returncode == 0, rerun.stdout[-6000:]
    resubmitted = slurm_jobs_of_run(rerun.stdout, slurm_env)
    assert collections.Counter(j["rule"] for j in resubmitted) == collections.Counter(rerun_plan)
    assert all("Broken" in j["wildcards"] and j["JobState"] == "COMPLETED" for j in resubmitted), resubmitted
    assert not {(j["rule"], j["wildcards"]) for j in resubmitted} & finished, "finished jobs are not resubmitted"
    assert (workspace / "results/Broken/metrics.json").exists()
