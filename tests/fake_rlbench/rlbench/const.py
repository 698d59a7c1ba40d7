from pyrep.robots.arms.panda import Panda
from pyrep.robots.end_effectors.panda_gripper import PandaGripper

SUPPORTED_ROBOTS = {
    'panda': (Panda, PandaGripper, 7),
}
