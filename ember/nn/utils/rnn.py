"""Variable-length sequences for the recurrent layers: PackedSequence and the pack / pad helpers."""
from collections import namedtuple
from ember._tensor import Tensor
from ember.backend.dtype import float32, float64, int64
from ember.creation import arange, empty_like, full, tensor
from ember.ops.join import cat, stack


__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence",
           "unpad_sequence", "unpack_sequence", "invert_permutation"]


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Sequences of different lengths stored time step by time step: ``data`` holds the ``batch_sizes[t]``
    still-running sequences of step ``t`` one after the other (longest sequences first, in the order
    ``sorted_indices``). Built by ``pack_padded_sequence`` / ``pack_sequence``."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """The same sequence with ``data`` moved / cast by ``Tensor.to`` (indices follow the device)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        move = lambda t: None if t is None else t.to(data.device)  # noqa: E731
        return type(self)(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    def cpu(self):
        return self.to("cpu")

    def double(self):
        return self.to(dtype=float64)

    def float(self):
        return self.to(dtype=float32)

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    """The inverse permutation: ``invert_permutation(ember.tensor([2, 0, 1]))`` is ``tensor([1, 2, 0])``."""
    if permutation is None:
        return None
    return empty_like(permutation).scatter_(0, permutation, arange(len(permutation),
                                                                               device=permutation.device))


def _index(rows, device):
    return tensor(rows, dtype=int64, device=device)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded ``(T, B, *)`` batch (``(B, T, *)`` with ``batch_first``) of sequences of the given
    lengths: ``pack_padded_sequence(x, [3, 1]).batch_sizes`` is ``tensor([2, 1, 1])``."""
    lengths = [int(n) for n in (lengths.tolist() if isinstance(lengths, Tensor) else lengths)]
    if enforce_sorted:
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                               "to sidestep this requirement if you do not need ONNX exportability.")
        order = list(range(len(lengths)))
        sorted_indices = None
    else:
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        sorted_indices = _index(order, input.device)
    if lengths and min(lengths) <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    x = input.transpose(0, 1) if batch_first else input
    steps, batch = x.shape[0], x.shape[1]
    if len(lengths) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} (batch_size="
                           f"{batch})")
    if max(lengths) > steps:
        raise RuntimeError(f"Length of sequence {max(lengths)} is larger than the padded length {steps}")
    sorted_lengths = [lengths[i] for i in order]
    batch_sizes = [sum(1 for n in sorted_lengths if n > t) for t in range(sorted_lengths[0])]
    rows = [t * batch + order[j] for t, b in enumerate(batch_sizes) for j in range(b)]
    data = x.reshape(steps * batch, *x.shape[2:]).index_select(0, _index(rows, x.device))
    return PackedSequence(data, tensor(batch_sizes, dtype=int64, device="cpu"), sorted_indices)  # on the CPU, as torch keeps it


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo ``pack_padded_sequence``: returns the padded batch and the ``int64`` lengths, in the original
    order: ``padded, lengths = pad_packed_sequence(packed)``."""
    data, batch_sizes = sequence.data, sequence.batch_sizes.tolist()
    steps, batch = len(batch_sizes), batch_sizes[0]
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {steps}")
        steps = total_length
    unsorted = list(range(batch)) if sequence.unsorted_indices is None else sequence.unsorted_indices.tolist()
    starts = [0]
    for b in batch_sizes:
        starts.append(starts[-1] + b)
    pad_row = data.shape[0]
    rows = [starts[t] + unsorted[j] if t < len(batch_sizes) and unsorted[j] < batch_sizes[t] else pad_row
            for t in range(steps) for j in range(batch)]
    padding = full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = cat([data, padding]).index_select(0, _index(rows, data.device))
    padded = padded.reshape(steps, batch, *data.shape[1:])
    sorted_lengths = [sum(1 for b in batch_sizes if b > j) for j in range(batch)]
    lengths = tensor([sorted_lengths[unsorted[j]] for j in range(batch)], dtype=int64)
    return (padded.transpose(0, 1) if batch_first else padded), lengths


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shape ``(L_i, *)`` into ``(max L, B, *)`` (``(B, max L, *)`` with ``batch_first``),
    padding with ``padding_value``: ``pad_sequence([ember.ones(3), ember.ones(1)]).shape == (3, 2)``."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            pad = full((missing, *s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
            s = cat([s, pad] if padding_side == "right" else [pad, s])
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of unpadded sequences of a padded batch: the inverse of ``pad_sequence``."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    lengths = lengths.tolist() if isinstance(lengths, Tensor) else lengths
    return [x[i, :int(n)] for i, n in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of ``(L_i, *)`` sequences: ``pack_sequence([ember.ones(3), ember.ones(2)])``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences of a PackedSequence, in their original order: the inverse of ``pack_sequence``."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
