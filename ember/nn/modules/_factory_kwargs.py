"""``nn.factory_kwargs``: the device/dtype/memory_format keyword arguments for tensor factories."""

_SIMPLE = {"device", "dtype", "memory_format"}


def factory_kwargs(kwargs):
    """``kwargs`` checked (only device, dtype, memory_format, factory_kwargs) and merged with the nested
    ``factory_kwargs`` dict: ``factory_kwargs({"device": "cpu"}) == {"device": "cpu"}``."""
    if kwargs is None:
        return {}
    if not kwargs.keys() <= _SIMPLE | {"factory_kwargs"}:
        raise TypeError(f"unexpected kwargs {kwargs.keys() - (_SIMPLE | {'factory_kwargs'})}")
    merged = dict(kwargs.get("factory_kwargs", {}))
    for key in _SIMPLE & kwargs.keys():
        if key in merged:
            raise TypeError(f"{key} specified twice, in **kwargs and in factory_kwargs")
        merged[key] = kwargs[key]
    return merged
