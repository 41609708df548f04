"""Random sampling: distributions (moments within tolerance), shapes/dtypes like torch,
seeding and generator reproducibility, in-place samplers and torch's errors."""
import copy

import numpy as np
import pytest
import torch

import ember

N = 20000  # samples for moment checks: standard error of a mean is ~0.007 for unit variance


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a.mean(), a.var()


# shapes, dtypes, factories' keywords ---------------------------------------------------------

FACTORIES = {
    "rand": lambda lib, **kw: lib.rand(2, 3, **kw),
    "rand tuple": lambda lib, **kw: lib.rand((2, 3), **kw),
    "randn list": lambda lib, **kw: lib.randn([4], **kw),
    "randn size": lambda lib, **kw: lib.randn(lib.Size([2, 1]), **kw),
    "rand 0-d": lambda lib, **kw: lib.rand((), **kw),
    "rand empty": lambda lib, **kw: lib.rand(0, 3, **kw),
    "randint high": lambda lib, **kw: lib.randint(5, (3, 2), **kw),
    "randint low high": lambda lib, **kw: lib.randint(-3, 5, (7,), **kw),
    "randint size kw": lambda lib, **kw: lib.randint(2, 5, size=(2,), **kw),
    "randperm": lambda lib, **kw: lib.randperm(6, **kw),
    "normal floats": lambda lib, **kw: lib.normal(2.0, 3.0, (4, 2), **kw),
    "rand_like": lambda lib, **kw: lib.rand_like(lib.ones(2, 2, dtype=lib.float64), **kw),
    "randn_like": lambda lib, **kw: lib.randn_like(lib.ones(3), **kw),
    "randint_like": lambda lib, **kw: lib.randint_like(lib.ones(3), 7, **kw),
    "randint_like low": lambda lib, **kw: lib.randint_like(lib.ones(3, dtype=lib.int32), 2, 7, **kw),
}


def _same_meta(e, t):
    assert tuple(e.shape) == tuple(t.shape)
    assert repr(e.dtype) == repr(t.dtype).replace("torch.", "ember.")
    assert e.requires_grad == t.requires_grad
    assert str(e.device) == str(t.device)


@pytest.mark.parametrize("make", FACTORIES.values(), ids=FACTORIES.keys())
def test_factory_shape_dtype_like_torch(make):
    _same_meta(make(ember), make(torch))


@pytest.mark.parametrize("name", ["rand", "randn list", "normal floats", "rand_like"])
@pytest.mark.parametrize("kw", [{"dtype": "float64"}, {"requires_grad": True}, {"device": "cpu"},
                                {"dtype": "float16", "requires_grad": True}])
def test_factory_keywords_like_torch(name, kw):
    def resolve(lib):
        return {k: getattr(lib, v) if k == "dtype" else v for k, v in kw.items()}
    _same_meta(FACTORIES[name](ember, **resolve(ember)), FACTORIES[name](torch, **resolve(torch)))


@pytest.mark.parametrize("dtype", ["float32", "int32", "int8", "uint8", "bool", "float64"])
def test_randint_dtypes(dtype):
    e = ember.randint(0, 2, (50,), dtype=getattr(ember, dtype))
    t = torch.randint(0, 2, (50,), dtype=getattr(torch, dtype))
    _same_meta(e, t)
    assert set(np.unique(e.numpy()).tolist()) <= {0, 1}


def test_normal_tensor_forms_shapes_and_dtypes():
    forms = [
        lambda lib: lib.normal(lib.zeros(2, 3), lib.ones(3)),
        lambda lib: lib.normal(lib.zeros(4, dtype=lib.float64), 2.0),
        lambda lib: lib.normal(1.0, lib.ones(3, 1)),
        lambda lib: lib.normal(mean=lib.zeros(2), std=lib.ones(2)),
    ]
    for form in forms:
        _same_meta(form(ember), form(torch))


# distributions ----------------------------------------------------------------------------------

def test_uniform_and_normal_moments():
    m, v = _stats(ember.rand(N))
    assert abs(m - 0.5) < 0.02 and abs(v - 1 / 12) < 0.01
    a = ember.rand(N).numpy()
    assert a.min() >= 0 and a.max() < 1
    m, v = _stats(ember.randn(N))
    assert abs(m) < 0.05 and abs(v - 1) < 0.05
    m, v = _stats(ember.normal(3.0, 2.0, (N,)))
    assert abs(m - 3) < 0.1 and abs(v - 4) < 0.2
    m, v = _stats(ember.normal(ember.full((N,), -1.0), ember.full((N,), 0.5)))
    assert abs(m + 1) < 0.05 and abs(v - 0.25) < 0.02


def test_randint_range_and_uniformity():
    a = ember.randint(-2, 3, (N,)).numpy()
    assert a.min() == -2 and a.max() == 2
    counts = np.bincount(a + 2)
    assert np.all(np.abs(counts / N - 0.2) < 0.02)


def test_randperm_is_permutation():
    for n in (0, 1, 10, 1000):
        assert sorted(ember.randperm(n).tolist()) == list(range(n))
    assert ember.randperm(5, dtype=ember.int32).dtype == ember.int32


def test_bernoulli_forms():
    p = ember.tensor([0.0, 1.0, 0.3]).expand(N, 3)
    s = ember.bernoulli(p).numpy()
    assert s.dtype == np.float32 and set(np.unique(s)) <= {0.0, 1.0}
    assert s[:, 0].sum() == 0 and s[:, 1].sum() == N and abs(s[:, 2].mean() - 0.3) < 0.02
    s = ember.bernoulli(ember.zeros(N, dtype=ember.float64), p=0.7)
    assert s.dtype == ember.float64 and abs(s.numpy().mean() - 0.7) < 0.02
    assert abs(ember.full((N,), 0.25).bernoulli().numpy().mean() - 0.25) < 0.02


def test_multinomial_frequencies():
    probs = ember.tensor([1.0, 2.0, 7.0])  # unnormalised
    s = ember.multinomial(probs, N, replacement=True)
    assert s.dtype == ember.int64 and tuple(s.shape) == (N,)
    assert np.allclose(np.bincount(s.numpy(), minlength=3) / N, [0.1, 0.2, 0.7], atol=0.02)
    rows = ember.multinomial(ember.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), 1)
    assert rows.tolist() == [[1], [0]]


def test_multinomial_without_replacement():
    s = ember.multinomial(ember.ones(2, 10), 10)
    assert tuple(s.shape) == (2, 10)
    for row in s.tolist():
        assert sorted(row) == list(range(10))
    firsts = np.array([ember.multinomial(ember.tensor([1.0, 9.0]), 2).tolist()[0] for _ in range(2000)])
    assert abs((firsts == 1).mean() - 0.9) < 0.03
    assert ember.multinomial(ember.tensor([0.0, 5.0, 0.0]), 1).item() == 1


def test_poisson_and_exponential_moments():
    m, v = _stats(ember.poisson(ember.full((N,), 4.0)))
    assert abs(m - 4) < 0.1 and abs(v - 4) < 0.3
    m, v = _stats(ember.empty(N).exponential_(2.0))
    assert abs(m - 0.5) < 0.02 and abs(v - 0.25) < 0.03


# in-place samplers ---------------------------------------------------------------------------

def test_inplace_samplers_values_and_versions():
    x = ember.empty(N)
    v0 = x._version_value
    assert x.uniform_(-2, 4) is x
    a = x.numpy()
    assert a.min() >= -2 and a.max() < 4 and abs(a.mean() - 1) < 0.1
    x.normal_(5, 0.5)
    assert abs(x.numpy().mean() - 5) < 0.02 and abs(x.numpy().std() - 0.5) < 0.02
    x.bernoulli_(0.2)
    assert abs(x.numpy().mean() - 0.2) < 0.02
    x.bernoulli_(ember.full((N,), 0.9))
    assert abs(x.numpy().mean() - 0.9) < 0.02
    assert x._version_value == v0 + 4


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "float32", "float64"])
def test_random_inplace(dtype):
    x = ember.zeros(N, dtype=getattr(ember, dtype))
    a = x.random_(3, 7).numpy()
    assert a.min() == 3 and a.max() == 6 and x.dtype.name == dtype
    assert set(x.random_(2).tolist()) == {0, 1}
    assert x.random_().numpy().min() >= 0


def test_inplace_sampler_on_view_writes_base():
    base = ember.zeros(4, 4)
    base[1].uniform_(1, 2)
    a = base.numpy()
    assert (a[1] >= 1).all() and (a[[0, 2, 3]] == 0).all()


def test_inplace_on_leaf_requiring_grad():
    for sample in (lambda x: x.uniform_(), lambda x: x.normal_(), lambda x: x.bernoulli_(), lambda x: x.fill_(1),
                   lambda x: x.zero_(), lambda x: x.exponential_()):
        x = ember.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            sample(x)
        with ember.no_grad():
            sample(x)
        assert x.requires_grad and x.grad_fn is None


@pytest.mark.parametrize("name,args,node", [
    ("uniform_", (), "UniformBackward0"), ("normal_", (), "NormalBackward0"), ("bernoulli_", (0.5,), "BernoulliBackward2"),
    ("exponential_", (), "ExponentialBackward0"), ("random_", (0, 3), "RandomBackward0"),
])
def test_inplace_sampler_graph_like_torch(name, args, node):
    res = {}
    for lib in (torch, ember):
        w = lib.ones(3, requires_grad=True)
        y = getattr(w * 2, name)(*args)
        assert y.grad_fn.name() == node
        (y * 3).sum().backward()
        res[lib.__name__] = w.grad.tolist()
    assert res["ember"] == res["torch"] == [0.0, 0.0, 0.0]


def test_normal_and_bernoulli_node_names_and_zero_grads():
    for make in (lambda lib, m, s: lib.normal(m, s), lambda lib, m, s: lib.normal(m, 1.0),
                 lambda lib, m, s: lib.normal(0.0, s), lambda lib, m, s: lib.bernoulli(m.sigmoid())):
        names, grads = [], []
        for lib in (torch, ember):
            m, s = lib.zeros(3, requires_grad=True), lib.ones(3, requires_grad=True)
            out = make(lib, m, s)
            names.append(out.grad_fn.name())
            out.sum().backward()
            grads.append([None if t.grad is None else t.grad.tolist() for t in (m, s)])
        assert names[0] == names[1]
        assert grads[0] == grads[1]


# seeding and generators ----------------------------------------------------------------------

def _draws(**kw):
    return [ember.rand(3, **kw).tolist(), ember.randn(2, **kw).tolist(), ember.randint(0, 100, (3,), **kw).tolist(),
            ember.randperm(5, **kw).tolist(), ember.normal(0.0, 1.0, (2,), **kw).tolist(),
            ember.multinomial(ember.ones(5), 3, **kw).tolist(), ember.empty(3).uniform_(**kw).tolist()]


def test_manual_seed_reproduces():
    g = ember.manual_seed(123)
    assert isinstance(g, ember.Generator) and g is ember.default_generator
    assert ember.initial_seed() == 123
    first = _draws()
    ember.manual_seed(123)
    assert _draws() == first
    ember.manual_seed(124)
    assert _draws() != first


def test_generator_is_independent_of_default():
    g = ember.Generator().manual_seed(7)
    a = _draws(generator=g)
    ember.manual_seed(0)
    ember.rand(10)
    g.manual_seed(7)
    assert _draws(generator=g) == a
    assert ember.Generator().initial_seed() == torch.Generator().initial_seed()
    assert ember.Generator().device == ember.device("cpu")


def test_get_set_state_round_trip():
    g = ember.Generator().manual_seed(3)
    ember.rand(5, generator=g)
    state = g.get_state()
    assert state.dtype == ember.uint8 and state.dim() == 1
    after = ember.rand(4, generator=g).tolist()
    g.set_state(state)
    assert ember.rand(4, generator=g).tolist() == after
    assert g.initial_seed() == 3
    ember.manual_seed(5)
    s = ember.get_rng_state()
    x = ember.randn(3).tolist()
    ember.set_rng_state(s)
    assert ember.randn(3).tolist() == x
    with pytest.raises(RuntimeError):
        g.set_state(ember.zeros(3))


def test_seed_is_nondeterministic():
    s1 = ember.seed()
    s2 = ember.seed()
    assert s1 != s2 and ember.initial_seed() == s2
    g = ember.Generator()
    assert g.seed() == g.initial_seed()


def test_manual_seed_range_like_torch():
    for seed in (-1, 2**64 - 1):
        torch.manual_seed(seed)
        ember.manual_seed(seed)
        assert ember.initial_seed() == torch.initial_seed()
    for seed in (2**64, -(2**63) - 1):
        with pytest.raises(ValueError, match="Overflow"):
            ember.manual_seed(seed)
        with pytest.raises(ValueError, match="Overflow"):
            torch.manual_seed(seed)


def test_deepcopy_of_tensor_does_not_touch_rng():
    ember.manual_seed(1)
    copy.deepcopy(ember.ones(2))
    a = ember.rand(2).tolist()
    ember.manual_seed(1)
    assert ember.rand(2).tolist() == a


# errors like torch -----------------------------------------------------------------------------

ERRORS = {
    "randint high <= low": (lambda lib: lib.randint(3, 2, (2,)), RuntimeError, "expects 'from' to be less than 'to'"),
    "randint equal": (lambda lib: lib.randint(3, 3, (2,)), RuntimeError, "from=3 >= to=3"),
    "multinomial too many": (lambda lib: lib.multinomial(lib.ones(3), 4), RuntimeError,
                             "cannot sample n_sample > prob_dist.size"),
    "multinomial zero samples": (lambda lib: lib.multinomial(lib.ones(3), 0), RuntimeError, "n_sample <= 0"),
    "multinomial negative": (lambda lib: lib.multinomial(lib.tensor([-1.0, 1.0]), 1), RuntimeError, "element < 0"),
    "multinomial nan": (lambda lib: lib.multinomial(lib.tensor([float("nan"), 1.0]), 1), RuntimeError, "nan"),
    "multinomial zero sum": (lambda lib: lib.multinomial(lib.zeros(2), 1), RuntimeError, "sum of probabilities"),
    "multinomial 3-D": (lambda lib: lib.multinomial(lib.ones(2, 2, 2), 1), RuntimeError, "1 or 2 dim"),
    "multinomial int": (lambda lib: lib.multinomial(lib.ones(3, dtype=lib.int64), 1), RuntimeError,
                        "floating-point dtypes"),
    "rand int dtype": (lambda lib: lib.rand(2, dtype=lib.int64), NotImplementedError, "not implemented for 'Long'"),
    "randn int dtype": (lambda lib: lib.randn(2, dtype=lib.int32), NotImplementedError, "not implemented for 'Int'"),
    "normal_ on int": (lambda lib: lib.ones(2, dtype=lib.int64).normal_(), NotImplementedError, "'Long'"),
    "rand negative size": (lambda lib: lib.rand(-1), RuntimeError, "negative dimension"),
    "randperm negative": (lambda lib: lib.randperm(-1), RuntimeError, "negative dimension"),
    "uniform_ bounds": (lambda lib: lib.ones(2).uniform_(3, 1), RuntimeError, "from=3 > to=1"),
    "bernoulli_ p": (lambda lib: lib.ones(2).bernoulli_(1.5), RuntimeError, r"expects p to be in \[0, 1\]"),
    "bernoulli p=": (lambda lib: lib.bernoulli(lib.ones(2), p=2.0), RuntimeError, r"expects p to be in \[0, 1\]"),
    "exponential_ lambda": (lambda lib: lib.ones(2).exponential_(-1), RuntimeError, "lambda > 0.0"),
    "normal std": (lambda lib: lib.normal(lib.zeros(2), -1.0), RuntimeError, "std >= 0.0"),
    "normal std tensor": (lambda lib: lib.normal(lib.zeros(2), lib.tensor([1.0, -1.0])), RuntimeError,
                          "all elements of std >= 0.0"),
    "poisson negative": (lambda lib: lib.poisson(lib.tensor([-1.0])), RuntimeError, "non-negative"),
    "randint bool range": (lambda lib: lib.randint(3, (2,), dtype=lib.bool), RuntimeError, "out of bounds for bool"),
}


@pytest.mark.parametrize("make,exc,msg", ERRORS.values(), ids=ERRORS.keys())
def test_errors_like_torch(make, exc, msg):
    with pytest.raises(exc, match=msg):
        make(torch)
    with pytest.raises(exc, match=msg):
        make(ember)


def test_bad_generator_argument():
    with pytest.raises(TypeError, match="Generator"):
        ember.rand(2, generator=3)
