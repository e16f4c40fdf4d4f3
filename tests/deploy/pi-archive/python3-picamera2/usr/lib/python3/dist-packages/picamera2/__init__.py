"""Stand-in for Raspberry Pi's picamera2 (tests/deploy/pi-archive/README.md).

The real package imports simplejpeg, a C extension that Raspberry Pi builds against apt's numpy
(1.24 on Bookworm); under a numpy 2 it fails at import with the error below. Like libcamera on a
computer without a camera, it finds none.
"""

import numpy

if int(numpy.__version__.split(".")[0]) >= 2:
    raise ValueError(
        "numpy.dtype size changed, may indicate binary incompatibility. "
        "Expected 96 from C header, got 88 from PyObject"
    )


class Picamera2:
    @staticmethod
    def global_camera_info() -> list[dict]:
        return []
