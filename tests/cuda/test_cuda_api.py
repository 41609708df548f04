"""ember.cuda and CUDA tensors, on the fake CUDA device (the same code runs on CuPy)."""
import numpy as np
import pytest

import ember


def test_without_a_gpu_every_cuda_request_fails_with_one_clear_error(no_cuda):
    assert not ember.cuda.is_available() and ember.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="needs CuPy and a visible NVIDIA GPU"):
        ember.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="needs CuPy and a visible NVIDIA GPU"):
        ember.ones(2).cuda()
    ember.cuda.manual_seed_all(0)  # a no-op, as in torch
    assert ember.cuda.memory_allocated() == 0


def test_devices_and_the_current_device(fake_cuda):
    assert ember.cuda.is_available() and ember.cuda.device_count() == 2
    assert ember.cuda.current_device() == 0
    assert ember.zeros(1, device="cuda").device == ember.device("cuda", 0)
    with ember.cuda.device(1):
        assert ember.cuda.current_device() == 1
        assert ember.zeros(1, device="cuda").device == ember.device("cuda", 1)
    assert ember.cuda.current_device() == 0
    assert ember.cuda.get_device_capability() == (9, 0)
    assert "fake" in ember.cuda.get_device_name(0)
    assert ember.cuda.get_device_properties(1).total_memory > 0
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        ember.zeros(1, device="cuda:2")


def test_placement_round_trips_and_device_errors(fake_cuda):
    x = ember.arange(6.0).reshape(2, 3)
    y = x.cuda()
    assert y.device == ember.device("cuda:0") and y.is_cuda
    z = y.to("cuda:1")
    assert z.device.index == 1 and z._data.device.id == 1
    assert (z * 2).cpu().tolist() == (x * 2).tolist()
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but found at least "
                                           "two devices, cuda:0 and cpu!"):
        y + x
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        y.numpy()
    assert np.asarray(y).tolist() == x.tolist()  # __array__ copies to the host, as torch's does


def test_autograd_and_a_training_step_stay_on_the_gpu(fake_cuda):
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2)).cuda()
    opt = ember.optim.Adam(model.parameters(), lr=0.01)
    x, y = ember.randn(16, 4, device="cuda"), ember.randint(0, 2, (16,), device="cuda")
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = ember.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(p.device.type == "cuda" and p.grad.device.type == "cuda" for p in model.parameters())
    assert losses[-1] < losses[0]


def test_gradcheck_runs_on_the_gpu(fake_cuda):
    x = ember.randn(3, 4, dtype=ember.float64, device="cuda", requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: (t.sin() * t).sum(1), (x,))


def test_each_gpu_has_its_own_seeded_generator(fake_cuda):
    ember.manual_seed(3)
    a = ember.randn(4, device="cuda")
    cpu_draw = ember.randn(4)
    ember.manual_seed(3)
    assert ember.equal(ember.randn(4, device="cuda").cpu(), a.cpu())
    ember.cuda.manual_seed(7)  # the GPU's stream only: the CPU's continues as seeded
    ember.randn(4, device="cuda")
    assert ember.equal(ember.randn(4), cpu_draw)


def test_memory_statistics_and_the_out_of_memory_error(fake_cuda):
    base = ember.cuda.memory_allocated()
    x = ember.zeros(1024, device="cuda")
    assert ember.cuda.memory_allocated() == base + 4096
    assert ember.cuda.max_memory_allocated() >= base + 4096
    del x
    assert ember.cuda.memory_allocated() == base
    ember.cuda.reset_peak_memory_stats()
    assert ember.cuda.max_memory_allocated() == base
    held = ember.zeros(256, device="cuda")
    free, total = ember.cuda.mem_get_info()
    assert free == total - ember.cuda.memory_allocated() and free < total
    del held
    ember.cuda.set_per_process_memory_fraction(0.0001)
    try:
        with pytest.raises(ember.cuda.OutOfMemoryError, match="CUDA out of memory"):
            ember.zeros(2**20, device="cuda")
        small = ember.ones(16, device="cuda")
        with pytest.raises(ember.OutOfMemoryError, match="GPU 0"):
            small.expand(2**20, 16).contiguous()
    finally:
        ember.cuda.set_per_process_memory_fraction(1.0)
    with pytest.raises(ValueError, match="Invalid fraction value"):
        ember.cuda.set_per_process_memory_fraction(1.5)


def test_streams_and_events(fake_cuda):
    s = ember.cuda.Stream()
    start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
    with ember.cuda.stream(s):
        start.record()
        y = ember.ones(100, device="cuda") * 2
        end.record()
    end.synchronize()
    assert start.elapsed_time(end) >= 0 and y.sum().item() == 200
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        ember.cuda.Event().elapsed_time(end)
    ember.cuda.synchronize()


def test_cuda_graph_capture_needs_a_real_gpu(fake_cuda):
    with pytest.raises(RuntimeError, match="needs CuPy on a real GPU"):
        with ember.cuda.graph(ember.cuda.CUDAGraph()):
            pass


def test_saving_a_gpu_tensor_and_loading_it_on_the_cpu(fake_cuda, tmp_path):
    t = ember.arange(5.0, device="cuda")
    ember.save({"t": t}, tmp_path / "t.pt")
    back = ember.load(tmp_path / "t.pt", map_location="cpu")["t"]
    assert back.device.type == "cpu" and back.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert ember.load(tmp_path / "t.pt")["t"].device == ember.device("cuda:0")


def test_pinned_host_memory(fake_cuda):
    x = ember.arange(6.0).reshape(2, 3)
    assert not x.is_pinned()
    p = x.pin_memory()
    assert p.is_pinned() and p.device.type == "cpu" and p.tolist() == x.tolist()
    assert p[1].is_pinned() and p.pin_memory() is p  # views of pinned memory are pinned; no second copy
    assert p.cuda(non_blocking=True).cpu().tolist() == x.tolist()
    with pytest.raises(RuntimeError, match="only dense CPU tensors can be pinned"):
        p.cuda().pin_memory()


def test_pinning_without_a_gpu_fails_as_torch_does(no_cuda):
    with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
        ember.ones(2).pin_memory()


def test_zero_copy_exchange_through_dlpack_and_the_cuda_array_interface(fake_cuda):
    cp = fake_cuda
    t = ember.arange(4.0, device="cuda")
    shared = cp.from_dlpack(t)
    shared[0] = 42.0
    assert t[0].item() == 42.0  # the same memory
    back = ember.from_dlpack(shared)
    assert back.device == t.device and back.data_ptr() == t.data_ptr()
    info = t.__cuda_array_interface__
    assert info["shape"] == (4,) and info["data"][0] == t.data_ptr() and info["typestr"] == "<f4"
    with pytest.raises(AttributeError, match="non-CUDA tensor"):
        ember.ones(2).__cuda_array_interface__  # noqa: B018
