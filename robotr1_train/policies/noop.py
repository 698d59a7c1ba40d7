"""``noop``: stay where you are. Its success rate is the floor (a task solved by doing nothing
is a broken task)."""

from __future__ import annotations

from robotr1_train.policies.base import KeypointTarget, Observation, Policy


class NoopPolicy(Policy):
    name = "noop"

    def predict(self, obs: Observation) -> KeypointTarget:
        return KeypointTarget(obs.state, obs.gripper_open, hold=True)
