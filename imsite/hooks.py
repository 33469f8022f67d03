"""A function a lower layer calls and a higher layer supplies, so that the call runs upward while
every import still runs downward (docs/architecture.md, Layers).

The lower layer declares the hook as a function whose signature and docstring say what it needs
(its body is never run) and calls it like any function:

    @Hook
    def notify(frame: dict[str, Any], user_ids: list[int]) -> None:
        ...

The higher layer supplies the implementation when Django starts (`notify.provide(do_notify)` in
its AppConfig.ready), so before any request, socket, task or command runs.
"""

from collections.abc import Callable
from functools import update_wrapper
from typing import Generic, ParamSpec, TypeVar

from django.core.exceptions import ImproperlyConfigured

P = ParamSpec("P")
R = TypeVar("R")


class Hook(Generic[P, R]):
    def __init__(self, signature: Callable[P, R]) -> None:
        update_wrapper(self, signature)  # the declaration's name, docstring and annotations
        self._name = f"{signature.__module__}.{signature.__qualname__}"
        self._provided: Callable[P, R] | None = None

    def provide(self, implementation: Callable[P, R]) -> None:
        # One app supplies each hook: a second one would silently replace the first.
        if self._provided is not None and self._provided is not implementation:
            raise ImproperlyConfigured(f"{self._name} is provided twice")
        self._provided = implementation

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if self._provided is None:
            raise ImproperlyConfigured(f"{self._name} has no provider: is the app that supplies it installed?")
        return self._provided(*args, **kwargs)
