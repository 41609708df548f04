"""A TensorBoard GraphDef from ember's capture IR (``ember.export``): one NodeDef per IR node,
scoped by the module that ran it (``0.Linear/linear``), with its output shape and dtype."""
from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.compat.proto.versions_pb2 import VersionDef

from ember.export import export

_KIND = {"placeholder": "IO Node", "get_attr": "Parameter", "output": "IO Node"}


def _scope(node):
    module = node.meta.get("module")
    if not module:
        return ""
    path, _, kind = module.partition(" (")
    return f"{path}.{kind.rstrip(')')}/" if path else ""


def _shapes(meta):
    shape, dtype = meta.get("shape"), meta.get("dtype")
    if shape is None:
        return {}
    many = shape and isinstance(shape[0], (list, tuple))
    shapes = shape if many else [shape]
    proto = AttrValue.ListValue(shape=[TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(d)) for d in s])
                                       for s in shapes])
    attrs = {"_output_shapes": AttrValue(list=proto)}
    if dtype is not None:
        attrs["dtype"] = AttrValue(s=str(dtype).encode())
    return attrs


def graph_def(model, input_to_model):
    """Capture ``model(*input_to_model)`` and describe it as a GraphDef."""
    args = input_to_model if isinstance(input_to_model, tuple) else (input_to_model,)
    graph = export(model, args).graph
    names = {n.name: _scope(n) + n.name for n in graph.nodes}
    nodes = []
    for n in graph.nodes:
        op = n.target if n.op == "call_function" else _KIND[n.op]
        nodes.append(NodeDef(name=names[n.name], op=op, input=[names[i.name] for i in n.all_input_nodes],
                             attr=_shapes(n.meta)))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))
