"""torch.utils.dlpack: from_dlpack (a tensor over another library's memory), to_dlpack (a DLPack capsule of a
tensor) and the DLPack device codes."""
import enum

__all__ = ["DLDeviceType", "from_dlpack", "to_dlpack"]


class DLDeviceType(enum.IntEnum):
    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


class _Capsule:
    """A bare DLPack capsule (to_dlpack's, or another library's legacy export) as the protocol's object."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, **_kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (DLDeviceType.kDLCPU, 0)


def from_dlpack(ext):
    """A tensor sharing memory with an object that implements the DLPack protocol, or with a DLPack capsule
    (tritorch.from_dlpack; host memory)."""
    import tritorch
    if type(ext).__name__ == "PyCapsule":
        ext = _Capsule(ext)
    return tritorch.from_dlpack(ext)


def to_dlpack(tensor):
    """A DLPack capsule of the tensor's memory (cpu; under the interpreter cuda memory is host memory too)."""
    return tensor.__dlpack__(max_version=(1, 0))   # (a versioned capsule: the importer may write it)
