"""``ember.export.export``: a strict capture, optionally with dynamic dims, as an ExportedProgram."""
from collections import OrderedDict

from ember.export.dynamic import dims_per_input, generalize, make_guards, symbols_of
from ember.export.module import ProgramModule
from ember.export.passes import eliminate_dead_code
from ember.export.program import Program, capture, flatten_inputs, rebuild_inputs
from ember.export.program_file import load_program, save_program
from ember.export.tracing import _signature
from ember.nn.modules.module import Module


class ExportGraphSignature:
    """Which placeholders are user inputs and which state keys are parameters, buffers, constants."""

    def __init__(self, user_inputs, user_outputs, parameters, buffers, constants):
        self.user_inputs, self.user_outputs = user_inputs, user_outputs
        self.parameters, self.buffers, self.constants = parameters, buffers, constants

    def __repr__(self):
        return (f"ExportGraphSignature(user_inputs={self.user_inputs}, parameters={self.parameters}, "
                f"buffers={self.buffers}, constants={self.constants}, user_outputs={self.user_outputs})")


class ExportedProgram:
    """A captured program: ``.graph``, ``.graph_signature``, ``.state_dict``, ``.module()``."""

    def __init__(self, graph, state, in_spec, signature, dynamic=None):
        self.graph, self._state, self._in_spec = graph, state, in_spec
        self._signature, self.dynamic = signature, dynamic
        outputs = graph.output_node.all_input_nodes if graph.output_node is not None else []
        self.graph_signature = ExportGraphSignature(
            [n.name for n in graph.placeholders], [n.name for n in outputs],
            list(signature.get("parameters", [])), list(signature.get("buffers", [])),
            list(signature.get("constants", [])))

    @property
    def state_dict(self):
        keep = set(self._signature.get("parameters", [])) | set(self._signature.get("buffers", []))
        return OrderedDict((k, v) for k, v in self._state.items() if k in keep)

    @property
    def constants(self):
        return {k: v for k, v in self._state.items() if k in set(self._signature.get("constants", []))}

    @property
    def graph_module(self):
        return self.module()

    def _program(self):
        if self.dynamic:
            guards, bind = make_guards(self.dynamic, self.graph.placeholders)
            return Program(self.graph, dict(self._state), self._in_spec, guards, bind)
        return Program(self.graph, dict(self._state), self._in_spec)

    def module(self):
        """The program as a callable ``nn.Module`` (its parameters are this program's tensors)."""
        return ProgramModule(self._program(), self._signature)

    def __call__(self, *args, **kwargs):
        return self._program()(*args, **kwargs)

    def run_decompositions(self, decomp_table=None):
        """Already decomposed: the graph holds only registry primitives."""
        return self

    def __str__(self):
        return f"ExportedProgram:\n{self.graph.code}\nGraph signature: {self.graph_signature}\n"


def export(mod, args, kwargs=None, *, dynamic_shapes=None, strict=True, preserve_module_call_signature=()):
    """Capture ``mod(*args, **kwargs)``. ``strict`` makes reading a tensor's value in Python (or an
    in-place write into an input) an ``ExportError`` naming the line; ``dynamic_shapes`` gives
    ``Dim``s for input dims that may vary (checked against their range at every call)."""
    if not isinstance(args, tuple):
        raise TypeError(f"export expects args to be a tuple, got {type(args).__name__}")
    kwargs = dict(kwargs or {})
    module = mod if isinstance(mod, Module) else None
    report = "error" if strict else "warn"
    graph, state, in_spec, _ = capture(mod, args, kwargs, report, module)
    dynamic = None
    if dynamic_shapes:
        leaves, _ = flatten_inputs(args, kwargs)
        dims = dims_per_input(dynamic_shapes, getattr(mod, "forward", mod), args, kwargs, len(leaves))
        symbols, example, per_input = symbols_of(leaves, dims)
        if symbols:
            _, spec = flatten_inputs(args, kwargs)

            def recapture(flat):
                new_args, new_kwargs = rebuild_inputs(spec, flat)
                g, st, _, _ = capture(mod, new_args, new_kwargs, report, module)
                return g, st

            graph, state = generalize(recapture, leaves, per_input, symbols, example)
            dynamic = {"symbols": symbols, "inputs": per_input}
    eliminate_dead_code(graph)
    return ExportedProgram(graph, state, in_spec, _signature(module, state), dynamic)


def save(ep, f, *, extra_files=None, opset_version=None):
    """Write an ExportedProgram to a path or binary file (safe format, README.md)."""
    if not isinstance(ep, ExportedProgram):
        raise TypeError(f"ember.export.save expects an ExportedProgram, got {type(ep).__name__}")
    save_program(f, ep.graph, ep._state, ep._in_spec, ep._signature, "export", ep.dynamic)


def load(f, *, extra_files=None, expected_opset_version=None):
    """Read a program file as an ExportedProgram; never runs code from the file."""
    graph, state, in_spec, signature, dynamic, _ = load_program(f, kind="any")
    return ExportedProgram(graph, state, in_spec, signature, dynamic)


__all__ = ["ExportGraphSignature", "ExportedProgram", "export", "load", "save"]
