"""Load on the running bot, through a Bot API server on 127.0.0.1 (fakes/telegram.py, the tests' FakeTelegram) to
the real python-telegram-bot Application in extractive mode, in two phases:

- steady: N users each ask M questions, one after another (each waits for its answer before asking again);
- burst: B users each send Q questions at the same moment (B × Q updates arrive in one getUpdates batch), as when a
  channel post sends many readers to the bot at once. The latency of a burst is mostly queueing behind the answer
  workers, so its p95 is reported on its own: a steady-rate p95 says nothing about it.

    python bench/bot_load.py [--users 10] [--questions 20] [--burst-users 20] [--burst-questions 10]

Prints answers/s and the latency from posting an update to the bot's answer arriving (p50, p95, max) per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build_application  # noqa: E402
from bot.service import ChatService  # noqa: E402
from fakes.telegram import FakeTelegram  # noqa: E402
from retrieval.answering import Answerer  # noqa: E402
from retrieval.index import Index  # noqa: E402
from retrieval.ingest import ingest  # noqa: E402
from retrieval.phrases import phrase  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

QUESTIONS = [
    "What did Peskov say about Russian mediation?",
    "ماذا قال بيسكوف عن الوساطة الروسية؟",
    "How many people fled Karabakh in September 2023?",
    "كم عدد الجنود الأذربيجانيين الذين قتلوا في اشتباكات أيلول 2022؟",
    "What is the Trump Route for International Peace and Prosperity?",
    "When did Russian peacekeepers start leaving Karabakh?",
    "Where did Azerbaijan set up a checkpoint on the Lachin corridor?",
    "How many people were killed in the September 2023 offensive?",
    "ما هو ممر لاتشين؟",
    "What is the capital of Peru?",
]


async def user(fake: FakeTelegram, user_id: int, questions: int, latencies: list[float]) -> None:
    for i in range(questions):
        pushed = fake.message(QUESTIONS[(user_id + i) % len(QUESTIONS)], chat_id=user_id, user_id=user_id)
        asked = pushed["message"]["message_id"]
        started = time.perf_counter()
        await fake.wait_reply(asked)
        latencies.append((time.perf_counter() - started) * 1000)


async def burst(fake: FakeTelegram, users: int, questions: int) -> list[float]:
    """Every user sends all its questions at once; the latency of each is counted from the moment all were sent."""
    pushed = [
        fake.message(QUESTIONS[(u + i) % len(QUESTIONS)], chat_id=20_000 + u, user_id=20_000 + u)["message"]
        for u in range(users)
        for i in range(questions)
    ]
    started = time.perf_counter()

    async def one(message_id: int) -> float:
        await fake.wait_reply(message_id, timeout=600)
        return (time.perf_counter() - started) * 1000

    return list(await asyncio.gather(*(one(m["message_id"]) for m in pushed)))


def summary(latencies: list[float]) -> str:
    return (
        f"p50 {statistics.median(latencies):.0f} ms, p95 {float(np.percentile(latencies, 95)):.0f} ms, "
        f"max {max(latencies):.0f} ms"
    )


async def main_async(users: int, questions: int, burst_users: int, burst_questions: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, brief_data_dir=Path(tmp), chroma_host=None)
        index = Index(settings)
        report = ingest(
            index, [str(ROOT / "seeds"), str(ROOT / "tests" / "corpus"), str(ROOT / "tests" / "corpus_figures")]
        )
        fake = FakeTelegram()
        base = await fake.start()
        settings = settings.model_copy(
            update={
                "telegram_token": SecretStr("123456:bench-token-bench-token-bench-token"),
                "telegram_base_url": base,
                "telegram_base_file_url": base.replace("/bot", "/file/bot"),
                "questions_per_minute": 1_000_000,
            }
        )
        service = ChatService(index, Answerer(index, use_llm=False))
        service.settings = settings
        service.rate.limit = settings.questions_per_minute
        app = build_application(settings, service)
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        warm: list[float] = []
        await user(fake, 10_000, 2, warm)  # model and caches warm
        latencies: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(*(user(fake, 1 + u, questions, latencies) for u in range(users)))
        elapsed = time.perf_counter() - started
        burst_started = time.perf_counter()
        bursts = await burst(fake, burst_users, burst_questions) if burst_users and burst_questions else []
        burst_elapsed = time.perf_counter() - burst_started
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await fake.stop()
    print(
        f"store: {report.new} articles, {report.chunks} chunks; bot in extractive mode, "
        f"{settings.answer_workers} answer workers"
    )
    print(
        f"steady: {users} users × {questions} questions, one at a time = {len(latencies)} answers in {elapsed:.1f} s: "
        f"{len(latencies) / elapsed:.1f} answers/s; latency update → answer: {summary(latencies)}"
    )
    if bursts:
        print(
            f"burst: {burst_users} users × {burst_questions} questions at once = {len(bursts)} answers in "
            f"{burst_elapsed:.1f} s: {len(bursts) / burst_elapsed:.1f} answers/s; latency update → answer: "
            f"{summary(bursts)}"
        )
    apology = phrase("error_apology", "en")
    errors = sum(1 for call in fake.sent() if apology in call.params.get("text", ""))
    print(f"apologies (errors) among the answers: {errors}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--burst-users", type=int, default=20, help="0: no burst phase")
    parser.add_argument("--burst-questions", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main_async(args.users, args.questions, args.burst_users, args.burst_questions))


if __name__ == "__main__":
    main()
