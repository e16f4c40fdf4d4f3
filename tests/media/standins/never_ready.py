"""Stand-in producer: starts and hangs, never saying it is ready."""

import time

print("connecting...", flush=True)
time.sleep(3600)
