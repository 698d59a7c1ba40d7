from rlbench.backend.task import Task


class PutRubbishInBin(Task):
    KIND = 'place'
    VARIATIONS = 1
    DESCRIPTION = 'put rubbish in bin'
    OBJECT = 'rubbish'
    GOAL = 'bin'
