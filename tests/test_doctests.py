"""The examples in docstrings run and say what the code does."""

import doctest
from types import ModuleType

import pytest

import kizuna_client.errors
import kizuna_server.core.device_id


@pytest.mark.parametrize(
    "module",
    [kizuna_client.errors, kizuna_server.core.device_id],
    ids=lambda m: m.__name__,
)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
