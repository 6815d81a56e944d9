"""Telegram adapter (python-telegram-bot): handlers, formatting, scheduling. Built on `retrieval`."""
