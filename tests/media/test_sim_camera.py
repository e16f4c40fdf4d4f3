"""The simulated camera: what it draws follows the pose, and its timestamp strip reads back."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from robot.producer.timestamp import stamp
from sim.robot.board import SimMotors, pose_from_state_file
from sim.robot.camera import FloorView
from sim.robot.kinematics import Pose
from sim.robot.world import EMPTY, ROOM, WALL_COLOUR, World
from tests.support.stamps import read_stamp

HEIGHT, WIDTH = 480, 640


def view(pose: Pose, world: World = EMPTY) -> np.ndarray:
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    FloorView(WIDTH, HEIGHT, world).render(image, pose)
    return image


def colour_share(image: np.ndarray, colour: tuple[int, int, int]) -> float:
    return float((np.abs(image.astype(int) - colour).max(axis=2) < 30).mean())


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of pixels that changed visibly."""
    return float((np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 24).mean())


def test_driving_forward_moves_the_floor_and_not_the_horizon() -> None:
    start, ahead = view(Pose()), view(Pose(x=0.2))
    floor = slice(HEIGHT // 2, HEIGHT)
    assert difference(start[floor], ahead[floor]) > 0.05
    assert difference(start[: HEIGHT // 2], ahead[: HEIGHT // 2]) == 0


def test_turning_moves_the_horizon() -> None:
    sky = slice(0, HEIGHT // 2)
    assert difference(view(Pose())[sky], view(Pose(heading=0.3))[sky]) > 0.05


def test_the_wall_ahead_grows_as_the_robot_drives_towards_it() -> None:
    far, near = view(Pose(), ROOM), view(Pose(x=3.4), ROOM)
    assert 0.05 < colour_share(far, WALL_COLOUR) < colour_share(near, WALL_COLOUR)
    assert colour_share(view(Pose(), EMPTY), WALL_COLOUR) == 0


def test_a_box_stands_where_the_world_has_it() -> None:
    box = ROOM.blocks[4]  # ahead on the left of the start
    bearing = math.atan2((box.y0 + box.y1) / 2, (box.x0 + box.x1) / 2)
    facing, away = view(Pose(heading=bearing), ROOM), view(Pose(heading=bearing + math.pi), ROOM)
    assert colour_share(facing, box.colour) > 0.02
    assert colour_share(away, box.colour) == 0


def test_the_landmark_ahead_is_red_and_the_one_behind_blue() -> None:
    ahead, behind = view(Pose()), view(Pose(heading=math.pi))
    assert colour_share(ahead, (220, 40, 40)) > colour_share(behind, (220, 40, 40))
    assert colour_share(behind, (50, 90, 230)) > colour_share(ahead, (50, 90, 230))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=(1 << 44) - 1),
    st.sampled_from([(480, 640), (240, 320), (720, 1280)]),
)
def test_the_timestamp_strip_reads_back(epoch_ms: int, size: tuple[int, int]) -> None:
    image = np.full((*size, 3), 77, np.uint8)
    stamp(image, epoch_ms)
    assert read_stamp(image.mean(axis=2)) == epoch_ms


def test_a_picture_without_a_strip_reads_as_none() -> None:
    assert read_stamp(view(Pose()).mean(axis=2)) is None


def test_the_camera_follows_the_sim_board_through_its_state_file(tmp_path: Path) -> None:
    state = tmp_path / "wheels.json"
    pose = pose_from_state_file(state)
    assert pose(time.monotonic()) == Pose()  # nothing written yet: the start
    board = SimMotors(state_file=str(state))
    board.drive(1.0, 1.0)
    started = time.monotonic()
    later = started + 2.0
    seen = pose(later)
    expected = board.robot.pose(later)
    assert math.isclose(seen.x, expected.x, abs_tol=1e-9) and seen.x > 0.9
    board.drive(-0.05, 0.05)  # spin left, at 0.33 rad/s
    moment = time.monotonic() + 1.0
    assert math.isclose(pose(moment).heading, board.robot.pose(moment).heading, abs_tol=1e-9)
    assert pose(moment).heading > 0.3
    board.close()
