"""The robot's Python side, one package per layer (docs/architecture.md draws them):

- ``robot.cli``: the ``robot`` command and the operator tools, on top;
- ``robot.daemon``: the daemon on the robot; ``robot.producer``: the video producer process;
- ``robot.contracts``: what operators, the Lambdas, the daemon and the producer agree on;
- ``robot.posix``: atomic private files, children that die with their parent.
"""
