"""ember.profiler's DeviceType and ExecutionTraceObserver against torch.profiler's."""
import json

import pytest
import torch
import torch.profiler as tprof

import ember
from ember.profiler import DeviceType, ExecutionTraceObserver, profile


def test_device_type_members_and_numbers_match_torch():
    assert {k: int(v) for k, v in DeviceType.__members__.items()} == \
        {k: int(v) for k, v in tprof.DeviceType.__members__.items()}


def _trace(lib, observer_cls, profile_fn, path):
    et = observer_cls().register_callback(str(path))
    x = lib.ones(2, 3)
    w = lib.ones(3, 4)
    with profile_fn(execution_trace_observer=et):
        assert et.is_running()
        (x @ w).sin()
    assert not et.is_running()
    assert et.get_output_file_path() == str(path)
    with open(path) as f:
        return json.load(f)


def test_trace_file_lists_the_ops_with_shapes_like_torch(tmp_path):
    ours = _trace(ember, ExecutionTraceObserver, profile, tmp_path / "ember.json")
    theirs = _trace(torch, tprof.ExecutionTraceObserver, tprof.profile, tmp_path / "torch.json")
    assert set(ours) == set(theirs)
    for trace in (ours, theirs):
        names = [n["name"].removeprefix("aten::") for n in trace["nodes"]]
        assert "sin" in names and any(n in ("mm", "matmul") for n in names)
        assert "[pytorch|profiler|execution_trace|process]" in names
        sin = next(n for n in trace["nodes"] if n["name"].removeprefix("aten::") == "sin")
        assert sin["inputs"]["shapes"][0] == [2, 4] and sin["outputs"]["shapes"][0] == [2, 4]
        assert set(sin) >= {"id", "name", "ctrl_deps", "inputs", "outputs", "attrs"}
    assert len({n["id"] for n in ours["nodes"]}) == len(ours["nodes"])


def test_nothing_is_recorded_outside_start_stop_and_unregister(tmp_path):
    et = ExecutionTraceObserver().register_callback(str(tmp_path / "t.json"))
    ember.ones(2).exp()
    et.start()
    ember.ones(2).cos()
    et.stop()
    ember.ones(2).tanh()
    names = [n["name"] for n in json.loads((tmp_path / "t.json").read_text())["nodes"]]
    assert "cos" in names and "exp" not in names and "tanh" not in names
    assert et.is_registered
    et.unregister_callback()
    assert not et.is_registered
    with pytest.raises(RuntimeError, match="register_callback"):
        et.start()


def test_observer_from_env(monkeypatch):
    monkeypatch.delenv("ENABLE_PYTORCH_EXECUTION_TRACE", raising=False)
    assert ExecutionTraceObserver.build_execution_trace_obs_from_env() is None
    monkeypatch.setenv("ENABLE_PYTORCH_EXECUTION_TRACE", "1")
    et = ExecutionTraceObserver.build_execution_trace_obs_from_env()
    assert et.is_registered and et.get_output_file_path().endswith(".json")
