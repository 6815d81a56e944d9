"""Generated answers through any OpenAI-compatible chat endpoint (langchain-openai), prompts kept in `prompts/`.

Sources reach the model numbered and fenced as untrusted data; what comes back is checked sentence by sentence
(`citations.py`) before anyone sees it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from .errors import LLMError, LLMUnavailableError, LLMUnusableError, PromptsError
from .models import Article, Hit
from .settings import Settings

if TYPE_CHECKING:  # langchain takes a second and a half to import: only LLM mode pays for it
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

NO_ANSWER = "NO_ANSWER"
LANGUAGE_NAMES = {"ar": "Arabic", "en": "English"}


@dataclass
class Prompts:
    system: dict[str, str]
    answer: dict[str, str]
    briefing: dict[str, str]
    rewrite: str

    @classmethod
    def load(cls, folder: Path | None = None) -> Prompts:
        """The prompts in `folder` (PROMPTS_DIR), or the ones shipped with the package."""
        root = folder if folder is not None else resources.files("retrieval.prompts")

        def read(name: str) -> str:
            try:
                text = (root / name).read_text("utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise PromptsError(f"cannot read the LLM prompt {name} in {root}: {exc.__class__.__name__}") from exc
            if not text:
                raise PromptsError(f"the LLM prompt {name} in {root} is empty")
            return text

        return cls(
            system={lang: read(f"system.{lang}.md") for lang in ("ar", "en")},
            answer={lang: read(f"answer.{lang}.md") for lang in ("ar", "en")},
            briefing={lang: read(f"briefing.{lang}.md") for lang in ("ar", "en")},
            rewrite=read("rewrite.md"),
        )


def client_errors() -> tuple[type[Exception], ...]:
    """What the OpenAI client (under langchain-openai) raises when the endpoint fails: unreachable, timed out, an
    error status, or a body that is not JSON (the client lets the JSONDecodeError through). Imported only in LLM
    mode."""
    import httpx
    import openai

    errors: list[type[Exception]] = [openai.OpenAIError, httpx.HTTPError, json.JSONDecodeError]
    try:  # openai 3.x talks through httpx2, not httpx
        import httpx2

        errors.append(httpx2.HTTPError)
    except ImportError:
        pass
    return tuple(errors)


@contextmanager
def endpoint_call() -> Iterator[None]:
    """The model's endpoint failing becomes one LLMUnavailableError saying why in one line; any other exception (a
    bug of ours, or of a callback) passes through untouched, with its traceback."""
    try:
        yield
    except client_errors() as error:
        raise LLMUnavailableError(" ".join(f"{type(error).__name__}: {error}".split())[:300]) from error


def fallback_notice(error: Exception, what: str) -> str:
    """Log why the model's part failed, and return the phrase key of the notice the user gets with the extractive
    answer. An LLMError (the endpoint failed, or answered nothing usable) is one warning line; anything else is a bug
    of ours and is logged with its traceback, and the user is not told the model was unavailable."""
    if isinstance(error, LLMError):
        log.warning("%s failed (%s); falling back to the sources' own words", what, error)
        return "llm_fallback"
    log.error("%s failed with an unexpected error; falling back to the sources' own words", what, exc_info=error)
    return "llm_failed"


def fence(text: str) -> str:
    """Article text inside a <source> fence cannot close the fence or open another one."""
    return re.sub(r"</?\s*source\b[^>]*>", lambda m: m.group().replace("<", "‹").replace(">", "›"), text, flags=re.I)


def format_sources(hits: Sequence[Hit | Article]) -> str:
    """Passages (answers) or whole articles (a briefing's story), numbered from 1 and fenced."""
    blocks = []
    for n, hit in enumerate(hits, 1):
        attributes = (
            f'id="{n}" outlet="{fence(hit.source or "unknown")}" date="{hit.published or "undated"}" '
            f'language="{LANGUAGE_NAMES.get(hit.lang, hit.lang)}" title="{fence(hit.title).replace(chr(34), chr(39))}"'
        )
        blocks.append(f"<source {attributes}>\n{fence(hit.text)}\n</source>")
    return "\n\n".join(blocks)


class LLMClient:
    def __init__(self, settings: Settings):
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        from langchain_openai import ChatOpenAI

        self.chat = ChatOpenAI(
            model=settings.llm_model,
            base_url=settings.openai_base_url,
            api_key=SecretStr(key),
            timeout=settings.openai_timeout,
            max_completion_tokens=settings.llm_max_tokens,  # the field's name in __init__ (sent as this either way)
            max_retries=settings.llm_max_retries,
            temperature=0,
        )
        self.prompts = Prompts.load(settings.prompts_dir)

    def messages(self, question: str, lang: str, hits: list[Hit]) -> list[BaseMessage]:
        template = _template([("system", self.prompts.system[lang]), ("human", self.prompts.answer[lang])])
        return template.format_messages(question=question, sources=format_sources(hits))

    def generate(
        self, question: str, lang: str, hits: list[Hit], on_partial: Callable[[str], None] | None = None
    ) -> str:
        """The model's raw answer; streamed to `on_partial` (the text so far) when given."""
        messages = self.messages(question, lang, hits)
        with endpoint_call():
            if on_partial is None:
                return _content(self.chat.invoke(messages).content)
            text = ""
            for piece in self.chat.stream(messages):
                text += _content(piece.content)
                on_partial(text)
            return text

    def summarize(self, lang: str, articles: list[Article]) -> str:
        """One story of a briefing, from its articles, in the same fenced form as answers."""
        template = _template([("system", self.prompts.system[lang]), ("human", self.prompts.briefing[lang])])
        with endpoint_call():
            return _content(self.chat.invoke(template.format_messages(sources=format_sources(articles))).content)

    def rewrite(self, question: str, previous_question: str, previous_answer: str) -> str:
        template = _template([("human", self.prompts.rewrite)])
        messages = template.format_messages(
            question=question, previous_question=previous_question, previous_answer=previous_answer
        )
        with endpoint_call():
            rewritten = _content(self.chat.invoke(messages).content).strip()
        if not rewritten or len(rewritten) > 4 * len(question) + 200:
            raise LLMUnusableError("the rewritten question is empty or implausibly long")
        return rewritten


def _template(messages: list[tuple[str, str]]):
    from langchain_core.prompts import ChatPromptTemplate

    return ChatPromptTemplate.from_messages(messages)


def _content(content) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content or [])
