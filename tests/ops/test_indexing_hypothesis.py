"""Property tests: random shapes with random index keys give torch's values and gradients."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle import check, rand

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)


def _item(draw, size):
    """One key item for a dim of ``size``: an int in range, a slice with a positive step, or None first."""
    kind = draw(st.sampled_from(["int", "slice", "none"]))
    if kind == "int" and size > 0:
        return [draw(st.integers(-size, size - 1))]
    if kind == "none":
        return [None, slice(None)]
    bound = st.none() | st.integers(-6, 6)
    return [slice(draw(bound), draw(bound), draw(st.none() | st.integers(1, 3)))]


@st.composite
def basic_keys(draw, shape):
    """Items for some leading dims, optionally an Ellipsis and items for some trailing dims."""
    lead = draw(st.integers(0, len(shape)))
    items = [k for d in range(lead) for k in _item(draw, shape[d])]
    if draw(st.booleans()):
        trail = draw(st.integers(0, len(shape) - lead))
        items.append(Ellipsis)
        items += [k for d in range(len(shape) - trail, len(shape)) for k in _item(draw, shape[d])]
    return tuple(items)


@st.composite
def shape_and_key(draw):
    shape = draw(shapes)
    return shape, draw(basic_keys(shape))


@settings(max_examples=60, deadline=None)
@given(shape_and_key())
def test_basic_keys_match_torch(case):
    shape, key = case
    check(lambda m, x: x[key], rand(*shape, seed=1))


@settings(max_examples=30, deadline=None)
@given(shape_and_key(), st.integers(0, 2))
def test_basic_keys_setitem_match_torch(case, seed):
    shape, key = case

    def fn(m, x, v):
        y = x * 1
        region = y[key]
        y[key] = v.reshape(()) if region.dim() == 0 else v.reshape(()).expand(region.shape) * 1
        return y

    check(fn, rand(*shape, seed=seed), rand(1, seed=seed + 5))


@st.composite
def shape_and_mask(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    lead = draw(st.integers(0, len(shape) - 1))
    width = draw(st.integers(1, len(shape) - lead))
    mask = np.asarray(draw(st.lists(st.booleans(), min_size=int(np.prod(shape[lead:lead + width])),
                                    max_size=int(np.prod(shape[lead:lead + width]))))).reshape(shape[lead:lead + width])
    return shape, lead, mask


@settings(max_examples=40, deadline=None)
@given(shape_and_mask())
def test_boolean_masks_match_torch(case):
    shape, lead, mask = case
    check(lambda m, x: x[(slice(None),) * lead + (m.tensor(mask),)], rand(*shape, seed=2))
    check(lambda m, x: x.masked_select(m.tensor(mask)) if lead + mask.ndim == len(shape) else x.sum(),
          rand(*shape, seed=3))


@settings(max_examples=30, deadline=None)
@given(shape_and_mask(), st.floats(-3, 3))
def test_boolean_mask_setitem_match_torch(case, value):
    shape, lead, mask = case

    def fn(m, x):
        y = x * 1
        y[(slice(None),) * lead + (m.tensor(mask),)] = value
        return y

    check(fn, rand(*shape, seed=4))
