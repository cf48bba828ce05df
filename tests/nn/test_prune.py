"""nn.utils.prune against torch.nn.utils.prune: the reparametrization (name_orig, name_mask, the pre-hook), the
deterministic methods' masks (L1, Ln structured, custom, global), iterative pruning, remove, is_pruned, errors;
the random methods by their counts."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn as nn
from tritorch.nn.utils import prune

torch = pytest.importorskip("torch")
torch_prune = pytest.importorskip("torch.nn.utils.prune")


def _pair(seed=0, shape=(6, 5)):
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape[0]).astype(np.float32)
    mine = nn.Linear(shape[1], shape[0])
    theirs = torch.nn.Linear(shape[1], shape[0])
    with tt.no_grad():
        mine.weight.copy_(tt.tensor(w))
        mine.bias.copy_(tt.tensor(b))
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
        theirs.bias.copy_(torch.tensor(b))
    return mine, theirs


def _masks_equal(mine, theirs, name="weight"):
    np.testing.assert_array_equal(getattr(mine, name + "_mask").numpy(), getattr(theirs, name + "_mask").numpy())
    np.testing.assert_array_equal(getattr(mine, name).detach().numpy(), getattr(theirs, name).detach().numpy())


@pytest.mark.parametrize("amount", [0, 7, 0.3, 0.5, 1.0])
def test_l1_unstructured_matches_torch(amount):
    mine, theirs = _pair()
    assert prune.l1_unstructured(mine, "weight", amount=amount) is mine
    torch_prune.l1_unstructured(theirs, "weight", amount=amount)
    _masks_equal(mine, theirs)
    assert sorted(n for n, _ in mine.named_parameters()) == sorted(n for n, _ in theirs.named_parameters())
    assert sorted(n for n, _ in mine.named_buffers()) == ["weight_mask"]
    assert "weight" not in dict(mine.named_parameters()) and prune.is_pruned(mine)
    assert list(mine.state_dict()) == list(theirs.state_dict())   # bias, weight_orig, weight_mask


@pytest.mark.parametrize("n,dim", [(1, 0), (2, 0), (2, 1), (float("inf"), -1)])
def test_ln_structured_and_iterative_pruning_match_torch(n, dim):
    mine, theirs = _pair(1)
    prune.ln_structured(mine, "weight", amount=0.34, n=n, dim=dim)
    torch_prune.ln_structured(theirs, "weight", amount=0.34, n=n, dim=dim)
    _masks_equal(mine, theirs)
    # a second, unstructured pruning acts on what the first kept (a PruningContainer)
    prune.l1_unstructured(mine, "weight", amount=4)
    torch_prune.l1_unstructured(theirs, "weight", amount=4)
    _masks_equal(mine, theirs)
    hooks = [h for h in mine._forward_pre_hooks.values() if isinstance(h, prune.BasePruningMethod)]
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer) and len(hooks[0]) == 2
    # and a structured one after that, along the other dim
    prune.ln_structured(mine, "weight", amount=1, n=1, dim=1 - dim % 2)
    torch_prune.ln_structured(theirs, "weight", amount=1, n=1, dim=1 - dim % 2)
    _masks_equal(mine, theirs)


def test_importance_scores_decide_the_mask():
    mine, theirs = _pair(8)
    scores = np.random.default_rng(9).random((6, 5)).astype(np.float32)
    prune.l1_unstructured(mine, "weight", amount=12, importance_scores=tt.tensor(scores))
    torch_prune.l1_unstructured(theirs, "weight", amount=12, importance_scores=torch.tensor(scores))
    _masks_equal(mine, theirs)


def test_forward_uses_the_mask_and_gradients_reach_orig():
    mine, theirs = _pair(2)
    prune.l1_unstructured(mine, "weight", amount=0.5)
    torch_prune.l1_unstructured(theirs, "weight", amount=0.5)
    x = np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32)
    with tt.no_grad():
        mine.weight_orig.add_(1.0)     # the pre-hook recomputes weight = weight_orig * weight_mask
    with torch.no_grad():
        theirs.weight_orig.add_(1.0)
    out, want = mine(tt.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(mine.weight_orig.grad.numpy(), theirs.weight_orig.grad.numpy(), rtol=1e-6)
    assert np.all(mine.weight_orig.grad.numpy()[mine.weight_mask.numpy() == 0] == 0)


def test_remove_makes_it_permanent():
    mine, theirs = _pair(4)
    prune.l1_unstructured(mine, "weight", amount=10)
    torch_prune.l1_unstructured(theirs, "weight", amount=10)
    prune.remove(mine, "weight")
    torch_prune.remove(theirs, "weight")
    assert isinstance(mine.weight, nn.Parameter) and mine.weight.requires_grad
    assert sorted(dict(mine.named_parameters())) == ["bias", "weight"] and not dict(mine.named_buffers())
    np.testing.assert_array_equal(mine.weight.detach().numpy(), theirs.weight.detach().numpy())
    assert not prune.is_pruned(mine) and not mine._forward_pre_hooks
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(mine, "weight")


def test_custom_and_global_unstructured_match_torch():
    mask = np.random.default_rng(5).random((6, 5)) > 0.5
    mine, theirs = _pair(5)
    prune.custom_from_mask(mine, "bias", mask=tt.ones(6))
    torch_prune.custom_from_mask(theirs, "bias", mask=torch.ones(6))
    prune.custom_from_mask(mine, "weight", mask=tt.tensor(mask))
    torch_prune.custom_from_mask(theirs, "weight", mask=torch.tensor(mask))
    _masks_equal(mine, theirs)
    nets = []
    for lib, mod in ((tt, nn), (torch, torch.nn)):
        lib.manual_seed(0)
        net = mod.Sequential(mod.Linear(4, 6), mod.ReLU(), mod.Linear(6, 3))
        with lib.no_grad():
            net[0].weight.copy_(lib.tensor(np.random.default_rng(6).standard_normal((6, 4)), dtype=lib.float32))
            net[2].weight.copy_(lib.tensor(np.random.default_rng(7).standard_normal((3, 6)), dtype=lib.float32))
        nets.append(net)
    prune.global_unstructured([(nets[0][0], "weight"), (nets[0][2], "weight")], prune.L1Unstructured, amount=0.4)
    torch_prune.global_unstructured([(nets[1][0], "weight"), (nets[1][2], "weight")],
                                             torch_prune.L1Unstructured, amount=0.4)
    for i in (0, 2):
        _masks_equal(nets[0][i], nets[1][i])
    assert int(sum((m.weight_mask == 0).sum() for m in (nets[0][0], nets[0][2]))) == round(0.4 * 42)
    with pytest.raises(TypeError, match='Only "unstructured" PRUNING_TYPE'):
        prune.global_unstructured([(nets[0][0], "weight")], prune.LnStructured, amount=1, n=1, dim=0)


def test_random_methods_prune_the_right_counts():
    tt.manual_seed(0)
    m = nn.Linear(5, 8)
    prune.random_unstructured(m, "weight", amount=0.25)
    assert int((m.weight_mask == 0).sum()) == 10
    prune.random_structured(m, "weight", amount=3, dim=0)
    rows = (m.weight_mask.sum(dim=1) == 0).numpy()
    assert rows.sum() >= 3
    m2 = nn.Linear(5, 8)
    prune.random_structured(m2, "weight", amount=0.5, dim=1)
    assert int((m2.weight_mask.sum(dim=0) == 0).sum()) == round(0.5 * 5)
    prune.identity(m2, "bias")
    assert float(m2.bias_mask.sum()) == 8


def test_errors():
    m = nn.Linear(5, 4)
    with pytest.raises(ValueError, match="should either be a float in the range"):
        prune.l1_unstructured(m, "weight", amount=1.5)
    with pytest.raises(ValueError, match="should either be a float in the range"):
        prune.l1_unstructured(m, "weight", amount=-1)
    with pytest.raises(TypeError, match="Invalid type for amount"):
        prune.l1_unstructured(m, "weight", amount="half")
    with pytest.raises(ValueError, match="should be smaller than the number of parameters to prune=20"):
        prune.l1_unstructured(m, "weight", amount=21)
    assert "weight" in dict(m.named_parameters())   # a failed pruning leaves the module as it was
    with pytest.raises(IndexError, match="Invalid index 2"):
        prune.ln_structured(m, "weight", amount=1, n=2, dim=2)
    with pytest.raises(AssertionError, match="importance_scores should have the same shape"):
        prune.l1_unstructured(m, "weight", amount=1, importance_scores=tt.ones(3))
