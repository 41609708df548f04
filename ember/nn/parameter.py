"""Parameter: a tensor that a Module registers as one of its learnable weights."""
from ember._tensor import Tensor
from ember.creation import empty


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and shares ``data``'s memory.

    >>> import ember
    >>> p = ember.nn.Parameter(ember.zeros(2))
    >>> p.requires_grad, isinstance(p, ember.Tensor)
    (True, True)
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = empty(0)
        p = cls._make(data._data, data._dtype, data._device, requires_grad)
        p._version = data._version
        return p

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (self.detach(), self._requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = Parameter(Tensor._make(self._data.copy(), self._dtype, self._device), self._requires_grad)
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = new
        return new


class Buffer(Tensor):
    """A marker for a tensor a Module should register as a buffer: ``self.b = nn.Buffer(t)``."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = empty(0)
        b = cls._make(data._data, data._dtype, data._device, data._requires_grad)
        b._version = data._version
        b.persistent = persistent
        return b

    def __init__(self, data=None, *, persistent=True):
        pass
