"""utils.flop_counter.FlopCounterMode and utils.module_tracker.ModuleTracker against PyTorch's, running the same
programs (same shapes) under both: totals, per-module and per-op counts, and the printed table."""
import collections
import contextlib
import io

import pytest

import tritorch as tt
from tritorch.testing import devices
from tritorch.utils.flop_counter import FlopCounterMode, register_flop_formula
from tritorch.utils.module_tracker import ModuleTracker

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode as TorchFlopCounterMode  # noqa: E402


def counts_of(lib, program, **kw):
    """(flop counts with op keys as strings, the table) of program(lib) under lib's FlopCounterMode."""
    mode = FlopCounterMode if lib is tt else TorchFlopCounterMode
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        with mode(**kw) as fc:
            program(lib)
    counts = {m: {str(k): v for k, v in ops.items()} for m, ops in fc.get_flop_counts().items()}
    return counts, out.getvalue(), fc.get_total_flops()


def cnn(lib, groups=1):
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                          nn.Sequential(nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=groups), nn.ReLU()),
                          nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    x = lib.randn(4, 3, 8, 8, requires_grad=True)
    lib.nn.functional.cross_entropy(model(x), lib.tensor([1, 2, 3, 4])).backward()


def mlp_3d(lib):
    nn = lib.nn
    lib.manual_seed(0)
    block = nn.Sequential(nn.Linear(16, 64), nn.GELU(), nn.Linear(64, 16, bias=False))
    x = lib.randn(2, 5, 16)
    block(x).sum().backward()


def attention_scores(lib):
    q = lib.randn(2, 3, 7, 4, requires_grad=True)
    k = lib.randn(2, 3, 9, 4, requires_grad=True)
    (q @ k.transpose(-2, -1)).softmax(-1).sum().backward()


def conv_family(lib):
    F = lib.nn.functional
    x1 = lib.randn(2, 4, 11, requires_grad=True)
    F.conv1d(x1, lib.randn(6, 4, 3, requires_grad=True), stride=2).sum().backward()
    x2 = lib.randn(2, 4, 5, 5, requires_grad=True)
    F.conv_transpose2d(x2, lib.randn(4, 3, 3, 3, requires_grad=True), stride=2).sum().backward()


@pytest.mark.parametrize("program", [cnn, lambda lib: cnn(lib, groups=2), mlp_3d, attention_scores],
                         ids=["cnn", "cnn_grouped", "mlp_3d", "attention_scores"])
def test_counts_equal_torch(program):
    ours, _, total = counts_of(tt, program, display=False)
    theirs, _, their_total = counts_of(torch, program, display=False)
    assert total == their_total > 0
    assert ours == theirs


def test_conv1d_and_transposed_totals_equal_torch():
    _, _, total = counts_of(tt, conv_family, display=False)
    _, _, their_total = counts_of(torch, conv_family, display=False)
    assert total == their_total > 0


def test_table_equals_torch():
    _, ours, _ = counts_of(tt, cnn, depth=3)
    _, theirs, _ = counts_of(torch, cnn, depth=3)
    assert ours == theirs
    assert "Sequential.2.0" in ours


def test_depth_limits_the_table():
    _, table, _ = counts_of(tt, cnn, depth=1)
    assert "Sequential.0" not in table and "Sequential " in table


def test_sdpa_counts_forward_and_backward():
    """PyTorch counts its GPU attention kernels (its cpu kernel has no formula): the same formula here."""
    def program(lib):
        q = lib.randn(2, 4, 16, 8, requires_grad=True)
        lib.nn.functional.scaled_dot_product_attention(q, q, q).sum().backward()
    counts, _, total = counts_of(tt, program, display=False)
    one_product = 2 * (2 * 4) * 16 * 16 * 8
    assert counts["Global"] == {"aten._scaled_dot_product_flash_attention": 2 * one_product,
                                "aten._scaled_dot_product_flash_attention_backward": 5 * one_product}


def test_outside_modules_counts_only_global():
    counts, table, total = counts_of(tt, lambda lib: lib.randn(3, 4) @ lib.randn(4, 5))
    assert counts == {"Global": {"aten.mm": 120}} and total == 120
    assert table.splitlines()[2].split() == ["Global", "120.000", "100.00%"]


def test_custom_mapping_and_register_flop_formula():
    def relu_flops(x_shape, out_shape=None, **kw):
        return x_shape[0] * 1000
    with FlopCounterMode(display=False, custom_mapping={"relu": relu_flops}) as fc:
        tt.randn(3, 2).relu()
    assert fc.get_flop_counts()["Global"] == {"relu": 3000}

    register_flop_formula("tanh")(lambda x_shape, out_shape=None: 7)
    try:
        with FlopCounterMode(display=False) as fc:
            tt.randn(3).tanh()
        assert fc.get_total_flops() == 7
    finally:
        from tritorch.utils import flop_counter
        flop_counter._CUSTOM.pop("tanh")


def test_inside_a_profiler_and_nested():
    def program():
        x = tt.randn(4, 6, requires_grad=True)
        (tt.nn.functional.linear(x, tt.randn(3, 6)).relu() @ tt.randn(3, 5)).sum().backward()

    with FlopCounterMode(display=False) as alone:
        program()
    with tt.profiler.profile() as prof:
        with FlopCounterMode(display=False) as outer:
            with FlopCounterMode(display=False) as inner:
                program()
            tt.randn(2, 2) @ tt.randn(2, 2)
    assert inner.get_flop_counts() == alone.get_flop_counts() and inner.get_total_flops() == alone.get_total_flops()
    assert outer.get_total_flops() == alone.get_total_flops() + 16
    with tt.profiler.profile() as plain:
        program()
        tt.randn(2, 2) @ tt.randn(2, 2)
    counts = collections.Counter(e.name for e in prof.events())
    assert counts == collections.Counter(e.name for e in plain.events())   # the profile sees the same calls
    with pytest.raises(RuntimeError, match="not reentrant"):
        with inner:
            with inner:
                pass
    from tritorch.profiler import _hooks
    assert _hooks.SESSION is None and not _hooks.ACTIVE
    with FlopCounterMode(display=False) as fc:     # the hooks are back to normal after all of them
        tt.randn(2, 2) @ tt.randn(2, 2)
    assert fc.get_total_flops() == 16


def test_module_tracker_parents_forward_and_backward():
    def program(lib, tracker_cls):
        nn = lib.nn
        seen = []

        class Probe(nn.Module):
            def forward(self, x):
                seen.append(("fwd", sorted(tracker.parents)))
                return x * 2

        model = nn.Sequential(nn.Linear(2, 2), Probe())
        x = lib.randn(3, 2, requires_grad=True)
        with tracker_cls() as tracker:
            y = model(x)
            seen.append(("after", sorted(tracker.parents), tracker.is_bw))

            def in_backward(g):
                seen.append(("bwd", sorted(tracker.parents), tracker.is_bw))
            y.register_hook(in_backward)
            y.sum().backward()
            seen.append(("end", sorted(tracker.parents), tracker.is_bw))
        return seen
    from torch.utils.module_tracker import ModuleTracker as TorchModuleTracker
    assert program(tt, ModuleTracker) == program(torch, TorchModuleTracker)


@pytest.mark.parametrize("device", devices())
def test_counts_on_every_device(device):
    def program(lib):
        nn = lib.nn
        lib.manual_seed(0)
        on = {"device": device} if lib is tt else {}
        model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten(), nn.Linear(4 * 3 * 3, 3)).to(**on)
        model(lib.randn(2, 2, 5, 5, **on)).sum().backward()
    ours, _, total = counts_of(tt, program, display=False)
    theirs, _, _ = counts_of(torch, program, display=False)
    assert ours == theirs and total > 0
