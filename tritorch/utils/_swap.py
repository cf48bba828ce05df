"""torch.utils.swap_tensors: two Tensor objects exchange everything they hold (storage, dtype, device, autograd
state, attributes), each keeping its identity, so references to either now see the other's contents."""
from ..tensor import Tensor

_STATE = tuple(s for s in Tensor.__slots__ if s not in ("__weakref__", "__dict__"))


def swap_tensors(t1, t2) -> None:
    if not isinstance(t1, Tensor) or not isinstance(t2, Tensor):
        raise RuntimeError(f"Expected t1 and t2 to be Tensors, but got {type(t1).__name__} and {type(t2).__name__}")
    if type(t1) is not type(t2):
        raise RuntimeError("Cannot swap t1 and t2 if they have different slots")
    for name in _STATE:
        a, b = getattr(t1, name), getattr(t2, name)
        setattr(t1, name, b)
        setattr(t2, name, a)
    d1, d2 = dict(t1.__dict__), dict(t2.__dict__)
    t1.__dict__.clear()
    t1.__dict__.update(d2)
    t2.__dict__.clear()
    t2.__dict__.update(d1)
