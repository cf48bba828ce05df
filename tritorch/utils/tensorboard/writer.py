"""SummaryWriter and FileWriter: TensorBoard event files written directly (no TensorFlow, protobuf or
tensorboard package needed to write them; TensorBoard reads them as it reads PyTorch's).

Events wait in memory and go to disk together: when `max_queue` are waiting, when `flush_secs` have passed since
the last write (checked on each add: there is no background thread), and on flush() and close()."""
from __future__ import annotations

import itertools
import os
import socket
import time
from datetime import datetime

from . import summary as _summary
from ._records import bytes_field, double_field, string_field, tf_record, varint_field

__all__ = ["FileWriter", "SummaryWriter"]

_FILE_IDS = itertools.count()
_SESSION_START = 1   # SessionLog.START


def event(wall_time: float, step=None, *, file_version: str = "", summary: bytes | None = None,
          session_log_status: int = 0, source_writer: str = "") -> bytes:
    """Event: wall_time 1, step 2, file_version 3, summary 5, session_log 7, source_metadata 10."""
    out = double_field(1, wall_time) + varint_field(2, int(step) if step is not None else 0) + \
        string_field(3, file_version)
    if summary is not None:
        out += bytes_field(5, summary, keep_empty=True)
    if session_log_status:
        out += bytes_field(7, varint_field(1, session_log_status), keep_empty=True)
    if source_writer:
        out += bytes_field(10, string_field(1, source_writer), keep_empty=True)
    return out


class FileWriter:
    """One event file in `log_dir`: events.out.tfevents.<time>.<host>.<pid>.<n><filename_suffix>, opened with its
    file-version event."""

    def __init__(self, log_dir, max_queue: int = 10, flush_secs: float = 120, filename_suffix: str = ""):
        self._log_dir = str(log_dir)
        os.makedirs(self._log_dir, exist_ok=True)
        name = "events.out.tfevents.%010d.%s.%s.%s" % (time.time(), socket.gethostname(), os.getpid(),
                                                        next(_FILE_IDS))
        self._path = os.path.join(self._log_dir, name + filename_suffix)
        self._file = open(self._path, "wb")
        self._pending: list = []
        self._max_queue, self._flush_secs = max_queue, flush_secs
        self._last_write = time.time()
        self.add_event(event(time.time(), file_version="brain.Event:2", source_writer="tritorch.utils.tensorboard"))
        self.flush()

    def get_logdir(self) -> str:
        return self._log_dir

    def add_event(self, event_bytes: bytes) -> None:
        if self._file is None:
            raise RuntimeError("the event file writer is closed")
        self._pending.append(tf_record(event_bytes))
        if len(self._pending) >= self._max_queue or time.time() - self._last_write >= self._flush_secs:
            self.flush()

    def add_summary(self, summary: bytes, global_step=None, walltime=None) -> None:
        self.add_event(event(time.time() if walltime is None else walltime, global_step, summary=summary))

    def flush(self) -> None:
        if self._file is None:
            return
        if self._pending:
            self._file.write(b"".join(self._pending))
            self._pending = []
        self._file.flush()
        self._last_write = time.time()

    def close(self) -> None:
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None

    def reopen(self) -> None:
        """Open a new event file in the same directory (after close)."""
        if self._file is None:
            self.__init__(self._log_dir, self._max_queue, self._flush_secs)


class SummaryWriter:
    """torch.utils.tensorboard.SummaryWriter: scalars, histograms, images, text, audio, PR curves and
    hyperparameters into
    TensorBoard event files under `log_dir` (default runs/<date>_<host><comment>)."""

    def __init__(self, log_dir=None, comment: str = "", purge_step=None, max_queue: int = 10,
                 flush_secs: float = 120, filename_suffix: str = ""):
        if not log_dir:
            log_dir = os.path.join("runs", datetime.now().strftime("%b%d_%H-%M-%S") + "_" + socket.gethostname()
                                   + comment)
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue, self.flush_secs, self.filename_suffix = max_queue, flush_secs, filename_suffix
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        self.default_bins = _summary.default_bins()

    def _get_file_writer(self) -> FileWriter:
        """The writer of log_dir's event file (a new one after close)."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:   # TensorBoard hides the events from this step on, of a crashed run
                now = time.time()
                self.file_writer.add_event(event(now, self.purge_step, file_version="brain.Event:2"))
                self.file_writer.add_event(event(now, self.purge_step, session_log_status=_SESSION_START))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> str:
        return self.log_dir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        self._get_file_writer().add_summary(_summary.scalar(tag, scalar_value, new_style, double_precision),
                                            global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None) -> None:
        """Each value under main_tag, in a run of its own: the directory <log_dir>/<main_tag>_<key>."""
        walltime = time.time() if walltime is None else walltime
        root = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            path = root + "/" + main_tag.replace("/", "_") + "_" + tag
            writer = self.all_writers.get(path)
            if writer is None:
                writer = self.all_writers[path] = FileWriter(path, self.max_queue, self.flush_secs,
                                                             self.filename_suffix)
            writer.add_summary(_summary.scalar(main_tag, value), global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None) -> None:
        """bins: "tensorflow" (SummaryWriter's exponential buckets), or anything np.histogram takes."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self._get_file_writer().add_summary(_summary.histogram(tag, values, bins, max_bins), global_step, walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts,
                          global_step=None, walltime=None) -> None:
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        self._get_file_writer().add_summary(
            _summary.histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts),
            global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats: str = "CHW") -> None:
        self._get_file_writer().add_summary(_summary.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats: str = "NCHW") -> None:
        """A batch of images as one grid image (8 per row)."""
        self._get_file_writer().add_summary(_summary.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None) -> None:
        self._get_file_writer().add_summary(_summary.text(tag, text_string), global_step, walltime)

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate: int = 44100, walltime=None) -> None:
        self._get_file_writer().add_summary(_summary.audio(tag, snd_tensor, sample_rate), global_step, walltime)

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds: int = 127, weights=None,
                     walltime=None) -> None:
        """A precision-recall curve of predictions (probabilities) against labels."""
        self._get_file_writer().add_summary(_summary.pr_curve(tag, labels, predictions, num_thresholds, weights),
                                            global_step, walltime)

    def add_pr_curve_raw(self, tag, true_positive_counts, false_positive_counts, true_negative_counts,
                         false_negative_counts, precision, recall, global_step=None, num_thresholds: int = 127,
                         weights=None, walltime=None) -> None:
        self._get_file_writer().add_summary(
            _summary.pr_curve_raw(tag, true_positive_counts, false_positive_counts, true_negative_counts,
                                  false_negative_counts, precision, recall, num_thresholds), global_step, walltime)

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None, tag: str = "default",
                      metadata_header=None) -> None:
        """Points for the embedding projector: mat (N, D), optional labels (one per point, or rows of columns
        under metadata_header) and images (N, C, H, W); files in <log_dir>/<step>/<tag>/ (see _projector.py)."""
        from . import _projector
        mat = _summary.make_np(mat)
        step = 0 if global_step is None else global_step
        subdir = f"{str(step).zfill(5)}/{_projector.encode_tag(tag)}"
        folder = os.path.join(self._get_file_writer().get_logdir(), subdir)
        if os.path.exists(folder):
            if not os.path.isdir(folder):
                raise NotADirectoryError(f"Path: `{folder}` exists, but is a file. Cannot proceed.")
            print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
        else:
            os.makedirs(folder)
        if metadata is not None:
            if mat.shape[0] != len(metadata):
                raise AssertionError("#labels should equal with #data points")
            _projector.write_metadata(metadata, folder, metadata_header)
        if label_img is not None:
            if mat.shape[0] != _summary.make_np(label_img).shape[0]:
                raise AssertionError("#images should equal with #data points")
            _projector.write_sprite(label_img, folder)
        if mat.ndim != 2:
            raise AssertionError("mat should be 2D, where mat.size(0) is the number of data points")
        _projector.write_matrix(mat, folder)
        self._projector_entries = getattr(self, "_projector_entries", []) + [
            _projector.embedding_entry(metadata, label_img, subdir, step, tag)]
        with open(os.path.join(self._get_file_writer().get_logdir(), "projector_config.pbtxt"), "wb") as f:
            f.write("".join(self._projector_entries).encode())

    def add_custom_scalars(self, layout: dict) -> None:
        """The custom scalars dashboard's layout: {category: {chart title: ["Multiline", [tags]] or
        ["Margin", [value tag, lower tag, upper tag]]}}."""
        self._get_file_writer().add_summary(_summary.custom_scalars(layout))

    def add_custom_scalars_multilinechart(self, tags, category: str = "default", title: str = "untitled") -> None:
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(self, tags, category: str = "default", title: str = "untitled") -> None:
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None) -> None:
        """One run of the hparams dashboard, in <log_dir>/<run_name> (default: the time): the hyperparameters and
        the metrics' values, as scalars of that run."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        experiment, start, end = _summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name or str(time.time()))
        with SummaryWriter(log_dir=logdir) as run:
            for s in (experiment, start, end):
                run.file_writer.add_summary(s, global_step)
            for k, v in metric_dict.items():
                run.add_scalar(k, v, global_step)

    def flush(self) -> None:
        for writer in (self.all_writers or {}).values():
            writer.flush()

    def close(self) -> None:
        for writer in (self.all_writers or {}).values():
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
