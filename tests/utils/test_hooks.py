"""tritorch.utils.hooks: RemovableHandle is the one Module's hooks return, with PyTorch's constructor forms
(extra_dict as one dict or a list) and context-manager use; unserializable_hook marks a hook."""
from collections import OrderedDict

import tritorch as tt
from tritorch.utils.hooks import RemovableHandle, unserializable_hook


def test_module_hooks_return_this_handle():
    m = tt.nn.Linear(2, 2)
    calls = []
    handle = m.register_forward_hook(lambda mod, inp, out: calls.append(1))
    assert isinstance(handle, RemovableHandle)
    m(tt.ones(1, 2))
    handle.remove()
    m(tt.ones(1, 2))
    assert calls == [1]


def test_torch_constructor_forms():
    hooks, extra, more = OrderedDict(), OrderedDict(), OrderedDict()
    h = RemovableHandle(hooks, extra_dict=extra)
    hooks[h.id], extra[h.id] = "hook", "flag"
    h.remove()
    assert not hooks and not extra
    with RemovableHandle(hooks, extra_dict=[extra, more]) as h2:
        hooks[h2.id], extra[h2.id], more[h2.id] = 1, 2, 3
    assert not hooks and not extra and not more
    assert RemovableHandle(hooks).id > h2.id > h.id


def test_unserializable_hook_marks_the_function():
    def hook(grad):
        return grad

    assert unserializable_hook(hook) is hook and hook.__torch_unserializable__ is True
