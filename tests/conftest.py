from pathlib import Path

pytest_plugins = ["tests.fixtures.services"]
if (Path(__file__).parent / "fixtures" / "sandboxes.py").exists():
    pytest_plugins.append("tests.fixtures.sandboxes")
