"""Arm KleidiAI kernels: not part of ember."""


def is_available():
    return False
