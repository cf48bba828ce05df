"""torch.torch_version: TorchVersion, the str of `__version__` that also compares as a version number, so that the
checks scripts make (`tritorch.__version__ >= "2.0"`, `>= (2, 0)`) order releases numerically, not as text."""
from __future__ import annotations

import re

__all__ = ["TorchVersion"]

# PEP 440's common forms: release, pre-release (a/b/rc), post, dev, local (+cpu)
_VERSION = re.compile(r"v?(\d+(?:\.\d+)*)(?:[-_.]?(a|alpha|b|beta|c|rc|pre|preview)[-_.]?(\d*))?"
                      r"(?:[-_.]?(?:post|rev|r)[-_.]?(\d*))?(?:[-_.]?dev[-_.]?(\d*))?(?:\+([a-z0-9._-]+))?",
                      re.IGNORECASE)
_PRE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
_INF = float("inf")


def _key(text: str) -> tuple:
    """A sort key ordering versions as PEP 440 does: 2.0.dev1 < 2.0a1 < 2.0 < 2.0+cpu < 2.0.post1."""
    m = _VERSION.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"Invalid version: '{text}'")
    release, pre, pre_n, post, dev, local = m.groups()
    nums = [int(p) for p in release.split(".")]
    while len(nums) > 1 and nums[-1] == 0:   # 2.0 == 2.0.0
        nums.pop()
    if pre is not None:
        pre_key = (_PRE[pre.lower()], int(pre_n or 0))
    elif dev is not None and post is None:
        pre_key = (-1, 0)        # a dev release comes before the pre-releases
    else:
        pre_key = (_INF, 0)
    post_key = -1 if post is None else int(post or 0)
    dev_key = _INF if dev is None else int(dev or 0)
    local_key = () if local is None else tuple((0, int(p), "") if p.isdigit() else (-1, 0, p.lower())
                                               for p in re.split(r"[._-]", local))
    return tuple(nums), pre_key, post_key, dev_key, local_key


class TorchVersion(str):
    """A version string that compares with other version strings and with tuples of ints, e.g.
    `TorchVersion("2.13.0") >= (2, 1)`."""

    def _other_key(self, other):
        if isinstance(other, tuple):
            other = ".".join(str(p) for p in other)
        if not isinstance(other, str):
            raise TypeError(f"'{type(other).__name__}' cannot be compared with a TorchVersion")
        return _key(other)

    def __lt__(self, other):
        return _key(self) < self._other_key(other)

    def __le__(self, other):
        return _key(self) <= self._other_key(other)

    def __gt__(self, other):
        return _key(self) > self._other_key(other)

    def __ge__(self, other):
        return _key(self) >= self._other_key(other)

    def __eq__(self, other):
        try:
            return _key(self) == self._other_key(other)
        except (TypeError, ValueError):
            return False

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = str.__hash__
