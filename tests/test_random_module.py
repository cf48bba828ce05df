"""tritorch.random (torch.random) and the cuda RNG-state functions: one generator behind every device."""
import pytest

import tritorch as tt


def test_fork_rng_restores_the_state_on_exit_and_on_error():
    tt.manual_seed(3)
    first = tt.rand(4)
    with tt.random.fork_rng():
        tt.manual_seed(99)
        tt.rand(5)
    after_fork = tt.rand(4)
    with pytest.raises(ValueError):
        with tt.random.fork_rng(devices=[0]):
            tt.randn(7)
            raise ValueError("inside")
    after_error = tt.rand(4)
    tt.manual_seed(3)
    assert tt.equal(tt.rand(4), first)
    assert tt.equal(tt.rand(4), after_fork)   # the forked draws did not move the outer stream
    assert tt.equal(tt.rand(4), after_error)


def test_fork_rng_disabled_and_bad_device_type():
    tt.manual_seed(5)
    with tt.random.fork_rng(enabled=False):
        tt.rand(3)
    moved = tt.rand(3)
    tt.manual_seed(5)
    tt.rand(3)
    assert tt.equal(tt.rand(3), moved)
    with pytest.raises(RuntimeError, match="torch has no module of mps"):
        with tt.random.fork_rng(device_type="mps"):
            pass


def test_random_module_functions_and_cuda_rng_state():
    tt.random.manual_seed(11)
    assert tt.random.initial_seed() == 11 == tt.cuda.initial_seed()
    state = tt.cuda.get_rng_state()
    assert tt.equal(state, tt.random.get_rng_state()) and state.dtype is tt.uint8
    a = tt.rand(3, device="cuda")
    tt.cuda.set_rng_state(state)
    assert tt.equal(tt.rand(3, device="cuda"), a)
    tt.cuda.set_rng_state_all([state])
    assert tt.equal(tt.rand(3), a.cpu())   # the same generator serves cpu and cuda: the same numbers
    assert len(tt.cuda.get_rng_state_all()) == 1
    tt.cuda.seed_all()
    assert tt.cuda.initial_seed() != 11   # reseeded from the OS (a 1 in 2**64 chance of 11)
    assert tt.random.default_generator is tt.default_generator
