"""The generic tests every op-database entry runs: values and dtypes against torch (and
torch's exception type where torch rejects an input), gradients against torch, float64
gradcheck and gradgradcheck, and method / in-place / operator / ``out=`` agreement."""
import pytest

from opdb import runner
from opdb.core import ALL_DTYPES
from opdb.entries import ENTRIES


def _param(entry, test, dtype):
    rule = entry.skip_for(test, dtype)
    marks = ()
    if rule is not None:
        marks = (pytest.mark.xfail(reason=rule.reason, strict=True) if rule.expected_failure
                 else pytest.mark.skip(reason=rule.reason),)
    return pytest.param(entry, dtype, id=f"{entry.name}-{dtype}", marks=marks)


def _variant_dtype(entry):
    return next(d for d in ("float32", "int64", "bool") + ALL_DTYPES if d in entry.dtypes)


VALUES = [_param(e, "values", d) for e in ENTRIES for d in e.dtypes]
GRAD = [_param(e, "grad", "float32") for e in ENTRIES if e.differentiable and "float32" in e.dtypes]
GRADCHECK = [_param(e, "gradcheck", "float64") for e in ENTRIES if e.differentiable and "float64" in e.dtypes]
GRADGRAD = [_param(e, "gradgrad", "float64") for e in ENTRIES
            if e.differentiable and e.gradgrad and "float64" in e.dtypes]
VARIANTS = [_param(e, "variants", _variant_dtype(e)) for e in ENTRIES]


def _skip_uncapturable(entry, context):
    if not entry.capturable and context.transform_name != "none":
        pytest.skip(f"{entry.name} works outside the dispatcher: the {context.transform_name} transform cannot replay it")


def _record(request, entry, test, outcome):
    request.node.user_properties.append(("opdb", {
        "entry": entry.name, "test": test, "samples": outcome.samples,
        "xfailed": [(desc, reason) for desc, reason, _ in outcome.xfailed]}))


@pytest.mark.parametrize("entry, dtype", VALUES)
def test_values(entry, dtype, opdb_context, request):
    """Every dtype: where torch computes, ember gives the same values and dtype; where
    torch rejects the input (an unsupported dtype), ember raises the same exception type."""
    _skip_uncapturable(entry, opdb_context)
    _record(request, entry, "values", runner.check_values(entry, dtype, opdb_context))


@pytest.mark.parametrize("entry, dtype", GRAD)
def test_grad(entry, dtype, opdb_context, request):
    _skip_uncapturable(entry, opdb_context)
    _record(request, entry, "grad", runner.check_grad(entry, dtype, opdb_context))


@pytest.mark.parametrize("entry, dtype", GRADCHECK)
def test_gradcheck(entry, dtype, opdb_context, request):
    _skip_uncapturable(entry, opdb_context)
    _record(request, entry, "gradcheck", runner.check_gradcheck(entry, opdb_context))


@pytest.mark.parametrize("entry, dtype", GRADGRAD)
def test_gradgradcheck(entry, dtype, opdb_context, request):
    _skip_uncapturable(entry, opdb_context)
    _record(request, entry, "gradgrad", runner.check_gradgrad(entry, opdb_context))


@pytest.mark.parametrize("entry, dtype", VARIANTS)
def test_variants(entry, dtype, opdb_context, request):
    _skip_uncapturable(entry, opdb_context)
    _record(request, entry, "variants", runner.check_variants(entry, dtype, opdb_context))

