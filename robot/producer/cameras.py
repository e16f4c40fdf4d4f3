"""Camera sources, found by name in the entry point group ``telepresence_robot.cameras``.

A source is a factory ``create(options: dict)`` that returns either a ``MediaStreamTrack``
of ``av.VideoFrame`` (aiortc encodes them, per viewer) or, for a camera that encodes by
itself, an ``EncodedFeed`` of its packets (robot/producer/encoded.py, sent as they are;
robot/contracts/video.py names such sources). The simulator registers its own camera
there, so robot code never imports it.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from robot.contracts.cameras import CAMERA_GROUP as GROUP


class CameraError(RuntimeError):
    pass


def names() -> list[str]:
    return sorted(entry.name for entry in entry_points(group=GROUP))


def open_camera(name: str, options: dict[str, Any]) -> Any:
    """What the named source makes: a track of frames, or an ``EncodedFeed``."""
    found = entry_points(group=GROUP, name=name)
    if not found:
        raise CameraError(f"no camera source {name!r}; installed: {', '.join(names())}")
    create = next(iter(found)).load()
    return create(dict(options))
