"""Helpers the tests share: builders, real-process harnesses and the paths of the repository
(not test modules; no test module imports another)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
