from rlbench.backend.task import Task


class StackBlocks(Task):
    KIND = 'place'
    VARIATIONS = 60
    DESCRIPTION = 'stack blocks of {color}'
    OBJECT = 'stack_blocks_target0'
    GOAL = 'stack_blocks_target_plane'
