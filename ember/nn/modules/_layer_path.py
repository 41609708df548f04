"""Name the layer an error came from: ``features.3 (Conv2d): Given groups=1, weight of size ...``.

PyTorch reports a bad input shape from deep inside a model with no hint of which layer
raised it. As the exception travels out through each ``Module.__call__``, every level
prefixes the name under which it holds the level below, so the message that reaches the
user carries the failing layer's path from the outermost module called and its class.
Nothing runs unless an exception is raised.
"""

ANNOTATED_ERRORS = (RuntimeError, ValueError, TypeError, IndexError)


def name_layer(exc, module):
    """Rewrite ``exc``'s message to start with the path of the failing layer as seen from ``module``."""
    if len(exc.args) != 1 or not isinstance(exc.args[0], str):
        return
    state = getattr(exc, "_ember_layer", None)
    if state is None:
        layer, message, path = type(module).__name__, exc.args[0], ""
    else:
        layer, message, path, child = state
        if child is None:
            return
        name = _name_of(module, child)
        if name is None:  # an unregistered module called from forward: the path cannot be named past here
            exc._ember_layer = (layer, message, path, None)
            return
        path = f"{name}.{path}" if path else name
    exc._ember_layer = (layer, message, path, module)
    exc.args = (f"{path} ({layer}): {message}" if path else f"{layer}: {message}",)


def _name_of(parent, child):
    for name, module in parent._modules.items():
        if module is child:
            return name
    for name, module in parent.named_modules(remove_duplicate=False):
        if module is child and name:
            return name
    return None
