"""Fake Scene: observations, resets and planner demos as RLBench's Scene does them."""

from typing import Callable, List

import numpy as np
from pyrep.errors import ConfigurationPathError
from pyrep.objects import Dummy
from pyrep.objects.object import Object
from pyrep.objects.shape import Shape
from pyrep.objects.vision_sensor import VisionSensor, look_at

from rlbench.backend.exceptions import BoundaryError, DemoError, NoWaypointsError, WaypointError
from rlbench.backend.observation import Observation
from rlbench.backend.utils import rgb_handles_to_mask
from rlbench.demo import Demo
from rlbench.observation_config import ObservationConfig

STEPS_BEFORE_EPISODE_START = 10

# camera name -> (sensor name, eye, look-at target); the wrist camera follows the tip.
_CAMERAS = {
    'left_shoulder': ('cam_over_shoulder_left', (-0.25, 0.45, 1.55), (0.25, 0.0, 0.75)),
    'right_shoulder': ('cam_over_shoulder_right', (-0.25, -0.45, 1.55), (0.25, 0.0, 0.75)),
    'overhead': ('cam_overhead', (0.25, 0.0, 2.1), (0.25, 0.0, 0.75)),
    'wrist': ('cam_wrist', None, None),
    'front': ('cam_front', (1.35, 0.0, 1.58), (0.25, 0.0, 0.752)),
}


class Scene(object):

    def __init__(self, pyrep, robot, obs_config: ObservationConfig = ObservationConfig(),
                 robot_setup: str = 'panda'):
        self.pyrep = pyrep
        self.robot = robot
        self.robot_setup = robot_setup
        self.task = None
        self._obs_config = obs_config
        self._start_arm_joint_pos = robot.arm.get_joint_positions()
        self._starting_gripper_joint_pos = robot.gripper.get_joint_positions()
        self._workspace = Shape('workspace')
        self._workspace.set_position([0.25, 0.0, 0.752])
        self._table = Shape('diningTable_visible')
        x, y, z = self._workspace.get_position()
        minx, maxx, miny, maxy = -0.35, 0.35, -0.45, 0.45
        self._workspace_minx = x - np.fabs(minx) - 0.2
        self._workspace_maxx = x + maxx + 0.2
        self._workspace_miny = y - np.fabs(miny) - 0.2
        self._workspace_maxy = y + maxy + 0.2
        self._workspace_minz = z
        self._workspace_maxz = z + 1.0
        self.target_workspace_check = Dummy.create()
        self._has_init_task = self._has_init_episode = False
        self._variation_index = 0
        self._attempts = 0
        self._joint_position_action = None
        self._step_callback = None
        self._cams, self._mask_cams = {}, {}
        for cam, (sensor, eye, target) in _CAMERAS.items():
            rgb_cam, mask_cam = VisionSensor(sensor), VisionSensor(sensor + '_mask')
            mask_cam.coded = True
            for c in (rgb_cam, mask_cam):
                c.table_handle = self._table.get_handle()
                c.scene_shapes = self._shapes_for(cam)
                if eye is not None:
                    c.pose = look_at(eye, target)
            self._cams[cam], self._mask_cams[cam] = rgb_cam, mask_cam
        self._set_camera_properties()
        pyrep.register_step_callback(self.robot.arm._after_step)

    def _shapes_for(self, cam):
        def shapes():
            out = []
            if self.task is not None:
                for s in (self.task.obj, self.task.distractor, self.task.goal):
                    out.append((s.get_handle(), s.get_position(), s.radius, s.color))
            if cam != 'wrist':
                out.append((self.robot.gripper.get_handle(),
                            self.robot.arm.get_tip().get_position() + [0, 0, 0.05], 0.04,
                            np.array([0.9, 0.9, 0.9])))
            return out
        return shapes

    def _update_wrist(self):
        tip = self.robot.arm.get_tip().get_position()
        pose = look_at(tip + [0.0, 0.0, 0.08], tip - [0.0, 0.0, 0.3], up=(1.0, 0.0, 0.0))
        for c in (self._cams['wrist'], self._mask_cams['wrist']):
            c.pose = pose

    def load(self, task) -> None:
        task.load()
        self.task = task
        self._has_init_task = self._has_init_episode = False
        self._variation_index = 0

    def unload(self) -> None:
        if self.task is not None:
            self.robot.gripper.release()
            if self._has_init_task:
                self.task.cleanup_()
            self.task.unload()
        self.task = None
        self._variation_index = 0

    def init_task(self) -> None:
        self.task.init_task()
        self._has_init_task = True
        self._variation_index = 0

    def init_episode(self, index: int, randomly_place: bool = True, max_attempts: int = 5,
                     place_demo: bool = False) -> List[str]:
        self._variation_index = index
        if not self._has_init_task:
            self.init_task()
        self._attempts = 0
        descriptions = None
        while self._attempts < max_attempts:
            descriptions = self.task.init_episode(index)
            try:
                self.task.validate()
                break
            except (BoundaryError, WaypointError) as e:
                self.task.cleanup_()
                self._attempts += 1
                if self._attempts >= max_attempts:
                    raise e
        [self.pyrep.step() for _ in range(STEPS_BEFORE_EPISODE_START)]
        self._has_init_episode = True
        return descriptions

    def reset(self) -> None:
        self.robot.gripper.release()
        self.robot.arm.set_joint_positions(self._start_arm_joint_pos, disable_dynamics=True)
        self.robot.gripper.set_joint_positions(self._starting_gripper_joint_pos,
                                               disable_dynamics=True)
        if self.task is not None and self._has_init_task:
            self.task.cleanup_()
        self.task.set_initial_objects_in_scene()

    def get_observation(self) -> Observation:
        tip = self.robot.arm.get_tip()
        self._update_wrist()
        oc = self._obs_config
        views = {}
        for cam in _CAMERAS:
            conf = getattr(oc, cam + '_camera')
            sensor = self._cams[cam]
            rgb = depth = pcd = mask = None
            if sensor.still_exists() and (conf.rgb or conf.depth or conf.point_cloud):
                if conf.rgb:
                    rgb = conf.rgb_noise.apply(sensor.capture_rgb())
                    rgb = np.clip((rgb * 255.).astype(np.uint8), 0, 255)
                if conf.depth or conf.point_cloud:
                    depth = conf.depth_noise.apply(sensor.capture_depth(conf.depth_in_meters))
                if conf.point_cloud:
                    depth_m = depth
                    if not conf.depth_in_meters:
                        near, far = sensor.get_near_clipping_plane(), sensor.get_far_clipping_plane()
                        depth_m = near + depth * (far - near)
                    pcd = sensor.pointcloud_from_depth(depth_m)
                    if not conf.depth:
                        depth = None
            if conf.mask and self._mask_cams[cam].still_exists():
                coded = self._mask_cams[cam].capture_rgb()
                mask = rgb_handles_to_mask(coded) if conf.masks_as_one_channel else coded
            views[cam] = (rgb, depth, mask, pcd)
        kwargs = {}
        for cam, (rgb, depth, mask, pcd) in views.items():
            kwargs.update({cam + '_rgb': rgb, cam + '_depth': depth, cam + '_mask': mask,
                           cam + '_point_cloud': pcd})
        obs = Observation(
            joint_velocities=(np.array(self.robot.arm.get_joint_velocities())
                              if oc.joint_velocities else None),
            joint_positions=(np.array(self.robot.arm.get_joint_positions())
                             if oc.joint_positions else None),
            joint_forces=np.array(self.robot.arm.get_joint_forces()) if oc.joint_forces else None,
            gripper_open=((1.0 if self.robot.gripper.get_open_amount()[0] > 0.9 else 0.0)
                          if oc.gripper_open else None),
            gripper_pose=np.array(tip.get_pose()) if oc.gripper_pose else None,
            gripper_matrix=tip.get_matrix() if oc.gripper_matrix else None,
            gripper_touch_forces=(np.array(self.robot.gripper.get_touch_sensor_forces()).ravel()
                                  if oc.gripper_touch_forces else None),
            gripper_joint_positions=(np.array(self.robot.gripper.get_joint_positions())
                                     if oc.gripper_joint_positions else None),
            task_low_dim_state=(self.task.get_low_dim_state()
                                if oc.task_low_dim_state else None),
            ignore_collisions=np.array(0.0),  # the fake's planner never ignores collisions
            misc=self._get_misc(), **kwargs)
        return self.task.decorate_observation(obs)

    def step(self):
        self.pyrep.step()
        self.task.step()
        if self._step_callback is not None:
            self._step_callback()

    def register_step_callback(self, func):
        self._step_callback = func

    def _actuate(self, gripper_open, demo, record, callable_each_step, path):
        done = False
        while not done:
            done = self.robot.gripper.actuate(gripper_open, 0.04)
            self.step()
            self._joint_position_action = np.append(
                path.get_executed_joint_position_action(), gripper_open)
            if self._obs_config.record_gripper_closing:
                self._demo_record_step(demo, record, callable_each_step)

    def get_demo(self, record: bool = True,
                 callable_each_step: Callable[[Observation], None] = None,
                 randomly_place: bool = True) -> Demo:
        if not self._has_init_task:
            self.init_task()
        if not self._has_init_episode:
            self.init_episode(self._variation_index, randomly_place=randomly_place)
        self._has_init_episode = False
        waypoints = self.task.get_waypoints()
        if len(waypoints) == 0:
            raise NoWaypointsError('No waypoints were found.', self.task)
        demo = []
        gripper_open = 1.0
        if record:
            self.pyrep.step()
            self._joint_position_action = None
            demo.append(self.get_observation())
        success = False
        path = None
        for i, point in enumerate(waypoints):
            try:
                path = self.robot.arm.get_path(point.position,
                                               quaternion=self.robot.arm.get_tip().get_quaternion())
            except ConfigurationPathError as e:
                raise DemoError('Could not get a path for waypoint %d.' % i, self.task) from e
            ext = point.get_ext()
            done = False
            while not done:
                done = path.step()
                self.step()
                self._joint_position_action = np.append(
                    path.get_executed_joint_position_action(), gripper_open)
                self._demo_record_step(demo, record, callable_each_step)
                success, term = self.task.success()
            if len(ext) > 0:
                if 'open_gripper(' in ext:
                    self.robot.gripper.release()
                    gripper_open = 1.0
                    self._actuate(gripper_open, demo, record, callable_each_step, path)
                elif 'close_gripper(' in ext:
                    gripper_open = 0.0
                    self._actuate(gripper_open, demo, record, callable_each_step, path)
                    for g_obj in self.task.get_graspable_objects():
                        self.robot.gripper.grasp(g_obj)
                self._demo_record_step(demo, record, callable_each_step)
        if not success:
            for _ in range(10):
                self.step()
                self._joint_position_action = np.append(
                    path.get_executed_joint_position_action(), gripper_open)
                self._demo_record_step(demo, record, callable_each_step)
                success, term = self.task.success()
                if success:
                    break
        success, term = self.task.success()
        if not success:
            raise DemoError('Demo was completed, but was not successful.', self.task)
        processed_demo = Demo(demo)
        processed_demo.num_reset_attempts = self._attempts + 1
        return processed_demo

    def get_observation_config(self) -> ObservationConfig:
        return self._obs_config

    def check_target_in_workspace(self, target_pos: np.ndarray) -> bool:
        x, y, z = target_pos
        return (self._workspace_maxx > x > self._workspace_minx and
                self._workspace_maxy > y > self._workspace_miny and
                self._workspace_maxz > z > self._workspace_minz)

    def _demo_record_step(self, demo_list, record, func):
        if record:
            demo_list.append(self.get_observation())
        if func is not None:
            func(self.get_observation())

    def _set_camera_properties(self) -> None:
        for cam in _CAMERAS:
            conf = getattr(self._obs_config, cam + '_camera')
            rgb_cam, mask_cam = self._cams[cam], self._mask_cams[cam]
            if not (conf.rgb or conf.depth or conf.point_cloud):
                rgb_cam.remove()
            else:
                rgb_cam.set_explicit_handling(1)
                rgb_cam.set_resolution(conf.image_size)
                rgb_cam.set_render_mode(conf.render_mode)
            if not conf.mask:
                mask_cam.remove()
            else:
                mask_cam.set_explicit_handling(1)
                mask_cam.set_resolution(conf.image_size)

    def _get_misc(self):
        misc = {}
        for cam in ('left_shoulder', 'right_shoulder', 'overhead', 'front', 'wrist'):
            sensor, name = self._cams[cam], cam + '_camera'
            if sensor.still_exists():
                misc.update({
                    '%s_extrinsics' % name: sensor.get_matrix(),
                    '%s_intrinsics' % name: sensor.get_intrinsic_matrix(),
                    '%s_near' % name: sensor.get_near_clipping_plane(),
                    '%s_far' % name: sensor.get_far_clipping_plane(),
                })
        misc.update({'variation_index': self._variation_index})
        if self._joint_position_action is not None:
            misc.update({'joint_position_action': self._joint_position_action})
        misc.update({'joint_poses': [j.get_pose() for j in self.robot.arm.joints]})
        return misc
