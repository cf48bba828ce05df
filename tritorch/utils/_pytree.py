"""torch.utils._pytree: nested containers (pytrees) as a flat list of leaves and a TreeSpec of their structure.

Libraries import this private PyTorch module directly (x-transformers, torch_einops_utils, optimizers and training
utilities that map over nested batches). The nodes are tuple, list, dict (in insertion order), namedtuple (and the
return types), OrderedDict, defaultdict and deque, plus classes given to register_pytree_node / register_dataclass;
anything else, None included, is a leaf, as in PyTorch's Python implementation. Key paths (tree_flatten_with_path)
use SequenceKey / MappingKey / GetAttrKey, whose str forms keystr joins ("[1]['a'][0]").
"""
from __future__ import annotations

import dataclasses
from collections import OrderedDict, defaultdict, deque, namedtuple
from typing import Any, Callable, NamedTuple

__all__ = ["PyTree", "TreeSpec", "LeafSpec", "SUPPORTED_NODES", "register_pytree_node", "register_dataclass",
           "tree_flatten", "tree_flatten_with_path", "tree_unflatten", "tree_leaves", "tree_leaves_with_path",
           "tree_iter", "tree_structure", "tree_map", "tree_map_", "tree_map_only", "tree_map_only_",
           "tree_map_with_path", "tree_all", "tree_any", "tree_all_only", "tree_any_only", "tree_is_leaf",
           "treespec_leaf", "treespec_tuple", "treespec_dict", "keystr", "key_get", "SequenceKey", "MappingKey",
           "GetAttrKey", "is_namedtuple", "is_namedtuple_class", "is_namedtuple_instance", "arg_tree_leaves",
           "map_only"]

PyTree = Any


# ------------------------------------------------------------------------------------------------------ keys

@dataclasses.dataclass(frozen=True)
class SequenceKey:
    idx: int

    def __str__(self):
        return f"[{self.idx!r}]"

    def get(self, sequence):
        return sequence[self.idx]


@dataclasses.dataclass(frozen=True)
class MappingKey:
    key: Any

    def __str__(self):
        return f"[{self.key!r}]"

    def get(self, mapping):
        return mapping[self.key]


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    name: str

    def __str__(self):
        return f".{self.name}"

    def get(self, obj):
        return getattr(obj, self.name)


def keystr(kp: tuple) -> str:
    """A key path as source text: (SequenceKey(1), MappingKey('a')) -> "[1]['a']"."""
    return "".join(str(k) for k in kp)


def key_get(obj, kp: tuple):
    """The element of `obj` at key path `kp`."""
    for k in kp:
        obj = k.get(obj)
    return obj


# ----------------------------------------------------------------------------------------------- the registry

class NodeDef(NamedTuple):
    type: type
    flatten_fn: Callable          # node -> (children, context)
    unflatten_fn: Callable        # (children, context) -> node
    flatten_with_keys_fn: Callable | None = None   # node -> ([(key, child)], context)


SUPPORTED_NODES: dict = {}


def register_pytree_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None, to_dumpable_context=None,
                         from_dumpable_context=None, flatten_with_keys_fn=None) -> None:
    """Make instances of `cls` nodes: flatten_fn(node) -> (children, context), unflatten_fn(children, context) ->
    node; flatten_with_keys_fn(node) -> ([(key, child)], context) for the key-path functions. (The serialisation
    arguments are accepted for PyTorch's signature; tritorch has no treespec serialisation.)"""
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)


_register_pytree_node = register_pytree_node   # (the private name older libraries call)


def register_dataclass(cls, *, field_names=None, drop_field_names=None, **kwargs) -> None:
    """A dataclass as a node whose children are its fields (or `field_names`), rebuilt by its constructor."""
    names = list(field_names) if field_names is not None else [f.name for f in dataclasses.fields(cls) if f.init]
    names = [n for n in names if n not in (drop_field_names or ())]
    register_pytree_node(cls, lambda obj: ([getattr(obj, n) for n in names], None),
                         lambda children, _: cls(**dict(zip(names, children))),
                         flatten_with_keys_fn=lambda obj: ([(GetAttrKey(n), getattr(obj, n)) for n in names], None))


def is_namedtuple_class(cls) -> bool:
    return isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields") and hasattr(cls, "_make")


def is_namedtuple_instance(obj) -> bool:
    return is_namedtuple_class(type(obj))


def is_namedtuple(obj) -> bool:
    """A namedtuple class or instance."""
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def _seq_keys(node):
    return [(SequenceKey(i), c) for i, c in enumerate(node)]


# The built-in nodes' functions under PyTorch's private names, which libraries reuse for their own mapping or
# sequence classes (transformers registers its ModelOutput dicts with _dict_flatten_with_keys).
def _tuple_flatten(t):
    return list(t), None


def _tuple_flatten_with_keys(t):
    return _seq_keys(t), None


def _tuple_unflatten(children, context):
    return tuple(children)


def _list_flatten(t):
    return list(t), None


def _list_flatten_with_keys(t):
    return _seq_keys(t), None


def _list_unflatten(children, context):
    return list(children)


def _dict_flatten(d):
    return list(d.values()), list(d.keys())


def _dict_flatten_with_keys(d):
    return [(MappingKey(k), v) for k, v in d.items()], list(d.keys())


def _dict_unflatten(children, context):
    return dict(zip(context, children))


register_pytree_node(tuple, _tuple_flatten, _tuple_unflatten, flatten_with_keys_fn=_tuple_flatten_with_keys)
register_pytree_node(list, _list_flatten, _list_unflatten, flatten_with_keys_fn=_list_flatten_with_keys)
register_pytree_node(dict, _dict_flatten, _dict_unflatten, flatten_with_keys_fn=_dict_flatten_with_keys)
register_pytree_node(OrderedDict, lambda d: (list(d.values()), list(d.keys())),
                     lambda c, keys: OrderedDict(zip(keys, c)),
                     flatten_with_keys_fn=lambda d: ([(MappingKey(k), v) for k, v in d.items()], list(d.keys())))
register_pytree_node(defaultdict, lambda d: (list(d.values()), [d.default_factory, list(d.keys())]),
                     lambda c, ctx: defaultdict(ctx[0], zip(ctx[1], c)),
                     flatten_with_keys_fn=lambda d: ([(MappingKey(k), v) for k, v in d.items()],
                                                     [d.default_factory, list(d.keys())]))
register_pytree_node(deque, lambda d: (list(d), d.maxlen), lambda c, maxlen: deque(c, maxlen=maxlen),
                     flatten_with_keys_fn=lambda d: (_seq_keys(d), d.maxlen))
register_pytree_node(namedtuple, lambda t: (list(t), type(t)), lambda c, cls: cls(*c),
                     flatten_with_keys_fn=lambda t: ([(GetAttrKey(n), v) for n, v in zip(t._fields, t)], type(t)))


def _node_type(tree):
    """The registry key of `tree`'s node kind, or None for a leaf (a namedtuple is one kind, whatever its class)."""
    cls = type(tree)
    if cls in SUPPORTED_NODES and cls is not namedtuple:
        return cls
    if is_namedtuple_class(cls):
        return namedtuple
    return None


def _get_node_type(tree):
    """PyTorch's key of `tree` in SUPPORTED_NODES: namedtuple for any namedtuple, else its type (which a leaf's is
    not among)."""
    return namedtuple if is_namedtuple_instance(tree) else type(tree)


def tree_is_leaf(tree, is_leaf: Callable | None = None) -> bool:
    return (is_leaf is not None and is_leaf(tree)) or _node_type(tree) is None


_is_leaf = tree_is_leaf   # (PyTorch's older private name)


# ------------------------------------------------------------------------------------------------- TreeSpec

class TreeSpec:
    """The structure of a pytree: a node's type, its context (dict keys, namedtuple class, ...) and one TreeSpec
    per child; a leaf is TreeSpec(None, None, [])."""

    def __init__(self, type, context, children_specs):
        self.type, self.context, self.children_specs = type, context, list(children_specs)
        self.num_children = len(self.children_specs)
        self.num_leaves = 1 if type is None else sum(c.num_leaves for c in self.children_specs)
        self.num_nodes = 1 + sum(c.num_nodes for c in self.children_specs)

    def is_leaf(self) -> bool:
        return self.type is None

    def children(self) -> list:
        return list(self.children_specs)

    def child(self, index: int) -> "TreeSpec":
        return self.children_specs[index]

    def unflatten(self, leaves):
        return tree_unflatten(leaves, self)

    def __eq__(self, other):
        if not isinstance(other, TreeSpec):
            return NotImplemented
        return (self.type is other.type and self.context == other.context
                and self.children_specs == other.children_specs)

    def __hash__(self):
        return hash((self.type, self.num_nodes, self.num_leaves))

    def __repr__(self, indent: int = 0) -> str:
        if self.is_leaf():
            return "*"
        name = "namedtuple" if self.type is namedtuple else self.type.__name__
        context = self.context
        if self.type is namedtuple:
            context = repr(context)
        inner = ",\n".join(" " * (indent + 2) * bool(i) + c.__repr__(indent + 2)
                           for i, c in enumerate(self.children_specs))
        return f"TreeSpec({name}, {context}, [{inner}])"


class LeafSpec(TreeSpec):
    """The spec of a single leaf (PyTorch's LeafSpec(), now treespec_leaf())."""

    def __init__(self):
        super().__init__(None, None, [])


treespec_leaf = LeafSpec


def treespec_tuple(iterable=()) -> TreeSpec:
    return TreeSpec(tuple, None, list(iterable))


def treespec_dict(mapping=(), **kwargs) -> TreeSpec:
    d = dict(mapping, **kwargs)
    return TreeSpec(dict, list(d.keys()), list(d.values()))


# ------------------------------------------------------------------------------------------ flatten/unflatten

def _flatten(tree, is_leaf, leaves: list) -> TreeSpec:
    kind = None if (is_leaf is not None and is_leaf(tree)) else _node_type(tree)
    if kind is None:
        leaves.append(tree)
        return LeafSpec()
    children, context = SUPPORTED_NODES[kind].flatten_fn(tree)
    return TreeSpec(kind, context, [_flatten(c, is_leaf, leaves) for c in children])


def tree_flatten(tree, is_leaf: Callable | None = None) -> tuple:
    """(leaves, treespec): the leaves left to right, and the structure that tree_unflatten rebuilds."""
    leaves: list = []
    return leaves, _flatten(tree, is_leaf, leaves)


def tree_unflatten(leaves, treespec: TreeSpec):
    """The pytree of `treespec`'s structure with `leaves` in its leaf positions."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(f"tree_unflatten(leaves, treespec): Expected `treespec` to be instance of TreeSpec but got "
                        f"item of type {type(treespec)}.")
    leaves = list(leaves)
    if len(leaves) != treespec.num_leaves:
        raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec refers to a "
                         f"pytree that holds {treespec.num_leaves} items ({treespec}).")
    it = iter(leaves)

    def build(spec):
        if spec.is_leaf():
            return next(it)
        return SUPPORTED_NODES[spec.type].unflatten_fn([build(c) for c in spec.children_specs], spec.context)
    return build(treespec)


def tree_leaves(tree, is_leaf: Callable | None = None) -> list:
    return tree_flatten(tree, is_leaf)[0]


def tree_iter(tree, is_leaf: Callable | None = None):
    return iter(tree_leaves(tree, is_leaf))


def tree_structure(tree, is_leaf: Callable | None = None) -> TreeSpec:
    return tree_flatten(tree, is_leaf)[1]


def arg_tree_leaves(*args, **kwargs) -> list:
    """The leaves of (args, kwargs) as one list."""
    return tree_leaves(args) + tree_leaves(kwargs)


def _with_path(tree, is_leaf, path: tuple, out: list) -> None:
    kind = None if (is_leaf is not None and is_leaf(tree)) else _node_type(tree)
    if kind is None:
        out.append((path, tree))
        return
    node = SUPPORTED_NODES[kind]
    if node.flatten_with_keys_fn is None:
        raise ValueError(f"Did not find a flatten_with_keys_fn for type: {kind}. Please pass a flatten_with_keys_fn "
                         f"argument to register_pytree_node.")
    for key, child in node.flatten_with_keys_fn(tree)[0]:
        _with_path(child, is_leaf, path + (key,), out)


def tree_flatten_with_path(tree, is_leaf: Callable | None = None) -> tuple:
    """([(key path, leaf)], treespec)."""
    out: list = []
    _with_path(tree, is_leaf, (), out)
    return out, tree_structure(tree, is_leaf)


def tree_leaves_with_path(tree, is_leaf: Callable | None = None) -> list:
    return tree_flatten_with_path(tree, is_leaf)[0]


# ------------------------------------------------------------------------------------------------------- maps

def tree_map(func, tree, *rests, is_leaf: Callable | None = None):
    """func applied to the leaves of `tree` (and the corresponding leaves of `rests`, which must have its
    structure), in a pytree of the same structure."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [_flatten_like(r, spec, is_leaf) for r in rests]
    return tree_unflatten([func(*xs) for xs in zip(leaves, *others)], spec)


def _flatten_like(tree, spec: TreeSpec, is_leaf) -> list:
    leaves, other = tree_flatten(tree, is_leaf)
    if other != spec:
        raise ValueError(f"Tree structure mismatch: expected {spec}, got {other}")
    return leaves


def tree_map_(func, tree, *rests, is_leaf: Callable | None = None):
    """func applied to the leaves for its side effects; returns `tree` itself."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [_flatten_like(r, spec, is_leaf) for r in rests]
    for xs in zip(leaves, *others):
        func(*xs)
    return tree


def _type_check(type_or_types):
    if isinstance(type_or_types, (tuple, list, set)):
        types = tuple(type_or_types)
    else:
        types = (type_or_types,)
    return lambda x: isinstance(x, types)


def map_only(type_or_types):
    """A decorator: func applied to leaves of the given type(s), others returned as they are."""
    pred = _type_check(type_or_types)

    def wrapper(func):
        def wrapped(x):
            return func(x) if pred(x) else x
        return wrapped
    return wrapper


def tree_map_only(type_or_types, func, tree, is_leaf: Callable | None = None):
    return tree_map(map_only(type_or_types)(func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types, func, tree, is_leaf: Callable | None = None):
    return tree_map_(map_only(type_or_types)(func), tree, is_leaf=is_leaf)


def tree_map_with_path(func, tree, *rests, is_leaf: Callable | None = None):
    """func(key path, leaf, *other leaves) over the leaves, in a pytree of the same structure."""
    pairs, spec = tree_flatten_with_path(tree, is_leaf)
    others = [_flatten_like(r, spec, is_leaf) for r in rests]
    return tree_unflatten([func(kp, x, *xs) for (kp, x), *xs in zip(pairs, *others)], spec)


def tree_all(pred, tree, is_leaf: Callable | None = None) -> bool:
    return all(pred(x) for x in tree_leaves(tree, is_leaf))


def tree_any(pred, tree, is_leaf: Callable | None = None) -> bool:
    return any(pred(x) for x in tree_leaves(tree, is_leaf))


def tree_all_only(type_or_types, pred, tree, is_leaf: Callable | None = None) -> bool:
    check = _type_check(type_or_types)
    return all(pred(x) for x in tree_leaves(tree, is_leaf) if check(x))


def tree_any_only(type_or_types, pred, tree, is_leaf: Callable | None = None) -> bool:
    check = _type_check(type_or_types)
    return any(pred(x) for x in tree_leaves(tree, is_leaf) if check(x))
