"""imsite/hooks.py: a lower layer's call into a higher one fails loudly when no app provides it
or when two do, and every hook the layers declare is provided once Django has started."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts import hooks as accounts_hooks
from conversations import hooks as conversations_hooks
from imsite.hooks import Hook


def _declare() -> Hook[[int], int]:
    @Hook
    def double(n: int) -> int:
        """Twice n."""

    return double


def test_a_hook_calls_what_was_provided_and_keeps_its_declaration():
    double = _declare()
    double.provide(lambda n: 2 * n)
    assert double(21) == 42
    assert double.__name__ == "double" and double.__doc__ == "Twice n."


def test_a_hook_nobody_provides_says_so():
    with pytest.raises(ImproperlyConfigured, match=r"_declare\.<locals>\.double has no provider"):
        _declare()(1)


def test_a_second_provider_is_refused():
    double = _declare()
    double.provide(abs)
    double.provide(abs)  # the same one again (a repeated ready()) is harmless
    with pytest.raises(ImproperlyConfigured, match="provided twice"):
        double.provide(lambda n: 2 * n)


@pytest.mark.parametrize("declared", [accounts_hooks.notify, accounts_hooks.check_avatar_image,
                                      conversations_hooks.unread_mentions], ids=lambda h: h.__name__)
def test_chat_provides_every_hook_of_the_layers_below(declared):
    with pytest.raises(ImproperlyConfigured, match="provided twice"):
        declared.provide(lambda *args, **kwargs: None)
