"""tritorch.profiler / tritorch.autograd.profiler: recorded ranges (ops, shortcuts, backward, record_function),
nesting, schedules, the table, the Chrome trace, and that dispatch is restored after a profile."""
import json

import pytest

import tritorch as tt
from tritorch.ops import registry
from tritorch.profiler import ProfilerAction, ProfilerActivity, profile, record_function, schedule


def _names(events):
    return [e.name for e in events]


def _dispatch_state():
    """Everything the profiler swaps: OpDef.__call__, each op's shortcut and backward rule, a Tensor operator's
    closure cells."""
    ops = registry.ops()
    cells = tuple(c.cell_contents for c in tt.Tensor.__mul__.__closure__ or ())
    return registry.OpDef.__call__, [(op.fast, op.vjp, op.impl["cuda"]) for op in ops], cells


def test_ops_and_shortcuts_are_recorded():
    a, b = tt.ones(3, 4), tt.ones(3, 4)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        c = a * b                # Tensor operator -> the cpu shortcut, called from a closure cell
        tt.exp(c)                # public function -> shortcut
        tt.mm(a, b.t())          # registry call
    names = _names(prof.events())
    assert names.count("aten::mul") == 1 and "aten::exp" in names and "aten::mm" in names
    assert all(e.cpu_time_total >= 0 and e.device_time_total == 0 for e in prof.events())   # all on cpu


def test_backward_and_record_function_nesting():
    x = tt.randn(4, 5, requires_grad=True)
    with profile() as prof:
        with record_function("forward"):
            y = (x * 2.0).sum()
        y.backward()
    events = prof.events()
    fwd = next(e for e in events if e.name == "forward")
    assert fwd.cat == "user_annotation"
    assert {c.name for c in fwd.cpu_children} == {"aten::mul", "aten::sum"}
    assert all(c.cpu_parent is fwd for c in fwd.cpu_children)
    mul_bw = next(e for e in events if e.name == "MulBackward0")
    assert mul_bw.cpu_parent is None
    assert "SumBackward0" in _names(events)
    # the gradient's own op runs inside its backward range
    assert "aten::mul" in _names(mul_bw.cpu_children)
    assert fwd.self_cpu_time_total == pytest.approx(fwd.cpu_time_total - sum(c.cpu_time_total
                                                                            for c in fwd.cpu_children))


def test_record_function_as_decorator_and_outside_a_profile():
    @record_function("step_fn")
    def step(t):
        return t + 1

    step(tt.ones(2))             # no profile: nothing recorded, no error
    with profile() as prof:
        step(tt.ones(2))
        step(tt.ones(2))
    assert _names(prof.events()).count("step_fn") == 2
    assert [c.name for c in prof.events() if c.cpu_parent is not None and c.cpu_parent.name == "step_fn"] == \
        ["aten::add", "aten::add"]


def test_custom_function_backward_is_recorded():
    class Square(tt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = tt.ones(3, requires_grad=True)
    with profile() as prof:
        Square.apply(x).sum().backward()
    assert "SquareBackward" in _names(prof.events())


def test_no_events_outside_a_profile_and_dispatch_restored():
    before = _dispatch_state()
    with profile() as prof:
        assert registry.OpDef.__call__ is not before[0]
        tt.ones(2) + tt.ones(2)
    n = len(prof.events())
    tt.ones(2) * tt.ones(2)      # after the profile: nothing more is recorded
    assert len(prof.events()) == n
    assert _dispatch_state() == before


def test_dispatch_restored_when_the_body_raises():
    before = _dispatch_state()
    with pytest.raises(RuntimeError, match="size of tensor a"):
        with profile():
            tt.ones(2) + tt.ones(3)
    assert _dispatch_state() == before
    with profile() as prof:      # a new profile starts cleanly
        tt.ones(2).neg()
    assert _names(prof.events()) == ["aten::full", "aten::neg"]


def test_a_declined_shortcut_leaves_one_range():
    a = tt.ones(2, dtype=tt.float32)
    b = tt.ones(2, dtype=tt.float64)   # mixed dtypes: the cpu shortcut declines, the full call runs
    with profile() as prof:
        a * b
    assert _names(prof.events()) == ["aten::mul"]


def test_schedule_phases():
    sched = schedule(wait=1, warmup=1, active=2, repeat=1, skip_first=1)
    assert [sched(i) for i in range(7)] == [
        ProfilerAction.NONE, ProfilerAction.NONE, ProfilerAction.WARMUP, ProfilerAction.RECORD,
        ProfilerAction.RECORD_AND_SAVE, ProfilerAction.NONE, ProfilerAction.NONE]
    with pytest.raises(AssertionError, match="Invalid profiler schedule"):
        schedule(wait=0, warmup=0, active=0)


def test_schedule_records_active_steps_only():
    traces = []

    def ready(prof):
        traces.append([e.name for e in prof.events() if e.cat == "user_annotation"])

    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=2), on_trace_ready=ready) as prof:
        for step in range(10):
            with record_function(f"step{step}"):
                tt.ones(1)
            prof.step()
    assert traces == [["step2", "step3"], ["step6", "step7"]]
    assert prof.step_num == 10


def test_table_columns_and_sort():
    x = tt.randn(8, 8)
    with profile(record_shapes=True, profile_memory=True) as prof:
        for _ in range(3):
            x.exp()
        tt.mm(x, x)
    averages = prof.key_averages()
    exp = next(e for e in averages if e.key == "aten::exp")
    assert exp.count == 3 and exp.cpu_time == pytest.approx(exp.cpu_time_total / 3)
    assert exp.cpu_memory_usage == 3 * 8 * 8 * 4
    assert "Input Shapes" not in averages.table()            # shapes are shown only when grouped by them
    table = prof.key_averages(group_by_input_shape=True).table(sort_by="cpu_memory_usage", row_limit=2)
    lines = table.splitlines()
    header = lines[1].split("  ")
    assert [h.strip() for h in header if h.strip()] == [
        "Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "CPU Mem", "Self CPU Mem",
        "# of Calls", "Input Shapes"]
    rows = [ln for ln in lines[3:] if not ln.startswith("-") and "total:" not in ln]
    assert len(rows) == 2 and "aten::exp" in rows[0]     # 768 B, the most memory
    assert lines[-1].startswith("Self CPU time total:")
    shaped = prof.key_averages(group_by_input_shape=True)
    assert {str(e.input_shapes) for e in shaped if e.key == "aten::mm"} == {"[[8, 8], [8, 8]]"}


def test_table_matches_torch_layout():
    torch = pytest.importorskip("torch")
    with torch.profiler.profile() as tprof:
        torch.ones(2).exp()
    with profile() as prof:
        tt.ones(2).exp()
    ours = prof.key_averages().table().splitlines()
    theirs = tprof.key_averages().table().splitlines()
    assert ours[1].split() == theirs[1].split()          # the same header
    assert [len(c) for c in ours[0].split()][1:] == [len(c) for c in theirs[0].split()][1:]


def test_chrome_trace_json(tmp_path):
    with profile(record_shapes=True) as prof:
        with record_function("block"):
            tt.ones(2, 3).sum()
    prof.add_metadata("run", "r1")
    prof.add_metadata_json("config", '{"lr": 0.1}')
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    data = json.loads(path.read_text())
    complete = [e for e in data["traceEvents"] if e["ph"] == "X"]
    assert {"block", "aten::full", "aten::sum"} <= {e["name"] for e in complete}
    for e in complete:
        assert {"ph", "cat", "name", "pid", "tid", "ts", "dur", "args"} <= set(e)
        assert e["dur"] >= 0
    assert data["run"] == "r1" and data["config"] == {"lr": 0.1}
    block = next(e for e in complete if e["name"] == "block")
    inner = next(e for e in complete if e["name"] == "aten::sum")
    assert block["cat"] == "user_annotation" and inner["args"]["Input Dims"] == [[2, 3]]
    assert block["ts"] <= inner["ts"] and inner["ts"] + inner["dur"] <= block["ts"] + block["dur"] + 1e-3


def test_tensorboard_trace_handler(tmp_path):
    handler = tt.profiler.tensorboard_trace_handler(str(tmp_path), worker_name="w0")
    with profile(on_trace_ready=handler):
        tt.ones(2).neg()
    (f,) = list(tmp_path.iterdir())
    assert f.name.startswith("w0.") and f.name.endswith(".pt.trace.json")
    assert "aten::neg" in {e["name"] for e in json.loads(f.read_text())["traceEvents"]}


def test_cuda_ops_have_device_time():
    if not tt.cuda.is_available():
        pytest.skip("no cuda device (or interpreter)")
    x = tt.ones(16, device="cuda")
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA], profile_memory=True) as prof:
        with record_function("block"):
            (x * x).sum()
    mul = next(e for e in prof.events() if e.name == "aten::mul")
    assert mul.device_type == "cuda" and len(mul.launches) == 1 and mul.device_time_total > 0
    # the launch alone is timed, inside the op's host range
    assert mul.device_time_total <= mul.cpu_time_total or not tt.backends.cuda.INTERPRET
    assert mul.device_memory_usage >= 16 * 4 or not tt.backends.cuda.INTERPRET
    block = next(e for e in prof.events() if e.name == "block")
    assert not block.launches and block.self_device_time_total == 0
    assert block.device_time_total == pytest.approx(sum(c.device_time_total for c in block.cpu_children))
    assert "Self CUDA" in prof.key_averages().table()


def test_a_copy_between_devices_is_a_range():
    """The cross-device copy is an op outside the registry: profiling it used to fail on its missing name."""
    if not tt.cuda.is_available():
        pytest.skip("no cuda device (or interpreter)")
    x = tt.ones(4, requires_grad=True)
    with profile() as prof:
        x.to("cuda").sum().backward()
    assert [e.name for e in prof.events()].count("aten::_to_copy") == 2   # the copy and its gradient's way back
    assert x.grad.tolist() == [1.0] * 4


def test_cuda_launches_in_the_trace(tmp_path):
    if not tt.cuda.is_available():
        pytest.skip("no cuda device (or interpreter)")
    x = tt.ones(16, device="cuda")
    with profile() as prof:
        x.exp()
    prof.export_chrome_trace(str(tmp_path / "t.json"))
    events = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    host = next(e for e in events if e["name"] == "aten::exp" and e["cat"] == "cpu_op")
    (kernel,) = [e for e in events if e.get("cat") == "kernel"]
    assert kernel["name"] == "aten::exp" and kernel["args"]["External id"] == host["args"]["External id"]
    assert host["ts"] <= kernel["ts"] and kernel["dur"] <= host["dur"]


def test_with_stack_names_the_caller():
    with profile(with_stack=True) as prof:
        tt.ones(2).neg()
    neg = next(e for e in prof.events() if e.name == "aten::neg")
    assert "test_with_stack_names_the_caller" in neg.stack[0]
    table = prof.key_averages(group_by_stack_n=2).table(max_src_column_width=300)
    assert "Source Location" in table.splitlines()[1]
    assert neg.stack[0] in table and neg.stack[1] in table and neg.stack[2] not in table


def test_autograd_profiler_legacy_api():
    with tt.autograd.profiler.profile(record_shapes=True) as prof:
        with tt.autograd.profiler.record_function("legacy"):
            tt.ones(2, 2).sum()
    assert "legacy" in _names(prof.function_events)
    assert "aten::sum" in prof.table()
    assert prof.total_average().count == len(prof.function_events)
    with tt.autograd.profiler.profile(enabled=False) as off:
        tt.ones(2)
    assert off.function_events is None


def test_one_profile_at_a_time():
    with profile():
        with pytest.raises(RuntimeError, match="already enabled"):
            with profile():
                pass
    assert tt.profiler._hooks.SESSION is None


def test_optimizer_step_is_a_range():
    w = tt.nn.Parameter(tt.ones(3))
    opt = tt.optim.SGD([w], lr=0.1)
    before = dict(tt.optim.optimizer._global_optimizer_pre_hooks)
    with profile() as prof:
        (w * w).sum().backward()
        opt.step()
    step = next(e for e in prof.events() if e.name == "Optimizer.step#SGD.step")
    assert step.cpu_parent is None and step.cpu_time_total > 0
    assert dict(tt.optim.optimizer._global_optimizer_pre_hooks) == before   # the profile's hooks are gone


def test_a_range_left_open_ends_with_the_profile():
    rf = record_function("never_closed")
    with profile() as prof:
        rf.__enter__()
        tt.ones(1)
    (e,) = [e for e in prof.events() if e.name == "never_closed"]
    assert e.cpu_time_total > 0 and _names(e.cpu_children) == ["aten::full"]


def test_a_cuda_factory_is_a_device_range():
    if not tt.cuda.is_available():
        pytest.skip("no cuda device (or interpreter)")
    with profile() as prof:
        tt.zeros(4, device="cuda")
    (full,) = [e for e in prof.events() if e.name == "aten::full"]
    assert full.device_type == "cuda" and full.device_time_total > 0


def test_results_are_unchanged_under_a_profile():
    def run():
        tt.manual_seed(0)
        x = tt.randn(3, 4, requires_grad=True)
        y = x.clone()
        y[1:] *= 2               # an in-place write into a view: a CopySlices node
        (y.exp() @ x.t()).sum().backward()
        return x.grad

    plain = run()
    with profile() as prof:
        profiled = run()
    assert tt.equal(plain, profiled)
    names = _names(prof.events())
    assert {"CopySlices", "MatmulBackward0", "ExpBackward0"} <= set(names)


def test_memory_of_views_and_out_is_not_an_allocation():
    x = tt.ones(4, 4)
    dest = tt.empty(4, 4)
    with profile(profile_memory=True) as prof:
        x.view(16)              # a view: shares x's memory
        tt.exp(x, out=dest)     # writes memory that exists
        x.sin()                 # a new 64-byte result
    usage = {e.name: e.cpu_memory_usage for e in prof.events()}
    assert usage == {"aten::view": 0, "aten::exp": 0, "aten::sin": 64}


def test_cpu_activity_alone_times_no_device_work():
    if not tt.cuda.is_available():
        pytest.skip("no cuda device (or interpreter)")
    x = tt.ones(4, device="cuda")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        x.exp()
    (e,) = [e for e in prof.events() if e.name == "aten::exp"]
    assert e.device_time_total == 0 and not e.launches
    assert "CUDA" not in prof.key_averages().table()


def test_options_it_cannot_record_are_announced():
    with pytest.warns(UserWarning, match="does not record with_flops"):
        profile(with_flops=True)
