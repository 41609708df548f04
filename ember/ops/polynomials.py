"""The orthogonal polynomials of ``torch.special`` (Chebyshev, Hermite, Laguerre, Legendre),
evaluated by their three-term recurrences; the degree ``n`` is truncated to an integer and
a negative degree gives 0, as in PyTorch. PyTorch defines no derivative for them."""
from ember.ops.dispatch import Primitive, binary
from ember.ops.out import write_out


def _recurrence(first, step):
    """``P_0 = 1``, ``P_1 = first(x)``, ``P_{k+1} = step(k, x, P_k, P_{k-1})``, elementwise in n."""
    def forward(ctx, xp, x, n):
        x, n = xp.broadcast_arrays(x, n)
        n = xp.trunc(n).astype(xp.int64) if n.dtype.kind == "f" else n.astype(xp.int64)
        out = xp.where(n == 0, 1.0, 0.0).astype(x.dtype)
        prev, cur = xp.ones_like(x), first(x)
        top = int(n.max()) if n.size else 0
        out = xp.where(n == 1, cur, out)
        for k in range(1, top):
            prev, cur = cur, step(k, x, cur, prev)
            out = xp.where(n == k + 1, cur, out)
        return out
    return forward


def _polynomial(name, first, step, shifted=False):
    forward = _recurrence(first, step)
    if shifted:
        inner = forward
        forward = lambda ctx, xp, x, n: inner(ctx, xp, 2 * x - 1, n)  # noqa: E731
    prim = Primitive(forward, None, name=name)

    def op(input, n, *, out=None):
        return write_out(name, out, binary(prim, input, n, float_result=True), (input,))
    op.__name__ = name
    op.__doc__ = f"``{name}(input, n)``: the degree-``n`` polynomial at ``input`` (as ``torch.special.{name}``)."
    return op


def _cheb(k, x, cur, prev):
    return 2 * x * cur - prev


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t", lambda x: x, _cheb)
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u", lambda x: 2 * x, _cheb)
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v", lambda x: 2 * x - 1, _cheb)
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w", lambda x: 2 * x + 1, _cheb)
shifted_chebyshev_polynomial_t = _polynomial("shifted_chebyshev_polynomial_t", lambda x: x, _cheb, True)
shifted_chebyshev_polynomial_u = _polynomial("shifted_chebyshev_polynomial_u", lambda x: 2 * x, _cheb, True)
shifted_chebyshev_polynomial_v = _polynomial("shifted_chebyshev_polynomial_v", lambda x: 2 * x - 1, _cheb, True)
shifted_chebyshev_polynomial_w = _polynomial("shifted_chebyshev_polynomial_w", lambda x: 2 * x + 1, _cheb, True)
hermite_polynomial_h = _polynomial("hermite_polynomial_h", lambda x: 2 * x,
                                   lambda k, x, cur, prev: 2 * x * cur - 2 * k * prev)
hermite_polynomial_he = _polynomial("hermite_polynomial_he", lambda x: x,
                                    lambda k, x, cur, prev: x * cur - k * prev)
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l", lambda x: 1 - x,
                                    lambda k, x, cur, prev: ((2 * k + 1 - x) * cur - k * prev) / (k + 1))
legendre_polynomial_p = _polynomial("legendre_polynomial_p", lambda x: x,
                                    lambda k, x, cur, prev: ((2 * k + 1) * x * cur - k * prev) / (k + 1))
