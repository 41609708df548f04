"""The contexts user functions of a custom op receive: ``ctx`` of ``setup_context``/``backward``,
and ``get_ctx()`` inside a fake function."""

_FAKE = []  # the FakeImplCtx of each fake function running


class FakeImplCtx:
    """What ``get_ctx()`` returns inside a fake function."""

    def new_dynamic_size(self, *, min=0, max=None):  # noqa: A002 - PyTorch's keyword names
        raise RuntimeError("new_dynamic_size(): an output whose size depends on the input values has no size on "
                           "the meta device; ember's capture runs the real kernel, so such ops export as is, but "
                           "they can't run on meta tensors")


def get_ctx():
    """The context of the fake function now running (``get_ctx().new_dynamic_size()``)."""
    if not _FAKE:
        raise RuntimeError("get_ctx() must be called inside a fake implementation (register_fake)")
    return _FAKE[-1]


def in_fake_context(fn):
    """``fn`` run with a FakeImplCtx current (for ``get_ctx``)."""
    def run(*args, **kwargs):
        _FAKE.append(FakeImplCtx())
        try:
            return fn(*args, **kwargs)
        finally:
            _FAKE.pop()
    return run


class BackwardContext:
    """The ``ctx`` that ``setup_context`` fills and ``backward`` reads."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved = ()

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        return self._saved

    def mark_non_differentiable(self, *tensors):
        """Accepted for PyTorch compatibility: integer outputs get no gradient anyway."""

    def set_materialize_grads(self, value):
        """Accepted: missing output gradients are always materialized as zeros."""
