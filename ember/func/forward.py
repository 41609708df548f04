"""Forward-mode transforms on ``ember.autograd.forward_ad``: ``jvp``, ``jacfwd``, ``linearize``.

As in reverse mode, duals are made on physical tensors: a primal is broadcast to the vmap
levels of all primals, its tangent keeps the levels newer than those batched (``jacfwd``'s
basis), and the tangent rules run through the batching rules like any other op.
"""
import functools

from ember._tensor import Tensor
from ember.autograd import forward_ad
from ember.creation import eye, zeros_like
from ember.func._batched import expand_to, from_physical, to_physical
from ember.func._pytree import tree_flatten, tree_unflatten
from ember.func.vmap import vmap


def _by_id(levels):
    return sorted(levels, key=lambda lv: lv.id)


def _tangent_for(tangent, levels):
    """``tangent`` as a tensor whose logical shape is the physical primal's (``levels`` leading)."""
    t, tlv = to_physical(tangent)
    extra = [lv for lv in tlv if lv not in levels]
    union = _by_id(levels + extra)
    t = expand_to(t, tlv, union)
    if not extra:
        return t.contiguous()
    order = [union.index(lv) for lv in extra] + [union.index(lv) for lv in levels]
    return from_physical(t.permute(*order, *range(len(union), t.dim())).contiguous(), extra)


def _result(tangent, levels):
    """A physical tangent (maybe batched at newer levels) as a logical tensor over ``levels`` and those."""
    t, tlv = to_physical(tangent)
    if tlv:
        n, k = len(tlv), len(levels)
        t = t.permute(*range(n, n + k), *range(n), *range(n + k, t.dim()))
    return from_physical(t, levels + tlv)


def _check(name, tree, what):
    flat, spec = tree_flatten(tree)
    for x in flat:
        if not isinstance(x, Tensor):
            raise RuntimeError(f"{name}: Expected {what} to be a tuple of Tensors, got {type(x)}")
    return flat, spec


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(func(*primals), J @ tangents)``: one forward pass carries the tangents along.
    ``jvp(ember.sin, (x,), (v,))`` is ``(x.sin(), x.cos() * v)``."""
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to be tuples. E.g. "
                           "jvp(f, (x,), (t,))")
    p_flat, p_spec = _check("jvp(f, primals, tangents)", primals, "primals")
    t_flat, t_spec = _check("jvp(f, primals, tangents)", tangents, "tangents")
    if p_spec != t_spec:
        raise RuntimeError(f"jvp(f, primals, tangents): Expected primals and tangents to have the same python "
                           f"structure. For example, if primals is a tuple of 3 tensors, tangents also must be. Got "
                           f"primals with structure {p_spec} and tangents with structure {t_spec}")
    for p, t in zip(p_flat, t_flat):
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(f"jvp(f, primals, tangents): Expected primals and tangents to have the same shape, "
                               f"got a primal of shape {tuple(p.shape)} and a tangent of shape {tuple(t.shape)}")
    phys = [to_physical(p) for p in p_flat]
    levels = _by_id({lv for _, lvs in phys for lv in lvs})
    with forward_ad.dual_level() as index:
        level = forward_ad.state.levels[index]
        inputs = []
        for (p, plv), t in zip(phys, t_flat):
            p = expand_to(p, plv, levels)
            tan = _tangent_for(t, levels)
            if type(tan) is Tensor:
                dual = forward_ad.make_dual(p, tan)
            else:  # batched at newer levels: attached as it is (make_dual would copy its layout)
                dual = forward_ad.make_dual(p, zeros_like(p))
                forward_ad.set_tangent(dual, level, tan)
            inputs.append(from_physical(dual, levels))
        out = func(*tree_unflatten(inputs, p_spec))
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError("jvp(f, primals, tangents): output of function f should be a tuple: (output, aux) "
                                   "if has_aux is True")
            out, aux = out
        o_flat, o_spec = _check("jvp(f, primals, tangents)", out, "f's outputs")
        primal_out, tangent_out = [], []
        for o in o_flat:
            op, olv = to_physical(o)
            missing = [lv for lv in olv if lv not in levels]
            every = _by_id(levels + missing)
            op = expand_to(op, olv, every)
            primal, tangent = forward_ad.unpack_dual(op)
            primal_out.append(from_physical(primal.detach() if not strict else primal, every))
            tangent_out.append(from_physical(zeros_like(primal), every) if tangent is None else _result(tangent, every))
    result = (tree_unflatten(primal_out, o_spec), tree_unflatten(tangent_out, o_spec))
    return (*result, aux) if has_aux else result


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian by forward mode: one vectorized jvp per input element (good for few inputs,
    many outputs). For outputs and inputs of shapes ``O`` and ``I`` the result has shape ``O + I``."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = (argnums,) if isinstance(argnums, int) else argnums
        if not isinstance(nums, tuple) or not all(isinstance(a, int) for a in nums):
            raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
        for a in nums:
            if not -len(args) <= a < len(args):
                raise RuntimeError(f"Got argnum={a}, but only {len(args)} positional inputs")
        nums = tuple(a % len(args) for a in nums)
        specs, leaves = [], []
        for i in nums:
            flat, spec = tree_flatten(args[i])
            specs.append(spec)
            leaves.extend(flat)
        sizes = [x.numel() for x in leaves]
        total = sum(sizes)
        basis = eye(total, dtype=leaves[0].dtype, device=leaves[0].device)
        tangents, k = [], 0
        for x, n in zip(leaves, sizes):
            tangents.append(basis[:, k:k + n].reshape(total, *x.shape))
            k += n

        def push(*tans):
            full = list(args)
            j, tan_trees = 0, []
            for spec in specs:
                tan_trees.append(tree_unflatten(list(tans[j:j + spec.num_leaves]), spec))
                j += spec.num_leaves

            def f(*diff):
                call = list(args)
                for i, d in zip(nums, diff):
                    call[i] = d
                return func(*call, **kwargs)
            res = jvp(f, tuple(full[i] for i in nums), tuple(tan_trees), has_aux=has_aux)
            return (res[1], res[2]) if has_aux else (res[1],)

        outs = vmap(push, randomness=randomness)(*tangents)
        jac_cols = outs[0]
        o_flat, o_spec = tree_flatten(jac_cols)
        per_out = []
        for col in o_flat:  # (total, *out) -> (*out, *in) per input leaf
            moved = col.movedim(0, -1)
            pieces, k, trees = [], 0, []
            for x, n in zip(leaves, sizes):
                pieces.append(moved[..., k:k + n].reshape(*moved.shape[:-1], *x.shape))
                k += n
            j = 0
            for spec in specs:
                trees.append(tree_unflatten(pieces[j:j + spec.num_leaves], spec))
                j += spec.num_leaves
            per_out.append(trees[0] if isinstance(argnums, int) else tuple(trees))
        jac = tree_unflatten(per_out, o_spec)
        if has_aux:  # the same for every basis vector
            aux_flat, aux_spec = tree_flatten(outs[1])
            return jac, tree_unflatten([a[0] if isinstance(a, Tensor) else a for a in aux_flat], aux_spec)
        return jac
    return wrapper


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` is the Jacobian-vector product at ``primals``
    (each call runs one forward-mode pass at the saved primals)."""
    out = func(*primals)
    p_flat, p_spec = tree_flatten(primals)

    def jvp_fn(*tangents):
        t_flat, t_spec = tree_flatten(tangents)
        if t_spec != p_spec:
            raise RuntimeError(f"Expected the tangents {t_spec} to have the same structure as the primals {p_spec}")
        for p, t in zip(p_flat, t_flat):
            if tuple(p.shape) != tuple(t.shape) or p.dtype != t.dtype:
                raise RuntimeError(f"linearize: Expected tangent of shape {tuple(p.shape)} and dtype {p.dtype}, got "
                                   f"shape {tuple(t.shape)} and dtype {t.dtype}")
        return jvp(func, primals, tangents)[1]
    return out, jvp_fn
