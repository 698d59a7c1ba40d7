"""Where the MJCF assets live: ``robotr1_data/assets/`` inside the package (``package_data``), so
a wheel or an sdist carries them and an installed copy finds them wherever it runs from."""

import os
from importlib import resources
from pathlib import Path

# MuJoCo reads files by path (and resolves <include> relative to them), so the assets must be
# real files: true for every way robotr1 installs (a wheel unpacks, editable points here).
ASSETS_DIR = Path(str(resources.files("robotr1_data") / "assets"))
# A directory with its own copy of the XML files (world.xml, panda*.xml) replaces the packaged
# scene (a camera added, a table moved) without editing the package; worker processes inherit it.
ASSETS_ENV = "ROBOTR1_ASSETS"


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
