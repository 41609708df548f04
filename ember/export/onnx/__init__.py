"""ONNX export of captured programs: ``ember.onnx.export`` (PyTorch's signature).

The model is captured with ``ember.export.export`` (``dynamic_axes`` become ``Dim``s), its
constants folded, and each op emitted by its family's table (``pointwise``, ``shape``,
``layers``). The ``onnx`` package is imported on the first export, never by ``import ember``."""
import enum
import os

from ember.export.exported import export as capture_program
from ember.export.dynamic import Dim
from ember.export.onnx.custom_symbolic import SYMBOLICS, emitter, register_custom_op_symbolic, unregister_custom_op_symbolic
from ember.export.passes import eliminate_dead_code, fold_constants
from ember.nn.modules.module import Module
from ember.ops.registry import PRIMITIVES
from ember.version import __version__

DEFAULT_OPSET = 18
MIN_OPSET, MAX_OPSET = 18, 20  # Split(num_outputs) and ReduceMean(axes input) need 18


class TrainingMode(enum.IntEnum):
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


def _builder():
    """The builder with every emitter table registered (importing them imports ``onnx``)."""
    from ember.export.onnx import builder, layers, pointwise, shape  # noqa: F401  # optional dependency
    for target, (fn, _) in SYMBOLICS.items():
        builder.EMITTERS[target] = emitter(fn)
    return builder


def _dims(args, input_names, output_names, dynamic_axes):
    """``dynamic_axes`` ({input name: [axes] or {axis: name}}) as ``export``'s dynamic_shapes."""
    if not dynamic_axes:
        return None
    known = set(input_names or ()) | set(output_names or ()) | {f"input_{i}" for i in range(len(args))}
    unknown = sorted(set(dynamic_axes) - known)
    if unknown:
        raise ValueError(f"dynamic_axes names {unknown}, which are neither input_names nor output_names")
    names = list(input_names or [])
    shared, per_input = {}, []
    for i, _ in enumerate(args):
        name = names[i] if i < len(names) else f"input_{i}"
        axes = dynamic_axes.get(name)
        if axes is None:
            per_input.append(None)
            continue
        axes = axes if isinstance(axes, dict) else {a: f"{name}_dynamic_axes_{k + 1}" for k, a in enumerate(axes)}
        per_input.append({a: shared.setdefault(dim_name, Dim(dim_name)) for a, dim_name in axes.items()})
    return tuple(per_input)


def export(model, args, f=None, *, kwargs=None, export_params=True, verbose=False, training=TrainingMode.EVAL,
           input_names=None, output_names=None, opset_version=None, do_constant_folding=True, dynamic_axes=None,
           keep_initializers_as_inputs=None, dynamo=False, **unused):
    """Export ``model(*args)`` to ONNX, written to ``f`` (a path or a binary file) when given.

    Returns the ``onnx.ModelProto``. An op with no emitter raises ``UnsupportedOperatorError``
    naming the op, the module path and the opset."""
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"ember exports ONNX opsets {MIN_OPSET} to {MAX_OPSET}, got opset_version={opset}")
    args = args if isinstance(args, tuple) else (args,)
    if args and isinstance(args[-1], dict) and kwargs is None:
        args, kwargs = args[:-1], args[-1]
    builder = _builder()
    dynamic_shapes = _dims(args, input_names, output_names, dynamic_axes)
    was_training = model.training if isinstance(model, Module) else None
    if was_training is not None and training != TrainingMode.PRESERVE:
        model.train(training == TrainingMode.TRAINING)
    try:
        ep = capture_program(model, args, kwargs, dynamic_shapes=dynamic_shapes, strict=False)
    finally:
        if was_training is not None:
            model.train(was_training)
    graph, state = ep.graph.copy(), dict(ep._state)
    if do_constant_folding:
        fold_constants(graph, state, keep=set(ep.graph_signature.parameters))
        eliminate_dead_code(graph)
    missing = sorted({n.target for n in graph.nodes if n.op == "call_function" and n.target not in builder.EMITTERS})
    if missing:
        first = next(n for n in graph.nodes if n.op == "call_function" and n.target == missing[0])
        where = f" in {first.meta['module']}" if first.meta.get("module") else ""
        custom = [m.replace(".", "::") for m in missing if "." in m]
        hint = (f" (custom op(s) {custom}: give each an ONNX form with ember.onnx.register_custom_op_symbolic)"
                if custom else "")
        raise builder.UnsupportedOperatorError(f"ONNX export (opset {opset}): no emitter for op(s) {missing}; "
                                               f"'{missing[0]}'{where} at {first.meta.get('stack', '?')}{hint}")
    if verbose:
        print(graph.code)
    model_proto = builder.build_model(graph, state, ep.dynamic, opset=opset, input_names=input_names,
                              output_names=output_names, export_params=export_params, producer=__version__)
    builder.check(model_proto)
    if f is not None:
        data = model_proto.SerializeToString()
        if isinstance(f, (str, os.PathLike)):
            with open(f, "wb") as fh:
                fh.write(data)
        else:
            f.write(data)
    return model_proto


def coverage():
    """(registry ops with an ONNX emitter, all registry ops), as sorted name lists."""
    emitters = _builder().EMITTERS
    return sorted(n for n in PRIMITIVES if n in emitters), sorted(PRIMITIVES)


def is_in_onnx_export():
    return False


__all__ = ["TrainingMode", "coverage", "export", "is_in_onnx_export", "register_custom_op_symbolic",
           "unregister_custom_op_symbolic"]
