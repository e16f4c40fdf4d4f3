"""The contracts between operators and the robot: the command protocol, who may send what
(grants and the one admission rule), token minting and verification, refusals, the control
socket between the daemon and the video producer, and the telemetry messages.

The daemon, the producer, the Lambdas and the simulator import these; they import none of
them. ``protocol``, ``access`` and ``admission`` are standard library only (the Lambdas ship
them as they are); ``verify`` and ``tokens`` need PyJWT and cryptography.
"""
