"""tritorch._inductor.config: the settings scripts assign before torch.compile, with PyTorch's defaults; patch."""
import pytest

import tritorch as tt
from tritorch._inductor import config


def test_defaults_match_torch():
    torch_config = pytest.importorskip("torch._inductor.config")
    for name, value in vars(config).items():
        if name.startswith("_") or callable(value) or name in ("os", "sys", "contextlib", "annotations",
                                                               "compile_threads"):
            continue
        assert getattr(torch_config, name) == value, name
    for section in ("triton", "cpp"):
        for name, value in vars(getattr(config, section)).items():
            if not name.startswith("_"):
                assert getattr(getattr(torch_config, section), name) == value, f"{section}.{name}"


def test_assign_patch_and_misspelt_names():
    assert tt._inductor.config is config
    config.coordinate_descent_tuning = True
    try:
        assert config.coordinate_descent_tuning is True
    finally:
        config.coordinate_descent_tuning = False
    with config.patch({"triton.cudagraphs": True}, max_autotune=True):
        assert config.triton.cudagraphs and config.max_autotune
    assert not config.triton.cudagraphs and not config.max_autotune

    @config.patch("fx_graph_cache", False)
    def inside():
        return config.fx_graph_cache
    assert inside() is False and config.fx_graph_cache is True
    with pytest.raises(AttributeError):
        config.nonexistent_setting
    with pytest.raises(AttributeError):
        with config.patch(nonexistent_setting=1):
            pass
