"""Stand-in producer: ready, then a fatal error it reports but does not exit on."""

import time

print("media-status ready", flush=True)
time.sleep(0.2)
print("media-status fatal credentials refused: 403", flush=True)
time.sleep(3600)
