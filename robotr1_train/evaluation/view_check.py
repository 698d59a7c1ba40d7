"""Does ``eval-sim`` draw the VLM's view as its training images were drawn?

A VLM trained on one camera, size or tessellation and evaluated on another is evaluated under a
shift nobody asked for. The settings are stored already: each shard keeps the ``tessellation`` it
was drawn with (absent: the model's own) and the ``image_size`` it was rendered at, and a run's
QA store (``RUN_DIR/config.yaml`` -> run.qa -> ``summary.json``) keeps the camera and image size
the model was shown (build-qa resized the shards' images to it). :func:`resolve_render_size`
picks the size eval-sim renders the VLM's view at (the shards' by default, so the resize is
build-qa's); :func:`check_views` compares. A mismatch is a warning naming both values and the
flag that fixes it, never a refusal: a shift may be the experiment.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence, Tuple

from robotr1_data.views import MODEL_TESSELLATION


def qa_view(run_dir: str) -> Optional[dict]:
    """Camera and image size the run's QA store showed the model; None when not found."""
    from robotr1_data.qa.store import read_summary
    from robotr1_train.evaluation.seeds import qa_dir_of_run

    qa_dir = qa_dir_of_run(run_dir)
    if qa_dir is None:
        return None
    try:
        summary = read_summary(qa_dir)
    except Exception:  # noqa: BLE001 - an unreadable summary only means "cannot check"
        return None
    config = summary.get("config") or {}
    size = summary.get("image_size") or config.get("image_size")
    return {"run": str(run_dir), "qa": str(qa_dir), "camera": config.get("camera"),
            "image_size": [int(v) for v in size] if size else None}


RENDER_SOURCES = ("flag", "training shards", "image size")


def _hw(size) -> str:
    return f"{size[0]}x{size[1]}"


def resolve_render_size(flag: Optional[Sequence[int]], image_size: Sequence[int],
                        training_sizes: Sequence[dict]) -> Tuple[Tuple[int, int], str]:
    """``(size, source)``: the pixels eval-sim renders the VLM's view at before resizing it to
    ``image_size``. ``--render-size`` (``flag``) wins; else the one size the training shards
    were rendered at (``training_sizes``: ``seeds.training_seeds``'s ``render_sizes``), so the
    view is resized from the same pixels build-qa resized from; else (no shards read, or shards
    that mix sizes: :func:`check_views` warns) ``image_size``, rendered directly."""
    if flag is not None:
        return (int(flag[0]), int(flag[1])), "flag"
    known = [s["image_size"] for s in training_sizes if s.get("image_size")]
    if len(known) == 1:
        return (int(known[0][0]), int(known[0][1])), "training shards"
    return (int(image_size[0]), int(image_size[1])), "image size"


def _tess(t) -> str:
    if t is None:
        return f"the model's {MODEL_TESSELLATION[0]} {MODEL_TESSELLATION[1]} (no --tessellation)"
    return "--tessellation " + " ".join(map(str, t))


def _source(source: str) -> str:
    return {"flag": "--render-size", "training shards": "the training shards' size",
            "image size": "--image-size"}.get(source, source)


def check_views(camera: str, image_size: Sequence[int], tessellation, training_views: Sequence[dict],
                run_dirs: Sequence[str], warn=None, render_size: Optional[Sequence[int]] = None,
                render_source: str = "image size", training_sizes: Sequence[dict] = ()) -> dict:
    """Compare the eval view (``camera``; ``render_size``, the pixels rendered, from
    ``render_source``, then resized to ``image_size``; ``tessellation``) with the training
    shards' (``training_views`` / ``training_sizes``: ``seeds.training_seeds``'s ``views`` /
    ``render_sizes``) and each run's QA store; warn once per mismatch. Returns a JSON-able
    report (``results.json``'s ``view_check``)."""
    warn = warn or (lambda msg: print(f"warning: {msg}", file=sys.stderr, flush=True))
    ours = list(tessellation) if tessellation is not None else None
    size = [int(v) for v in image_size]
    rendered = [int(v) for v in (render_size if render_size is not None else image_size)]
    report = {"eval": {"camera": camera, "image_size": size, "render_size": rendered,
                       "tessellation": ours},
              "render_size_source": render_source,
              "training_shards": list(training_views),
              "training_render_sizes": list(training_sizes), "qa": [], "mismatches": []}

    def mismatch(setting, training, fix, msg):
        report["mismatches"].append({"setting": setting, "training": training,
                                     "eval": report["eval"][setting], "fix": fix})
        warn(msg)

    tess = [v["tessellation"] for v in training_views]
    if any(t != ours for t in tess):
        if len(tess) == 1:
            fix = ("leave --tessellation out" if tess[0] is None
                   else "pass --tessellation " + " ".join(map(str, tess[0])))
            mismatch("tessellation", tess[0], fix,
                     f"the training shards were drawn with {_tess(tess[0])}, eval-sim draws the "
                     f"VLM's view with {_tess(ours)}; {fix} to draw it as in training")
        else:
            mix = ", ".join(f"{_tess(v['tessellation'])} in {v['shards']} shard(s)" for v in training_views)
            mismatch("tessellation", tess, "--tessellation",
                     f"the training shards mix tessellations ({mix}); eval-sim draws the VLM's view "
                     f"with {_tess(ours)}; pick the training one with --tessellation")
    known = [v for v in training_sizes if v.get("image_size")]
    if len(known) > 1:
        mix = ", ".join(f"{_hw(v['image_size'])} in {v['shards']} shard(s)" for v in known)
        mismatch("render_size", [v["image_size"] for v in known], "--render-size",
                 f"the training shards mix render sizes ({mix}); eval-sim renders the VLM's view "
                 f"at {_hw(rendered)} ({_source(render_source)}); pick the training one with "
                 "--render-size H W")
    elif known and known[0]["image_size"] != rendered:
        trained = known[0]["image_size"]
        fix = f"leave --render-size out (or pass --render-size {trained[0]} {trained[1]})"
        mismatch("render_size", trained, fix,
                 f"the training shards were rendered at {_hw(trained)} and resized to the QA "
                 f"size, eval-sim renders the VLM's view at {_hw(rendered)} "
                 f"({_source(render_source)}); {fix} to render it as in training")
    seen = set()
    for run in run_dirs:
        qa = qa_view(run)
        if qa is None:
            continue
        report["qa"].append(qa)
        if qa["camera"] and qa["camera"] != camera and ("camera", qa["camera"]) not in seen:
            seen.add(("camera", qa["camera"]))
            fix = f"pass --camera {qa['camera']}"
            mismatch("camera", qa["camera"], fix,
                     f"vlm:{run} was trained on '{qa['camera']}' images (its QA store {qa['qa']}), "
                     f"eval-sim shows it '{camera}'; {fix} to show it the training view")
        q_size = qa["image_size"]
        if q_size and q_size != size and ("image_size", tuple(q_size)) not in seen:
            seen.add(("image_size", tuple(q_size)))
            fix = f"pass --image-size {q_size[0]} {q_size[1]}"
            mismatch("image_size", q_size, fix,
                     f"vlm:{run} was trained on {q_size[0]}x{q_size[1]} images (its QA store "
                     f"{qa['qa']}), eval-sim shows it {size[0]}x{size[1]}; {fix} to show it the "
                     "training size")
    report["checked"] = bool(training_views or known or report["qa"])
    return report
