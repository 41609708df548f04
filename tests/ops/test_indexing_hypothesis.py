"""Property tests: random shapes with random index keys give torch's values and gradients."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle import check, rand

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)


@st.composite
def basic_keys(draw, shape):
    """A key of ints (in range), slices with positive steps, None and at most one Ellipsis."""
    items, dim = [], 0
    ellipsis_used = False
    while dim < len(shape) and draw(st.booleans()):
        kind = draw(st.sampled_from(["int", "slice", "none", "ellipsis"]))
        if kind == "int" and shape[dim] > 0:
            items.append(draw(st.integers(-shape[dim], shape[dim] - 1)))
            dim += 1
        elif kind == "none":
            items.append(None)
        elif kind == "ellipsis" and not ellipsis_used:
            items.append(Ellipsis)
            ellipsis_used = True
            dim = len(shape) - draw(st.integers(0, len(shape) - dim))
        else:
            bound = st.none() | st.integers(-6, 6)
            items.append(slice(draw(bound), draw(bound), draw(st.none() | st.integers(1, 3))))
            dim += 1
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
