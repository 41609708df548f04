"""``ember.autograd.functional``: Jacobians, Hessians and vector products of a function of
tensors, computed with the autograd engine (PyTorch's ``torch.autograd.functional``).

``vectorize=True`` computes all rows at once with ``ember.func.vmap`` (batched backward
passes); ``strategy="forward-mode"`` (with ``vectorize=True``) uses forward-mode AD.
"""
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.functional_api import grad as autograd_grad
from ember.creation import zeros_like
from ember.func.forward import jacfwd
from ember.func.grad import jacrev
from ember.ops.join import stack

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(x, arg, fn):
    is_tuple = isinstance(x, tuple)
    xs = x if is_tuple else (x,)
    for i, t in enumerate(xs):
        if not isinstance(t, Tensor):
            if is_tuple:
                raise TypeError(f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors but the "
                                f"value at index {i} has type {type(t)}.")
            raise TypeError(f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors but the given "
                            f"{arg} has type {type(t)}.")
    return is_tuple, xs


def _grad_preprocess(inputs, create_graph):
    """Inputs that need gradients, connected to the callers' graph only when create_graph."""
    if create_graph:
        return tuple(x if x.requires_grad else x.view_as(x).requires_grad_() for x in inputs)
    return tuple(x.detach().requires_grad_(True) for x in inputs)


def _post(xs, create_graph):
    return tuple(x if x is None or create_graph else x.detach() for x in xs)


def _untuple(is_tuple, xs):
    return xs if is_tuple else xs[0]


def _check_v(v, outputs, fn_name, what="outputs"):
    for a, b in zip(v, outputs):
        if a.shape != b.shape:
            raise RuntimeError(f"v has invalid size: should be {b.shape} but got {a.shape}.")
    if len(v) != len(outputs):
        raise RuntimeError(f"The given v should contain {len(outputs)} Tensors (one per {what}), got {len(v)}.")


def _grads(outputs, inputs, grad_outputs, create_graph, strict, stage):
    gs = autograd_grad(outputs, inputs, grad_outputs, create_graph=create_graph, retain_graph=True,
                       allow_unused=True)
    out = []
    for i, (g, x) in enumerate(zip(gs, inputs)):
        if g is None:
            if strict:
                if stage == "double_back":
                    raise RuntimeError(f"The jacobian of the user-provided function is independent of input {i}. "
                                       "This is not allowed in strict mode.")
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is "
                                   "not allowed in strict mode.")
            g = zeros_like(x)
        out.append(g)
    return tuple(out)


def _outputs(func, inputs, fn):
    with grad_mode.enable_grad():
        out = func(*inputs)
    is_tuple, outs = _as_tuple(out, "outputs of the user-provided function", fn)
    return is_tuple, outs


def _strict_outputs(outs, strict):
    if strict:
        for i, o in enumerate(outs):
            if not o.requires_grad:
                raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The outputs "
                                   "must be computed in a differentiable manner from the input when running in strict "
                                   "mode.")


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``: ``vjp(lambda x: x ** 2, x, ember.ones(3))[1]`` is ``2 * x``."""
    with grad_mode.enable_grad():
        in_tuple, xs = _as_tuple(inputs, "inputs", "vjp")
        xs = _grad_preprocess(xs, create_graph)
        out_tuple, outs = _outputs(func, xs, "vjp")
        _strict_outputs(outs, strict)
        if v is None:
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                                   "Tensor with a single element.")
            v = (outs[0].new_ones(outs[0].shape),)
        else:
            v = _as_tuple(v, "v", "vjp")[1]
            _check_v(v, outs, "vjp")
        res = _grads(outs, xs, v, create_graph, strict, "back")
    return _untuple(out_tuple, _post(outs, create_graph)), _untuple(in_tuple, _post(res, create_graph))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)`` by the double-backward trick: ``jvp(ember.sin, x, v)[1]`` is ``x.cos() * v``."""
    with grad_mode.enable_grad():
        in_tuple, xs = _as_tuple(inputs, "inputs", "jvp")
        xs = _grad_preprocess(xs, create_graph)
        if v is None:
            if len(xs) != 1 or xs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            v = (xs[0].new_ones(xs[0].shape),)
        else:
            v = _as_tuple(v, "v", "jvp")[1]
            _check_v(v, xs, "jvp", "inputs")
        out_tuple, outs = _outputs(func, xs, "jvp")
        _strict_outputs(outs, strict)
        us = tuple(zeros_like(o).requires_grad_() for o in outs)
        gs = _grads(outs, xs, us, True, strict, "back")
        diff = [(g, t) for g, t in zip(gs, v) if g.requires_grad]
        if diff:
            res = autograd_grad([g for g, _ in diff], us, [t for _, t in diff], create_graph=create_graph,
                                retain_graph=True, allow_unused=True)
            res = tuple(zeros_like(o) if r is None else r for r, o in zip(res, outs))
        else:
            res = tuple(zeros_like(o) for o in outs)
    return _untuple(out_tuple, _post(outs, create_graph)), _untuple(out_tuple, _post(res, create_graph))


def _check_strategy(strategy, vectorize, strict):
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
                                  "implemented for `vectorize=True`.")
    if strict and vectorize:
        raise RuntimeError("ember.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                           "supported together. Please either set `strict=False` or `vectorize=False`.")


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: a Tensor of shape ``out.shape + in.shape`` for one
    input and one output, else tuples (per output, then per input)."""
    _check_strategy(strategy, vectorize, strict)
    with grad_mode.enable_grad():
        in_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
        xs = _grad_preprocess(xs, create_graph)
        out_tuple, outs = _outputs(func, xs, "jacobian")
        _strict_outputs(outs, strict)
        if vectorize:
            jac = _vectorized(func, xs, outs, strategy)
        else:
            jac = []
            for i, o in enumerate(outs):
                flat = o.reshape(-1)
                rows = [[] for _ in xs]
                for k in range(flat.numel()):
                    gs = autograd_grad(flat[k], xs, retain_graph=True, create_graph=create_graph, allow_unused=True)
                    for j, (g, x) in enumerate(zip(gs, xs)):
                        if g is None:
                            if strict:
                                raise RuntimeError(f"Output {i} of the user-provided function is independent of input "
                                                   f"{j}. This is not allowed in strict mode.")
                            g = zeros_like(x)
                        rows[j].append(g)
                jac.append(tuple(stack(r).reshape(*o.shape, *x.shape) if r else zeros_like(x).reshape(*o.shape, *x.shape)
                                 for r, x in zip(rows, xs)))
        jac = [_post(row, create_graph) for row in jac]
    return _shape_result(jac, in_tuple, out_tuple)


def _vectorized(func, xs, outs, strategy):
    """Every row (reverse) or column (forward) of the Jacobian in one batched pass."""
    transform = jacfwd if strategy == "forward-mode" else jacrev
    jac = transform(lambda *a: _as_tuple(func(*a), "outputs of the user-provided function", "jacobian")[1],
                    argnums=tuple(range(len(xs))))(*xs)
    return [tuple(row) for row in jac]


def _shape_result(jac, in_tuple, out_tuple):
    rows = [row if in_tuple else row[0] for row in jac]
    return tuple(rows) if out_tuple else rows[0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs``: shape ``in.shape * 2`` for one input."""
    _check_strategy(outer_jacobian_strategy, vectorize, strict)
    in_tuple, xs = _as_tuple(inputs, "inputs", "hessian")

    def jac_func(*inp):
        out = func(*inp)
        is_t, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if is_t or outs[0].numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        o = outs[0].reshape(())
        gs = _grads((o,), inp, None, True, strict, "double_back")
        return gs

    res = jacobian(jac_func, xs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return res if in_tuple else res[0][0]


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)`` of a scalar ``func``."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)`` of a scalar ``func`` (H is symmetric for a twice-differentiable func, so as vhp)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph, strict, name):
    with grad_mode.enable_grad():
        in_tuple, xs = _as_tuple(inputs, "inputs", name)
        xs = _grad_preprocess(xs, create_graph)
        if v is None:
            if len(xs) != 1 or xs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            v = (xs[0].new_ones(xs[0].shape),)
        else:
            v = _as_tuple(v, "v", name)[1]
            _check_v(v, xs, name, "inputs")
        is_t, outs = _outputs(func, xs, name)
        if is_t or outs[0].numel() != 1:
            raise RuntimeError(f"The function given in {name} should return a single Tensor")
        _strict_outputs(outs, strict)
        out = outs[0]
        jac = _grads((out.reshape(()),), xs, None, True, strict, "back")
        diff = [(j, t, x) for j, t, x in zip(jac, v, xs) if j.requires_grad]
        if strict and len(diff) != len(jac):
            raise RuntimeError("The jacobian of the user-provided function is independent of input 0. This is not "
                               "allowed in strict mode.")
        if diff:
            res = _grads([j for j, _, _ in diff], xs, [t for _, t, _ in diff], create_graph, strict, "double_back")
        else:
            res = tuple(zeros_like(x) for x in xs)
    return _post((out,), create_graph)[0], _untuple(in_tuple, _post(res, create_graph))

