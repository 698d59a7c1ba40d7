"""The views a recording renders, declared once: ``generate`` records with them and ``render``
re-renders stored states with them, so both take the same flags, YAML keys and stored keys
(``cameras``, ``image_size``, ``rgb``, ``depth``, ``mask``, ``render_quality``)."""

from __future__ import annotations

import dataclasses
from typing import List, Tuple

from robotr1_data.config import opt
from robotr1_data.episode import CAMERAS, cameras_arg


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
