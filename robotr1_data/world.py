"""The shared world: where its files live and the scene facts named in them.

``assets/world.xml`` is the one place a scene fact is written. The table top and the spawn
areas are named ``<site>``s there; tasks place objects on the table top, the spawn regions
(``tasks/regions.py``) take their boxes from the sites, QA prompts tell the model where the
world origin is. None of them loads MuJoCo for it (the data side and the question builder stay
MuJoCo-free and cheap), so this module reads the sites with ``xml.etree``; ``tests/test_sim.py``
checks every value against the compiled model. ``ROBOTR1_ASSETS=DIR`` swaps in another copy
of the files: the functions below read the file it names at the call (parsed once per file);
the task modules and spawn regions take their values when they are imported, so one process
works in one world (worker processes inherit ``ROBOTR1_ASSETS``).
"""

from __future__ import annotations

import dataclasses
import os
import xml.etree.ElementTree as ET
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Dict, Tuple

Vec3 = Tuple[float, float, float]

# MuJoCo reads files by path (and resolves <include> relative to them), so the assets must be
# real files: true for every way robotr1 installs (a wheel unpacks, editable points here).
ASSETS_DIR = Path(str(resources.files("robotr1_data") / "assets"))
# A directory with its own copy of the XML files (world.xml, panda*.xml) replaces the packaged
# scene (a camera added, a table moved) without editing the package; worker processes inherit it.
ASSETS_ENV = "ROBOTR1_ASSETS"

TABLE_TOP = "table_top"  # the site at the centre of the table's top surface


def assets_dir() -> Path:
    override = os.environ.get(ASSETS_ENV)
    return Path(override) if override else ASSETS_DIR


def asset_path(name: str) -> Path:
    path = assets_dir() / name
    if not path.exists():
        if os.environ.get(ASSETS_ENV):
            from robotr1_data.errors import UsageError
            raise UsageError(f"{ASSETS_ENV}={os.environ[ASSETS_ENV]} has no {name}; copy the "
                             f"packaged assets from {ASSETS_DIR} there, or unset {ASSETS_ENV}")
        raise FileNotFoundError(f"asset {path} is missing from the installed robotr1_data package; "
                                "reinstall robotr1 (pip install --force-reinstall robotr1)")
    return path


@dataclasses.dataclass(frozen=True)
class Site:
    """A named ``<site>`` of the world (world frame, metres); a box site spans low..high."""

    name: str
    pos: Vec3
    size: Vec3   # a box's half-sizes; zeros for any other site type
    low: Vec3
    high: Vec3


# Sites are read only where their world position is their pos: directly in <worldbody>, no
# orientation, no class. Following <include>, <frame> and body offsets would repeat what
# MuJoCo's compiler does; the test against the compiled model keeps this reader honest.
_ORIENTATION = ("quat", "euler", "axisangle", "xyaxes", "zaxis", "childclass", "class")
_SITES: Dict[str, Dict[str, Site]] = {}


def _vec(text: str) -> Tuple[Decimal, Decimal, Decimal]:
    values = [Decimal(v) for v in text.split()]
    return tuple(values + [Decimal(0)] * (3 - len(values)))[:3]


def _parse(path: Path) -> Dict[str, Site]:
    from robotr1_data.errors import UsageError

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise UsageError(f"{path} is not valid XML ({exc}); fix it or unset {ASSETS_ENV}") from None
    sites = {}
    for body in root.iter("worldbody"):
        for el in body.findall("site"):
            name = el.get("name")
            if not name:
                continue
            bad = [a for a in _ORIENTATION if a in el.attrib]
            if bad:
                raise UsageError(f"{path}: site {name!r} has {bad[0]}=; the world's named sites "
                                 "are axis-aligned boxes or points given by pos= and size= only")
            pos = _vec(el.get("pos", "0 0 0"))
            half = _vec(el.get("size", "0 0 0")) if el.get("type") == "box" else (Decimal(0),) * 3
            # Bounds computed in decimal from the file's text and rounded once: they are the
            # numbers a reader computes from the file (0.2 - 0.22 = -0.02, where floats give
            # -0.019999999999999990), so spawn regions keep their exact values.
            sites[name] = Site(
                name, tuple(float(v) for v in pos), tuple(float(v) for v in half),
                tuple(float(p - h) for p, h in zip(pos, half)),
                tuple(float(p + h) for p, h in zip(pos, half)))
    return sites


def world_sites() -> Dict[str, Site]:
    """The named sites directly in ``world.xml``'s ``<worldbody>``, by name (read once per file)."""
    key = str(asset_path("world.xml"))
    if key not in _SITES:
        _SITES[key] = _parse(Path(key))
    return dict(_SITES[key])


def site(name: str) -> Site:
    found = world_sites()
    if name not in found:
        from robotr1_data.errors import UsageError
        raise UsageError(f"{asset_path('world.xml')} has no <site name=\"{name}\"> directly in "
                         f"<worldbody>; put it back (the packaged {ASSETS_DIR / 'world.xml'} has it)")
    return found[name]


def table_top_z() -> float:
    """Height of the table's top surface, metres (the ``table_top`` site)."""
    return site(TABLE_TOP).pos[2]


def table_center() -> Vec3:
    """Centre of the table's top surface: Robot-R1's world origin (the ``table_top`` site)."""
    return site(TABLE_TOP).pos


def __getattr__(name: str):
    # TABLE_TOP_Z and TABLE_CENTER read like constants, but come from the world file when first
    # used, so importing this module reads nothing.
    if name == "TABLE_TOP_Z":
        return table_top_z()
    if name == "TABLE_CENTER":
        return table_center()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
