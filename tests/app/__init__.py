"""Tests of colorgan-app, the page (a package, so that its conftest.py does not clash with tests/conftest.py)."""
