from rlbench.backend.task import Task


class PushButton(Task):
    KIND = 'push'
    VARIATIONS = 18
    DESCRIPTION = 'push the {color} button'
    OBJECT = 'push_button_target'
    GOAL = 'button_base'
