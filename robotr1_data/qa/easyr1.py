"""The EasyR1 side of ``export-qa --format easyr1``: the episode split, the reward file, the config
and the launch README.

Every key here was read off EasyR1's own code (hiyouga/EasyR1 at ``EASYR1_COMMIT``):

- rows (``verl/utils/dataset.py``, ``RLHFDataset``): the prompt under ``data.prompt_key`` is split
  on ``<image>`` into text and image slots; ``data.image_key`` holds image paths joined to
  ``data.image_dir``; ``data.answer_key`` becomes ``ground_truth``; every other column is carried
  into the batch, where ``collate_fn`` stacks it into an object array and ``DataProto.concat``
  joins batches, so a column must have one type on every row (``target``, a list or null in the
  store, is not exported: the ``answer`` string already holds the 3-decimal target);
- images pass through ``process_image``, which rescales anything under ``data.min_pixels`` or over
  ``data.max_pixels``: both are set to the exported images' own pixel counts, so a 224x224 image
  stays 224x224 = 8x8 merged 28-pixel patches = 64 image tokens in Qwen2.5-VL (patch 14, merge 2),
  where EasyR1's default ``min_pixels`` (262144) would upscale it to 512x512 (324 tokens);
- the train loader drops its last partial rollout batch and both loaders must be non-empty
  (``verl/trainer/data_loader.py``), so a validation file is required;
- the reward (``verl/workers/reward/function.py``) is a file loaded by path from
  ``worker.reward.reward_function=FILE:FUNC``; with ``REWARD_TYPE = "batch"`` it gets a list of
  ``{"response", "response_length", "ground_truth"}`` and returns ``{"overall", ...}`` per item;
- config keys (``verl/trainer/config.py``, ``verl/workers/*/config.py``, ``examples/config.yaml``):
  ``data.format_prompt`` null (our prompt already asks for ``<think>``/``<answer>``; EasyR1's
  example math template would demand ``\\boxed{}``), ``algorithm.use_kl_loss`` true with
  ``kl_penalty: low_var_kl`` (KL as a loss term, not in the reward), ``worker.actor.clip_ratio_low``
  / ``clip_ratio_high`` 0.2 / 0.2 (EasyR1's default high is 0.3), ``worker.rollout.n`` = G.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import yaml

from ..errors import UsageError

EASYR1_REPO = "hiyouga/EasyR1"
EASYR1_COMMIT = "b44b311b669bf1fd1aa2fc36f2251482ba33cb16"
MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
REWARD_FILE, CONFIG_FILE, README_FILE = "reward.py", "config.yaml", "README.md"
TRAIN_FILE, VAL_FILE = "train.jsonl", "val.jsonl"


def check_out_dir(out_dir) -> None:
    """EasyR1 reads ``path@split`` in ``data.train_files``: an ``@`` anywhere in the path would cut it."""
    if "@" in str(Path(out_dir).resolve()):
        raise UsageError(f"--out '{out_dir}' has an '@' in its path, which EasyR1 reads as a dataset split "
                         "(data.train_files=path@split); choose a directory without '@'")


def episode_key(rec: dict) -> Tuple[str, str]:
    """The demo a question comes from: questions of one episode share its frames."""
    return str(rec["shard"]), str(rec["episode"])


def split_by_episode(records: Sequence[dict], val_fraction: float, rng: np.random.Generator) -> Tuple[List[dict], List[dict]]:
    """(train, val) with every episode wholly on one side; ``round(val_fraction * episodes)``
    episodes (at least 1, at most all but 1) drawn with ``rng`` go to val. File order is kept."""
    if not 0.0 < val_fraction < 1.0:
        raise UsageError(f"--val-fraction must be between 0 and 1 (got {val_fraction}); EasyR1 needs a "
                         "non-empty validation file, e.g. --val-fraction 0.1")
    episodes = sorted({episode_key(r) for r in records})
    if len(episodes) < 2:
        raise UsageError(f"the QA store holds {len(episodes)} episode(s); a train/val split by episode needs at "
                         "least 2 (build-qa from more demos)")
    n_val = min(len(episodes) - 1, max(1, int(round(val_fraction * len(episodes)))))
    picked = rng.permutation(len(episodes))[:n_val]
    val_eps = {episodes[i] for i in picked}
    train = [r for r in records if episode_key(r) not in val_eps]
    val = [r for r in records if episode_key(r) in val_eps]
    return train, val


REWARD_TEMPLATE = '''\
"""Robot-R1 reward for EasyR1 (written by `robotr1-data export-qa --format easyr1`).

EasyR1 loads this file by path: worker.reward.reward_function={path}:compute_score

REQUIRES the `robotr1` package (it provides `robotr1_train.rewards`) installed in EasyR1's Python
environment, e.g. `pip install --no-deps /path/to/robotr1` (the reward needs only the standard
library, so --no-deps leaves EasyR1's pinned packages alone).

Batch reward: a list of {{"response", "response_length", "ground_truth"}} -> a list of
{{"overall", "format", "accuracy"}}, overall = format + accuracy (the paper's R). The scoring is
`robotr1_train.rewards.compute_score`, the same code `robotr1-train` and `eval-qa` use.
"""

REWARD_NAME = "robot_r1"
REWARD_TYPE = "batch"

try:
    from robotr1_train.rewards import compute_score  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment EasyR1 runs in
    raise ImportError(
        "this reward needs the robotr1 package in EasyR1's environment: pip install --no-deps /path/to/robotr1"
    ) from exc
'''


def reward_file(out: Path) -> str:
    return REWARD_TEMPLATE.format(path=(out / REWARD_FILE).as_posix())


def config(out: Path, pixels: Tuple[int, int], experiment: str = "robot_r1_grpo") -> Dict:
    """The EasyR1 config (``python3 -m verl.trainer.main config=DIR/config.yaml``) with the
    paper's settings; layout and every key as in EasyR1's ``examples/config.yaml``."""
    d = out.resolve().as_posix()
    return {
        "data": {
            "train_files": f"{d}/{TRAIN_FILE}",
            "val_files": f"{d}/{VAL_FILE}",
            "prompt_key": "problem",
            "answer_key": "answer",
            "image_key": "images",
            "image_dir": d,
            "max_prompt_length": 2048,
            "max_response_length": 2048,
            "rollout_batch_size": 512,
            "val_batch_size": 1024,
            "format_prompt": None,
            "shuffle": True,
            "seed": 1,
            "min_pixels": int(pixels[0]),
            "max_pixels": int(pixels[1]),
            "filter_overlong_prompts": True,
        },
        "algorithm": {
            "adv_estimator": "grpo",
            "disable_kl": False,
            "use_kl_loss": True,
            "kl_penalty": "low_var_kl",
            "kl_coef": 1.0e-2,
            "online_filtering": False,
        },
        "worker": {
            "actor": {
                "global_batch_size": 128,
                "micro_batch_size_per_device_for_update": 1,
                "micro_batch_size_per_device_for_experience": 2,
                "max_grad_norm": 1.0,
                "clip_ratio_low": 0.2,
                "clip_ratio_high": 0.2,
                "loss_avg_mode": "token",
                "padding_free": True,
                "dynamic_batching": True,
                "model": {
                    "model_path": MODEL,
                    "enable_gradient_checkpointing": True,
                    "trust_remote_code": False,
                    "freeze_vision_tower": False,
                },
                "optim": {"lr": 1.0e-6, "weight_decay": 1.0e-2, "strategy": "adamw", "lr_warmup_ratio": 0.0},
                "fsdp": {"enable_full_shard": True, "enable_cpu_offload": False, "enable_rank0_init": True},
                "offload": {"offload_params": True, "offload_optimizer": True},
            },
            "rollout": {
                "n": 5,
                "temperature": 1.0,
                "top_p": 1.0,
                "gpu_memory_utilization": 0.6,
                "tensor_parallel_size": 2,
                "val_override_config": {"temperature": 0.6, "top_p": 0.95, "n": 1},
            },
            "ref": {
                "fsdp": {"enable_full_shard": True, "enable_cpu_offload": True, "enable_rank0_init": True},
                "offload": {"offload_params": False},
            },
            "reward": {"reward_function": f"{d}/{REWARD_FILE}:compute_score"},
        },
        "trainer": {
            "total_epochs": 5,
            "project_name": "robot_r1",
            "experiment_name": experiment,
            "logger": ["file"],
            "nnodes": 1,
            "n_gpus_per_node": 4,
            "val_freq": 5,
            "val_before_train": True,
            "val_generations_to_log": 3,
            "save_freq": 5,
            "save_limit": 3,
        },
    }


def config_yaml(cfg: Dict) -> str:
    head = (f"# EasyR1 config written by robotr1-data export-qa --format easyr1, checked against "
            f"{EASYR1_REPO}@{EASYR1_COMMIT[:7]}.\n"
            "# Robot-R1's settings: G=5, lr 1e-6, wd 1e-2, KL low_var_kl 1e-2 as a loss, clip 0.2/0.2,\n"
            "# rollout batch 512, update batch 128, lengths 2048, 5 epochs; 4 GPUs (override trainer.n_gpus_per_node).\n")
    return head + yaml.safe_dump(cfg, sort_keys=False, default_flow_style=False)


def readme(out: Path, n_train: int, n_val: int, pixels: Tuple[int, int]) -> str:
    d = out.resolve().as_posix()
    warn = ""
    if n_train < 512:
        warn = (f"\n**Note**: the train split has {n_train} questions, fewer than one rollout batch (512); "
                "EasyR1 drops the last partial batch and would stop with an empty loader: add "
                "`data.rollout_batch_size=N worker.actor.global_batch_size=M` (M divides N, N <= "
                f"{n_train}) to the command.\n")
    return textwrap.dedent(f"""\
        # Robot-R1 GRPO with EasyR1

        Written by `robotr1-data export-qa --format easyr1`; checked against {EASYR1_REPO} at
        commit `{EASYR1_COMMIT}`. {n_train} train and {n_val} validation questions, split by episode.

        One-time: install robotr1 into EasyR1's environment so `{REWARD_FILE}` can import the reward
        (`pip install --no-deps /path/to/robotr1`). Then, from an EasyR1 checkout:

        ```bash
        python3 -m verl.trainer.main config={d}/{CONFIG_FILE}
        ```

        Any key can be overridden after it (`trainer.n_gpus_per_node=8`,
        `worker.actor.model.model_path=/local/Qwen2.5-VL-7B-Instruct`, `trainer.logger=[file,wandb]`).
        Images are kept at their stored size (`data.min_pixels`/`max_pixels` = {pixels[0]}/{pixels[1]}
        pixels: 224x224 is 64 image tokens for Qwen2.5-VL).
        """) + warn
