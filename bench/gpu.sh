#!/usr/bin/env bash
# The GPU rows of docs/benchmarks.md in one go, a few minutes on one card:
#   - bench/train_step.py: GRPO through TRL (G = 5, LoRA, bf16) at the Qwen2.5-VL-7B and -3B
#     shapes, random weights: step time split into rollout / scoring / update, peak memory;
#   - bench/render.py with MuJoCo on EGL (the NVIDIA driver), 128² and 224², five cameras;
#   - bench/scaling.py: whole `generate` jobs with 1, 4 and 8 processes sharing the card.
# Each part has its own time limit, so one that hangs does not cost the others.
#
#   bash bench/gpu.sh OUT_DIR [PART ...]   # needs torch with CUDA, the `train` extra, mujoco, libEGL
# PARTs: train_7b render_128 render_224 scaling train_3b (the default), train_7b_8x5 (8 prompts), record.
set -u
out=${1:?usage: bash bench/gpu.sh OUT_DIR [PART ...]}
[ $# -gt 1 ] || set -- "$1" train_7b render_128 render_224 scaling train_3b
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 MUJOCO_GL=${MUJOCO_GL:-egl}
py=${PYTHON:-python3}
log=$out/all.log

part() {  # part NAME SECONDS CMD...: run with a limit, log everything, print the last lines
    local name=$1 limit=$2 t0=$SECONDS
    shift 2
    echo "=== $name: $*" | tee -a "$log"
    timeout "$limit" "$@" >>"$log" 2>&1
    echo "=== $name: exit $? after $((SECONDS - t0)) s" | tee -a "$log"
}

{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    "$py" -c 'import torch, transformers, trl, peft, mujoco, platform
print("python", platform.python_version(), "torch", torch.__version__, "transformers", transformers.__version__,
      "trl", trl.__version__, "peft", peft.__version__, "mujoco", mujoco.__version__)'
    "$py" -c 'import mujoco
ctx = mujoco.GLContext(64, 64); ctx.make_current()
from OpenGL import GL
print("GL_RENDERER", GL.glGetString(GL.GL_RENDERER).decode(), "| GL_VERSION", GL.glGetString(GL.GL_VERSION).decode())'
    nproc
} >"$out/machine.txt" 2>&1
cat "$out/machine.txt"

for p in "${@:2}"; do
    case $p in
    train_7b) part train_7b 180 "$py" bench/train_step.py --config-7b --lora --steps 2 --json "$out/train_7b.json" ;;
    train_7b_8x5) part train_7b_8x5 180 "$py" bench/train_step.py --config-7b --lora --prompts 8 --micro-batch-size 10 \
        --steps 1 --json "$out/train_7b_8x5.json" ;;
    train_3b) part train_3b 130 "$py" bench/train_step.py --config-3b --lora --steps 2 --json "$out/train_3b.json" ;;
    render_128) part render_128 70 "$py" bench/render.py --size 128 --rounds 3 --markdown "$out/render.md" ;;
    render_224) part render_224 70 "$py" bench/render.py --size 224 --rounds 3 --markdown "$out/render.md" ;;
    record) part record 90 "$py" bench/record.py --episodes 2 --markdown "$out/record.md" ;;
    scaling) part scaling 120 "$py" bench/scaling.py --workers 1 4 8 --episodes 8 --size 128 \
        --cameras front left_shoulder right_shoulder overhead wrist --markdown "$out/scaling.md" ;;
    *) echo "unknown part $p" ;;
    esac
done
grep -h '"model"\|"step_s"\|"rollout_s"\|"update_s"\|peak_memory_gib\|"gpu"' "$out"/train_*.json 2>/dev/null
