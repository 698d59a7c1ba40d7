from rlbench.backend.task import Task


class OpenDrawer(Task):
    KIND = 'place'
    VARIATIONS = 3
    DESCRIPTION = 'open the drawer'
    OBJECT = 'drawer_handle'
    GOAL = 'drawer_frame'
