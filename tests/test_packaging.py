"""The data side installs and runs without the train extra (no torch, transformers)."""

import subprocess
import sys

CODE = """
import sys
import robotr1_data.cli, robotr1_data.generate, robotr1_data.qa.builder, robotr1_data.shards
import robotr1_data.backends.mujoco.mujoco_sim, robotr1_data.expert, robotr1_train.rewards
from robotr1_data.cli import build_parser
build_parser()
heavy = [m for m in ("torch", "transformers", "peft", "accelerate") if m in sys.modules]
print(",".join(heavy))
"""


def test_data_side_imports_no_torch():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"robotr1_data pulled in {out.stdout.strip()}"


def test_console_scripts_are_declared():
    import configparser
    from pathlib import Path

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).parents[1] / "setup.cfg")
    scripts = cfg["options.entry_points"]["console_scripts"]
    assert "robotr1-data = robotr1_data.cli:main" in scripts
    extras = cfg["options.extras_require"]
    assert {"train", "rlbench", "ray", "dev"} <= set(extras)
