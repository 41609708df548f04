"""Reverse-mode transforms: ``grad``, ``grad_and_value``, ``vjp``, ``jacrev``, ``hessian``."""
import functools

from ember._tensor import Tensor
from ember.creation import eye
from ember.func._batched import to_physical
from ember.func._physical import DEPTH, by_id, create_graph, prepare, vjp_physical
from ember.func._pytree import tree_flatten, tree_unflatten
from ember.func.forward import jacfwd
from ember.func.vmap import vmap


def _check_argnums(argnums, n):
    nums = (argnums,) if isinstance(argnums, int) else argnums
    if not isinstance(nums, tuple) or not nums or not all(isinstance(a, int) for a in nums):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for a in nums:
        if not -n <= a < n:
            raise RuntimeError(f"Got argnum={a}, but only {n} positional inputs")
    if len({a % n for a in nums}) != len(nums):
        raise RuntimeError(f"argnums must be unique, got {argnums}")
    return tuple(a % n for a in nums)


class _Traced:
    """One run of ``func`` with its differentiated inputs prepared: the pieces a vjp needs."""

    def __init__(self, func, args, argnums, has_aux, name):
        self.nums = _check_argnums(argnums, len(args))
        self.single = isinstance(argnums, int)
        flat_args = tree_flatten(args)[0]
        levels = by_id(lv for x in flat_args if isinstance(x, Tensor) for lv in to_physical(x)[1])
        self._run(func, args, levels, has_aux, name)
        seen = by_id(lv for o in tree_flatten(self.output)[0] if isinstance(o, Tensor) for lv in to_physical(o)[1])
        if any(lv not in levels for lv in seen):  # a closed-over batched tensor: per-sample inputs needed there too
            self._run(func, args, by_id(levels + seen), has_aux, name)

    def _run(self, func, args, levels, has_aux, name):
        self.levels, self.specs, self.leaves, args = levels, [], [], list(args)
        for i in self.nums:
            flat, spec = tree_flatten(args[i])
            pairs = [prepare(x, levels, name) for x in flat]
            self.specs.append(spec)
            self.leaves.extend(p for p, _ in pairs)
            args[i] = tree_unflatten([lg for _, lg in pairs], spec)
        DEPTH[0] += 1
        try:
            out = func(*args)
        finally:
            DEPTH[0] -= 1
        self.aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError(f"{name}(f)(*args): output of function f should be a tuple: (output, aux) "
                                   "if has_aux is True")
            out, self.aux = out
        self.output = out

    def grads(self, outputs, cotangents):
        g = vjp_physical(outputs, cotangents, self.leaves, self.levels, create_graph(self.leaves))
        trees, k = [], 0
        for spec in self.specs:
            n = spec.num_leaves
            trees.append(tree_unflatten(g[k:k + n], spec))
            k += n
        return trees[0] if self.single else tuple(trees)


def _detached(tree, keep):
    flat, spec = tree_flatten(tree)
    return tree_unflatten([x.detach() if isinstance(x, Tensor) and not keep else x for x in flat], spec)


def grad_and_value(func, argnums=0, has_aux=False):
    """``(gradient, value)`` of a scalar function: ``grad_and_value(lambda x: (x ** 2).sum())(x)``."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        t = _Traced(lambda *a: func(*a, **kwargs), args, argnums, has_aux, "grad_and_value")
        out = t.output
        if not isinstance(out, Tensor):
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got {type(out)}")
        if out.dim() != 0:
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor "
                               f"with {out.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
        g = t.grads([out], [out.new_ones(())])
        keep = create_graph(t.leaves)
        value = _detached(out, keep)
        if has_aux:
            return g, (value, _detached(t.aux, keep))
        return g, value
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of a scalar function w.r.t. its ``argnums`` inputs (pytrees allowed):
    ``grad(lambda x: x.sin().sum())(x)`` is ``x.cos()``; ``grad(grad(f))``, ``vmap(grad(f))`` nest."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


def vjp(func, *primals, has_aux=False):
    """``(output, vjp_fn)``: ``vjp_fn(cotangents)`` is the tuple of cotangent-weighted gradients
    w.r.t. ``primals``: ``out, fn = vjp(ember.sin, x); fn(ember.ones_like(x))``."""
    t = _Traced(func, primals, tuple(range(len(primals))), has_aux, "vjp")
    out_flat, out_spec = tree_flatten(t.output)
    for o in out_flat:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"vjp(f, *primals): Expected f to be a function that has non-empty output; the output "
                               f"of f must be Tensors, got {type(o)}")

    def vjp_fn(cotangents, *, retain_graph=True, create_graph=None):
        flat, spec = tree_flatten(cotangents)
        if spec != out_spec:
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function. cotangents: {spec}, primal output: {out_spec}")
        for c, o in zip(flat, out_flat):
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {c.shape} and output[0] has a "
                                   f"shape of {o.shape}")
        return t.grads(out_flat, flat)

    out = _detached(t.output, create_graph(t.leaves))
    if has_aux:
        return out, vjp_fn, t.aux
    return out, vjp_fn


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None):
    """The Jacobian by reverse mode: one vectorized vjp per output element.
    ``jacrev(ember.sin)(x)`` is ``ember.diag(x.cos())``; for outputs and inputs of shapes
    ``O`` and ``I`` the result has shape ``O + I``."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        t = _Traced(lambda *a: func(*a, **kwargs), args, argnums, has_aux, "jacrev")
        out_flat, out_spec = tree_flatten(t.output)
        sizes = [o.numel() for o in out_flat]
        total = sum(sizes)
        basis = eye(total, dtype=out_flat[0].dtype, device=out_flat[0].device)
        cts, k = [], 0
        for o, n in zip(out_flat, sizes):
            cts.append(basis[:, k:k + n].reshape(total, *o.shape))
            k += n
        rows = vmap(lambda *c: _flat_grads(t, out_flat, c), chunk_size=chunk_size)(*cts)
        # rows[i]: (total, *input_i shape); split per output and shape (*out, *in)
        per_out = []
        k = 0
        for o, n in zip(out_flat, sizes):
            leaves = [r[k:k + n].reshape(*o.shape, *r.shape[1:]) for r in rows]
            trees, j = [], 0
            for spec in t.specs:
                trees.append(tree_unflatten(leaves[j:j + spec.num_leaves], spec))
                j += spec.num_leaves
            per_out.append(trees[0] if isinstance(argnums, int) else tuple(trees))
            k += n
        jac = tree_unflatten(per_out, out_spec)
        if has_aux:
            return jac, t.aux
        return jac
    return wrapper


def _flat_grads(t, outputs, cotangents):
    return tuple(vjp_physical(outputs, cotangents, t.leaves, t.levels, create_graph(t.leaves)))


def hessian(func, argnums=0):
    """The matrix of second derivatives of a scalar function, forward over reverse:
    ``hessian(f)(x)`` has shape ``x.shape * 2``."""
    return jacfwd(jacrev(func, argnums), argnums)
