"""DataPipes, PyTorch's composable datasets: ``IterDataPipe`` / ``MapDataPipe`` bases whose subclasses
register as chainable methods with ``@functional_datapipe("name")``, ``DataChunk`` batches, and the
determinism and type-validation switches.

>>> @functional_datapipe("doubled")
... class Doubled(IterDataPipe):
...     def __init__(self, source):
...         self.source = source
...     def __iter__(self):
...         return (2 * x for x in self.source)
>>> class Numbers(IterDataPipe):
...     def __iter__(self):
...         return iter(range(3))
>>> list(Numbers().doubled())
[0, 2, 4]
"""
import contextlib
import functools
import inspect
import typing
from collections.abc import Iterator

from ember.utils.data.dataset import Dataset, IterableDataset

_flags = {"determinism": False, "runtime_validation": True}


class _Registry:
    """Chainable methods: ``pipe.name(*args)`` builds ``cls(pipe, *args)`` for every registered ``name``."""

    functions = {}

    @classmethod
    def register_datapipe_as_function(cls, function_name, cls_to_register):
        if function_name in cls.functions:
            raise Exception(f"Unable to add DataPipe function name {function_name} as it is already taken")
        cls.functions[function_name] = cls_to_register

    def __getattr__(self, name):
        target = type(self).functions.get(name)
        if target is None or name.startswith("__"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        return functools.partial(target, self)

    def __dir__(self):
        return [*super().__dir__(), *type(self).functions]


class IterDataPipe(_Registry, IterableDataset):
    """A stream of samples built by chaining DataPipes (``source.map(f).filter(g)``); ``IterDataPipe[int]``
    declares the element type that ``@runtime_validation`` checks."""

    functions = {}
    _element_type = None

    def __class_getitem__(cls, item):
        return type(f"{cls.__name__}[{getattr(item, '__name__', item)}]", (cls,), {"_element_type": item})


class MapDataPipe(_Registry, Dataset):
    """A keyed dataset built by chaining DataPipes; ``__getitem__`` and ``__len__`` as a map-style ``Dataset``."""

    functions = {}


class DFIterDataPipe(IterDataPipe):
    """An ``IterDataPipe`` whose items are data frames."""

    def _is_dfpipe(self):
        return True


class DataChunk(list):
    """A list of samples that a batching DataPipe yields as one item."""

    def __init__(self, items=()):
        items = list(items)
        super().__init__(items)
        self.items = items

    def as_str(self, indent=""):
        return indent + "[" + ", ".join(str(i) for i in iter(self)) + "]"

    def __iter__(self):
        yield from super().__iter__()

    def raw_iterator(self):
        yield from self.items


class functional_datapipe:  # noqa: N801  (PyTorch's name)
    """Class decorator: register a DataPipe under ``name`` as a method of every pipe of its kind (any other
    class is returned unregistered, as PyTorch does)."""

    def __init__(self, name, enable_df_api_tracing=False):
        self.name = name
        self.enable_df_api_tracing = enable_df_api_tracing

    def __call__(self, cls):
        if isinstance(cls, type) and issubclass(cls, IterDataPipe):
            IterDataPipe.register_datapipe_as_function(self.name, cls)
        elif isinstance(cls, type) and issubclass(cls, MapDataPipe):
            MapDataPipe.register_datapipe_as_function(self.name, cls)
        return cls


@contextlib.contextmanager
def guaranteed_datapipes_determinism():
    """Inside, building a DataPipe marked ``@non_deterministic`` raises TypeError."""
    before = _flags["determinism"]
    _flags["determinism"] = True
    try:
        yield
    finally:
        _flags["determinism"] = before


def non_deterministic(arg):
    """Mark a DataPipe class as non-deterministic, or (given a function of the constructor's arguments
    returning a bool) as non-deterministic when that function says so."""
    if isinstance(arg, type):
        return _guard(arg, lambda *a, **k: True)
    return lambda cls: _guard(cls, arg)


def _guard(cls, is_nondeterministic):
    if not issubclass(cls, (IterDataPipe, MapDataPipe)):
        raise TypeError(f"Only `DataPipe` can be decorated with `non_deterministic`, but {cls.__name__} is found")
    init = cls.__init__

    @functools.wraps(init)
    def checked_init(self, *args, **kwargs):
        if _flags["determinism"] and is_nondeterministic(*args, **kwargs):
            raise TypeError(f"{cls.__name__} is non-deterministic, but you set 'guaranteed_datapipes_determinism'. "
                            "You can turn off determinism for this DataPipe if that is acceptable for your "
                            "application")
        init(self, *args, **kwargs)

    cls.__init__ = checked_init
    return cls


def argument_validation(f):
    """Check, at each call, that arguments annotated with a DataPipe type are instances of it."""
    signature = inspect.signature(f)
    hints = typing.get_type_hints(f)

    @functools.wraps(f)
    def validated(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        for name, value in bound.arguments.items():
            hint = hints.get(name)
            if isinstance(hint, type) and issubclass(hint, (IterDataPipe, MapDataPipe)) \
                    and not isinstance(value, hint):
                raise TypeError(f"Expected argument '{name}' as a {hint.__name__}, but found {type(value)}")
        return f(*args, **kwargs)

    return validated


@contextlib.contextmanager
def runtime_validation_disabled():
    """Inside, ``@runtime_validation`` iterators skip their type checks."""
    before = _flags["runtime_validation"]
    _flags["runtime_validation"] = False
    try:
        yield
    finally:
        _flags["runtime_validation"] = before


def runtime_validation(f):
    """Decorate the ``__iter__`` of an ``IterDataPipe[T]`` (or one annotated ``-> Iterator[T]``): each
    yielded item must be a ``T``."""
    if f.__name__ != "__iter__":
        raise TypeError(f"Can not decorate function {f.__name__} with 'runtime_validation'")
    returned = typing.get_type_hints(f).get("return")
    args = typing.get_args(returned) if typing.get_origin(returned) in (Iterator, typing.Iterator) else ()
    expected = args[0] if args and isinstance(args[0], type) else None

    @functools.wraps(f)
    def validated(self):
        declared = self._element_type if isinstance(self._element_type, type) else expected
        for item in f(self):
            if declared is not None and _flags["runtime_validation"] and not isinstance(item, declared):
                raise RuntimeError(f"Expected an instance as subtype of {declared.__name__}, but found "
                                   f"{item}({type(item)})")
            yield item

    return validated
