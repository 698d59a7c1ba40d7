from rlbench.backend.task import Task


class CloseJar(Task):
    KIND = 'place'
    VARIATIONS = 20
    DESCRIPTION = 'close the {color} jar'
    OBJECT = 'jar_lid0'
    GOAL = 'jar0'
