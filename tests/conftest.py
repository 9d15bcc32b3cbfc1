import pytest

from coprocessor.zkvm import Program


@pytest.fixture(scope="session")
def echo() -> Program:
    return Program.load("echo")
