"""Kill -9 a real `robotr1-data generate` at several points, rerun the same command, and check
the dataset ends with exactly the episodes asked for: no duplicates, no partial files, valid,
and byte-identical to a run that was never interrupted."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robotr1_data.shards import ShardReader, read_manifest, validate_dir

TASKS = ["reach_target", "push_button"]
EPISODES = 3
# One episode per shard: small units, so a kill lands between and inside shards.
ARGS = ["--tasks", *TASKS, "--episodes", str(EPISODES), "--episodes-per-shard", "1",
        "--cameras", "front", "--image-size", "32", "32", "--seed", "1", "--quiet"]


def _cmd(out, *extra):
    return [sys.executable, "-m", "robotr1_data.cli", "generate", *ARGS, "--out", str(out), *extra]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("COVERAGE_PROCESS_START", None)
    return env


def _complete(out: Path):
    return sorted(p for p in out.rglob("shard-*.h5"))


def _partials(out: Path):
    return sorted(out.rglob(".*.tmp"))


def _children(pid):
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _kill_when(out, condition, *extra, timeout=120):
    """Start generate, SIGKILL it (the parent only, as `kill -9 PID` does) once ``condition``
    holds; returns the pids of the worker processes it had."""
    proc = subprocess.Popen(_cmd(out, *extra), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    t0 = time.monotonic()
    kids = []
    try:
        while not condition(out):
            if proc.poll() is not None:
                pytest.fail(f"generate finished (rc {proc.returncode}) before the kill point; "
                            f"stderr: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() - t0 > timeout:
                pytest.fail("kill point never reached")
            kids = _children(proc.pid) or kids
            time.sleep(0.01)
        kids = _children(proc.pid) or kids
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        proc.stderr.close()
    return kids


def _episodes(out: Path):
    seen = []
    for shard in _complete(out):
        with ShardReader(shard) as r:
            for ep in r.episodes:
                a = r.attrs(ep)
                seen.append((a["task"], a["extra"]["episode_index"]))
    return seen


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    subprocess.run(_cmd(out), env=_env(), check=True, stdout=subprocess.DEVNULL)
    return {e["path"]: e["sha256"] for e in read_manifest(out)["shards"]}


def test_sigkill_at_several_points_then_rerun_resumes_exactly(tmp_path, reference):
    out = tmp_path / "data"
    # 1. Mid-way through the very first shard: nothing complete, a temporary file on disk.
    _kill_when(out, lambda o: bool(_partials(o)))
    assert not _complete(out) and not (out / "manifest.json").exists()
    assert _partials(out), "the killed writer leaves only a hidden temporary file"

    # 2. After two shards, probably inside the third.
    _kill_when(out, lambda o: len(_complete(o)) >= 2)
    done2 = len(_complete(out))
    assert 2 <= done2 < len(TASKS) * EPISODES

    # 3. With two worker processes: kill the parent only; its workers must die with it (a
    #    surviving worker would keep writing a shard the rerun is also writing).
    kids = _kill_when(out, lambda o: len(_complete(o)) >= done2 + 1, "--workers", "2")
    deadline = time.monotonic() + 10
    while any(_alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [k for k in kids if _alive(k)], "pool workers outlived the killed parent"
    assert len(_complete(out)) < len(TASKS) * EPISODES

    # 4. Rerun the same command to the end.
    left = _partials(out)
    res = subprocess.run(_cmd(out), env=_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "resuming:" in res.stdout
    assert ("partial file(s)" in res.stdout) == bool(left)

    assert not _partials(out), "temporary files are cleaned up"
    seen = _episodes(out)
    assert sorted(seen) == sorted((t, e) for t in TASKS for e in range(EPISODES))
    assert len(seen) == len(set(seen)), "no duplicate episodes"
    assert validate_dir(out) == []
    manifest = read_manifest(out)
    assert sum(e["episodes"] for e in manifest["shards"]) == len(TASKS) * EPISODES
    # Not just valid: the same bytes as a run that was never interrupted.
    assert {e["path"]: e["sha256"] for e in manifest["shards"]} == reference


def test_second_generate_on_same_directory_is_refused(tmp_path):
    from robotr1_data.generate import OutputLock
    from robotr1_data.errors import UsageError
    with OutputLock(str(tmp_path)):
        res = subprocess.run(_cmd(tmp_path), env=_env(), capture_output=True, text=True)
    assert res.returncode == 2
    assert "another robotr1-data generate" in res.stderr and "--out" in res.stderr
    with OutputLock(str(tmp_path)):  # released again
        with pytest.raises(UsageError, match="another robotr1-data generate"):
            with OutputLock(str(tmp_path)):
                pass
