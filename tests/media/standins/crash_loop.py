"""Stand-in producer: says it is ready, then crashes at once."""

import sys

print("media-status ready", flush=True)
sys.exit(3)
