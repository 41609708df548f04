"""The backward engine: one walk over the graph in dependency order.

It knows nothing about particular ops: it counts how many consumers each node
has, runs a node once all of them have delivered their gradient, and sums
gradients that arrive at the same node output.
"""
from ember.autograd import grad_mode
from ember.autograd.graph import AccumulateGrad, accumulator, add_grads


def _root_of(t):
    if t.grad_fn is not None:
        return t.grad_fn, t._output_nr
    if t.requires_grad:
        return accumulator(t), 0
    return None, 0


def _count_dependencies(roots):
    """How many edges point at each node reachable from ``roots``."""
    deps, stack, seen = {}, list(roots), set(roots)
    while stack:
        for child, _ in stack.pop().next_functions:
            if child is not None:
                deps[child] = deps.get(child, 0) + 1
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
    return deps, seen


def _needed(roots, targets):
    """The nodes from which some target can be reached (post-order over the reachable graph)."""
    needed, done, stack = set(), set(), [(n, False) for n in roots]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((c, False) for c, _ in node.next_functions if c is not None and c not in done)
            continue
        done.add(node)
        if node in targets or any(c in needed for c, _ in node.next_functions):
            needed.add(node)
    return needed


# set by ember.compile's segments while a segmented call runs: ``around(run, tensors)`` runs the segment that
# computes ``tensors`` (they may be placeholders), then ``run()`` as plain eager code, not as the function's ops
around = None


def run_backward(outputs, grads, *, retain_graph, create_graph, inputs=None, accumulate=True):
    """Propagate ``grads`` from ``outputs``; returns captured grads for ``inputs`` when given."""
    if around is not None:
        tensors = [t for t in (*outputs, *grads, *(inputs or ())) if t is not None]
        return around(lambda: _run_backward(outputs, grads, retain_graph, create_graph, inputs, accumulate), tensors)
    return _run_backward(outputs, grads, retain_graph, create_graph, inputs, accumulate)


def _run_backward(outputs, grads, retain_graph, create_graph, inputs, accumulate):
    roots = []
    for i, (t, g) in enumerate(zip(outputs, grads)):
        node, nr = _root_of(t)
        if node is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        roots.append((node, nr, g))
    root_nodes = list(dict.fromkeys(n for n, _, _ in roots))

    # what to capture: (node, output_nr) -> positions in inputs
    capture = {}
    for i, t in enumerate(inputs or ()):
        node, nr = _root_of(t)
        if node is None:
            if accumulate:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            continue
        capture.setdefault((node, nr), []).append(i)
    targets = {n for n, _ in capture} if inputs is not None else None

    deps, reachable = _count_dependencies(root_nodes)
    if targets is not None:  # prune the branches that lead to no input asked for
        needed = _needed(root_nodes, targets)
        deps = {}
        for node in needed:
            for child, _ in node.next_functions:
                if child in needed:
                    deps[child] = deps.get(child, 0) + 1
    else:
        needed = reachable

    buffers = {}
    for node, nr, g in roots:
        if node in needed:
            buf = buffers.setdefault(node, [None] * node.num_outputs)
            buf[nr] = g if buf[nr] is None else add_grads(buf[nr], g)
    ready = [n for n in root_nodes if n in needed and n not in deps]
    captured = [None] * len(inputs or ())

    pruning = targets is not None
    with grad_mode.set_grad_enabled(create_graph):
        while ready:
            node = ready.pop()
            grads_in = buffers.pop(node, None) or [None] * node.num_outputs
            if node._pre_hooks:
                _run_tensor_hooks(node, grads_in)
            is_leaf = type(node) is AccumulateGrad
            if is_leaf and node.variable._hooks and grads_in[0] is not None:
                grads_in[0] = _run_leaf_hooks(node.variable._hooks, grads_in[0])
            if capture:
                for nr, g in enumerate(grads_in):
                    for i in capture.get((node, nr), ()):
                        captured[i] = g
            if is_leaf:
                if accumulate and grads_in[0] is not None and (not pruning or node in targets):
                    node._accumulate(grads_in[0], create_graph)
                continue
            if pruning and not any(c in needed for c, _ in node.next_functions):
                continue
            if grads_in.count(None) == len(grads_in):
                grads_out = [None] * len(node.next_functions)
            else:
                grads_out = node._apply(grads_in)
                if node._hooks:
                    for hook in node._hooks:
                        hook(tuple(grads_out), tuple(grads_in))
            if not retain_graph:
                node._free()
            for (child, nr), g in zip(node.next_functions, grads_out):
                if child is None or pruning and child not in needed:
                    continue
                if g is not None:
                    buf = buffers.get(child)
                    if buf is None:
                        buf = buffers[child] = [None] * child.num_outputs
                    buf[nr] = g if buf[nr] is None else add_grads(buf[nr], g)
                remaining = deps[child] - 1
                deps[child] = remaining
                if remaining == 0:
                    ready.append(child)
    return captured


def _run_leaf_hooks(hooks, grad):
    for hook in hooks:
        new = hook(grad)
        if new is not None:
            grad = new
    return grad


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
