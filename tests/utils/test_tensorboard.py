"""utils.tensorboard.SummaryWriter against PyTorch's (which needs the tensorboard package): the same calls with the
same wall times write the same event records, byte for byte, except images (PNG compressors differ: the decoded
pixels are compared) and the file's first event (which names its writer). TensorBoard's own reader loads ours."""
import glob
import io
import os

import numpy as np
import pytest

import tritorch as tt
from tritorch.utils.tensorboard import SummaryWriter
from tritorch.utils.tensorboard._records import crc32c, masked_crc32c

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader  # noqa: E402
from tensorboard.compat.proto import event_pb2  # noqa: E402
from torch.utils.tensorboard import SummaryWriter as TorchSummaryWriter  # noqa: E402


def records(log_dir):
    """{directory relative to log_dir: [event bytes]} of every event file under log_dir, first events left out."""
    out = {}
    for path in sorted(glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"), recursive=True)):
        out[os.path.relpath(os.path.dirname(path), log_dir)] = list(RawEventFileLoader(path).Load())[1:]
    return out


def both(tmp_path, program, **kw):
    """program(writer, lib) run with tritorch's writer and with PyTorch's: their records."""
    results = []
    for writer_cls, lib in ((SummaryWriter, tt), (TorchSummaryWriter, torch)):
        d = str(tmp_path / lib.__name__)
        with writer_cls(d, **kw) as w:
            program(w, lib)
        results.append(records(d))
    return results


def test_crc32c_known_values():
    assert crc32c(b"123456789") == 0xE3069283         # the CRC-32C check value
    assert crc32c(b"") == 0
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as theirs
    for data in (b"", b"a", bytes(range(256)) * 3):
        assert masked_crc32c(data) == theirs(data)


def test_scalars_equal_torch(tmp_path):
    def program(w, lib):
        w.add_scalar("loss", 0.5, 3, walltime=1.0)
        w.add_scalar("loss", lib.tensor(0.25), 4, walltime=2.0)
        w.add_scalar("zero", 0.0, 0, walltime=1.0)
        w.add_scalar("np", np.float32(-1.5), np.int64(7), walltime=3.5)
        w.add_scalar("new", 2.5, 4, walltime=1.0, new_style=True)
        w.add_scalar("new_double", 1 / 3, 4, walltime=1.0, new_style=True, double_precision=True)
        w.add_scalars("run/acc", {"train": 0.9, "val": lib.tensor(0.8)}, 5, walltime=4.0)
    ours, theirs = both(tmp_path, program)
    assert ours == theirs
    assert set(ours) == {".", "run_acc_train", "run_acc_val"} and len(ours["."]) == 6


def test_histograms_equal_torch(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.standard_normal(500).astype(np.float32)

    def program(w, lib):
        w.add_histogram("default", lib.tensor(values), 1, walltime=1.0)
        w.add_histogram("ints", np.arange(20), 2, walltime=1.0, bins=7)
        w.add_histogram("merged", values, 3, walltime=1.0, bins=50, max_bins=7)
        w.add_histogram("auto", values * 10, 4, walltime=1.0, bins="auto")
        w.add_histogram("bf16", lib.tensor(values[:40]).to(lib.bfloat16), 5, walltime=1.0)
        w.add_histogram_raw("raw", -1, 2, 3, 1.5, 5.0, [0.0, 1.0, 2.0], [1, 0, 2], 6, walltime=1.0)
    ours, theirs = both(tmp_path, program)
    assert ours == theirs


def test_histogram_errors():
    with _null_writer() as w:
        with pytest.raises(ValueError, match="no element"):
            w.add_histogram("empty", np.zeros(0))
        with pytest.raises(ValueError, match="bucket_limits"):
            w.add_histogram_raw("raw", 0, 1, 1, 1, 1, [1.0], [1, 2])
        with pytest.raises(TypeError, match="numpy array or tensor"):
            w.add_histogram("list", [1, 2, 3])


class _null_writer:
    def __enter__(self):
        import tempfile
        self.dir = tempfile.TemporaryDirectory()
        self.w = SummaryWriter(self.dir.name)
        return self.w

    def __exit__(self, *exc):
        self.w.close()
        self.dir.cleanup()


def test_text_audio_and_purge_equal_torch(tmp_path):
    wave_data = np.sin(np.linspace(0, 20, 800)).astype(np.float32)

    def program(w, lib):
        w.add_text("notes", "lr = 3e-4, **bold**", 1, walltime=1.0)
        w.add_text("empty", "", 2, walltime=1.0)
        w.add_audio("tone", lib.tensor(wave_data), 3, sample_rate=8000, walltime=1.0)
    ours, theirs = both(tmp_path, program)
    assert ours == theirs

    def purged(w, lib):
        w.add_scalar("x", 1.0, 10, walltime=5.0)
    ours, theirs = both(tmp_path / "purge", purged, purge_step=7)
    # the purge events carry the time they were written: compare them without it
    strip = [[_without_wall_time(e) for e in events] for events in (ours["."], theirs["."])]
    assert strip[0] == strip[1] and len(strip[0]) == 3


def test_pr_curves_equal_torch(tmp_path):
    r = np.random.default_rng(4)
    labels = r.random(200) > 0.6
    predictions = r.random(200).astype(np.float32)

    def program(w, lib):
        w.add_pr_curve("pr", lib.tensor(labels), lib.tensor(predictions), 1, walltime=1.0)
        w.add_pr_curve("pr_weighted", labels, predictions, 2, num_thresholds=300, weights=r.random(200) * 0 + 0.5,
                       walltime=1.0)
        w.add_pr_curve_raw("raw", [5, 3, 1], [4, 2, 0], [0, 2, 4], [0, 2, 4], [0.55, 0.6, 1.0], [1.0, 0.6, 0.2], 3,
                           num_thresholds=3, walltime=1.0)
    ours, theirs = both(tmp_path, program)
    assert ours == theirs and len(ours["."]) == 3


def test_custom_scalars_equal_torch(tmp_path):
    def program(w, lib):
        w.add_custom_scalars({"Taiwan": {"twse": ["Multiline", ["twse/0050", "twse/2330"]]},
                              "USA": {"dow": ["Margin", ["dow/aaa", "dow/bbb", "dow/ccc"]],
                                      "nasdaq": ["Margin", ["nasdaq/aaa", "nasdaq/bbb", "nasdaq/ccc"]]}})
        w.add_custom_scalars_multilinechart(["loss/train", "loss/val"], category="losses", title="both")
        w.add_custom_scalars_marginchart(["acc", "acc_low", "acc_high"])
        with pytest.raises(AssertionError, match="Expected 3 tags"):
            w.add_custom_scalars_marginchart(["a", "b"])
    ours, theirs = both(tmp_path, program)
    # these summaries carry the clock's wall time
    assert [_without_wall_time(e) for e in ours["."]] == [_without_wall_time(e) for e in theirs["."]]
    assert len(ours["."]) == 3


def test_embeddings_equal_torch(tmp_path):
    from PIL import Image
    r = np.random.default_rng(6)
    mat = r.standard_normal((10, 4)).astype(np.float32)
    images = r.random((10, 3, 5, 5)).astype(np.float32)
    files = []
    for writer_cls, lib in ((SummaryWriter, tt), (TorchSummaryWriter, torch)):
        d = tmp_path / lib.__name__
        with writer_cls(str(d)) as w:
            w.add_embedding(lib.tensor(mat), metadata=[f"p{i}" for i in range(10)], label_img=lib.tensor(images),
                            global_step=3, tag="layer/1")
            w.add_embedding(mat[:, :2], metadata=[[i, i % 2] for i in range(10)], metadata_header=["id", "odd"],
                            tag='quote"d')
        found = {}
        for root, _, names in os.walk(d):
            for name in names:
                if not name.startswith("events."):
                    path = os.path.join(root, name)
                    key = os.path.relpath(path, d)
                    found[key] = (np.asarray(Image.open(path)) if name.endswith(".png")
                                  else open(path, "rb").read())
        files.append(found)
    ours, theirs = files
    assert sorted(ours) == sorted(theirs) and "projector_config.pbtxt" in ours
    for key in ours:
        if key.endswith(".png"):
            np.testing.assert_array_equal(ours[key], theirs[key])
        else:
            assert ours[key] == theirs[key], key


def _parsed_without_wall_time(data):
    from tensorboard.plugins.hparams import plugin_data_pb2
    e = event_pb2.Event.FromString(data)
    e.wall_time = 0
    contents = []
    for v in e.summary.value:
        if v.metadata.plugin_data.plugin_name == "hparams":
            contents.append(plugin_data_pb2.HParamsPluginData.FromString(v.metadata.plugin_data.content))
            v.metadata.plugin_data.content = b""
    return e, contents


def _without_wall_time(data):
    e = event_pb2.Event.FromString(data)
    e.wall_time = 0
    return e.SerializeToString()


def test_images_decode_to_torch_pixels(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(1)
    chw = rng.random((3, 5, 7)).astype(np.float32)
    gray = (rng.random((1, 4, 6)) * 255).astype(np.uint8)
    batch = rng.random((10, 3, 4, 3)).astype(np.float32)
    rgba = (rng.random((5, 4, 4)) * 255).astype(np.uint8)

    def program(w, lib):
        w.add_image("chw", lib.tensor(chw), 1, walltime=1.0)
        w.add_image("gray", gray, 2, walltime=1.0)
        w.add_image("hw", chw[0], 3, walltime=1.0, dataformats="HW")
        w.add_image("hwc_rgba", rgba, 4, walltime=1.0, dataformats="HWC")
        w.add_images("batch", lib.tensor(batch), 5, walltime=1.0)
        w.add_image("clipped", chw * 3 - 1, 6, walltime=1.0)
    ours, theirs = both(tmp_path, program)
    assert len(ours["."]) == len(theirs["."]) == 6
    for a, b in zip(ours["."], theirs["."]):
        ea, eb = event_pb2.Event.FromString(a), event_pb2.Event.FromString(b)
        va, vb = ea.summary.value[0], eb.summary.value[0]
        assert (ea.step, ea.wall_time, va.tag) == (eb.step, eb.wall_time, vb.tag)
        ia, ib = va.image, vb.image
        assert (ia.height, ia.width, ia.colorspace) == (ib.height, ib.width, ib.colorspace)
        pixels = [np.asarray(Image.open(io.BytesIO(i.encoded_image_string))) for i in (ia, ib)]
        np.testing.assert_array_equal(pixels[0], pixels[1])
    assert event_pb2.Event.FromString(ours["."][4]).summary.value[0].image.width == 8 * 3   # 8 per grid row


def test_hparams_equal_torch(tmp_path):
    def program(w, lib):
        w.add_hparams({"lr": 0.1, "bsize": 32, "opt": "adam", "flag": True, "none": None, "t": lib.tensor([0.5])},
                      {"hparam/accuracy": 0.75, "hparam/loss": 1.5},
                      hparam_domain_discrete={"opt": ["adam", "sgd"], "bsize": [16, 32]}, run_name="run0",
                      global_step=3)
    ours, theirs = both(tmp_path, program)
    assert set(ours) == set(theirs) == {".", "run0"}
    assert ours["."] == theirs["."] == []
    # the run's summaries, compared as messages (the order of a protobuf map's entries in its bytes is the
    # serializer's choice) and without their wall times (the clock's)
    parsed = [[_parsed_without_wall_time(e) for e in events] for events in (ours["run0"], theirs["run0"])]
    assert parsed[0] == parsed[1] and len(parsed[0]) == 5
    with pytest.raises(TypeError, match="dictionary"):
        with _null_writer() as w:
            w.add_hparams([1], {})
    with pytest.raises(ValueError, match="one of int, float, str, bool"):
        with _null_writer() as w:
            w.add_hparams({"x": [1]}, {})


def test_event_files_and_tensorboard_reads_them(tmp_path):
    with SummaryWriter(str(tmp_path), filename_suffix=".v2") as w:
        for step in range(5):
            w.add_scalar("loss", 1.0 / (step + 1), step)
        w.add_histogram("w", np.arange(6.0), 0)
    files = glob.glob(str(tmp_path / "events.out.tfevents.*"))
    assert len(files) == 1 and files[0].endswith(".v2")
    first = event_pb2.Event.FromString(next(iter(RawEventFileLoader(files[0]).Load())))
    assert first.file_version == "brain.Event:2"
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    assert [(s.step, round(s.value, 6)) for s in acc.Scalars("loss")] == [(i, round(1 / (i + 1), 6)) for i in range(5)]
    assert acc.Histograms("w")[0].histogram_value.num == 6


def test_events_wait_for_the_queue_or_a_flush(tmp_path):
    w = SummaryWriter(str(tmp_path), max_queue=3)
    path = glob.glob(str(tmp_path / "events.out.tfevents.*"))[0]

    def on_disk():
        return len(list(RawEventFileLoader(path).Load()))
    assert on_disk() == 1                       # the file-version event, written when the file opens
    w.add_scalar("a", 1.0, 0)
    w.add_scalar("a", 2.0, 1)
    assert on_disk() == 1
    w.add_scalar("a", 3.0, 2)                   # the third waiting event fills the queue
    assert on_disk() == 4
    w.add_scalar("a", 4.0, 3)
    w.flush()
    assert on_disk() == 5
    w.close()
    w.close()                                   # a second close does nothing
    w.add_scalar("a", 5.0, 4)                   # as PyTorch's: a write after close opens a new file
    w.close()
    assert len(glob.glob(str(tmp_path / "events.out.tfevents.*"))) == 2


def test_default_log_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_lr0.1") as w:
        assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_lr0.1")
    assert os.path.isdir(tmp_path / w.get_logdir())
