#!/usr/bin/env bash
# The GPU checks of the CUDA backend, for a machine with an NVIDIA GPU (issue 12), in well under
# 10 minutes: the op database and the nn/optim tests on device="cuda" with CuPy (torch, CPU or CUDA,
# stays the oracle), the fused CuPy kernels against their array paths (tests marked gpu), TF32 /
# bfloat16 / pinned asynchronous copies, the four training benchmarks against torch eager on the
# same GPU, and the GPT and CNN steps replayed as CUDA graphs.
#
#   bash tests/gpu/run.sh            # from the repository root; results also land in $OUT if set
#
# It uses CuPy and torch if the machine's Python has them; otherwise it installs ember[cuda,test]
# into a virtualenv (that needs the package registry; a GPU machine without one must bring wheels).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/ember-gpu}"
mkdir -p "$OUT"
if ! python3 -c "import cupy, torch" 2>/dev/null; then
    python3 -m venv --system-site-packages .venv-gpu && . .venv-gpu/bin/activate
    python -m pip install --quiet -e ".[cuda,test]" || { echo "cannot install CuPy/torch here"; exit 2; }
fi
export PYTHONPATH="$PWD"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python -c "import ember; assert ember.cuda.is_available(), 'CuPy sees no GPU'; print(ember.cuda.get_device_name())"

status=0
timeout 240 python -m pytest -q -x -n 8 -p no:cacheprovider tests/opdb tests/cuda --opdb-device cuda \
    2>&1 | tail -40 | tee "$OUT/opdb_cuda.txt" || status=1
timeout 120 python -m pytest -q -n 8 -p no:cacheprovider tests/nn tests/optim --default-device cuda \
    2>&1 | tail -20 | tee "$OUT/nn_cuda.txt" || status=1
# the fused kernels against their array paths (tests marked gpu), then TF32, bfloat16 and async copies
timeout 120 python -m pytest -q -p no:cacheprovider -m gpu tests/cuda -rs 2>&1 | tail -15 | tee "$OUT/kernels_gpu.txt" || status=1
timeout 60 python - <<'EOF' 2>&1 | tee "$OUT/precision_transfers.txt" || status=1
import numpy as np
import ember
from ember.backend import gpu_precision
gpu = ember.cuda.gpu_module()
for precision in ("high", "medium", "highest"):
    ember.set_float32_matmul_precision(precision)
    print(precision, "->", gpu_precision.compute_type(gpu))
a = ember.randn(512, 512, device="cuda")
ember.set_float32_matmul_precision("high")
tf32 = (a @ a).cpu().numpy()
ember.set_float32_matmul_precision("highest")
exact = (a @ a).cpu().numpy()
print("TF32 vs float32 max difference:", float(np.abs(tf32 - exact).max()))
b = ember.randn(64, 64, device="cuda", dtype=ember.bfloat16, requires_grad=True)
(ember.softmax(b @ b, -1)).float().sum().backward()
print("bfloat16:", ember.cuda.is_bf16_supported(), b.grad.dtype)
x = ember.randn(1 << 20).pin_memory()
s = ember.cuda.Stream()
with ember.cuda.stream(s):
    y = x.to("cuda", non_blocking=True)
s.synchronize()
assert x.is_pinned() and np.array_equal(y.cpu().numpy(), x.numpy())
loader = ember.utils.data.DataLoader(ember.utils.data.TensorDataset(ember.randn(64, 8)), batch_size=16,
                                     pin_memory=True, num_workers=2)
assert all(batch[0].is_pinned() for batch in loader)
print("pinned transfers ok")
EOF
timeout 120 python benchmarks/bench_train.py --device cuda --repeats 2 2>&1 | tee "$OUT/train_cuda.txt" || status=1
timeout 60 python benchmarks/bench_train.py --device cuda --cuda-graph --repeats 2 --only gpt --only cnn \
    2>&1 | tee "$OUT/train_cuda_graph.txt" || status=1
exit $status
