"""Benchmarks of nova-docker against raw Docker and Nova's fake driver.

Run them with ``python -m bench`` (see ``bench/__main__.py``).
"""
