"""Where the MJCF assets live (``assets/`` at the repository root, shipped with the package)."""

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"


def asset_path(name: str) -> Path:
    path = ASSETS_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"asset {path} is missing; reinstall robotr1 with `pip install -e .` "
                                f"from a full checkout")
    return path
