"""load_state_dict: copy a checkpoint into a module tree, with PyTorch's error report."""
from collections import namedtuple
from collections.abc import Mapping

from ember._tensor import Tensor
from ember.autograd import no_grad
from ember.nn.parameter import Parameter, is_lazy


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _shape_text(t):
    return repr(t.shape)


def copy_into(dst, src):
    """Write ``src``'s values (cast to ``dst``'s dtype and device) into ``dst``'s memory; bumps its version."""
    dst._data[...] = src.to(dst.dtype, dst.device)._data
    dst._bump()
    return dst


def _owner(module, key):
    path, _, name = key.rpartition(".")
    return module.get_submodule(path), name


def load_state_dict(module, state_dict, strict=True, assign=False):
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    own = module.state_dict(keep_vars=True)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own and k != "_metadata"]
    errors = []
    with no_grad():
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            if is_lazy(target) and isinstance(value, Tensor) and not is_lazy(value):
                target.materialize(value.shape)  # a lazy module takes the checkpoint's shapes
            elif is_lazy(target) or is_lazy(value):
                continue
            if not isinstance(value, Tensor):
                errors.append(f'While copying the parameter named "{key}", expected torch.Tensor or Tensor-like '
                              f"object from checkpoint but received {type(value)}")
                continue
            if tuple(value.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape {_shape_text(value)} from "
                              f"checkpoint, the shape in current model is {_shape_text(target)}.")
                continue
            if assign:
                owner, name = _owner(module, key)
                if isinstance(target, Parameter):
                    setattr(owner, name, Parameter(value.detach(), target.requires_grad))
                else:
                    owner._buffers[name] = value
            else:
                copy_into(target, value)
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected)))
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
    if errors:
        raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(module._get_name(),
                                                                                 "\n\t".join(errors)))
    return _IncompatibleKeys(missing, unexpected)
