"""A graph as readable Python-like code (``graph.code``)."""
from ember.export.values import literal_repr


def _meta(node):
    shape, dt = node.meta.get("shape"), node.meta.get("dtype")
    if dt is None:
        return ""
    if isinstance(dt, list):
        text = ", ".join(f"{d}{list(s)}" for d, s in zip(dt, shape))
        text = f"({text})"
    else:
        text = f"{dt}{list(shape)}"
    where = node.meta.get("module")
    return f"  # {text}" + (f"  {where}" if where else "")


def graph_code(graph):
    params = [n.name for n in graph.nodes if n.op == "placeholder"]
    lines = [f"def forward(self, {', '.join(params)}):" if params else "def forward(self):"]
    for n in graph.nodes:
        if n.op == "get_attr":
            lines.append(f"    {n.name} = self.{n.target}{_meta(n)}")
        elif n.op == "call_function":
            parts = [literal_repr(a) for a in n.args] + [f"{k}={literal_repr(v)}" for k, v in n.kwargs.items()]
            lines.append(f"    {n.name} = ops.{n.target}({', '.join(parts)}){_meta(n)}")
        elif n.op == "output":
            lines.append(f"    return {literal_repr(n.args[0])}")
    return "\n".join(lines) + "\n"
