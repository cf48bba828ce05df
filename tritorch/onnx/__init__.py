"""torch.onnx as far as a training script meets it. tritorch has no graph tracer, so it cannot write ONNX: a script
that imports torch.onnx (to export only when asked, or to ask is_in_onnx_export() inside a forward) runs, and
export() says what to do instead (the checkpoints tritorch saves load into the same model under PyTorch, which
exports them)."""
from __future__ import annotations

import enum

__all__ = ["export", "dynamo_export", "is_in_onnx_export", "is_onnxrt_backend_supported", "OperatorExportTypes",
           "TrainingMode", "register_custom_op_symbolic", "unregister_custom_op_symbolic", "symbolic_helper",
           "symbolic_opset11"]


class OperatorExportTypes(enum.IntEnum):
    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


class TrainingMode(enum.IntEnum):
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


def is_in_onnx_export() -> bool:
    """False: tritorch never traces a model for export."""
    return False


def is_onnxrt_backend_supported() -> bool:
    return False


def export(model, args=(), f=None, *rest, **kwargs):
    raise RuntimeError("torch.onnx.export: tritorch cannot export to ONNX (it has no graph tracer). Save the "
                       "state_dict (torch.save / safetensors) and export the same model from PyTorch.")


def dynamo_export(model, *args, **kwargs):
    export(model)


# Symbolic functions packages register for their custom ops (torchvision's nms, roi_align, ... at import): kept by
# (name, opset) as PyTorch's registry keeps them; an exporter would read them, and tritorch has none.
_custom_symbolics: dict = {}


def register_custom_op_symbolic(symbolic_name: str, symbolic_fn, opset_version: int) -> None:
    """Register the ONNX symbolic function of a custom op "namespace::name" for `opset_version`."""
    namespace, sep, name = symbolic_name.partition("::")
    if not sep or not namespace or not name:
        raise ValueError(f"Failed to register operator {symbolic_name}. The symbolic name must match the format "
                         "domain::name, and should start with a letter and contain only alphanumerical characters")
    _custom_symbolics[(symbolic_name, int(opset_version))] = symbolic_fn


def unregister_custom_op_symbolic(symbolic_name: str, opset_version: int) -> None:
    _custom_symbolics.pop((symbolic_name, int(opset_version)), None)


from . import symbolic_helper, symbolic_opset11  # noqa: E402
