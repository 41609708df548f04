"""The helpers torch's functional API is written with, for code that writes functions the same way:
``__torch_function__`` overrides (``has_torch_function``, ``handle_torch_function``), dispatch on a
boolean argument (``boolean_dispatch``) and the int-or-pair check.

ember's own functions take Tensors only and never consult ``__torch_function__``; these helpers let
user functions accept other tensor-like types that implement the protocol.

>>> from ember.nn.functional import has_torch_function
>>> has_torch_function((1.0, 2))
False
"""
from ember._tensor import Tensor

__all__ = ["assert_int_or_pair", "boolean_dispatch", "handle_torch_function", "has_torch_function",
           "has_torch_function_unary", "has_torch_function_variadic"]


def _overrides(arg):
    """Whether ``arg``'s type implements ``__torch_function__`` (Tensor itself does not count)."""
    method = getattr(type(arg), "__torch_function__", None)
    return method is not None and method is not getattr(Tensor, "__torch_function__", None)


def has_torch_function(relevant_args):
    """True when any of ``relevant_args`` overrides ``__torch_function__``."""
    return any(_overrides(a) for a in relevant_args)


def has_torch_function_unary(arg):
    """``has_torch_function((arg,))``."""
    return _overrides(arg)


def has_torch_function_variadic(*args):
    """``has_torch_function(args)``."""
    return any(_overrides(a) for a in args)


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    """Call the ``__torch_function__`` of the overriding arguments (subclasses before their bases, then
    left to right) until one returns something other than ``NotImplemented``."""
    overloaded = []
    for arg in relevant_args:
        if _overrides(arg) and type(arg) not in [type(o) for o in overloaded]:
            index = next((i for i, o in enumerate(overloaded) if issubclass(type(arg), type(o))), len(overloaded))
            overloaded.insert(index, arg)
    types = tuple(type(a) for a in overloaded)
    for arg in overloaded:
        result = arg.__torch_function__(public_api, types, args, kwargs)
        if result is not NotImplemented:
            return result
    raise TypeError(f"no implementation found for '{public_api.__module__}.{public_api.__name__}' on types that "
                    f"implement __torch_function__: {list(types)}")


def boolean_dispatch(arg_name, arg_index, default, if_true, if_false, module_name, func_name):
    """A function that calls ``if_true`` or ``if_false`` by the boolean argument ``arg_name`` (positional
    index ``arg_index``, ``default`` when not given): how ``max_pool2d`` picks its ``return_indices`` form."""
    def fn(*args, **kwargs):
        flag = default
        if arg_name in kwargs:
            flag = kwargs[arg_name]
        elif arg_index < len(args):
            flag = args[arg_index]
        return if_true(*args, **kwargs) if flag else if_false(*args, **kwargs)

    if if_true.__doc__ is None and if_false.__doc__ is not None:
        fn.__doc__ = if_false.__doc__
    else:
        fn.__doc__ = if_true.__doc__
    if module_name is not None:
        fn.__module__ = module_name
    if func_name is not None:
        fn.__name__ = func_name
    return fn


def assert_int_or_pair(arg, arg_name, message):
    """Raise AssertionError(``message.format(arg_name)``) unless ``arg`` is an int or has two elements."""
    if not (isinstance(arg, int) or len(arg) == 2):
        raise AssertionError(message.format(arg_name))
