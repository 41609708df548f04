"""cuSPARSELt: not part of ember (no sparse tensors, no CUDA build)."""


def is_available():
    return False


def version():
    return None
