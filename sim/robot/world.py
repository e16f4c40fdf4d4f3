"""The simulated robot's world: walls and boxes on the floor, as axis-aligned blocks.

The simulated camera renders them (sim/robot/camera.py), the simulated distance sensor
measures them by casting a ray (sim/robot/rangefinder.py), and the kinematics stop the robot
where its round body touches one, counting the collision (sim/robot/kinematics.py).

The room: the robot starts at the origin facing +x, with a wall 4 m ahead, a box ahead on its
left and one behind it on the right, and the room's other walls beyond the camera's
landmarks. Plain Python: the sim board runs in a daemon that has no numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ROBOT_RADIUS_M = 0.12  # the robot's round body, around the point between its wheels
WALL_COLOUR = (200, 190, 170)
_TINY = 1e-12  # a ray's direction component, instead of zero (no division by zero)


@dataclass(frozen=True)
class Block:
    """A block from (x0, y0) to (x1, y1) on the floor, ``height`` metres tall."""

    x0: float
    y0: float
    x1: float
    y1: float
    height: float = 1.0
    colour: tuple[int, int, int] = WALL_COLOUR

    def clearance(self, x: float, y: float) -> float:
        """Metres from (x, y) to this block (0 inside it)."""
        return math.hypot(max(self.x0 - x, x - self.x1, 0), max(self.y0 - y, y - self.y1, 0))

    def entry(self, x: float, y: float, dx: Any, dy: Any, minimum: Any, maximum: Any) -> Any:
        """Where the ray (x, y) + t (dx, dy) enters and leaves this block's slabs, as
        (t_enter, t_leave): it hits the block when t_leave >= max(t_enter, 0) (the slab
        method). ``minimum``/``maximum`` are ``min``/``max`` for one ray, or numpy's
        element-wise ones for many rays at once (the directions then arrays)."""
        tx0, tx1 = (self.x0 - x) / dx, (self.x1 - x) / dx
        ty0, ty1 = (self.y0 - y) / dy, (self.y1 - y) / dy
        enter = maximum(minimum(tx0, tx1), minimum(ty0, ty1))
        leave = minimum(maximum(tx0, tx1), maximum(ty0, ty1))
        return enter, leave


@dataclass(frozen=True)
class World:
    blocks: tuple[Block, ...] = ()

    def clearance(self, x: float, y: float) -> float:
        """Metres from (x, y) to the nearest block (inf with none)."""
        return min((block.clearance(x, y) for block in self.blocks), default=math.inf)

    def touches(self, x: float, y: float) -> bool:
        """Whether the robot's body, centred at (x, y), touches a block."""
        return self.clearance(x, y) <= ROBOT_RADIUS_M

    def ray(self, x: float, y: float, bearing: float) -> float:
        """Metres along the ray from (x, y) at ``bearing`` to the first block (inf: none)."""
        dx, dy = _direction(math.cos(bearing)), _direction(math.sin(bearing))
        nearest = math.inf
        for block in self.blocks:
            enter, leave = block.entry(x, y, dx, dy, min, max)
            if leave >= max(enter, 0):
                nearest = min(nearest, max(enter, 0))
        return nearest


def _direction(component: float) -> float:
    return component if abs(component) > _TINY else _TINY


def _room() -> World:
    thick = 0.2
    return World(
        (
            Block(4.0, -5.0, 4.0 + thick, 5.0),  # ahead of the start
            Block(-5.0 - thick, -5.0, -5.0, 5.0),  # behind
            Block(-5.0, 5.0, 4.0, 5.0 + thick),  # left
            Block(-5.0, -5.0 - thick, 4.0, -5.0),  # right
            Block(0.8, 1.2, 1.2, 1.6, 0.4, (170, 110, 60)),  # a box ahead on the left
            Block(-2.6, -2.0, -2.0, -1.4, 0.5, (120, 80, 160)),  # a box behind on the right
        )
    )


ROOM = _room()
EMPTY = World()
WORLDS = {"room": ROOM, "empty": EMPTY}  # by the sim board's `world` option


def ahead_of(
    world: World, x: float, y: float, heading: float, field_of_view_deg: float = 0.0
) -> float:
    """Metres from the front of the robot's body at (x, y, heading) to the nearest thing in a
    sensor's cone of ``field_of_view_deg`` around the heading (as a ranger reports its nearest
    return): rays a degree or so apart across the cone, the shortest wins."""
    front_x = x + ROBOT_RADIUS_M * math.cos(heading)
    front_y = y + ROBOT_RADIUS_M * math.sin(heading)
    side = math.ceil(field_of_view_deg / 3)  # rays on each side of the one straight ahead
    step = math.radians(field_of_view_deg) / 2 / max(1, side)
    bearings = (heading + step * i for i in range(-side, side + 1))
    return min(world.ray(front_x, front_y, bearing) for bearing in bearings)
