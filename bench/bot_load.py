"""Load on the running bot: N simulated users each ask M questions, one after another, through a Bot API server
on 127.0.0.1 (the tests' FakeTelegram) to the real python-telegram-bot Application in extractive mode.

    python bench/bot_load.py [--users 10] [--questions 20]

Prints answers/s over the whole run and the latency from posting an update to the bot's answer arriving.
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
from retrieval.answering import Answerer  # noqa: E402
from retrieval.index import Index  # noqa: E402
from retrieval.ingest import ingest  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402

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


async def main_async(users: int, questions: int) -> None:
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
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await fake.stop()
    print(
        f"store: {report.new} articles, {report.chunks} chunks; bot in extractive mode, "
        f"{settings.answer_workers} answer workers"
    )
    print(
        f"{users} users × {questions} questions = {len(latencies)} answers in {elapsed:.1f} s: "
        f"{len(latencies) / elapsed:.1f} answers/s"
    )
    print(
        f"latency update → answer: p50 {statistics.median(latencies):.0f} ms, "
        f"p95 {float(np.percentile(latencies, 95)):.0f} ms, max {max(latencies):.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main_async(args.users, args.questions))


if __name__ == "__main__":
    main()
