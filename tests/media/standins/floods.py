"""Stand-in producer: floods its output (long lines, a line with no end for megabytes), then
says it is ready and reports viewers; it only gets there if every byte was read."""

import sys
import time

out = sys.stdout.buffer
for _ in range(2000):
    out.write(b"x" * 10_000 + b"\n")
out.write(b"y" * 5_000_000)  # one line of 5 MB
out.write(b"\nmedia-status ready\nmedia-status viewers 2\n")
out.flush()
time.sleep(3600)
