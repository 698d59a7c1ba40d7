class Robot(object):
    """Simple container for the robot components."""

    def __init__(self, arm, gripper):
        self.arm = arm
        self.gripper = gripper
        gripper._arm = arm  # fake only: lets grasp() test proximity to the tip
