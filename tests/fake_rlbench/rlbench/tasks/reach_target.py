from rlbench.backend.task import Task


class ReachTarget(Task):
    KIND = 'reach'
    VARIATIONS = 20
    DESCRIPTION = 'reach the {color} target'
    OBJECT = 'target'
    GOAL = 'distractor_base'
