"""The LLM prompt files. Installed as `retrieval.prompts` (see pyproject.toml), so a wheel carries them."""
