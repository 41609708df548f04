"""``ember.fx``'s GraphModule and symbolic_trace.

torch.fx traces with proxies and no inputs; ember's ops need real arrays, so
``symbolic_trace`` captures by running the module: at once when ``example_inputs`` are
given, otherwise on the first call, and again whenever the inputs' shapes or dtypes change
(the Python is re-run, so every call is exact)."""
from ember.export.graph import Graph
from ember.export.module import ProgramModule
from ember.export.program import Program, capture, flatten_inputs
from ember.export.tracing import _signature
from ember.nn.modules.module import Module


class GraphModule(ProgramModule):
    """A module that runs ``graph`` with the tensors of ``root`` (a module or a dict of tensors)."""

    def __init__(self, root, graph, class_name="GraphModule", _constants=None):
        if not isinstance(graph, Graph):
            raise TypeError(f"GraphModule expects an ember.fx.Graph, got {type(graph).__name__}")
        if isinstance(root, Module):
            tensors = dict(root.named_parameters())
            tensors.update(root.named_buffers())
            signature = _signature(root, tensors)
        else:
            tensors, signature = dict(root), {"parameters": list(root), "buffers": [], "constants": []}
        constants = dict(_constants or {})
        tensors.update(constants)
        signature["constants"] = list(constants)
        targets = {n.target for n in graph.nodes if n.op == "get_attr"}
        state = {k: tensors[k] for k in targets if k in tensors}
        missing = targets - set(state)
        if missing:
            raise RuntimeError(f"GraphModule: the graph reads {sorted(missing)}, which root doesn't have")
        in_spec = ((tuple({"$t": i} for i in range(len(graph.placeholders)))), {})
        super().__init__(Program(graph, state, in_spec), signature)
        self.__dict__["_class_name"] = class_name

    def _get_name(self):
        return self._class_name

    def recompile(self):
        """Pick up edits made to the graph's nodes (the replay plan is rebuilt on the next call)."""
        self.graph._plan = None
        return self.code

    def print_readable(self, print_output=True):
        return self.graph.print_readable(print_output)


class _LazyGraphModule(Module):
    """``symbolic_trace`` without example inputs: captures per input signature on call."""

    def __init__(self, root):
        super().__init__()
        self.add_module("root", root)
        self.__dict__["_graphs"] = {}
        self.__dict__["_last"] = None

    def forward(self, *args, **kwargs):
        leaves, spec = flatten_inputs(args, kwargs)
        key = (repr(spec), tuple((t._dtype.name, tuple(t._data.shape)) for t in leaves))
        gm = self._graphs.get(key)
        if gm is None:
            graph, state, in_spec, _ = capture(self.root, args, kwargs, "warn", self.root)
            gm = self._graphs[key] = _graph_module(self.root, graph, state, in_spec)
        self.__dict__["_last"] = gm
        return gm(*args, **kwargs)

    @property
    def graph(self):
        if self._last is None:
            raise RuntimeError("symbolic_trace without example_inputs captures on the first call: call the module "
                               "once (or pass example_inputs=...) before reading .graph")
        return self._last.graph

    @property
    def code(self):
        return self.graph.code

    def print_readable(self, print_output=True):
        return self.graph.print_readable(print_output)


def symbolic_trace(root, concrete_args=None, example_inputs=None):
    """The graph of ``root`` (a module or function) as a GraphModule."""
    if not isinstance(root, Module):
        if not callable(root):
            raise TypeError(f"symbolic_trace expects a Module or a function, got {type(root).__name__}")
        root = _FunctionModule(root)
    if example_inputs is None:
        return _LazyGraphModule(root)
    if not isinstance(example_inputs, tuple):
        example_inputs = (example_inputs,)
    graph, state, in_spec, _ = capture(root, example_inputs, dict(concrete_args or {}), "warn", root)
    return _graph_module(root, graph, state, in_spec)


def _graph_module(root, graph, state, in_spec):
    constants = {k: v for k, v in state.items() if k.startswith("_tensor_constant")}
    gm = GraphModule(root, graph, type(root).__name__, constants)
    gm._program.in_spec = in_spec
    return gm


class _FunctionModule(Module):
    def __init__(self, fn):
        super().__init__()
        self.__dict__["_fn"] = fn

    def forward(self, *args, **kwargs):
        return self._fn(*args, **kwargs)


def wrap(fn_or_name):
    """Accepted for compatibility: capture by execution already records what a function runs."""
    return fn_or_name
