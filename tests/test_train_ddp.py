"""The multi-process path (accelerate DDP) on CPU: the same code path the GPU configs use."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("accelerate")
pytestmark = pytest.mark.train



def test_grpo_runs_under_accelerate_with_two_processes(tmp_path):
    from robotr1_data.generate import GenerateConfig, generate
    from robotr1_data.qa.builder import QAConfig, build_qa
    from robotr1_train.testing import build_tiny_vlm

    model = build_tiny_vlm(str(tmp_path / "tiny"), seed=0)
    generate(GenerateConfig(tasks=["push_button"], episodes=1, out=str(tmp_path / "data"),
                            cameras=["front"], image_size=(64, 64), depth=False, mask=False),
             show_progress=False)
    qa = tmp_path / "qa"
    build_qa(sorted((tmp_path / "data").rglob("*.h5")), qa, QAConfig(image_size=(64, 64)),
             log=lambda *a, **k: None)
    # torchrun starts two CPU processes (gloo); accelerate picks up the distributed environment
    # (MULTI_CPU), exactly as it does for GPUs under `accelerate launch`.
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    env = dict(os.environ, OMP_NUM_THREADS="1", ACCELERATE_USE_CPU="1")
    out = tmp_path / "run"
    proc = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "-m", "robotr1_train.cli", "grpo",
         "--qa", str(qa), "--model", model, "--out", str(out), "--max-steps", "2",
         "--rollout-batch-size", "2", "--num-generations", "2", "--max-response-length", "8",
         "--learning-rate", "1e-3"],
        capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == [1, 2]
    assert [l["world_size"] for l in lines] == [2, 2], proc.stdout[-2000:]
    assert (out / "final").exists()
