"""Keypoint discovery on hand-made sequences, plus a randomized check against upstream's shape.

Expected values are worked out by hand from the ARM/PerAct rule stated in robotr1_data/keypoints.py; the comments show the work.
"""

import numpy as np
import pytest

from robotr1_data.errors import UsageError
from robotr1_data.keypoints import discover_keypoints, next_keypoint

MOVING = 1.0  # a joint velocity well above the 0.1 stopping delta


def demo(T, still=(), closed=()):
    """(velocities, gripper_open) with the given frames still (v = 0) and gripper closed."""
    vel = np.full((T, 7), MOVING)
    vel[list(still)] = 0.0
    g = np.ones(T)
    g[list(closed)] = 0.0
    return vel, g


def kp(T, **kw):
    return discover_keypoints(*demo(T, **kw)).tolist()


def test_moving_demo_has_only_the_last_frame():
    assert kp(10) == [9]


def test_returns_int64_array():
    out = discover_keypoints(*demo(10))
    assert out.dtype == np.int64 and out.ndim == 1


def test_gripper_change_is_a_keypoint():
    # closes at frame 4 (1 -> 0) and reopens at frame 7 (0 -> 1)
    assert kp(12, closed=range(4, 7)) == [4, 7, 11]


def test_stop_countdown_gives_one_keypoint_every_five_frames():
    # still frames 5..14: 5 stops (countdown was negative), countdown 4,3,2,1,0 over 6..9,
    # 10 stops again, 11..14 count down to 0, 15 moves. Then the last frame.
    assert kp(20, still=range(5, 15)) == [5, 10, 19]
    # one more still frame and the countdown has run out at 15
    assert kp(20, still=range(5, 16)) == [5, 10, 15, 19]


def test_frame_zero_stop_consumes_the_countdown_but_is_not_a_keypoint():
    # all still: 0 "stops" (not a keypoint: i == 0), countdown blocks 1..4, 5 stops,
    # 6..9 blocked; 8 and 9 could not stop anyway (second-to-last, i < N-2). Last = 9.
    assert kp(10, still=range(10)) == [5, 9]


def test_i_minus_one_wraps_to_the_end_at_frame_zero():
    # Gripper closes only on the last frame. Upstream reads demo[i-1], demo[i-2] with Python
    # indexing, so frame 0 compares with frame 9 (closed) and frame 1 with frame 9 via i-2:
    # neither stops. Frame 2 is the first stop, then 7; 9 is a gripper change and the end.
    # Without the wrap frame 0 would stop and the answer would be [5, 9].
    assert kp(10, still=range(10), closed=[9]) == [2, 7, 9]


def test_gripper_state_must_be_steady_around_a_stop():
    # Still everywhere, gripper closed from frame 10 to the end. Frames 0 and 1 cannot stop:
    # their i-1 / i-2 wrap to the (closed) last frame. 2 stops, 7 stops; the countdown runs out
    # at 11, but 11 is blocked because frames i-2 (9, open) and i-1 (10, closed) differ.
    # 10 is a keypoint as a gripper change; 12 stops, 17 stops, 18 is second-to-last, 19 last.
    T = 20
    vel, g = demo(T, still=range(T), closed=range(10, T))
    assert discover_keypoints(vel, g).tolist() == [2, 7, 10, 12, 17, 19]


def test_second_to_last_frame_never_stops():
    # only frame 8 (of 10) is still: it is second-to-last, so not a stop
    assert kp(10, still=[8]) == [9]
    # frame 7 still: 7 < N-2 = 8, so it stops and is kept (not adjacent to 9)
    assert kp(10, still=[7]) == [7, 9]


def test_adjacent_last_two_keypoints_drop_the_second_to_last():
    # gripper changes at frame 8, the end is 9: [8, 9] are adjacent -> keep only 9
    assert kp(10, closed=[8, 9]) == [9]
    # a change on the last frame itself is just the last keypoint
    assert kp(10, closed=[9]) == [9]
    # only the final pair is pruned: 3 and 4 are adjacent earlier on and both stay
    assert kp(10, closed=[3]) == [3, 4, 9]


def test_stopping_delta_is_inclusive():
    vel, g = demo(10)
    vel[5] = 0.1  # |v| <= delta counts as still (np.allclose semantics)
    assert discover_keypoints(vel, g, stopping_delta=0.1).tolist() == [5, 9]
    assert discover_keypoints(vel, g, stopping_delta=0.05).tolist() == [9]


def test_one_fast_joint_means_moving():
    vel, g = demo(10, still=[5])
    vel[5, 6] = 0.5
    assert discover_keypoints(vel, g).tolist() == [9]


@pytest.mark.parametrize("T,expected", [(0, []), (1, []), (2, [1]), (3, [2])])
def test_short_sequences(T, expected):
    assert kp(T, still=range(T)) == expected


def test_gripper_open_as_column_vector():
    vel, g = demo(12, closed=range(4, 7))
    assert discover_keypoints(vel, g[:, None]).tolist() == [4, 7, 11]


def test_mismatched_lengths_are_a_usage_error():
    with pytest.raises(UsageError, match="same episode"):
        discover_keypoints(np.zeros((5, 7)), np.ones(6))


# -- an independent, literal transcription of the upstream loop over observation objects ----
class _Obs:
    def __init__(self, v, g):
        self.joint_velocities, self.gripper_open = v, g


def _upstream(demo_, delta=0.1):
    def is_stopped(i, obs, buf):
        next_is_not_final = i == (len(demo_) - 2)
        no_change = (i < (len(demo_) - 2) and
                     (obs.gripper_open == demo_[i + 1].gripper_open and
                      obs.gripper_open == demo_[i - 1].gripper_open and
                      demo_[i - 2].gripper_open == demo_[i - 1].gripper_open))
        small = np.allclose(obs.joint_velocities, 0, atol=delta)
        return buf <= 0 and small and (not next_is_not_final) and no_change

    kps, prev, buf = [], demo_[0].gripper_open, 0
    for i, obs in enumerate(demo_):
        stopped = is_stopped(i, obs, buf)
        buf = 4 if stopped else buf - 1
        if i != 0 and (obs.gripper_open != prev or i == len(demo_) - 1 or stopped):
            kps.append(i)
        prev = obs.gripper_open
    if len(kps) > 1 and kps[-1] - 1 == kps[-2]:
        kps.pop(-2)
    return kps


def test_matches_upstream_on_random_demos():
    rng = np.random.default_rng(0)
    for _ in range(300):
        T = int(rng.integers(2, 40))
        # runs of stillness and of gripper states, so stops and changes interact
        still = np.repeat(rng.random(T) < 0.5, 1)[np.cumsum(rng.random(T) < 0.3) % T]
        vel = np.where(still[:, None], rng.uniform(-0.1, 0.1, (T, 7)), rng.uniform(-1, 1, (T, 7)))
        g = (np.cumsum(rng.random(T) < 0.15) % 2 == 0).astype(float)
        ours = discover_keypoints(vel, g).tolist()
        assert ours == _upstream([_Obs(v, x) for v, x in zip(vel, g)]), (vel, g)


def test_next_keypoint_is_strictly_after():
    kps = np.array([5, 10, 19])
    assert next_keypoint(kps, -1) == 5
    assert next_keypoint(kps, 0) == 5
    assert next_keypoint(kps, 5) == 10  # at a keypoint, the next one is the target
    assert next_keypoint(kps, 18) == 19
    assert next_keypoint(kps, 19) is None
    assert next_keypoint([], 0) is None
    assert isinstance(next_keypoint([3], 0), int)
