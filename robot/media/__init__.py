"""Live video: the producer the daemon supervises, and the camera sources it streams.

The daemon imports only ``supervisor`` and ``producers`` (standard library); the producer
process (``python -m robot.media.producer``) is the one that loads aiortc, PyAV and numpy.
"""
