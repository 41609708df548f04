"""Seeding the GPUs' default generators (each GPU has its own; ``ember.manual_seed`` seeds them all).

Samples for a GPU tensor are drawn from that GPU's generator on the host and copied over, so a
seeded run repeats exactly, on the fake CUDA device as on a real one."""
from ember.backend.device import cuda_is_available, device as _device
from ember.cuda.devices import _index, device_count
from ember.random import device_generator


def _generators(dev=None, every=False):
    if not cuda_is_available():
        return []
    indices = range(device_count()) if every else [_index(dev)]
    return [device_generator(_device("cuda", i)) for i in indices]


def manual_seed(seed):
    """Seed the current GPU's generator (nothing to do without a GPU, as in torch)."""
    for gen in _generators():
        gen.manual_seed(seed)


def manual_seed_all(seed):
    for gen in _generators(every=True):
        gen.manual_seed(seed)


def seed():
    """Seed the current GPU's generator from the OS's entropy."""
    for gen in _generators():
        gen.seed()


def seed_all():
    for gen in _generators(every=True):
        gen.seed()


def initial_seed():
    gens = _generators()
    if not gens:
        raise RuntimeError("initial_seed: ember found no CUDA device")
    return gens[0].initial_seed()


def get_rng_state(device="cuda"):
    gens = _generators(device)
    if not gens:
        raise RuntimeError("get_rng_state: ember found no CUDA device")
    return gens[0].get_state()


def set_rng_state(new_state, device="cuda"):
    for gen in _generators(device):
        gen.set_state(new_state)


def get_rng_state_all():
    return [gen.get_state() for gen in _generators(every=True)]


def set_rng_state_all(new_states):
    for gen, state in zip(_generators(every=True), new_states):
        gen.set_state(state)
