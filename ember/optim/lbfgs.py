"""L-BFGS: a quasi-Newton method with a limited history of curvature pairs and an optional strong-Wolfe
line search; ``step(closure)`` re-evaluates the model as often as it needs."""
from ember.creation import zeros
from ember.ops.join import cat
from ember.ops.linalg import dot
from ember.autograd import enable_grad, no_grad
from ember.optim.optimizer import Optimizer


def _cubic_min(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to ``bounds`` (default: [x1, x2])."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = disc ** 0.5
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, lo), hi)


def _dot(a, b):
    return float(dot(a, b))


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search along ``d`` from step ``t`` (Nocedal & Wright, algorithms 3.5 and 3.6): bracket a step
    satisfying the strong Wolfe conditions, then zoom in by safeguarded cubic interpolation.
    Returns (loss, flat grad, step, evaluations)."""
    d_norm = float(d.abs().max())
    f_new, g_new = evaluate(t)
    evals, it = 1, 0
    gtd_new = _dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    while it < max_ls:
        wolfe = abs(gtd_new) <= -c2 * gtd
        if f_new > f + c1 * t * gtd or (it > 1 and f_new >= f_prev) or (gtd_new >= 0 and not wolfe):
            pts = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        if wolfe:
            pts, done = [[t, f_new, g_new, gtd_new]], True
            break
        step = _cubic_min(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = step
        f_new, g_new = evaluate(t)
        evals, it = evals + 1, it + 1
        gtd_new = _dot(g_new, d)
    else:
        pts = [[0.0, f, g, None], [t, f_new, g_new, None]]
    low, high = (0, 1) if len(pts) == 1 or pts[0][1] <= pts[-1][1] else (1, 0)
    stuck = False
    while not done and it < max_ls:
        (a, fa, _, ga), (b, fb, _, gb) = pts
        if abs(b - a) * d_norm < tolerance_change:
            break
        t = _cubic_min(a, fa, ga, b, fb, gb)
        lo, hi = min(a, b), max(a, b)
        eps = 0.1 * (hi - lo)
        if min(hi - t, t - lo) < eps:
            if stuck or t >= hi or t <= lo:
                t = hi - eps if abs(t - hi) < abs(t - lo) else lo + eps
                stuck = False
            else:
                stuck = True
        else:
            stuck = False
        f_new, g_new = evaluate(t)
        evals, it = evals + 1, it + 1
        gtd_new = _dot(g_new, d)
        if f_new > f + c1 * t * gtd or f_new >= pts[low][1]:
            pts[high] = [t, f_new, g_new, gtd_new]
            low, high = (0, 1) if pts[0][1] <= pts[1][1] else (1, 0)
            continue
        if abs(gtd_new) <= -c2 * gtd:
            done = True
        elif gtd_new * (pts[high][0] - pts[low][0]) >= 0:
            pts[high] = pts[low]
        pts[low] = [t, f_new, g_new, gtd_new]
    t, f_new, g_new, _ = pts[low]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    """Limited-memory BFGS over all parameters of a single group; ``step`` needs a closure that recomputes the loss.

    >>> import ember
    >>> w = ember.zeros(2, requires_grad=True)
    >>> opt = ember.optim.LBFGS([w], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad(); loss = ((w - 3) ** 2).sum(); loss.backward(); return loss
    >>> _ = opt.step(closure); [round(v, 4) for v in w.tolist()]
    [3.0, 3.0]
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # flat views of the parameters ---------------------------------------------------------
    def _flat_grad(self):
        return cat([p.grad.reshape(-1) if p.grad is not None else zeros(p.numel(), dtype=p.dtype)
                          for p in self._params])

    def _add(self, t, d):
        start = 0
        for p in self._params:
            n = p.numel()
            p.add_(d[start:start + n].reshape(p.shape), alpha=t)
            start += n

    def _evaluate_at(self, closure, x0, d):
        """loss and flat gradient at ``x0 + t d`` as a function of ``t``; parameters are put back afterwards."""
        def evaluate(t):
            self._add(t, d)
            with enable_grad():
                loss = float(closure())
            grad = self._flat_grad()
            for p, x in zip(self._params, x0):
                p.data = x.clone()
            return loss, grad
        return evaluate

    def _direction(self, state, g, history_size):
        """Two-loop recursion: -H g with the stored curvature pairs, after adding the latest pair."""
        y = g - state["prev_flat_grad"]
        s = state["d"] * state["t"]
        ys = _dot(y, s)
        if ys > 1e-10:
            if len(state["old_dirs"]) == history_size:
                for key in ("old_dirs", "old_stps", "ro"):
                    state[key].pop(0)
            state["old_dirs"].append(y)
            state["old_stps"].append(s)
            state["ro"].append(1.0 / ys)
            state["H_diag"] = ys / _dot(y, y)
        dirs, stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        al = [0.0] * len(dirs)
        q = -g
        for i in reversed(range(len(dirs))):
            al[i] = _dot(stps[i], q) * ro[i]
            q = q - al[i] * dirs[i]
        r = q * state["H_diag"]
        for i in range(len(dirs)):
            r = r + (al[i] - _dot(dirs[i], r) * ro[i]) * stps[i]
        state["al"] = al
        return r

    @no_grad()
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; ``closure()`` clears grads, computes and backprops the loss."""
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state.setdefault(self._params[0], {"func_evals": 0, "n_iter": 0})
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if float(g.abs().max()) <= tol_grad:
            return orig_loss
        it = 0
        while it < max_iter:
            it += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -g
                state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1.0)
            else:
                d = self._direction(state, g, group["history_size"])
            state["prev_flat_grad"], state["prev_loss"] = g.clone(), loss
            t = min(1.0, 1.0 / float(g.abs().sum())) * lr if state["n_iter"] == 1 else lr
            gtd = _dot(g, d)
            if gtd > -tol_change:
                break
            if group["line_search_fn"] is not None:
                if group["line_search_fn"] != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x0 = [p.clone() for p in self._params]
                loss, g, t, ls_evals = _strong_wolfe(self._evaluate_at(closure, x0, d), t, d, loss, g, gtd)
                self._add(t, d)
                converged = float(g.abs().max()) <= tol_grad
            else:
                self._add(t, d)
                ls_evals, converged = 0, False
                if it != max_iter:
                    with enable_grad():
                        loss = float(closure())
                    g = self._flat_grad()
                    converged = float(g.abs().max()) <= tol_grad
                    ls_evals = 1
            state["d"], state["t"] = d, t
            evals += ls_evals
            state["func_evals"] += ls_evals
            if it == max_iter or evals >= max_eval or converged:
                break
            if float((d * t).abs().max()) <= tol_change or abs(loss - state["prev_loss"]) < tol_change:
                break
        state["d"], state["t"] = d, t
        return orig_loss
