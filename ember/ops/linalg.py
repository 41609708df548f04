"""Matrix products and decompositions: mm, bmm, matmul, einsum, tensordot, and the ember.linalg kernels."""
