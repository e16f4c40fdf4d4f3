"""Stand-in producer: says it is ready, stays up for argv[1] seconds, then crashes."""

import sys
import time

print("media-status ready", flush=True)
time.sleep(float(sys.argv[1]))
sys.exit(3)
