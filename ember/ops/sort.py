"""Sorting and selection: sort, argsort, topk, median, unique."""
