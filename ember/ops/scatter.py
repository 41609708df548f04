"""Gather/scatter family: index_select, gather, scatter, scatter_add, index_add, masked ops, nonzero."""
