"""The backward engine: one walk over the graph in dependency order.

It knows nothing about particular ops: it counts how many consumers each node
has, runs a node once all of them have delivered their gradient, and sums
gradients that arrive at the same node output.
"""
from ember.autograd import grad_mode
from ember.autograd.graph import AccumulateGrad, accumulator


def _root_of(t):
    if t.grad_fn is not None:
        return t.grad_fn, t._output_nr
    if t.requires_grad:
        return accumulator(t), 0
    return None, 0


def _edges(node):
    return [n for n, _ in node.next_functions if n is not None]


def _needed(roots, targets):
    """Nodes from which a target can be reached (all nodes when targets is None)."""
    needed, state, stack = set(), {}, [n for n in roots]
    while stack:
        node = stack[-1]
        if node not in state:
            state[node] = 1
            stack.extend(c for c in _edges(node) if c not in state)
            continue
        stack.pop()
        if state[node] == 2:
            continue
        state[node] = 2
        if targets is None or node in targets or any(c in needed for c in _edges(node)):
            needed.add(node)
    return needed


def run_backward(outputs, grads, *, retain_graph, create_graph, inputs=None, accumulate=True):
    """Propagate ``grads`` from ``outputs``; returns captured grads for ``inputs`` when given."""
    roots = []
    for i, (t, g) in enumerate(zip(outputs, grads)):
        node, nr = _root_of(t)
        if node is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        roots.append((node, nr, g))

    # what to capture: (node, output_nr) -> position in inputs
    capture = {}
    for i, t in enumerate(inputs or ()):
        node, nr = _root_of(t)
        if node is None:
            if accumulate:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            continue
        capture.setdefault((node, nr), []).append(i)
    targets = {n for n, _ in capture} if inputs is not None else None
    needed = _needed([n for n, _, _ in roots], targets)

    deps = {}
    for node in needed:
        for child in _edges(node):
            if child in needed:
                deps[child] = deps.get(child, 0) + 1

    buffers = {}

    def deliver(node, nr, g):
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node.num_outputs
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    for node, nr, g in roots:
        if node in needed:
            deliver(node, nr, g)
    ready = [n for n, _, _ in roots if n in needed and deps.get(n, 0) == 0]
    ready = list(dict.fromkeys(ready))
    captured = [None] * len(inputs or ())

    with grad_mode.set_grad_enabled(create_graph):
        while ready:
            node = ready.pop()
            grads_in = buffers.pop(node, None) or [None] * node.num_outputs
            if node._pre_hooks:
                _run_tensor_hooks(node, grads_in)
            for nr, g in enumerate(grads_in):
                for i in capture.get((node, nr), ()):
                    captured[i] = g
            if type(node) is AccumulateGrad:
                if accumulate and grads_in[0] is not None and (targets is None or node in targets):
                    node._accumulate(grads_in[0], create_graph)
                continue
            if targets is not None and not any(c in needed for c in _edges(node)):
                continue
            if all(g is None for g in grads_in):
                grads_out = [None] * len(node.next_functions)
            else:
                grads_out = node._apply(grads_in)
                if node._hooks:
                    for hook in node._hooks:
                        hook(tuple(grads_out), tuple(grads_in))
            if not retain_graph:
                node._free()
            for (child, nr), g in zip(node.next_functions, grads_out):
                if child is None or child not in needed:
                    continue
                if g is not None:
                    deliver(child, nr, g)
                deps[child] -= 1
                if deps[child] == 0:
                    ready.append(child)
    return captured


def _run_tensor_hooks(node, grads):
    for nr, hooks in node._pre_hooks.items():
        if nr < 0 or grads[nr] is None:
            continue
        for hook in hooks:
            new = hook(grads[nr])
            if new is not None:
                grads[nr] = new
    for hook in node._pre_hooks.get(-1, ()):
        new = hook(tuple(grads))
        if new is not None:
            grads[:] = list(new)
