"""Task names: ours (snake_case, as RLBench's task files) to RLBench's task classes.

Three spellings are accepted for ``--tasks`` with ``--backend rlbench``:

* one of our built-in names (``pick_up_cup``), mapped through ``BUILTIN_TO_RLBENCH``;
* an RLBench task file name (``close_jar``), which RLBench itself resolves with
  ``rlbench.utils.name_to_task_class`` (file ``rlbench/tasks/close_jar.py``, class ``CloseJar``);
* an RLBench task class name (``CloseJar``), looked up in ``rlbench.tasks``.

Our built-in tasks were written after RLBench's, under the same names, so the table is mostly
the snake_case -> CamelCase rule spelled out; it is explicit so a reader sees which of our tasks
have an RLBench twin, and so a future rename on either side is one line here.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Dict, List

from robotr1_data.errors import UsageError, did_you_mean

# Our built-in task name -> RLBench task class name (rlbench/tasks/<file>.py defines <Class>).
BUILTIN_TO_RLBENCH: Dict[str, str] = {
    "reach_target": "ReachTarget",
    "push_button": "PushButton",
    "push_buttons": "PushButtons",
    "pick_up_cup": "PickUpCup",
    "pick_and_lift": "PickAndLift",
    "put_rubbish_in_bin": "PutRubbishInBin",
    "phone_on_base": "PhoneOnBase",
    "take_lid_off_saucepan": "TakeLidOffSaucepan",
    "open_drawer": "OpenDrawer",
    "close_drawer": "CloseDrawer",
    "stack_blocks": "StackBlocks",
    "slide_block_to_color_target": "SlideBlockToColorTarget",
    "open_jar": "OpenJar",
    "close_jar": "CloseJar",
    "turn_tap": "TurnTap",
    "meat_off_grill": "MeatOffGrill",
    "put_item_in_drawer": "PutItemInDrawer",
    "stack_cups": "StackCups",
    "place_cups": "PlaceCups",
    "put_groceries_in_cupboard": "PutGroceriesInCupboard",
    "light_bulb_in": "LightBulbIn",
    "insert_onto_square_peg": "InsertOntoSquarePeg",
    "sweep_to_dustpan": "SweepToDustpan",
    "place_shape_in_shape_sorter": "PlaceShapeInShapeSorter",
    "put_money_in_safe": "PutMoneyInSafe",
    "place_wine_at_rack_location": "PlaceWineAtRackLocation",
}


def class_to_file(class_name: str) -> str:
    """``PickUpCup`` -> ``pick_up_cup`` (the inverse of RLBench's file -> class rule)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def file_to_class(file_name: str) -> str:
    """RLBench's rule: ``pick_up_cup`` -> ``PickUpCup`` (each word's first letter upper-cased)."""
    return "".join(w[:1].upper() + w[1:] for w in file_name.replace(".py", "").split("_") if w)


def rlbench_class_name(name: str) -> str:
    """The RLBench class name for any accepted spelling (no import, no check that it exists)."""
    if name in BUILTIN_TO_RLBENCH:
        return BUILTIN_TO_RLBENCH[name]
    if name[:1].isupper():
        return name
    return file_to_class(name)


def available_rlbench_tasks() -> List[str]:
    """RLBench's task file names (``rlbench/tasks/*.py``) in the installed package."""
    try:
        pkg = importlib.import_module("rlbench.tasks")
    except ImportError:
        return []
    return sorted(m.name for m in pkgutil.iter_modules(getattr(pkg, "__path__", []))
                  if not m.name.startswith("_"))


def _unknown(name: str) -> UsageError:
    choices = available_rlbench_tasks()
    hint = did_you_mean(name, sorted(set(choices) | set(BUILTIN_TO_RLBENCH)))
    listing = (f"; RLBench here has {len(choices)} tasks, e.g. {', '.join(choices[:6])}"
               if choices else "")
    return UsageError(f"unknown RLBench task '{name}'{hint} (give an RLBench task file name such "
                      f"as 'pick_up_cup', its class name 'PickUpCup', or one of our built-in "
                      f"names{listing})")


def resolve_task_class(name: str):
    """The RLBench ``Task`` subclass for ``name``; UsageError (with a suggestion) if unknown."""
    class_name = rlbench_class_name(name)
    file_name = class_to_file(class_name)
    try:
        from rlbench.utils import name_to_task_class
    except ImportError:
        name_to_task_class = None
    if name_to_task_class is not None:
        try:
            return name_to_task_class(file_name)
        except Exception:  # rlbench.utils.InvalidTaskName; fall through to the package scan
            pass
    try:
        tasks = importlib.import_module("rlbench.tasks")
    except ImportError as exc:
        raise _unknown(name) from exc
    cls = getattr(tasks, class_name, None)
    if cls is None:
        raise _unknown(name)
    return cls
