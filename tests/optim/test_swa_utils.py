"""optim.swa_utils against torch: SWA/EMA averages, buffers, update_bn statistics and the SWALR schedule."""
import numpy as np
import pytest
import torch

import ember

RNG = np.random.default_rng(0)
STATES = [{k: RNG.standard_normal(s).astype(np.float32) for k, s in
           (("0.weight", (4, 3)), ("0.bias", (4,)), ("1.weight", (4,)), ("1.bias", (4,)))} for _ in range(4)]
STATS = [(RNG.standard_normal(4).astype(np.float32), RNG.uniform(0.5, 2, 4).astype(np.float32)) for _ in range(4)]


def _net(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4))


def _load(lib, net, i):
    with lib.no_grad():
        for name, p in net.named_parameters():
            p.copy_(lib.tensor(STATES[i][name]))
        net[1].running_mean.copy_(lib.tensor(STATS[i][0]))
        net[1].running_var.copy_(lib.tensor(STATS[i][1]))
        net[1].num_batches_tracked.fill_(i + 3)


def _average(lib, **kw):
    net = _net(lib)
    fns = {"ema": lambda: lib.optim.swa_utils.get_ema_avg_fn(0.7),
           "ema_multi": lambda: lib.optim.swa_utils.get_ema_multi_avg_fn(0.7),
           "swa": lib.optim.swa_utils.get_swa_avg_fn, "swa_multi": lib.optim.swa_utils.get_swa_multi_avg_fn}
    if "avg_fn" in kw:
        kw["avg_fn"] = fns[kw["avg_fn"]]()
    if "multi_avg_fn" in kw:
        kw["multi_avg_fn"] = fns[kw["multi_avg_fn"]]()
    avg = lib.optim.swa_utils.AveragedModel(net, **kw)
    for i in range(4):
        _load(lib, net, i)
        avg.update_parameters(net)
    return {k: v.detach().cpu().numpy().copy() for k, v in avg.state_dict().items()}


@pytest.mark.parametrize("kw", [
    {}, {"use_buffers": True}, {"avg_fn": "ema"}, {"multi_avg_fn": "ema_multi"}, {"avg_fn": "swa"},
    {"multi_avg_fn": "swa_multi"}, {"multi_avg_fn": "ema_multi", "use_buffers": True},
    {"avg_fn": "ema", "use_buffers": True},
], ids=str)
def test_averages_match_torch(kw):
    mine, ref = _average(ember, **dict(kw)), _average(torch, **dict(kw))
    assert list(mine) == list(ref)
    for k in ref:
        assert mine[k].dtype == ref[k].dtype, k
        np.testing.assert_allclose(mine[k], ref[k], rtol=1e-6, atol=1e-7, err_msg=k)


def test_averaged_model_forward_is_the_averaged_copys():
    net = _net(ember).eval()
    avg = ember.optim.swa_utils.AveragedModel(net).eval()
    _load(ember, net, 0)
    avg.update_parameters(net)
    _load(ember, net, 1)
    avg.update_parameters(net)
    x = ember.tensor(RNG.standard_normal((5, 3)).astype(np.float32))
    tnet = _net(torch).eval()
    tavg = torch.optim.swa_utils.AveragedModel(tnet).eval()
    for i in (0, 1):
        _load(torch, tnet, i)
        tavg.update_parameters(tnet)
    want = tavg(torch.tensor(x.numpy(force=True))).detach().numpy(force=True)
    np.testing.assert_allclose(avg(x).detach().numpy(force=True), want, rtol=1e-5)
    assert avg.module is not net and int(avg.n_averaged) == 2


def test_avg_fn_and_multi_avg_fn_together_and_bad_decay_raise():
    for lib in (ember, torch):
        su = lib.optim.swa_utils
        with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
            su.AveragedModel(_net(lib), avg_fn=su.get_swa_avg_fn(), multi_avg_fn=su.get_swa_multi_avg_fn())
        for make in (su.get_ema_avg_fn, su.get_ema_multi_avg_fn):
            with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided. Please provide a value in \[0,1\]"):
                make(1.5)


def _update_bn(lib, momentum, with_labels):
    rng = np.random.default_rng(5)
    net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4, momentum=momentum), lib.nn.ReLU(),
                            lib.nn.Linear(4, 2), lib.nn.BatchNorm1d(2))
    with lib.no_grad():
        for p in net.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    net.eval()
    batches = [lib.tensor(rng.standard_normal((n, 3)).astype(np.float32)) for n in (8, 5, 7)]
    loader = [(b, lib.zeros(len(b))) for b in batches] if with_labels else batches
    lib.optim.swa_utils.update_bn(loader, net)
    assert not net.training and net[1].momentum == momentum
    return {k: v.cpu().numpy() for k, v in net.state_dict().items() if "running" in k or "tracked" in k}


@pytest.mark.parametrize("momentum,with_labels", [(0.1, False), (0.5, True)])
def test_update_bn_statistics_match_torch(momentum, with_labels):
    mine, ref = _update_bn(ember, momentum, with_labels), _update_bn(torch, momentum, with_labels)
    assert list(mine) == list(ref)
    for k in ref:
        np.testing.assert_allclose(mine[k], ref[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_update_bn_without_batch_norm_leaves_the_model_alone():
    net = ember.nn.Linear(2, 2)
    ember.optim.swa_utils.update_bn([ember.ones(1, 2)], net)
    assert net.training


@pytest.mark.parametrize("kw", [dict(swa_lr=0.05), dict(swa_lr=0.05, anneal_epochs=3, anneal_strategy="linear"),
                                dict(swa_lr=[0.05, 0.2], anneal_epochs=0), dict(swa_lr=0.5, anneal_epochs=4)],
                         ids=str)
def test_swalr_schedule_matches_torch(kw):
    lrs = []
    for lib in (ember, torch):
        params = [lib.zeros(1, requires_grad=True), lib.zeros(1, requires_grad=True)]
        opt = lib.optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.3}], lr=1.0)
        sched = lib.optim.swa_utils.SWALR(opt, **kw)
        seen = []
        for _ in range(8):
            opt.step()
            sched.step()
            seen.append(sched.get_last_lr())
        state = sched.state_dict()
        lrs.append((seen, sorted(state)))
    np.testing.assert_allclose(lrs[0][0], lrs[1][0], rtol=1e-12)
    assert set(lrs[1][1]) - set(lrs[0][1]) == {"_get_lr_called_within_step"}  # torch's get_lr warning flag


@pytest.mark.parametrize("kw", [dict(anneal_strategy="exp"), dict(anneal_epochs=-1), dict(anneal_epochs=1.5)])
def test_swalr_bad_options_raise_like_torch(kw):
    msgs = []
    for lib in (ember, torch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
        with pytest.raises(ValueError) as err:
            lib.optim.swa_utils.SWALR(opt, swa_lr=0.1, **kw)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]
