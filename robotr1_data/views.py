"""The views a recording renders, declared once: ``generate`` records with them and ``render``
re-renders stored states with them, so both take the same flags, YAML keys and stored keys
(``cameras``, ``image_size``, ``rgb``, ``depth``, ``mask``, ``render_quality``,
``tessellation``)."""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Tuple

from robotr1_data.config import opt
from robotr1_data.episode import CAMERAS, cameras_arg
from robotr1_data.errors import UsageError

# MuJoCo's own (slices, stacks) for its built-in shapes, the world file's; the bounds keep a
# typo (--tessellation 8 400000) from building display lists of absurd size.
MODEL_TESSELLATION = (28, 16)
TESSELLATION_MIN = (3, 2)
TESSELLATION_MAX = 256


@dataclasses.dataclass
class ViewConfig:
    """Shared by ``GenerateConfig`` and ``RenderConfig`` as their base class. Each subclass
    shows these flags after its field named by ``inherited_after`` (``robotr1_data.config``):
    dataclasses put a base class's fields first, and ``--help`` reads better task-first."""

    cameras: List[str] = opt(help=f"any of {' '.join(CAMERAS)}, 'all' or 'none'",
                             default_factory=lambda: list(CAMERAS), nargs="*", metavar="CAM",
                             parse=cameras_arg)
    image_size: Tuple[int, int] = opt((128, 128), "image height and width, 16..1024 pixels",
                                      metavar=("H", "W"))
    rgb: bool = opt(True, "skip the colour images")
    depth: bool = opt(True, "skip the depth images")
    mask: bool = opt(True, "skip the segmentation masks")
    render_quality: bool = opt(False, "shadows, reflections and multisampling on (~12x slower on "
                                      "CPU, docs/benchmarks.md)")
    tessellation: Optional[Tuple[int, int]] = opt(
        None, "trade exactness for speed: draw MuJoCo's spheres, capsules and cylinders with "
              "SLICES x STACKS segments instead of the model's 28 x 16 (default: the model's, "
              "exact). 8 4: five cameras RGB+depth+mask at 128x128 record at ~17.5 instead of ~31.9 "
              "ms per control step, images change by ~1.2/255 levels on average and ~0.5% of "
              "mask pixels (docs/benchmarks.md); stored with the shard's settings",
        metavar=("SLICES", "STACKS"))

    def view_settings(self) -> dict:
        """The view fields as stored with a shard's settings. ``tessellation`` only when set,
        so a default recording's settings, and so its bytes, are those written before the
        field existed (and its older shards still resume)."""
        out = {"cameras": list(self.cameras), "image_size": list(self.image_size),
               "rgb": self.rgb, "depth": self.depth, "mask": self.mask,
               "render_quality": self.render_quality}
        if self.tessellation is not None:
            out["tessellation"] = list(self.tessellation)
        return out

    def validate_views(self) -> None:
        check_tessellation(self.tessellation)


def check_tessellation(t: Optional[Tuple[int, int]]) -> None:
    """``UsageError`` unless ``t`` is None or (SLICES, STACKS) within the bounds above; the
    config's validation and ``CameraRig`` both ask this."""
    if t is None:
        return
    if (len(t) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in t)
            or t[0] < TESSELLATION_MIN[0] or t[1] < TESSELLATION_MIN[1]
            or max(t) > TESSELLATION_MAX):
        got = " ".join(map(str, t))
        raise UsageError(f"--tessellation {got}: needs SLICES >= {TESSELLATION_MIN[0]} and "
                         f"STACKS >= {TESSELLATION_MIN[1]}, both <= {TESSELLATION_MAX}, e.g. "
                         "--tessellation 8 4 (leave it out for the model's exact "
                         f"{MODEL_TESSELLATION[0]} {MODEL_TESSELLATION[1]})")


def check_tessellation_backend(t: Optional[Tuple[int, int]], backend) -> None:
    """``UsageError`` when ``t`` is set for a backend that does not draw with MuJoCo (its
    ``needs_gl`` is false): generate's and eval-sim's check."""
    if t is not None and not backend.needs_gl:
        raise UsageError(f"--tessellation draws MuJoCo's shapes coarser; the {backend.name} "
                         "backend renders with its own simulator: drop --tessellation")
