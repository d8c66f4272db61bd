"""The benchmark's floor web process (``benchmarks/floor.py``): the stack's settings, its URL."""

from chaos.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.floor"
