from rlbench.backend.task import Task


class PhoneOnBase(Task):
    KIND = 'place'
    VARIATIONS = 1
    DESCRIPTION = 'put the phone on the base'
    OBJECT = 'phone'
    GOAL = 'phone_base'
