"""ember.multiprocessing: a PyTorch program with spawn + init_process_group("gloo", "tcp://...") runs
with ``import ember as torch``; a failing process surfaces as ProcessRaisedException; Hogwild trains."""
import numpy as np

import ember
from _jobs import SCRIPTS, job_env, run

import sys


def _reference():
    ember.manual_seed(0)
    model = ember.nn.Linear(4, 1)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    x = ember.linspace(-1, 1, 32).reshape(8, 4)
    y = x.sum(1, keepdim=True) * 0.5 + 1
    for _ in range(5):
        opt.zero_grad()
        ember.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return model.state_dict()


def test_pytorch_spawn_program_runs_unchanged(tmp_path):
    out_file = tmp_path / "weights.pt"
    rc, out, _ = run([sys.executable, SCRIPTS / "torch_style_spawn.py", out_file], 60)
    assert rc == 0, out
    trained, expected = ember.load(out_file), _reference()
    for key in expected:
        np.testing.assert_allclose(trained[key].numpy(), expected[key].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_spawn_reports_the_failing_process():
    rc, out, _ = run([sys.executable, SCRIPTS / "spawn_failure.py"], 60)
    assert rc == 0, out
    assert "caught: 1 ValueError: rank one is broken" in out, out


def test_hogwild_trains_a_shared_model_in_forked_processes():
    rc, out, _ = run([sys.executable, SCRIPTS / "hogwild.py", "fork"], 60, env=job_env())
    assert rc == 0, out
    before, after = (float(v) for v in out.split("loss ")[1].split(";")[0].split(" -> "))
    assert after < 0.01 * before and "exit codes [0, 0]" in out, out
