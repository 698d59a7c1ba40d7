from rlbench.backend.task import Task


class TakeLidOffSaucepan(Task):
    KIND = 'pick'
    VARIATIONS = 1
    DESCRIPTION = 'take the lid off the saucepan'
    OBJECT = 'saucepan_lid_grasp_point'
    GOAL = 'saucepan'
