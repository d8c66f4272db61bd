from pathlib import Path

pytest_plugins = ["tests.fixtures.services", "tests.fixtures.transactions"]
if (Path(__file__).parent / "fixtures" / "sandboxes.py").exists():
    pytest_plugins.append("tests.fixtures.sandboxes")
