"""`brief search`, `ask` and `briefing`: reading the store, as passages, cited answers and briefings."""

from __future__ import annotations

import json
import sys
import textwrap
from datetime import date
from typing import TYPE_CHECKING

import click

from .terminal import CommandFailure, iso_date

if TYPE_CHECKING:  # search loads Chroma and the model: only when a command runs
    from retrieval.models import Hit


def _print_hits(hits: list[Hit]) -> None:
    if not hits:
        click.echo("No matching passages.")
    for n, hit in enumerate(hits, 1):
        when = hit.published or "undated"
        click.echo(f"{n}. [{hit.lang}] {hit.source or 'unknown outlet'} · {when} · {hit.title}")
        click.echo(textwrap.indent(textwrap.shorten(hit.text, 300, placeholder=" …"), "   "))
        if hit.url:
            click.echo(f"   {hit.url}")


@click.command("search")
@click.argument("query")
@click.option("--k", default=10, show_default=True, help="How many passages.")
@click.option("--lang", type=click.Choice(["ar", "en"]), help="Only passages in this language.")
@click.option("--source", "sources", multiple=True, help="Only this outlet (repeatable).")
@click.option("--since", callback=iso_date, help="Published on or after YYYY-MM-DD.")
@click.option("--until", callback=iso_date, help="Published on or before YYYY-MM-DD.")
@click.option(
    "--per-article", default=1, show_default=True, help="Passages shown per article (the best first; 0: no limit)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit (per query with '-').")
def search_command(
    query: str,
    k: int,
    lang: str | None,
    sources: tuple[str, ...],
    since: date | None,
    until: date | None,
    per_article: int,
    as_json: bool,
) -> None:
    """Search the index; QUERY '-' reads one query per line from stdin."""
    from retrieval.index import Index
    from retrieval.search import Filters, Retriever

    filters = Filters(lang=lang, sources=list(sources), since=since, until=until)
    retriever = Retriever(Index())
    if query == "-":
        for line in sys.stdin:
            if not line.strip():
                continue
            hits = retriever.search(line.strip(), k=k, filters=filters, per_article=per_article or None)
            if as_json:
                payload = {"query": line.strip(), "hits": [h.to_json() for h in hits]}
                click.echo(json.dumps(payload, ensure_ascii=False))
            else:
                click.echo(f"## {line.strip()}")
                _print_hits(hits)
        return
    hits = retriever.search(query, k=k, filters=filters, per_article=per_article or None)
    if as_json:
        for hit in hits:
            click.echo(json.dumps(hit.to_json(), ensure_ascii=False))
    else:
        _print_hits(hits)


@click.command("ask")
@click.argument("question")
@click.option("--lang", type=click.Choice(["ar", "en"]), help="Answer in this language (default: the question's).")
@click.option("--json", "as_json", is_flag=True, help="The answer record as JSON (one line per question with '-').")
def ask_command(question: str, lang: str | None, as_json: bool) -> None:
    """Answer QUESTION with cited sources; QUESTION '-' reads one question per line from stdin."""
    from retrieval.answering import Answerer, check_question, reply_language
    from retrieval.index import Index
    from retrieval.render import render_text
    from retrieval.settings import Settings

    settings = Settings()
    if question != "-" and (refusal := check_question(question, settings.max_question_chars)) is not None:
        raise CommandFailure(refusal.text(reply_language(question, lang)))
    answerer = Answerer(Index(settings))
    questions = (line.strip() for line in sys.stdin) if question == "-" else iter([question])
    for text in questions:
        if not text:
            continue  # a blank line between questions; an overlong one is answered by a refusal record
        answer = answerer.answer(text, lang=lang)
        if as_json:
            click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            click.echo(render_text(answer) + ("\n" if question == "-" else ""))


@click.command("briefing")
@click.option("--since", "since_text", help="24h, 7d or YYYY-MM-DD (default: the last 24 hours).")
@click.option("--until", callback=iso_date, help="Last day included, YYYY-MM-DD (default: today).")
@click.option("--lang", type=click.Choice(["ar", "en"]), default="en", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Stories with their article ids and citations.")
def briefing_command(since_text: str | None, until: date | None, lang: str, as_json: bool) -> None:
    """A briefing of the stories published in a window, grouped and cited, its sources listed under it."""
    from retrieval.briefing import WindowError, compose_briefing, parse_window
    from retrieval.index import Index
    from retrieval.llm import LLMClient

    until = until or date.today()
    try:
        since = parse_window(since_text, until)
    except WindowError as error:  # said in the briefing's language
        raise CommandFailure(error.text(lang)) from error
    index = Index()
    llm = LLMClient(index.settings) if index.settings.llm_enabled else None
    briefing = compose_briefing(index, since, until, lang, llm=llm)
    if as_json:
        click.echo(json.dumps(briefing.to_json(), ensure_ascii=False))
    else:
        click.echo(briefing.text)
