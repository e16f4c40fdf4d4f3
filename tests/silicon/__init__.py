"""Simulated silicon: register-level models of the chips the motor boards are made of.

The real board libraries drive these models through the same interfaces they use on a
Raspberry Pi (an I2C bus object, a serial port), so what the models decode (duty cycles,
directions, brake or coast) is what the motors would see.
"""
