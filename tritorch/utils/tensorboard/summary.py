"""Summary protocol buffers (as bytes) for scalars, histograms, images, text, audio and hyperparameters, laid out
as TensorBoard's protos define them (tensorboard/compat/proto: summary.proto, tensor.proto; the text and hparams
plugins' plugin_data.proto), with PyTorch's SummaryWriter conventions for what goes in them: histogram buckets,
image layouts and scaling, tag suffixes."""
from __future__ import annotations

import io
import struct
import wave
import zlib

import numpy as np

from ...tensor import Tensor
from ._records import (bytes_field, double_field, float_field, packed_doubles, packed_floats, string_field,
                       varint_field)

_DT_FLOAT, _DT_DOUBLE, _DT_STRING = 1, 2, 7


def make_np(x) -> np.ndarray:
    """A tensor, NumPy array or Python number as a NumPy array (a number as a 1-element array)."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, Tensor):
        from ... import dtypes
        if x.dtype is dtypes.bfloat16:   # (as PyTorch's writer: NumPy has no bfloat16 of its own)
            x = x.to(dtypes.float16)
        return x.detach().cpu().numpy()
    if np.isscalar(x):
        return np.array([x])
    raise TypeError(f"Got {type(x).__name__}, but numpy array or tensor are expected.")


# ------------------------------------------------------------------------------------------ message bytes

def summary(*values: bytes) -> bytes:
    """Summary{value: [...]} from the bytes of its Summary.Value messages."""
    return b"".join(bytes_field(1, v, keep_empty=True) for v in values)


def summary_value(tag: str, *, simple_value=None, image: bytes | None = None, histo: bytes | None = None,
                  audio: bytes | None = None, tensor: bytes | None = None, metadata: bytes | None = None) -> bytes:
    """Summary.Value: tag 1, simple_value 2, image 4, histo 5, audio 6, tensor 8, metadata 9."""
    out = string_field(1, tag)
    if simple_value is not None:   # (a member of the value oneof: written even when 0)
        out += float_field(2, simple_value, always=True)
    for number, message in ((4, image), (5, histo), (6, audio), (8, tensor), (9, metadata)):
        if message is not None:
            out += bytes_field(number, message, keep_empty=True)
    return out


def plugin_metadata(plugin_name: str, content: bytes = b"") -> bytes:
    """SummaryMetadata{plugin_data: PluginData{plugin_name 1, content 2}}."""
    return bytes_field(1, string_field(1, plugin_name) + bytes_field(2, content), keep_empty=True)


# ------------------------------------------------------------------------------------------------ scalars

def scalar(name: str, value, new_style: bool = False, double_precision: bool = False) -> bytes:
    a = make_np(value).squeeze()
    if a.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). Was given size: {a.size} and "
                             f"{a.ndim} dimensions.")
    v = float(a)
    if not new_style:
        return summary(summary_value(name, simple_value=v))
    if double_precision:
        tensor = varint_field(1, _DT_DOUBLE) + packed_doubles(6, [v])
    else:
        tensor = varint_field(1, _DT_FLOAT) + packed_floats(5, [v])
    return summary(summary_value(name, tensor=tensor, metadata=plugin_metadata("scalars")))


# --------------------------------------------------------------------------------------------- histograms

def default_bins() -> list:
    """SummaryWriter's "tensorflow" bins: +-1e-12 growing by 10% up to 1e20, and 0."""
    v, buckets = 1e-12, []
    while v < 1e20:
        buckets.append(v)
        v *= 1.1
    return [-b for b in reversed(buckets)] + [0] + buckets


def histogram_proto(min, max, num, sum, sum_squares, bucket_limits, bucket_counts) -> bytes:
    """HistogramProto: min 1, max 2, num 3, sum 4, sum_squares 5 (doubles), bucket_limit 6, bucket 7 (packed)."""
    return (double_field(1, float(min)) + double_field(2, float(max)) + double_field(3, float(num))
            + double_field(4, float(sum)) + double_field(5, float(sum_squares))
            + packed_doubles(6, [float(x) for x in bucket_limits])
            + packed_doubles(7, [float(x) for x in bucket_counts]))


def histogram_raw(name, min, max, num, sum, sum_squares, bucket_limits, bucket_counts) -> bytes:
    return summary(summary_value(name, histo=histogram_proto(min, max, num, sum, sum_squares, bucket_limits,
                                                             bucket_counts)))


def make_histogram(values: np.ndarray, bins, max_bins=None) -> bytes:
    """The histogram of `values` over `bins` (np.histogram's), with at most `max_bins` buckets (adjacent ones
    merged), trimmed to the buckets that hold values plus an empty one on the left: TensorBoard draws a bucket
    from its left neighbour's limit, so that one carries the leftmost limit."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        group = len(counts) // max_bins
        short = len(counts) % group       # (as PyTorch's writer: the remainder of a division by the group size)
        if short:
            counts = np.concatenate([counts, np.zeros(group - short, counts.dtype)])
        counts = counts.reshape(-1, group).sum(axis=-1)
        limits = np.concatenate([limits[:-1:group], limits[-1:]])
    occupied = np.flatnonzero(counts)
    first, last = (int(occupied[0]), int(occupied[-1]) + 1) if occupied.size else (0, 0)
    counts = counts[first - 1:last] if first > 0 else np.concatenate([[0], counts[:last]])
    limits = limits[first:last + 1]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    return histogram_proto(values.min(), values.max(), len(values), values.sum(), values.dot(values),
                           limits.tolist(), counts.tolist())


def histogram(name: str, values, bins, max_bins=None) -> bytes:
    return summary(summary_value(name, histo=make_histogram(make_np(values).astype(float), bins, max_bins)))


# ------------------------------------------------------------------------------------------------- images

def _grid(images: np.ndarray, ncols: int = 8) -> np.ndarray:
    """(N, C, H, W) with C of 1 or 3 as one (3, rows * H, ncols * W) canvas, row by row."""
    if images.shape[1] == 1:
        images = np.concatenate([images] * 3, 1)
    if images.ndim != 4 or images.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    n, _, h, w = images.shape
    ncols = min(n, ncols)
    nrows = -(-n // ncols)
    canvas = np.zeros((3, h * nrows, w * ncols), images.dtype)
    for i in range(n):
        y, x = divmod(i, ncols)
        canvas[:, y * h:(y + 1) * h, x * w:(x + 1) * w] = images[i]
    return canvas


def to_hwc(a: np.ndarray, dataformats: str) -> np.ndarray:
    """An image in `dataformats` (NCHW: a grid of the batch; CHW/HWC; HW) as HWC with 3 channels (or 4 if
    given 4)."""
    if len(set(dataformats)) != len(dataformats):
        raise AssertionError(f"You can not use the same dimension shorthand twice. input_format: {dataformats}")
    if a.ndim != len(dataformats):
        raise AssertionError(f"size of input tensor and input format are different. tensor shape: {a.shape}, "
                             f"input_format: {dataformats}")
    fmt = dataformats.upper()
    if len(fmt) == 4:
        return _grid(a.transpose([fmt.find(c) for c in "NCHW"])).transpose(1, 2, 0)
    if len(fmt) == 3:
        hwc = a.transpose([fmt.find(c) for c in "HWC"])
        return np.concatenate([hwc] * 3, 2) if hwc.shape[2] == 1 else hwc
    hw = a.transpose([fmt.find(c) for c in "HW"])
    return np.stack([hw] * 3, 2)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(hwc: np.ndarray) -> bytes:
    """An (H, W, 3 or 4) uint8 image as PNG (RGB or RGBA, 8 bits, no filter)."""
    h, w, c = hwc.shape
    color_type = {3: 2, 4: 6}[c]
    rows = np.concatenate([np.zeros((h, 1), np.uint8), hwc.reshape(h, w * c)], 1)   # filter byte 0 per row
    return (b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + _png_chunk(b"IEND", b""))


def image(tag: str, img, dataformats: str = "NCHW") -> bytes:
    """Summary.Image (height 1, width 2, colorspace 3, encoded_image_string 4): uint8 values as they are, any
    other dtype taken as [0, 1] and scaled by 255, clipped to [0, 255]."""
    a = make_np(img)
    hwc = to_hwc(a, dataformats)
    scale = 1 if hwc.dtype == np.uint8 else 255
    hwc = (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    h, w, c = hwc.shape
    proto = (varint_field(1, h) + varint_field(2, w) + varint_field(3, c)
             + bytes_field(4, encode_png(np.ascontiguousarray(hwc))))
    return summary(summary_value(tag, image=proto))


# -------------------------------------------------------------------------------------------- text, audio

def text(tag: str, text: str) -> bytes:
    """The text plugin's summary: a 1-element DT_STRING tensor under `tag`/text_summary."""
    shape = bytes_field(2, varint_field(1, 1), keep_empty=True)           # TensorShapeProto{dim: [{size: 1}]}
    tensor = varint_field(1, _DT_STRING) + bytes_field(2, shape, keep_empty=True) + \
        bytes_field(8, text.encode("utf_8"), keep_empty=True)
    return summary(summary_value(tag + "/text_summary", tensor=tensor, metadata=plugin_metadata("text")))


def audio(tag: str, snd, sample_rate: int = 44100) -> bytes:
    """Summary.Audio of a 1-D signal in [-1, 1] (clipped, with a warning, beyond) as 16-bit mono WAV."""
    a = make_np(snd).squeeze()
    if np.abs(a).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        a = a.clip(-1, 1)
    if a.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    pcm = (a * np.iinfo(np.int16).max).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    proto = (float_field(1, sample_rate) + varint_field(2, 1) + varint_field(3, pcm.shape[-1])
             + bytes_field(4, buf.getvalue()) + string_field(5, "audio/wav"))
    return summary(summary_value(tag, audio=proto))


# --------------------------------------------------------------------------------------- custom scalars

def custom_scalars(layout: dict) -> bytes:
    """The custom_scalars plugin's layout: {category: {chart title: ["Multiline", [tags]] or ["Margin", [value,
    lower, upper]]}}, as a DT_STRING tensor holding the serialized Layout."""
    categories = b""
    for category, charts in layout.items():
        body = string_field(1, category)
        for title, (kind, tags) in charts.items():
            if kind == "Margin":
                if len(tags) != 3:
                    raise AssertionError("len(tags) != 3")
                series = b"".join(string_field(i + 1, t) for i, t in enumerate(tags))
                content = bytes_field(3, bytes_field(1, series, keep_empty=True), keep_empty=True)
            else:
                content = bytes_field(2, b"".join(string_field(1, t) for t in tags), keep_empty=True)
            body += bytes_field(2, string_field(1, title) + content, keep_empty=True)
        categories += bytes_field(2, body, keep_empty=True)
    tensor = varint_field(1, _DT_STRING) + bytes_field(2, b"", keep_empty=True) + \
        bytes_field(8, categories, keep_empty=True)
    return summary(summary_value("custom_scalars__config__", tensor=tensor, metadata=plugin_metadata("custom_scalars")))


# -------------------------------------------------------------------------------------------- PR curves

def _pr_summary(tag: str, data: np.ndarray, num_thresholds: int) -> bytes:
    """The pr_curves plugin's summary: the (6, thresholds) float tensor of tp, fp, tn, fn, precision, recall."""
    shape = b"".join(bytes_field(2, varint_field(1, n), keep_empty=True) for n in data.shape)
    tensor = varint_field(1, _DT_FLOAT) + bytes_field(2, shape, keep_empty=True) + \
        packed_floats(5, data.reshape(-1).tolist())
    content = varint_field(2, num_thresholds)   # PrCurvePluginData{version 1 (0), num_thresholds 2}
    return summary(summary_value(tag, tensor=tensor, metadata=plugin_metadata("pr_curves", content)))


def pr_curve_raw(tag, tp, fp, tn, fn, precision, recall, num_thresholds: int = 127) -> bytes:
    return _pr_summary(tag, np.stack((tp, fp, tn, fn, precision, recall)), min(num_thresholds, 127))


def pr_curve(tag, labels, predictions, num_thresholds: int = 127, weights=None) -> bytes:
    """Counts at `num_thresholds` (at most 127, as TensorBoard's plugin takes) evenly spaced thresholds of the
    predictions (probabilities in [0, 1]) against boolean labels, optionally weighted."""
    n = min(num_thresholds, 127)
    labels, predictions = make_np(labels), make_np(predictions)
    weights = 1.0 if weights is None else weights
    buckets = np.int32(np.floor(predictions * (n - 1)))
    positive = labels.astype(np.float64)
    tp_per, _ = np.histogram(buckets, bins=n, range=(0, n - 1), weights=positive * weights)
    fp_per, _ = np.histogram(buckets, bins=n, range=(0, n - 1), weights=(1.0 - positive) * weights)
    tp, fp = np.cumsum(tp_per[::-1])[::-1], np.cumsum(fp_per[::-1])[::-1]   # counts at or above each threshold
    tn, fn = fp[0] - fp, tp[0] - tp
    precision = tp / np.maximum(1e-7, tp + fp)
    recall = tp / np.maximum(1e-7, tp + fn)
    return _pr_summary(tag, np.stack((tp, fp, tn, fn, precision, recall)), n)


# ------------------------------------------------------------------------------------------ hyperparameters

_HPARAMS = "hparams"
_STRING, _BOOL, _FLOAT64 = 1, 2, 3   # the hparams plugin's DataType
_STATUS_SUCCESS = 1


def _struct_value(v) -> bytes:
    """google.protobuf.Value (a oneof: its field is written even when it holds the default)."""
    if isinstance(v, str):
        return bytes_field(3, v.encode("utf-8"), keep_empty=True)
    return double_field(2, float(v), always=True)   # (bools are ints: numbers here, as in PyTorch's writer)


def _hparams_summary(tag: str, plugin_data: bytes) -> bytes:
    return summary(summary_value(tag, metadata=plugin_metadata(_HPARAMS, plugin_data)))


def hparams(hparam_dict, metric_dict, hparam_domain_discrete=None) -> tuple:
    """(experiment, session start, session end) summaries of the hparams plugin for one run: each hyperparameter
    a number (ints, floats, bools and 1-element tensors), a string, with its discrete domain when given."""
    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for k, v in domains.items():
        if k not in hparam_dict or not isinstance(v, list) or not all(isinstance(d, type(hparam_dict[k])) for d in v):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same type as "
                            f"hparam_dict[{k}].")
    infos, entries = [], []
    for k, v in hparam_dict.items():
        if v is None:
            continue
        if isinstance(v, Tensor):
            v, kind = float(make_np(v).reshape(-1)[0]), _FLOAT64
        elif isinstance(v, (int, float)):
            kind = _FLOAT64
        elif isinstance(v, str):
            kind = _STRING
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        entries.append(bytes_field(1, string_field(1, k) + bytes_field(2, _struct_value(v), keep_empty=True),
                                   keep_empty=True))
        info = string_field(1, k) + varint_field(4, kind)
        if k in domains and not isinstance(hparam_dict[k], Tensor):
            values = b"".join(bytes_field(1, _struct_value(float(d) if kind == _FLOAT64 else d), keep_empty=True)
                              for d in domains[k])
            info += bytes_field(5, values, keep_empty=True)
        infos.append(bytes_field(4, info, keep_empty=True))
    metrics = b"".join(bytes_field(5, bytes_field(1, string_field(2, k), keep_empty=True), keep_empty=True)
                       for k in metric_dict)
    experiment = _hparams_summary("_hparams_/experiment", bytes_field(2, b"".join(infos) + metrics, keep_empty=True))
    start = _hparams_summary("_hparams_/session_start_info", bytes_field(3, b"".join(entries), keep_empty=True))
    end = _hparams_summary("_hparams_/session_end_info", bytes_field(4, varint_field(1, _STATUS_SUCCESS),
                                                                      keep_empty=True))
    return experiment, start, end
