"""The robot daemon (``robot run``): its config, the two command links (MQTT and the
consoles' link through the video producer), the motion controller and its parts, telemetry
out, and the supervisor of the video producer process. Imports only ``robot.contracts``,
``robot.posix`` and ``drivers``; boards and the producer's libraries load lazily."""
