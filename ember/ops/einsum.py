"""einsum: one primitive whose forward is ``xp.einsum(..., optimize=True)`` and whose
derivative for each operand is another einsum, so gradients of any order come for free."""
from ember._tensor import Tensor
from ember.backend.dtype import bfloat16, float32
from ember.ops.dispatch import Primitive, apply, xp_of
from ember.ops.dual import product
from ember.ops.linalg import _same_dtype
from ember.ops.registry import public

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _const(like, array):
    return Tensor._make(array, like._dtype, like._device)


def _parse_einsum(equation, operands):
    """Explicit per-operand subscripts (ellipses replaced by letters), the output subscripts,
    and the size of every letter, checked like PyTorch."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    spare = [c for c in _LETTERS if c not in eq]
    n_ell = max((t.dim() - len(s.replace("...", "")) for s, t in zip(terms, operands) if "..." in s), default=0)
    ell = "".join(spare[:n_ell])
    subs, sizes = [], {}
    for i, (term, t) in enumerate(zip(terms, operands)):
        named = len(term.replace("...", ""))
        if "..." in term:
            term = term.replace("...", ell[n_ell - (t.dim() - named):] if t.dim() > named else "")
        elif named != t.dim():
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({named}) does not match the number of "
                f"dimensions ({t.dim()}) for operand {i} and no ellipsis was given"
            )
        for c, n in zip(term, t.shape):
            seen = sizes.get(c, 1)
            if n != seen and seen != 1 and n != 1:
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {n} for operand {i} which does not broadcast with "
                    f"previously seen size {seen}"
                )
            sizes[c] = max(seen, n) if n and seen else 0 if c in sizes or n == 0 else n
        subs.append(term)
    if arrow:
        out = out.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if c not in sizes:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input operand")
    else:
        once = "".join(subs)
        out = ell + "".join(sorted(c for c in set(once) if once.count(c) == 1 and c not in ell))
    return subs, out, sizes


def _einsum_forward(ctx, xp, *arrays, subs, out, sizes):
    ctx.subs, ctx.out, ctx.sizes = subs, out, sizes
    low = arrays and arrays[0].dtype == bfloat16.np  # NumPy's einsum has no bfloat16 loop: run it in float32
    result = xp.einsum(",".join(subs) + "->" + out, *(a.astype(float32.np) if low else a for a in arrays),
                       optimize=True)
    return result.astype(bfloat16.np) if low else result


def _einsum_grad(ctx, g):
    """The gradient of operand i is one einsum of g with the other operands. A letter that is
    repeated in operand i goes through an identity matrix (the diagonal gets the gradient);
    a letter found only in operand i is broadcast by a vector of ones."""
    ops, subs = ctx.saved_tensors, ctx.subs
    spare = iter(c for c in _LETTERS if c not in "".join(subs) + ctx.out)
    grads = []
    for i, need in enumerate(ctx.needs_input_grad):
        if not need:
            grads.append(None)
            continue
        terms, args = [ctx.out], [g]
        for j, (s, t) in enumerate(zip(subs, ops)):
            if j != i:
                terms.append(s)
                args.append(t)
        present = set("".join(terms))
        target = ""
        for c in subs[i]:
            n = ctx.sizes[c]
            if c in target:
                fresh = next(spare)
                terms.append(c + fresh)
                args.append(_const(g, xp_of(g._device).eye(n, dtype=g._dtype.np)))
                c = fresh
            elif c not in present:
                terms.append(c)
                args.append(_const(g, xp_of(g._device).ones(n, dtype=g._dtype.np)))
                present.add(c)
            target += c
        grads.append(einsum(",".join(terms) + "->" + target, *args))
    return tuple(grads)


_einsum = Primitive(_einsum_forward, "EinsumBackward0", save=True)  # saves every operand
_einsum.derivative(_einsum_grad)


@public
def einsum(equation, *operands):
    """Einstein summation: ``ember.einsum("bij,bjk->bik", x, y)``; operands may also be one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    subs, out, sizes = _parse_einsum(equation, operands)
    for t in operands[1:]:
        _same_dtype(operands[0], t)
    return apply(_einsum, operands, {"subs": subs, "out": out, "sizes": sizes})

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_einsum.jvp(lambda j: product(*range(len(j.inputs)))(j))
