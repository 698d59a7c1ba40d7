"""Where the MJCF assets live: ``robotr1_data/assets/`` inside the package (``package_data``), so
a wheel or an sdist carries them and an installed copy finds them wherever it runs from."""

from importlib import resources
from pathlib import Path

# MuJoCo reads files by path (and resolves <include> relative to them), so the assets must be
# real files: true for every way robotr1 installs (a wheel unpacks, editable points here).
ASSETS_DIR = Path(str(resources.files("robotr1_data") / "assets"))


def asset_path(name: str) -> Path:
    path = ASSETS_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"asset {path} is missing from the installed robotr1_data package; "
                                "reinstall robotr1 (pip install --force-reinstall robotr1)")
    return path
