"""torch.utils._pytree: flatten / unflatten / maps / key paths over the built-in nodes and registered classes,
against PyTorch's module where installed."""
import collections
import dataclasses

import pytest

import tritorch as tt
from tritorch.utils import _pytree as P

NT = collections.namedtuple("NT", "x y")


def _trees():
    return [None, 5, (1, [2, 3]), {"b": 1, "a": (2, [3, None])}, [NT(1, 2), collections.OrderedDict(z=3),
            collections.deque([4], maxlen=3), collections.defaultdict(int, {"k": 5})], (), [], {},
            tt.ones(2).max(0)]


def test_flatten_unflatten_round_trip():
    for tree in _trees():
        leaves, spec = P.tree_flatten(tree)
        back = P.tree_unflatten(leaves, spec)
        assert type(back) is type(tree) and P.tree_structure(back) == spec
        assert spec.num_leaves == len(leaves)
    leaves, spec = P.tree_flatten({"b": 1, "a": (2, [3, None])})
    assert leaves == [1, 2, 3, None]                  # insertion order; None is a leaf
    assert spec.type is dict and spec.context == ["b", "a"] and spec.num_nodes == 7
    assert P.tree_unflatten([7, 8, 9, 10], spec) == {"b": 7, "a": (8, [9, 10])}
    assert isinstance(P.tree_structure(5), P.LeafSpec) and P.tree_structure(5).is_leaf()
    dq = P.tree_map(lambda v: v * 2, collections.deque([1, 2], maxlen=5))
    assert dq == collections.deque([2, 4]) and dq.maxlen == 5
    dd = P.tree_map(lambda v: v + 1, collections.defaultdict(list, {"k": 1}))
    assert dd.default_factory is list and dd["k"] == 2
    assert P.tree_map(lambda v: -v, NT(1, 2)) == NT(-1, -2)
    with pytest.raises(ValueError, match="has length 1 but the spec refers to a pytree that holds 4 items"):
        P.tree_unflatten([1], spec)


def test_maps_predicates_and_paths():
    assert P.tree_map(lambda a, b: a + b, (1, [2]), (10, [20])) == (11, [22])
    with pytest.raises(ValueError, match="mismatch"):
        P.tree_map(lambda a, b: a, (1, 2), [1, 2])
    assert P.tree_map_only(int, lambda x: x * 2, (1, "a", 2.0)) == (2, "a", 2.0)
    assert P.tree_map_only((int, float), lambda x: x * 2, (1, "a", 2.0)) == (2, "a", 4.0)
    seen = []
    tree = [1, {"a": 2}]
    assert P.tree_map_(seen.append, tree) is tree and seen == [1, 2]
    assert P.tree_all(lambda x: x > 0, [1, 2]) and not P.tree_any(lambda x: x > 5, [1, 2])
    assert P.tree_any_only(str, lambda x: x == "a", (1, "a")) and P.tree_all_only(int, lambda x: x < 3, (1, "z"))
    pairs, _ = P.tree_flatten_with_path((1, {"a": [2, 3]}))
    assert [P.keystr(kp) for kp, _ in pairs] == ["[0]", "[1]['a'][0]", "[1]['a'][1]"]
    assert P.key_get((1, {"a": [2, 3]}), pairs[2][0]) == 3
    assert P.tree_map_with_path(lambda kp, x: P.keystr(kp), NT(1, 2)) == NT(".x", ".y")
    assert P.tree_leaves([1, (2, 3)], is_leaf=lambda x: isinstance(x, tuple)) == [1, (2, 3)]
    assert P.arg_tree_leaves(1, (2,), k=[3]) == [1, 2, 3]


def test_registered_classes_and_tensors():
    @dataclasses.dataclass
    class Point:
        x: object
        y: object

    P.register_dataclass(Point)
    try:
        doubled = P.tree_map(lambda t: t * 2, Point(tt.ones(2), [tt.zeros(1)]))
        assert isinstance(doubled, Point) and doubled.x.tolist() == [2.0, 2.0] and doubled.y[0].tolist() == [0.0]
        assert [P.keystr(kp) for kp, _ in P.tree_leaves_with_path(Point(1, 2))] == [".x", ".y"]
        with pytest.raises(ValueError, match="already registered"):
            P.register_dataclass(Point)
    finally:
        del P.SUPPORTED_NODES[Point]


def test_get_node_type_is_the_supported_nodes_key():
    assert P._get_node_type(NT(1, 2)) is collections.namedtuple and P._get_node_type([1]) is list
    assert P._get_node_type(3) is int and int not in P.SUPPORTED_NODES
    assert P._is_leaf(3) and not P._is_leaf([3])


def test_matches_torch():
    torch_pytree = pytest.importorskip("torch.utils._pytree")
    for x in (NT(1, 2), [1], {"a": 1}, 3, tt):
        assert P._get_node_type(x) is torch_pytree._get_node_type(x)
    for tree in _trees()[:-1]:
        leaves, spec = P.tree_flatten(tree)
        t_leaves, t_spec = torch_pytree.tree_flatten(tree)
        assert leaves == t_leaves
        assert (spec.num_leaves, spec.num_nodes) == (t_spec.num_leaves, t_spec.num_nodes)
        assert str(spec) == str(t_spec)
    pairs = P.tree_flatten_with_path({"b": [1, NT(2, 3)]})[0]
    t_pairs = torch_pytree.tree_flatten_with_path({"b": [1, NT(2, 3)]})[0]
    assert [P.keystr(kp) for kp, _ in pairs] == [torch_pytree.keystr(kp) for kp, _ in t_pairs]


def test_builtin_node_functions_under_torch_private_names():
    # transformers registers its ModelOutput (an OrderedDict subclass) with flatten_with_keys_fn=_dict_flatten_with_keys
    class Out(collections.OrderedDict):
        pass

    P.register_pytree_node(Out, lambda o: (list(o.values()), list(o.keys())),
                           lambda children, keys: Out(zip(keys, children)),
                           flatten_with_keys_fn=P._dict_flatten_with_keys)
    try:
        tree = Out(loss=1, logits=[2, 3])
        assert P.tree_leaves_with_path(tree) == [((P.MappingKey("loss"),), 1),
                                                 ((P.MappingKey("logits"), P.SequenceKey(0)), 2),
                                                 ((P.MappingKey("logits"), P.SequenceKey(1)), 3)]
        assert P.tree_unflatten(*P.tree_flatten(tree)) == tree
    finally:
        del P.SUPPORTED_NODES[Out]
    assert P._dict_flatten({"a": 1, "b": 2}) == ([1, 2], ["a", "b"])
    assert P._dict_unflatten([1, 2], ["a", "b"]) == {"a": 1, "b": 2}
    assert P._list_flatten([1, 2]) == ([1, 2], None) and P._list_unflatten([1, 2], None) == [1, 2]
    assert P._tuple_flatten((1, 2)) == ([1, 2], None) and P._tuple_unflatten([1, 2], None) == (1, 2)
    assert P._tuple_flatten_with_keys((5,)) == ([(P.SequenceKey(0), 5)], None)
    assert P._list_flatten_with_keys([5]) == ([(P.SequenceKey(0), 5)], None)
