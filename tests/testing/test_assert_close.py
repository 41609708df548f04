"""ember.testing.assert_close against torch.testing.assert_close: the same inputs built in both
libraries must pass or fail alike, with the same exception type and message (torch. -> ember.)."""
import warnings

import numpy as np
import pytest
import torch

import ember
from ember.testing import assert_allclose, assert_close

NAN, INF = float("nan"), float("inf")

# each case builds (actual, expected, kwargs) with the library it is given
CASES = {
    "one_of_four": lambda m: (m.tensor([1., 2, 3, 4]), m.tensor([1., 2, 3, 5]), {}),
    "2d_index": lambda m: (m.tensor([[1., 2], [3, 4]]), m.tensor([[1., 2], [3.5, 4.1]]), {}),
    "ints_equal_report": lambda m: (m.tensor([1, 2, 3]), m.tensor([1, 2, 4]), {}),
    "bools": lambda m: (m.tensor([True, False]), m.tensor([True, True]), {}),
    "0d": lambda m: (m.tensor(1.), m.tensor(2.), {}),
    "0d_int": lambda m: (m.tensor(3), m.tensor(4), {}),
    "shape": lambda m: (m.tensor([1., 2]), m.tensor([1., 2, 3]), {}),
    "shape_rank": lambda m: (m.tensor([1., 2.]), m.tensor([[1., 2.]]), {}),
    "dtype": lambda m: (m.tensor([1., 2]), m.tensor([1, 2]), {}),
    "dtype_float64": lambda m: (m.tensor([1., 2]), m.tensor([1., 2], dtype=m.float64), {}),
    "dtype_unchecked": lambda m: (m.tensor([1., 2]), m.tensor([1, 2]), {"check_dtype": False}),
    "dtype_unchecked_promoted_tol": lambda m: (m.tensor([1, 2], dtype=m.int32), m.tensor([1., 3]),
                                               {"check_dtype": False}),
    "float64_within_float32_tol": lambda m: (m.tensor([1., 2], dtype=m.float64), m.tensor([1., 2.000001]),
                                             {"check_dtype": False}),
    "nan": lambda m: (m.tensor([1., NAN]), m.tensor([1., NAN]), {}),
    "nan_equal": lambda m: (m.tensor([1., NAN]), m.tensor([1., NAN]), {"equal_nan": True}),
    "inf_same": lambda m: (m.tensor([1., INF]), m.tensor([1., INF]), {}),
    "inf_opposite": lambda m: (m.tensor([1., INF]), m.tensor([1., -INF]), {}),
    "zero_expected": lambda m: (m.tensor([0., 2]), m.tensor([1., 3]), {}),
    "msg": lambda m: (m.tensor([1., 2]), m.tensor([1., 3]), {"msg": "custom"}),
    "msg_callable": lambda m: (m.tensor([1., 2]), m.tensor([1., 3]), {"msg": lambda s: "X" + s}),
    "stride": lambda m: (m.ones(2, 2), m.ones(2, 2).t(), {"check_stride": True}),
    "stride_unchecked": lambda m: (m.ones(2, 2), m.ones(2, 2).t(), {}),
    "tensor_vs_list": lambda m: (m.tensor([1., 2]), [1., 2], {}),
    "tensor_vs_array": lambda m: (m.tensor([1., 2]), np.array([1., 2], np.float32), {}),
    "arrays": lambda m: (np.array([1., 2]), np.array([1., 3]), {}),
    "list_item": lambda m: ([m.tensor([1., 2])], [m.tensor([1., 3])], {}),
    "dict_item": lambda m: ({"a": m.tensor([1., 2])}, {"a": m.tensor([1., 3])}, {}),
    "nested_item": lambda m: ([{"a": (1, m.tensor([1.]))}], [{"a": (1, m.tensor([2.]))}], {}),
    "dict_keys": lambda m: ({"a": 1}, {"b": 1}, {}),
    "seq_length": lambda m: ([1, 2], [1, 2, 3], {}),
    "tuple_scalars": lambda m: ((1, 2), (1, 3), {}),
    "float_close": lambda m: (1.0, 1.0000001, {}),
    "float_far": lambda m: (1.0, 1.1, {}),
    "int_scalars": lambda m: (1, 2, {}),
    "int_vs_float": lambda m: (1, 1.0, {}),
    "complex_scalars": lambda m: (2.0 + 1j, 2.0 + 2j, {}),
    "bool_scalars": lambda m: (True, False, {}),
    "none": lambda m: (None, None, {}),
    "none_vs_int": lambda m: (None, 1, {}),
    "strings": lambda m: ("a", "b", {}),
    "only_rtol": lambda m: (m.tensor([1., 2]), m.tensor([1., 2]), {"rtol": 1e-3}),
    "only_atol": lambda m: (m.tensor([1., 2]), m.tensor([1., 2]), {"atol": 1e-3}),
    "exact_requested": lambda m: (m.tensor([1., 2]), m.tensor([1., 2.1]), {"rtol": 0, "atol": 0}),
    "complex_tensor": lambda m: (m.tensor([1. + 1j]), m.tensor([1. + 2j]), {}),
    "float16": lambda m: (m.tensor([1.], dtype=m.float16), m.tensor([1.001], dtype=m.float16), {}),
    "float16_far": lambda m: (m.tensor([1., 3.], dtype=m.float16), m.tensor([1.5, 3.], dtype=m.float16), {}),
    "requires_grad": lambda m: (m.tensor([1., 2.], requires_grad=True), m.tensor([1., 2.]), {}),
    "empty": lambda m: (m.tensor([]), m.tensor([]), {}),
    "loose_tolerance": lambda m: (m.tensor([1., 2.]), m.tensor([1.1, 2.]), {"rtol": 0.2, "atol": 0.0}),
    "transposed_values": lambda m: (m.arange(6.).reshape(2, 3).t(), m.arange(6.).reshape(3, 2), {}),
}


def _outcome(lib, case):
    actual, expected, kwargs = CASES[case](lib)
    try:
        lib.testing.assert_close(actual, expected, **kwargs)
    except Exception as e:  # noqa: BLE001 - the outcome itself is compared
        return type(e).__name__, str(e).replace("torch.", "ember.").replace("ember._tensor.", "ember.")
    return "passed", ""


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_outcome_and_message_as_torch(case):
    assert _outcome(ember, case) == _outcome(torch, case)


def test_message_format():
    with pytest.raises(AssertionError) as info:
        assert_close(ember.tensor([1., 2, 3, 4]), ember.tensor([1., 2, 3, 5]))
    assert "Mismatched elements: 1 / 4 (25.0%)\nGreatest absolute difference: 1.0 at index (3,)" in str(info.value)


def test_meta_tensors_compare_attributes_only():
    assert_close(ember.empty(2, 3, device="meta"), ember.empty(2, 3, device="meta"))
    with pytest.raises(AssertionError, match="attribute 'shape'"):
        assert_close(ember.empty(2, 3, device="meta"), ember.empty(3, 2, device="meta"))
    with pytest.raises(AssertionError, match="attribute 'device'"):
        assert_close(ember.zeros(2), ember.empty(2, device="meta"))


@pytest.mark.parametrize("case", ["close", "far", "list", "int_expected"])
def test_assert_allclose_deprecated_like_torch(case):
    build = {"close": lambda m: (m.tensor([1., 2]), [1., 2.00001]),
             "far": lambda m: (m.tensor([1., 2]), [1., 2.1]),
             "list": lambda m: ([1., 2.], [1., 2.5]),
             "int_expected": lambda m: (m.tensor([1., 2]), m.tensor([1, 2]))}[case]
    outcomes = []
    for lib, fn in ((ember, assert_allclose), (torch, torch.testing.assert_allclose)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fn(*build(lib))
                outcome = ("passed", "")
            except AssertionError as e:
                outcome = ("AssertionError", str(e))
        assert [w.category for w in caught] == [FutureWarning]
        outcomes.append(outcome)
    assert outcomes[0] == outcomes[1]
