"""A program as an ``nn.Module``: its state rebuilt as a tree of plain modules under the
original dotted names, so ``parameters()``, ``state_dict()``, ``to()`` and optimizers work on it
and no model class is needed."""
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter


class ProgramModule(Module):
    """Runs ``program`` (``ember.export.program.Program``) with the tensors this module holds."""

    def __init__(self, program, signature):
        super().__init__()
        self.__dict__["_program"] = program
        self.__dict__["_signature"] = signature
        params = set(signature.get("parameters", ()))
        constants = set(signature.get("constants", ()))
        slots = []
        for key, t in program.state.items():
            *path, attr = key.split(".")
            owner = self
            for part in path:
                child = owner._modules.get(part)
                if child is None:
                    child = Module()
                    owner.add_module(part, child)
                owner = child
            if key in params:
                owner.register_parameter(attr, t if isinstance(t, Parameter) else Parameter(t, t._requires_grad))
            else:
                owner.register_buffer(attr, t, persistent=key not in constants)
            slots.append((key, owner, attr))
        self.__dict__["_slots"] = slots

    @property
    def graph(self):
        return self._program.graph

    @property
    def code(self):
        return self._program.graph.code

    def current_state(self):
        state = {}
        for key, owner, attr in self._slots:
            t = owner._parameters.get(attr)
            state[key] = t if t is not None else owner._buffers[attr]
        return state

    def forward(self, *args, **kwargs):
        self._program.state = self.current_state()
        return self._program(*args, **kwargs)
