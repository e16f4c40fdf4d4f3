"""The simulated robot: its board, its kinematics and its camera."""
