"""The rest of torch.library's names: get_ctx inside fakes, impl_abstract, Composite and fallthrough
registrations, get_kernel, triton_op (an ordinary custom op here), and the clear refusals."""
import pytest

import ember
from ember import Tensor
from ember.library import (
    Library, fallthrough_kernel, get_ctx, get_kernel, impl, impl_abstract, register_torch_dispatch, triton_op,
    wrap_triton,
)


def test_get_ctx_only_inside_a_fake():
    seen = []

    @ember.library.custom_op("emapi::nonzero_count", mutates_args=())
    def count(x: Tensor) -> Tensor:
        return (x != 0).sum().reshape(1).float()

    @impl_abstract("emapi::nonzero_count")
    def _(x):
        seen.append(get_ctx())
        return ember.empty(1)

    try:
        assert count(ember.empty(4, device="meta")).shape == ember.Size([1])
        assert len(seen) == 1
        with pytest.raises(RuntimeError, match="no size on the meta device"):
            seen[0].new_dynamic_size()
        with pytest.raises(RuntimeError, match="must be called inside a fake"):
            get_ctx()
    finally:
        count.remove()


def test_composite_registration_runs_the_ops_inside():
    lib = Library("emapi2", "FRAGMENT")
    lib.define("double(Tensor x) -> Tensor")
    lib.impl("double", lambda x: x * 2, "CompositeImplicitAutograd")
    try:
        x = ember.ones(2, requires_grad=True)
        y = ember.ops.emapi2.double(x)
        assert y.grad_fn.name() == "MulBackward0"  # autograd saw the ops inside, not one custom node
        y.sum().backward()
        assert x.grad.tolist() == [2.0, 2.0]
    finally:
        lib._destroy()


def test_fallthrough_removes_a_kernel_and_get_kernel_reports_it():
    lib = Library("emapi3", "DEF")
    lib.define("inc(Tensor x) -> Tensor")
    try:
        impl("emapi3::inc", "cpu", lambda x: x + 1)
        assert get_kernel("emapi3::inc", "CPU")(ember.zeros(1)).tolist() == [1.0]
        lib.impl("inc", fallthrough_kernel, "CPU")
        with pytest.raises(RuntimeError, match="no kernel for dispatch key 'CPU'"):
            get_kernel("emapi3::inc", "CPU")
        with pytest.raises(ValueError, match="dispatch key 'XLA'"):
            lib.impl("inc", lambda x: x, "XLA")
    finally:
        lib._destroy()


def test_triton_op_is_a_custom_op_and_triton_kernels_are_refused():
    @triton_op("emapi::add_one", mutates_args=())
    def add_one(x: Tensor) -> Tensor:
        return x + 1

    try:
        assert ember.ops.emapi.add_one(ember.zeros(2)).tolist() == [1.0, 1.0]
    finally:
        add_one.remove()
    with pytest.raises(RuntimeError, match="no Triton backend"):
        wrap_triton(lambda: None)
    with pytest.raises(NotImplementedError, match="__torch_dispatch__"):
        register_torch_dispatch("emapi::add_one", object, lambda *a: None)
