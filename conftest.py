"""The shared fixtures for every test folder, from one plugin module."""

pytest_plugins = ["fangkong.common.testing"]
