"""The video producer, its own process (``python -m robot.producer``): a KVS WebRTC signaling
master streaming one camera, with the consoles' ``control`` data channels. What it shares
with the daemon is ``robot.contracts`` (the control socket, the status lines); camera
sources come by entry point."""
