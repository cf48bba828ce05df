"""torch.nn.utils.prune: mask a module's parameter so that chosen entries are zero.

Pruning `name` on a module moves the parameter to `name_orig`, registers the 0/1 mask as the buffer `name_mask`,
and makes `name` a plain attribute holding `name_orig * name_mask`, recomputed by a forward pre-hook (the pruning
method itself) before every forward, so gradients reach `name_orig` through the mask. Pruning the same parameter
again combines the methods in a PruningContainer: each new mask is computed on the entries (unstructured) or
channels (structured) the earlier masks left. `remove` makes the pruning permanent (`name` becomes a Parameter
holding the masked values). The masks are computed with tritorch ops (topk, norms), so they live on the
parameter's device.
"""
from __future__ import annotations

import numbers
from abc import ABC, abstractmethod

from ...autograd import grad_mode

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured",
           "l1_unstructured", "random_structured", "ln_structured", "global_unstructured", "custom_from_mask",
           "remove", "is_pruned"]


def _tt():
    import tritorch
    return tritorch


class BasePruningMethod(ABC):
    """A pruning method: compute_mask(t, default_mask) gives the new mask; applied as a forward pre-hook."""

    _tensor_name: str

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The mask for tensor `t`, given the mask it already has (`default_mask`)."""

    def apply_mask(self, module):
        """`name_orig * name_mask` for this method's parameter of `module`."""
        assert self._tensor_name is not None, f"Module {module} has to be pruned"
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return orig * mask.to(dtype=orig.dtype)

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune `name` of `module` with cls(*args, **kwargs), combining with an earlier pruning of it."""
        tt = _tt()
        old_method = None
        found = 0
        hooks_to_remove = []
        for k, hook in module._forward_pre_hooks.items():
            if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                old_method = hook
                hooks_to_remove.append(k)
                found += 1
        if found > 1:
            raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} of module "
                                 f"{module}. Use a PruningContainer.")
        for k in hooks_to_remove:
            del module._forward_pre_hooks[k]

        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old_method is not None:
            container = old_method if isinstance(old_method, PruningContainer) else PruningContainer(old_method)
            container.add_pruning_method(method)
            method = container

        orig = getattr(module, name)
        if importance_scores is not None:
            if importance_scores.shape != orig.shape:
                raise AssertionError(f"importance_scores should have the same shape as parameter {name} of "
                                     f"{module}")
        else:
            importance_scores = orig

        if old_method is None:
            # the original parameter moves to name_orig, and name is freed for the masked value
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = tt.ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone(memory_format=tt.contiguous_format)

        try:
            with grad_mode.no_grad():
                mask = method.compute_mask(importance_scores.detach(), default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if old_method is None:   # leave the module as it was
                orig = getattr(module, name + "_orig")
                module.register_parameter(name, orig)
                del module._parameters[name + "_orig"]
            raise
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """t times the mask this method computes for it (from importance_scores when given)."""
        if importance_scores is not None and importance_scores.shape != t.shape:
            raise AssertionError("importance_scores should have the same shape as tensor t")
        scores = importance_scores if importance_scores is not None else t
        default_mask = default_mask if default_mask is not None else _tt().ones_like(t)
        return t * self.compute_mask(scores, default_mask=default_mask)

    def remove(self, module):
        """Make the pruning permanent: `name` becomes a Parameter holding name_orig * name_mask."""
        assert self._tensor_name is not None, f"Module {module} has to be pruned before pruning can be removed"
        weight = self.apply_mask(module)
        if hasattr(module, self._tensor_name):
            delattr(module, self._tensor_name)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight.data
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        module.register_parameter(self._tensor_name, orig)


class PruningContainer(BasePruningMethod):
    """The sequence of pruning methods applied to one tensor; each new mask only prunes what is still unpruned."""

    def __init__(self, *args):
        self._pruning_methods = tuple()
        if len(args) == 1 and not isinstance(args[0], (list, tuple)):
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        elif len(args) == 1:
            self._tensor_name = args[0][0]._tensor_name if args[0] else None
            for method in args[0]:
                self.add_pruning_method(method)
        else:
            self._tensor_name = args[0]._tensor_name if args else None
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method):
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError("Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        """The last method's mask, computed on the part of t the earlier masks kept, combined with them."""
        method = self._pruning_methods[-1]
        kind = method.PRUNING_TYPE
        new_mask = default_mask.clone()
        if kind == "unstructured":
            kept = default_mask == 1
            new_mask[kept] = method.compute_mask(t[kept], default_mask=default_mask[kept]).to(new_mask.dtype)
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError("Pruning methods of PRUNING_TYPE 'structured' need to have the attribute `dim` "
                                     "defined.")
            dim = method.dim % t.dim()
            others = [d for d in range(t.dim()) if d != dim]
            channels = default_mask.sum(dim=others) != 0 if others else default_mask != 0
            index = channels.nonzero().flatten()
            part = method.compute_mask(t.index_select(dim, index),
                                       default_mask=default_mask.index_select(dim, index))
            new_mask.index_copy_(dim, index, part.to(new_mask.dtype))
        elif kind == "global":
            new_mask = method.compute_mask(t, default_mask=default_mask)
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
        return new_mask


class Identity(BasePruningMethod):
    """Prunes nothing: the mask stays as it is (all ones on a fresh tensor)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


def _validate_amount(amount) -> None:
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or \
            (not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _validate_against(amount, tensor_size: int) -> None:
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune="
                         f"{tensor_size}")


def _n_to_prune(amount, tensor_size: int) -> int:
    """How many units an amount prunes: an integer count, or a fraction of them rounded half to even."""
    if isinstance(amount, numbers.Integral):
        return int(amount)
    return round(amount * tensor_size)


def _zero_smallest(default_mask, amount, size: int, scores):
    """default_mask with the entries of the `amount` smallest scores() zeroed (scores called only when some are)."""
    tt = _tt()
    _validate_against(amount, size)
    k = _n_to_prune(amount, size)
    mask = default_mask.clone(memory_format=tt.contiguous_format)
    if k:
        mask.view(-1)[tt.topk(scores().reshape(-1), k=k, largest=False).indices] = 0
    return mask


def _validate_dim(t, dim: int) -> None:
    if dim >= t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(t.shape)}")


class RandomUnstructured(BasePruningMethod):
    """Zeroes `amount` entries (a count, or a fraction of them) chosen at random."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_amount(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        tt = _tt()
        return _zero_smallest(default_mask, self.amount, t.numel(),
                              lambda: tt.rand_like(t, dtype=t.dtype if t.dtype.is_floating_point else tt.float32))

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Zeroes the `amount` entries (a count, or a fraction of them) of smallest absolute value."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_amount(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        return _zero_smallest(default_mask, self.amount, t.numel(), t.abs)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


def _prune_channels(t, default_mask, amount, dim: int, keep_of):
    """default_mask with all but the channels keep_of(dim, size, k) along dim zeroed, k being how many `amount`
    prunes (default_mask itself when none)."""
    tt = _tt()
    _validate_dim(t, dim)
    dim = dim % t.dim()
    size = t.shape[dim]
    _validate_against(amount, size)
    k = _n_to_prune(amount, size)
    if k == 0:
        return default_mask
    keep = keep_of(dim, size, k)
    mask = tt.zeros_like(default_mask)
    if keep.numel():
        mask.index_copy_(dim, keep, default_mask.index_select(dim, keep))
    return mask


class RandomStructured(BasePruningMethod):
    """Zeroes `amount` whole channels along `dim` (a count, or a fraction of them) chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _validate_amount(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t, default_mask):
        tt = _tt()
        return _prune_channels(t, default_mask, self.amount, self.dim,
                               lambda dim, size, k: tt.randperm(size, device=t.device)[: size - k].sort().values)

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Zeroes the `amount` channels along `dim` (a count, or a fraction of them) of smallest L`n` norm."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _validate_amount(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t, default_mask):
        tt = _tt()

        def largest_norms(dim, size, k):
            others = [d for d in range(t.dim()) if d != dim]
            norm = tt.norm(t, p=self.n, dim=others) if others else t.abs()
            return tt.topk(norm, k=size - k, largest=True).indices

        return _prune_channels(t, default_mask, self.amount, self.dim, largest_norms)

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes with a given mask (combined with the tensor's current one)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if default_mask.shape != self.mask.shape:
            raise AssertionError("mask and default_mask must have the same shape")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


def identity(module, name):
    """Prune nothing, but set up the pruning reparametrization of `name` (name_orig, name_mask)."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs) -> None:
    """Prune the (module, name) pairs of `parameters` together: one mask over all their entries (e.g. the
    smallest 20% of every weight of a network), then each tensor its part of it."""
    tt = _tt()
    if not hasattr(parameters, "__iter__"):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    scores = tt.cat([importance_scores.get((m, n), getattr(m, n)).detach().reshape(-1) for m, n in parameters])
    masks = tt.cat([getattr(m, n + "_mask", tt.ones_like(getattr(m, n))).reshape(-1) for m, n in parameters])
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f"{pruning_method} of type {method.PRUNING_TYPE}")
    container.add_pruning_method(method)
    with grad_mode.no_grad():
        final = container.compute_mask(scores, masks)
    pointer = 0
    for module, name in parameters:
        param = getattr(module, name)
        n = param.numel()
        custom_from_mask(module, name, mask=final[pointer: pointer + n].view_as(param))
        pointer += n


def custom_from_mask(module, name, mask):
    CustomFromMask.apply(module, name, mask=mask)
    return module


def remove(module, name):
    """Make the pruning of `name` permanent and drop its reparametrization."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")


def is_pruned(module) -> bool:
    """Whether any submodule of `module` (itself included) has a pruned tensor."""
    for _, submodule in module.named_modules():
        for hook in submodule._forward_pre_hooks.values():
            if isinstance(hook, BasePruningMethod):
                return True
    return False
