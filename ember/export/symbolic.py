"""Symbolic sizes: ``const + Σ coef·symbol`` over the dynamic dims of ``export``."""


class SymInt:
    """An integer that depends linearly on dynamic dims (``2*s0 + 1``)."""

    __slots__ = ("coeffs", "const")

    def __init__(self, coeffs, const):
        self.coeffs = {k: v for k, v in coeffs.items() if v}
        self.const = const

    def evaluate(self, symbols):
        return self.const + sum(c * symbols[s] for s, c in self.coeffs.items())

    def to_json(self):
        return {"$sym": [[c, s] for s, c in sorted(self.coeffs.items())], "c": self.const}

    @classmethod
    def from_json(cls, obj, known):
        terms, const = obj.get("$sym"), obj.get("c")
        if (not isinstance(terms, list) or not isinstance(const, int) or isinstance(const, bool)
                or not all(isinstance(t, list) and len(t) == 2 and isinstance(t[0], int) and t[1] in known
                           for t in terms)):
            raise ValueError(f"malformed symbolic size {obj!r:.80}")
        return cls({s: c for c, s in terms}, const)

    def __repr__(self):
        parts = [(f"{c}*{s}" if c != 1 else s) for s, c in sorted(self.coeffs.items())]
        if self.const or not parts:
            parts.append(str(self.const))
        return " + ".join(parts).replace("+ -", "- ")


def substitute(value, symbols):
    """``value`` with every SymInt evaluated."""
    if isinstance(value, SymInt):
        return value.evaluate(symbols)
    if isinstance(value, tuple):
        return tuple(substitute(v, symbols) for v in value)
    if isinstance(value, list):
        return [substitute(v, symbols) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, symbols) for k, v in value.items()}
    return value


def has_symbols(value):
    if isinstance(value, SymInt):
        return True
    if isinstance(value, (tuple, list)):
        return any(has_symbols(v) for v in value)
    if isinstance(value, dict):
        return any(has_symbols(v) for v in value.values())
    return False
