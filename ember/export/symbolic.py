"""Symbolic sizes over the dynamic dims of ``export``."""


class SymInt:
    """An integer that depends on dynamic dims: a sum of products of distinct symbols, each
    with an integer coefficient, plus a constant (``s0*s1 + 2*s0 + 1``)."""

    __slots__ = ("terms", "const")

    def __init__(self, terms, const):
        self.terms = {tuple(sorted(k)): v for k, v in terms.items() if v}
        self.const = const

    def evaluate(self, symbols):
        total = self.const
        for names, coef in self.terms.items():
            prod = coef
            for s in names:
                prod *= symbols[s]
            total += prod
        return total

    def to_json(self):
        return {"$sym": [[c, *names] for names, c in sorted(self.terms.items())], "c": self.const}

    @classmethod
    def from_json(cls, obj, known):
        terms, const = obj.get("$sym"), obj.get("c")
        if (not isinstance(terms, list) or not isinstance(const, int) or isinstance(const, bool)
                or not all(isinstance(t, list) and len(t) >= 2 and isinstance(t[0], int) and not isinstance(t[0], bool)
                           and all(s in known for s in t[1:]) and len(set(t[1:])) == len(t) - 1 for t in terms)):
            raise ValueError(f"malformed symbolic size {obj!r:.80}")
        return cls({tuple(t[1:]): t[0] for t in terms}, const)

    def __repr__(self):
        parts = [("" if c == 1 else f"{c}*") + "*".join(names) for names, c in sorted(self.terms.items())]
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
