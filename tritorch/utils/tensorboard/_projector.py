"""The files of TensorBoard's embedding projector (SummaryWriter.add_embedding), laid out as PyTorch's writer lays
them out: <log_dir>/<step, 5 digits>/<tag>/ holds tensors.tsv (one point a line), metadata.tsv (labels, with a
header row for several columns) and sprite.png (the points' images in a square grid); projector_config.pbtxt
in <log_dir> lists every embedding added, in protobuf's text format."""
from __future__ import annotations

import math
import os

import numpy as np

from .summary import _grid, encode_png, make_np


def encode_tag(tag: str) -> str:
    """A tag as one folder name: %, / and \\ percent-encoded."""
    return tag.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")


def write_matrix(mat: np.ndarray, folder: str) -> None:
    with open(os.path.join(folder, "tensors.tsv"), "wb") as f:
        for row in mat:
            f.write(("\t".join(str(v.item()) for v in row) + "\n").encode())


def write_metadata(metadata, folder: str, header=None) -> None:
    if header:
        if len(header) != len(metadata[0]):
            raise AssertionError("len of header must be equal to the number of columns in metadata")
        lines = ["\t".join(str(e) for e in row) for row in [header] + list(metadata)]
    else:
        lines = [str(x) for x in metadata]
    with open(os.path.join(folder, "metadata.tsv"), "wb") as f:
        f.write(("\n".join(lines) + "\n").encode())


def write_sprite(label_img, folder: str) -> None:
    """The (N, C, H, W) images, values in [0, 1], in a grid of ceil(sqrt(N)) columns on a square canvas."""
    imgs = make_np(label_img)
    grid = _grid(imgs, ncols=math.ceil(imgs.shape[0] ** 0.5))          # (3, rows * H, cols * W)
    square = np.zeros((grid.shape[2], grid.shape[2], 3))
    square[:grid.shape[1]] = grid.transpose(1, 2, 0)
    with open(os.path.join(folder, "sprite.png"), "wb") as f:
        f.write(encode_png(np.uint8((square * 255).clip(0, 255))))


def _quoted(text: str) -> str:
    """A string as protobuf's text format writes it."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\"'\\":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:03o}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def embedding_entry(metadata, label_img, subdir: str, global_step: int, tag: str) -> str:
    """One `embeddings { ... }` block of projector_config.pbtxt (fields in field-number order)."""
    lines = [f"  tensor_name: {_quoted(f'{tag}:{str(global_step).zfill(5)}')}"]
    if metadata is not None:
        lines.append(f"  metadata_path: {_quoted(subdir + '/metadata.tsv')}")
    if label_img is not None:
        shape = make_np(label_img).shape
        lines += ["  sprite {", f"    image_path: {_quoted(subdir + '/sprite.png')}",
                  f"    single_image_dim: {shape[3]}", f"    single_image_dim: {shape[2]}", "  }"]
    lines.append(f"  tensor_path: {_quoted(subdir + '/tensors.tsv')}")
    return "embeddings {\n" + "\n".join(lines) + "\n}\n"
