"""Camera sources are entry points of this group, by ``VIDEO_SOURCE`` name: the daemon's config
checks the name, the producer loads the source (pyproject.toml lists ours). Audio devices
likewise, by ``AUDIO_DEVICES`` name."""

CAMERA_GROUP = "telepresence_robot.cameras"
AUDIO_GROUP = "telepresence_robot.audio"
