from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.services", "tests.fixtures.transactions"]
if (Path(__file__).parent / "fixtures" / "sandboxes.py").exists():
    pytest_plugins.append("tests.fixtures.sandboxes")


@pytest.fixture(autouse=True)
def _forget_known_form_questions():
    """The directory remembers per process which form questions it recorded (``apps.directory.
    services``); each test starts without that memory, so ids reused by another test never hide
    a question it should learn."""
    from apps.directory.services import forget_known_questions

    forget_known_questions()
    yield
    forget_known_questions()
