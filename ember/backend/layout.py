"""Memory layouts: ``ember.strided`` (dense arrays), ``ember.sparse_coo`` and the compressed ones."""


class layout:  # noqa: N801  (PyTorch's spelling: ember.layout)
    """How a tensor's elements are stored; compare with ``is`` (``t.layout is ember.sparse_coo``)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"ember.{self.name}"

    def __reduce__(self):
        return self.name  # pickles as the module-level singleton


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
_mkldnn = layout("_mkldnn")
jagged = layout("jagged")
