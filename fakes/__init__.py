"""Test doubles for development, shared by tests/ and bench/: servers on 127.0.0.1 that speak the real protocols
(the Telegram Bot API, …), so the real clients are driven end to end. Not part of the product: the wheel's package
list (pyproject.toml `[tool.setuptools] packages`) leaves this folder out."""
