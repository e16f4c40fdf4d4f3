"""Stand-in producer: ignores SIGINT and leaves a child of its own in its process group.

Writes "<own pid> <child pid>" to the file named by its first argument once both run.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

signal.signal(signal.SIGINT, signal.SIG_IGN)
child = subprocess.Popen(
    [
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(3600)",
    ]
)
Path(sys.argv[1]).write_text(f"{__import__('os').getpid()} {child.pid}")
print("media-status ready", flush=True)
time.sleep(3600)
