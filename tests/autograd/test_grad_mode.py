"""Grad modes: context managers, decorators, nesting and thread-locality, against torch."""
import threading

import pytest
import torch

import ember

LIBS = [ember, torch]


def _inference_enabled(lib):
    return lib.is_inference_mode_enabled()


@pytest.mark.parametrize("lib", LIBS)
def test_context_managers_nest(lib):
    x = lib.ones(2, requires_grad=True)
    seen = []
    with lib.no_grad():
        seen.append((x * 2).requires_grad)
        with lib.enable_grad():
            seen.append((x * 2).requires_grad)
            with lib.set_grad_enabled(False):
                seen.append(lib.is_grad_enabled())
            seen.append(lib.is_grad_enabled())
        seen.append(lib.is_grad_enabled())
    seen.append((x * 2).requires_grad)
    assert seen == [False, True, False, True, False, True]


@pytest.mark.parametrize("lib", LIBS)
def test_mode_restored_after_exception(lib):
    with pytest.raises(ValueError):
        with lib.no_grad():
            raise ValueError
    assert lib.is_grad_enabled()


@pytest.mark.parametrize("lib", LIBS)
def test_set_grad_enabled_as_plain_call(lib):
    try:
        lib.set_grad_enabled(False)
        assert not lib.is_grad_enabled()
        assert not (lib.ones(1, requires_grad=True) * 2).requires_grad
    finally:
        lib.set_grad_enabled(True)
    assert lib.is_grad_enabled()


@pytest.mark.parametrize("lib", LIBS)
def test_decorators(lib):
    x = lib.ones(2, requires_grad=True)

    @lib.no_grad()
    def called(t):
        """doc"""
        return t * 2

    @lib.no_grad
    def bare(t):
        return t * 2

    @lib.set_grad_enabled(False)
    def flag():
        return lib.is_grad_enabled()

    @lib.inference_mode()
    def infer():
        return lib.is_grad_enabled(), _inference_enabled(lib)

    @lib.inference_mode
    def infer_bare():
        return lib.is_grad_enabled()

    assert not called(x).requires_grad and not bare(x).requires_grad
    assert called.__name__ == "called" and called.__doc__ == "doc"
    assert lib.is_grad_enabled()  # decorating with set_grad_enabled does not switch the mode
    assert flag() is False and lib.is_grad_enabled()
    assert infer() == (False, True) and infer_bare() is False
    with lib.no_grad():
        @lib.enable_grad()
        def on():
            return (x * 2).requires_grad
        assert on() and not lib.is_grad_enabled()


@pytest.mark.parametrize("lib", LIBS)
def test_decorated_generator_runs_each_step_in_mode(lib):
    @lib.no_grad()
    def gen():
        got = yield lib.is_grad_enabled()
        yield got, lib.is_grad_enabled()
        return "done"

    g = gen()
    assert next(g) is False
    assert lib.is_grad_enabled()
    assert g.send(5) == (5, False)
    with pytest.raises(StopIteration) as stop:
        next(g)
    assert stop.value.value == "done"


@pytest.mark.parametrize("lib", LIBS)
def test_inference_mode(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.inference_mode():
        assert not lib.is_grad_enabled() and _inference_enabled(lib)
        assert not (x * 2).requires_grad
        with lib.inference_mode(False):
            assert lib.is_grad_enabled() and not _inference_enabled(lib)
    with lib.no_grad():
        with lib.inference_mode(False):
            assert lib.is_grad_enabled()
    assert lib.is_grad_enabled() and not _inference_enabled(lib)


@pytest.mark.parametrize("lib", LIBS)
def test_grad_mode_is_thread_local(lib):
    results = {}
    inside, release = threading.Event(), threading.Event()

    def worker():
        inside.wait()
        x = lib.ones(1, requires_grad=True)
        results["enabled"] = lib.is_grad_enabled()
        results["records"] = (x * 2).requires_grad
        with lib.no_grad():  # does not leak back into the main thread
            release.set()
            results["worker_no_grad"] = lib.is_grad_enabled()
            threading.Event().wait(0.05)

    t = threading.Thread(target=worker)
    t.start()
    with lib.no_grad():
        inside.set()
        release.wait()
        assert not lib.is_grad_enabled()
    assert lib.is_grad_enabled()
    t.join()
    assert results == {"enabled": True, "records": True, "worker_no_grad": False}


def test_engine_restores_mode_after_backward():
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        y = x * 2
    assert not y.requires_grad
    (x * x).sum().backward(create_graph=False)
    assert ember.is_grad_enabled()
