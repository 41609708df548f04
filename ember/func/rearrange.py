"""``rearrange``: einops-style reshaping and transposing by a pattern, ``"b c h w -> b (c h w)"``."""
import math

from ember.ops.shape import permute


def _parse(side):
    """A pattern side as a list of groups (each a list of axis names; '1' is a unit group)."""
    groups, current = [], None
    for tok in side.replace("(", " ( ").replace(")", " ) ").split():
        if tok == "(":
            if current is not None:
                raise ValueError(f"rearrange: nested parentheses in {side!r}")
            current = []
        elif tok == ")":
            if current is None:
                raise ValueError(f"rearrange: unbalanced parentheses in {side!r}")
            groups.append(current)
            current = None
        elif current is not None:
            current.append(tok)
        else:
            groups.append([tok] if tok != "1" else [])
    if current is not None:
        raise ValueError(f"rearrange: unbalanced parentheses in {side!r}")
    return groups


def rearrange(tensor, pattern, **axes_lengths):
    """Split, merge and reorder dims by naming them: ``rearrange(x, "b (h w) -> b h w", h=4)``;
    ``...`` stands for the dims not named."""
    if "->" not in pattern:
        raise ValueError(f"rearrange: the pattern {pattern!r} has no '->'")
    left, right = (_parse(s) for s in pattern.split("->"))
    names_l = [n for g in left for n in g]
    names_r = [n for g in right for n in g]
    if "..." in names_l:
        extra = tensor.dim() - (len(left) - 1)
        dots = [f"...{i}" for i in range(extra)]
        left = [g if g != ["..."] else [d] for g in left for d in (dots if g == ["..."] else [None])]
        right = [sum(([*dots] if n == "..." else [n] for n in g), []) if g != ["..."] else None for g in right]
        right = [r for g in right for r in ([[d] for d in dots] if g is None else [g])]
        names_l = [n for g in left for n in g]
        names_r = [n for g in right for n in g]
    if len(left) != tensor.dim():
        raise ValueError(f"rearrange: the pattern {pattern!r} names {len(left)} dims, the tensor has {tensor.dim()}")
    if sorted(names_l) != sorted(names_r) or len(set(names_l)) != len(names_l):
        raise ValueError(f"rearrange: the two sides of {pattern!r} must name the same axes, once each")
    sizes = dict(axes_lengths)
    for group, n in zip(left, tensor.shape):
        unknown = [a for a in group if a not in sizes]
        known = math.prod(sizes[a] for a in group if a in sizes)
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot infer the sizes of {unknown} in {pattern!r}")
        if unknown:
            if known == 0 or n % known:
                raise ValueError(f"rearrange: dim of size {n} cannot be split into {group} with {axes_lengths}")
            sizes[unknown[0]] = n // known
        elif known != n:
            raise ValueError(f"rearrange: dim of size {n} does not match the sizes {group} multiply to ({known})")
    x = tensor.reshape(*[sizes[a] for a in names_l])
    x = permute(x, [names_l.index(a) for a in names_r])
    return x.reshape(*[math.prod(sizes[a] for a in g) for g in right])
