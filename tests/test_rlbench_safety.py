"""RLBench interop under attack and interruption: pickle bombs, resumable exports, partial
exports noticed on import, PerAct's per-episode descriptions, badly typed pickles."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from robotr1_data import cli
from robotr1_data.generate import GenerateConfig, generate
from robotr1_data.rlbench_io import safe_load, safe_loads


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("rec")
    generate(GenerateConfig(tasks=["push_button"], episodes=3, out=str(out), seed=2,
                            cameras=["front"], image_size=(16, 16)), show_progress=False)
    return out


def test_variation_layout_writes_descriptions_in_every_episode_folder(recorded, tmp_path):
    # PerAct's RLBench fork reads variation_descriptions.pkl from the episode folder.
    assert cli.main(["export-rlbench", str(recorded), "--out", str(tmp_path)]) == 0
    var_files = sorted(tmp_path.glob("push_button/variation*/variation_descriptions.pkl"))
    assert var_files, "the per-variation file stays"
    for vf in var_files:
        eps = sorted(vf.parent.glob("episodes/episode*"))
        assert eps
        for ep in eps:
            assert safe_load(ep / "variation_descriptions.pkl") == safe_load(vf)
