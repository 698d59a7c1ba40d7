from rlbench.backend.task import Task


class PickUpCup(Task):
    KIND = 'pick'
    VARIATIONS = 20
    DESCRIPTION = 'pick up the {color} cup'
    OBJECT = 'cup1'
    GOAL = 'success'
