"""Camera sources, found by name in the entry point group ``telepresence_robot.cameras``.

A source is a factory ``create(options: dict) -> MediaStreamTrack`` that yields either
``av.VideoFrame`` (aiortc encodes them) or already-encoded H.264 ``av.Packet`` (sent as they
are). The simulator registers its own camera there, so robot code never imports it.
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
    """The video track of the named source (aiortc's ``MediaStreamTrack``)."""
    found = entry_points(group=GROUP, name=name)
    if not found:
        raise CameraError(f"no camera source {name!r}; installed: {', '.join(names())}")
    create = next(iter(found)).load()
    return create(dict(options))
