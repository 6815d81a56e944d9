"""Caucasus Brief retrieval core: ingest, index and search, free of Telegram."""
