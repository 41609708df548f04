"""Names shared by the whole package: reduction ops, backend names, the default timeout."""
import enum
from datetime import timedelta

default_pg_timeout = timedelta(minutes=30)


class ReduceOp(enum.Enum):
    """How ``all_reduce``/``reduce``/``reduce_scatter`` combine the ranks' tensors."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"

    def __repr__(self):
        return f"<ReduceOp.{self.name}>"


class Backend(str):
    """A backend name: ``"mpi"`` (and its alias ``"gloo"``) for CPU tensors, ``"nccl"`` for CUDA tensors.

    ``"gloo"`` is accepted so that unmodified PyTorch programs run; ember carries it over MPI.
    """

    MPI = "mpi"
    GLOO = "gloo"
    NCCL = "nccl"
    UNDEFINED = "undefined"

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError(f"Backend name must be a string, but got: {name!r}")
        value = name.lower()
        if value not in (cls.MPI, cls.GLOO, cls.NCCL, cls.UNDEFINED) and value != "cpu:gloo,cuda:nccl":
            raise ValueError(f"Invalid backend: '{name}' (ember supports 'mpi', 'gloo' (over MPI) and 'nccl')")
        return str.__new__(cls, value)


class DistError(RuntimeError):
    """A distributed operation failed."""


class DistBackendError(DistError):
    """A collective failed in the communication engine: a rank died, stalled, or disagreed on the call."""
