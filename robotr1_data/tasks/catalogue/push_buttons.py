"""push_buttons: press 1, 2 or 3 coloured buttons in the named order.

Variation ``i`` colours the three buttons with the ``i // 3``-th ordered triple of RLBench's
colours and asks for the first ``1 + i % 3`` of them in turn (RLBench caps the count at 50).
"""

import itertools
from typing import List

from robotr1_data.tasks import parts
from robotr1_data.tasks.base import Task
from robotr1_data.tasks.conditions import ConditionSet, JointCondition
from robotr1_data.tasks.recipes import press
from robotr1_data.tasks.regions import WORKSPACE

CAP_TOP = 0.056  # cap top above the table (see parts.button)
BUTTONS = [f"push_buttons_target{i}" for i in range(3)]
PERMUTATIONS = list(itertools.permutations(range(len(parts.COLORS)), 3))


class PushButtons(Task):
    @classmethod
    def build(cls, scene):
        for b in BUTTONS:
            parts.button(scene, b)

    def init_task(self):
        self.register_low_dim_bodies([f"{b}_cap" for b in BUTTONS])

    def init_episode(self, index: int) -> List[str]:
        colors = [parts.COLORS[c] for c in PERMUTATIONS[index // 3]]
        count = 1 + index % 3
        for b, (_, rgb) in zip(BUTTONS, colors):
            self.sim.set_color(f"{b}_cap", rgb)
        # Pressed one after another: a button pressed out of turn does not count.
        self.register_success_conditions([ConditionSet(
            [JointCondition(f"{b}_joint", 0.006) for b in BUTTONS[:count]], order_matters=True)])
        points = WORKSPACE.sample(self.rng, 3, min_distance=0.15)
        for b, p in zip(BUTTONS, points):
            self.sim.set_body_pose(b, p)
        self.waypoints = []
        for k, p in enumerate(points[:count]):
            top = p[2] + CAP_TOP
            # The last button stays pressed while success is checked.
            self.waypoints += press((p[0], p[1], top), self.rng.uniform(-0.5, 0.5), approach=0.06,
                                    release=0.04 if k < count - 1 else None, close=k == 0,
                                    prefix=f"button{k}_")
        names = [name for name, _ in colors[:count]]
        pushes = f"push the {names[0]} button"
        presses = f"press the {names[0]} button"
        bases = f"push down the button with the {names[0]} base"
        for name in names[1:]:
            pushes += f", then push the {name} button"
            presses += f", then press the {name} button"
            bases += f", then the {name} one"
        return [pushes, presses, bases]

    def variation_count(self) -> int:
        return min(len(PERMUTATIONS) * 3, 50)

