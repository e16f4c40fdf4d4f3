"""Camera sources are entry points of this group, by ``VIDEO_SOURCE`` name: the daemon's config
checks the name, the producer loads the source (pyproject.toml lists ours)."""

CAMERA_GROUP = "telepresence_robot.cameras"
