"""A small news-like check set (bench/news/): Arabic and English wire copy about the conflict, and questions on it.

    python bench/news.py [--brief CMD] [--out FILE] [--keep DIR]

Ingests bench/news/articles into a fresh data directory with the real CLI (`brief ingest`), then sends every
question through `brief search --json --k 5 -` and `brief ask --json -` (one process each, questions on stdin), and
prints, overall, by question language, by direction (question language -> languages of the gold articles; `none`
for unanswerable questions) and by kind:

  measure     a question counts when                                                                over the questions
  gold@1      a gold article is the top hit (or in its `also`: the wire copies it stands for)       answerable
  gold@5      a gold article is among the top 5 hits (or in their `also`)                           answerable
  xl gold@5   the same, for questions whose gold articles are all in the other language             answerable
  answered    it is answered                                                                        answerable
  refused     it is not answered                                                                    unanswerable
  cite1 gold  its first citation is a gold article                                                  answered answerable
  cites gold  share of all citations that are gold articles (micro)                                 answered answerable
  lang ok     the answer record's `lang` is the question's language                                 all
  text lang   the answer's own words (no quotes, no article titles) are in it, by script            all
  found       an `answers` string occurs in the cited quotes (lowercased)                           answered answerable

The CLI gives a `.txt` article the id `file-<sha1 of its resolved path>`; gold ids in questions.jsonl are file names
without `.txt`, and ids are mapped back through the `origin` the store records for each article.
The set is a stand-in for the real evaluation, for checking changes, not for tuning.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent / "news"
MEASURES = [
    "gold@1",
    "gold@5",
    "xl gold@5",
    "answered",
    "refused",
    "cite1 gold",
    "cites gold",
    "lang ok",
    "text lang",
    "found",
]


def load_questions(path: Path) -> list[dict]:
    questions = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    for q in questions:
        q["question"] = " ".join(q["question"].split())  # one line each on stdin
        if "direction" not in q:
            q["direction"] = f"{q['lang']}->{'+'.join(sorted({g[:2] for g in q['gold_ids']})) or 'none'}"
    return questions


def brief_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_") and k != "CHROMA_HOST"}
    env.update(BRIEF_DATA_DIR=str(data_dir), OMP_WAIT_POLICY="passive")
    return env


def run(cmd: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None, ok=(0,)) -> tuple[str, float]:
    """Run one `brief` command; its stderr is passed on, an unexpected exit status stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, cwd=cwd, encoding="utf-8")
    elapsed = time.perf_counter() - started
    if done.returncode not in ok:
        sys.exit(f"{shlex.join(cmd)} exited with {done.returncode}:\n{done.stderr.strip()}")
    if done.stderr.strip():
        print(done.stderr.strip(), file=sys.stderr)
    return done.stdout, elapsed


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def id_map(data_dir: Path, articles: Path) -> dict[str, str]:
    """Stored article id -> file stem: from the store's `origin`, else from the id scheme of `.txt` files."""
    mapping = {}
    for path in articles.rglob("*.txt"):
        mapping["file-" + hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:16]] = path.stem
    store = data_dir / "store.sqlite3"
    if store.exists():
        with sqlite3.connect(store) as db:
            try:
                mapping.update({i: Path(origin).stem for i, origin in db.execute("SELECT id, origin FROM articles")})
            except sqlite3.Error as exc:
                print(f"warning: cannot read article origins ({exc}); using the file id scheme", file=sys.stderr)
    return mapping


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def text_lang(answer: dict) -> str:
    """The language of the answer's own words: its text without the quoted sentences and article titles, by script."""
    text = answer["text"]
    for item in [*answer["citations"], *answer.get("related", [])]:  # `related`: a refusal's closest articles
        for part in [*(item.get("quote") or "").split(" … "), item.get("title") or ""]:
            if part.strip():
                text = text.replace(part, " ")
    arabic = sum("\u0600" <= ch <= "\u06ff" for ch in text)
    latin = sum(ch.isascii() and ch.isalpha() for ch in text)
    return "ar" if arabic > latin else "en"


def score(q: dict, search: dict, answer: dict, ids: dict[str, str]) -> dict:
    gold = set(q["gold_ids"])
    ranked = []
    for hit in search["hits"]:
        ranked.append([ids.get(i, i) for i in [hit["article_id"], *hit.get("also", [])]])
    gold_rank = next((n for n, group in enumerate(ranked, 1) if gold & set(group)), None)
    cited = [ids.get(c["article_id"], c["article_id"]) for c in answer["citations"]]
    quotes = " \n ".join(norm(c["quote"]) for c in answer["citations"])
    return {
        "id": q["id"],
        "lang": q["lang"],
        "kind": q["kind"],
        "direction": q["direction"],
        "answerable": q["answerable"],
        "question": q["question"],
        "gold_ids": q["gold_ids"],
        "xling": q["answerable"] and q["lang"] not in q["direction"].split("->")[1].split("+"),
        "hits": [group[0] for group in ranked],
        "gold_rank": gold_rank,
        "answered": bool(answer["answered"]),
        "answer_lang": answer["lang"],
        "text_lang": text_lang(answer),
        "cited": cited,
        "first_cite_gold": bool(cited) and cited[0] in gold,
        "gold_cites": sum(c in gold for c in cited),
        "answer_found": any(norm(a) in quotes for a in q["answers"]),
        "text": answer["text"],
    }


def measures(rows: list[dict]) -> dict[str, tuple[int, int]]:
    """Measure -> (hits, denominator)."""
    answerable = [r for r in rows if r["answerable"]]
    xling = [r for r in answerable if r["xling"]]
    answered = [r for r in answerable if r["answered"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    return {
        "gold@1": (sum(r["gold_rank"] == 1 for r in answerable), len(answerable)),
        "gold@5": (sum(r["gold_rank"] is not None for r in answerable), len(answerable)),
        "xl gold@5": (sum(r["gold_rank"] is not None for r in xling), len(xling)),
        "answered": (len(answered), len(answerable)),
        "refused": (sum(not r["answered"] for r in unanswerable), len(unanswerable)),
        "cite1 gold": (sum(r["first_cite_gold"] for r in answered), len(answered)),
        "cites gold": (sum(r["gold_cites"] for r in answered), sum(len(r["cited"]) for r in answered)),
        "lang ok": (sum(r["answer_lang"] == r["lang"] for r in rows), len(rows)),
        "text lang": (sum(r["text_lang"] == r["lang"] for r in rows), len(rows)),
        "found": (sum(r["answer_found"] for r in answered), len(answered)),
    }


def table(groups: list[tuple[str, list[dict]]]) -> str:
    """One row per group: each measure as `share hits/denominator`, `-` when it applies to none of the group."""
    width = 11
    lines = [f"{'':17}{'n':>3} " + " ".join(f"{m:>{width}}" for m in MEASURES)]
    for label, rows in groups:
        scores = measures(rows)
        cells = [f"{k / n:.2f} {k:>2}/{n:<2}" if n else "-" for k, n in (scores[m] for m in MEASURES)]
        lines.append(f"{label:17}{len(rows):>3} " + " ".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brief", default=str(Path(sys.executable).parent / "brief"), help="the brief command")
    parser.add_argument("--out", type=Path, help="write per-question records (JSONL) here")
    parser.add_argument("--keep", type=Path, help="use and keep this data directory instead of a temporary one")
    parser.add_argument("--questions", type=Path, default=HERE / "questions.jsonl")
    parser.add_argument("--articles", type=Path, default=HERE / "articles")
    args = parser.parse_args()

    questions = load_questions(args.questions)
    articles = args.articles.resolve()
    stems = {p.stem for p in articles.rglob("*.txt")}
    missing = sorted({g for q in questions for g in q["gold_ids"]} - stems)
    if missing:
        sys.exit(f"gold ids with no article file: {', '.join(missing)}")
    texts = {p.stem: norm(p.read_text("utf-8")) for p in articles.rglob("*.txt")}
    for q in questions:
        absent = [a for a in q["answers"] if not any(norm(a) in texts[g] for g in q["gold_ids"])]
        if absent or q["answerable"] != bool(q["gold_ids"]):
            print(f"warning: {q['id']}: answers in no gold article: {absent}, or answerable/gold_ids disagree")
    brief = shlex.split(args.brief)

    with tempfile.TemporaryDirectory(prefix="brief-news-") as tmp:
        data_dir = args.keep.resolve() if args.keep else Path(tmp) / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        env, cwd = brief_env(data_dir), Path(tmp)  # no project .env in the working directory
        out, t_ingest = run([*brief, "ingest", str(articles)], env, cwd, ok=(0, 1))
        print(f"ingest ({t_ingest:.1f} s): {out.strip().splitlines()[-1] if out.strip() else '(no output)'}")
        ids = id_map(data_dir, articles)
        unseen = stems - set(ids.values())
        if unseen:
            print(f"warning: not in the store: {', '.join(sorted(unseen))}", file=sys.stderr)

        stdin = "".join(q["question"] + "\n" for q in questions)
        out, t_search = run([*brief, "search", "--json", "--k", "5", "-"], env, cwd, stdin)
        searches = json_lines(out)
        out, t_ask = run([*brief, "ask", "--json", "-"], env, cwd, stdin)
        answers = json_lines(out)
    if len(searches) != len(questions) or len(answers) != len(questions):
        sys.exit(f"expected {len(questions)} records, got {len(searches)} searches and {len(answers)} answers")
    for q, s, a in zip(questions, searches, answers, strict=True):
        if s["query"] != q["question"] or a["question"] != q["question"]:
            sys.exit(f"output out of step with the questions at {q['id']}")
    print(f"search ({t_search:.1f} s) and ask ({t_ask:.1f} s), {len(questions)} questions, models loaded once each")

    rows = [score(q, s, a, ids) for q, s, a in zip(questions, searches, answers, strict=True)]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")

    def grouped(key: str, prefix: str) -> list[tuple[str, list[dict]]]:
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            groups[r[key]].append(r)
        return [(f"{prefix}{name}", groups[name]) for name in sorted(groups)]

    groups = [("all", rows), *grouped("lang", "lang "), *grouped("direction", ""), *grouped("kind", "kind ")]
    print(table(groups))
    if args.keep:
        print(f"data kept in {args.keep}")


if __name__ == "__main__":
    main()
