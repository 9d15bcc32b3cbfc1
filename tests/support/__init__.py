"""Test support: helpers shared by tests (fixtures themselves live in tests/conftest.py)."""
