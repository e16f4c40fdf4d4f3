"""The simulated robot's camera: the view from the simulated pose, rendered with numpy.

A camera 12 cm above a floor of 0.5 m tiles with grid lines, four coloured landmark squares
around the start (red ahead, green to the left, blue behind, yellow to the right) and a
horizon striped every 30 degrees of bearing (red stripe: bearing 0), so driving and turning
visibly move the picture; the walls and boxes of the sim board's world (sim/robot/world.py)
stand on the floor, shaded by the side they show and fogged by distance. Every frame carries
its render time in the timestamp strip (``robot.producer.timestamp``).

The pose comes from the sim board's state file (the camera runs in the producer's process,
the board in the daemon's): the board writes its pose, wheel outputs and the (system-wide
monotonic) time of every change there, and the camera carries the motion on to the present.
Registered as the camera source ``sim`` (entry point group ``telepresence_robot.cameras``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from robot.producer.frames import RenderedTrack
from sim.robot.board import pose_from_state_file
from sim.robot.kinematics import Pose
from sim.robot.world import WORLDS, World

CAMERA_HEIGHT_M = 0.12
FIELD_OF_VIEW_DEG = 62.0  # horizontal, as the Raspberry Pi camera v2
TILE_M = 0.5
FAR_M = 25.0
LANDMARKS = {  # tile (i, j) -> colour: squares one and a half to two metres out
    (3, 0): (220, 40, 40),
    (0, 3): (40, 200, 60),
    (-4, 0): (50, 90, 230),
    (0, -4): (235, 210, 40),
}
# Floor colours by index: two tile greys, the grid lines, then the landmarks in order.
PALETTE = np.array(
    [(110, 110, 110), (150, 150, 150), (235, 235, 235), *LANDMARKS.values()], np.float32
)
GRID_INDEX = 2
SKY = np.array([150, 190, 235], np.float32)
LINE_HALF_WIDTH = 0.04  # of a tile


class FloorView:
    """Renders the view for a pose; the per-pixel geometry is computed once per size.

    Distance depends only on the row, so the fog is folded into one palette per row; a
    frame is then a few whole-array operations and one palette lookup.
    """

    def __init__(self, width: int, height: int, world: World = WORLDS["room"]) -> None:
        self.width, self.height = width, height
        self.world = world
        focal = (width / 2) / math.tan(math.radians(FIELD_OF_VIEW_DEG / 2))
        self.focal = focal
        self.horizon = height // 2
        rows = np.arange(self.horizon, height, dtype=np.float32) + 0.5 - height / 2
        columns = np.arange(width, dtype=np.float32) + 0.5 - width / 2
        ahead = (CAMERA_HEIGHT_M * focal / rows).astype(np.float32)  # metres, per floor row
        # In tiles: metres ahead and to the right of the camera, per pixel.
        self.ahead = np.ascontiguousarray(
            np.broadcast_to(ahead[:, None] / TILE_M, (len(rows), width))
        )
        self.right = (self.ahead * (columns[None, :] / focal)).astype(np.float32)
        fog = np.clip(ahead / FAR_M, 0, 1)[:, None, None]
        self.palettes = (PALETTE[None] * (1 - fog) + SKY * fog).astype(np.uint8)
        self.row_index = np.arange(len(rows))[:, None]
        self.bearing_offset = -np.arctan(columns / focal)  # left of centre is positive
        self.image_rows = np.arange(height, dtype=np.float32)[:, None] + 0.5

    def render(self, image: np.ndarray, pose: Pose) -> None:
        cos, sin = math.cos(pose.heading), math.sin(pose.heading)
        wx = self.ahead * cos + self.right * sin + pose.x / TILE_M
        wy = self.ahead * sin - self.right * cos + pose.y / TILE_M
        ti, tj = np.floor(wx), np.floor(wy)
        index = (ti + tj).astype(np.int32) & 1
        for number, (i, j) in enumerate(LANDMARKS, start=GRID_INDEX + 1):
            index[(ti == i) & (tj == j)] = number
        # Grid lines a few centimetres wide; their width in pixels shrinks with distance.
        wx -= ti
        wy -= tj
        line = (np.abs(wx - 0.5) > 0.5 - LINE_HALF_WIDTH) | (
            np.abs(wy - 0.5) > 0.5 - LINE_HALF_WIDTH
        )
        index[line] = GRID_INDEX
        image[self.horizon :] = self.palettes[self.row_index, index]
        image[: self.horizon] = self._sky(pose.heading)[None]
        self._blocks(image, pose)

    def _blocks(self, image: np.ndarray, pose: Pose) -> None:
        """Each column's nearest block over the floor and sky, painter's style: one ray per
        column, its height from its depth along the camera's axis."""
        bearings = pose.heading + self.bearing_offset
        dx, dy = np.cos(bearings), np.sin(bearings)
        dx = np.where(np.abs(dx) < 1e-12, 1e-12, dx)
        dy = np.where(np.abs(dy) < 1e-12, 1e-12, dy)
        nearest = np.full(self.width, np.inf)
        colour = np.zeros((self.width, 3), np.float32)
        top_m = np.zeros(self.width)  # the block's height above the camera
        for block in self.world.blocks:
            enter, leave = block.entry(pose.x, pose.y, dx, dy, np.minimum, np.maximum)
            distance = np.maximum(enter, 0.0)
            closer = (leave >= distance) & (distance < nearest)
            if not closer.any():
                continue
            nearest[closer] = distance[closer]
            # The side it shows: faces across x lit fully, faces across y a little darker.
            hit_x = pose.x + distance * dx
            on_x_face = np.minimum(np.abs(hit_x - block.x0), np.abs(hit_x - block.x1)) < 1e-6
            shade = np.where(on_x_face, 1.0, 0.8)[:, None]
            colour[closer] = (np.array(block.colour, np.float32)[None] * shade)[closer]
            top_m[closer] = block.height - CAMERA_HEIGHT_M
        seen = np.isfinite(nearest) & (nearest > 0)
        if not seen.any():
            return
        depth = np.where(seen, nearest * np.cos(self.bearing_offset), np.inf)
        bottom = self.height / 2 + CAMERA_HEIGHT_M * self.focal / depth
        top = self.height / 2 - top_m * self.focal / depth
        fog = np.clip(nearest / FAR_M, 0, 1)[:, None]
        colour = (colour * (1 - fog) + SKY * fog).astype(np.uint8)
        covered = (self.image_rows >= top[None]) & (self.image_rows < bottom[None]) & seen[None]
        rows, columns = np.nonzero(covered)
        image[rows, columns] = colour[columns]

    def _sky(self, heading: float) -> np.ndarray:
        bearing = np.degrees(heading + self.bearing_offset) % 360
        sky = np.tile(SKY, (self.width, 1))
        sky[(bearing // 30) % 2 == 1] *= 0.8
        sky[(bearing < 4) | (bearing > 356)] = (220, 40, 40)
        return sky.astype(np.uint8)


class SimCamera(RenderedTrack):
    def __init__(
        self,
        pose: Callable[[float], Pose],
        width: int = 640,
        height: int = 480,
        fps: int = 30,
        world: World = WORLDS["room"],
    ) -> None:
        view = FloorView(width, height, world)
        super().__init__(lambda image, now: view.render(image, pose(now)), width, height, fps)


def create(options: dict[str, Any]) -> SimCamera:
    """The ``sim`` camera source; option ``state_file``: the sim board's state file."""
    state_file = options.get("state_file")
    pose = pose_from_state_file(Path(state_file)) if state_file else (lambda now: Pose())
    return SimCamera(
        pose, options.get("width", 640), options.get("height", 480), options.get("fps", 30)
    )
