"""Vector writes give way to questions answered in the same process (retrieval/quiet.py): whole when no question
was asked lately, else in small pieces, each once no question is in progress, with a pause after each."""

from __future__ import annotations

import threading
import time

from retrieval.quiet import PIECE, QuietWrites


def test_with_no_question_asked_lately_a_write_goes_out_whole():
    assert list(QuietWrites().pieces(100)) == [slice(0, 100)]


def test_while_questions_are_answered_each_piece_waits_for_a_quiet_moment_then_pauses():
    quiet = QuietWrites(patience=5.0)
    with quiet.question():
        pass  # a question a moment ago: the process is answering questions
    asking, released = threading.Event(), threading.Event()

    def question() -> None:
        with quiet.question():
            asking.set()
            released.wait(5)

    thread = threading.Thread(target=question)
    thread.start()
    asking.wait(5)
    written: list[tuple[slice, float]] = []
    writer = threading.Thread(target=lambda: written.extend((p, time.monotonic()) for p in quiet.pieces(2 * PIECE + 1)))
    writer.start()
    time.sleep(0.3)
    assert written == [], "a piece was written while a question was in progress"
    ended = time.monotonic()
    released.set()
    thread.join()
    writer.join(5)
    assert [p for p, _ in written] == [slice(0, PIECE), slice(PIECE, 2 * PIECE), slice(2 * PIECE, 2 * PIECE + 1)]
    assert written[0][1] >= ended


def test_a_stream_of_questions_delays_a_piece_by_the_patience_at_most():
    quiet = QuietWrites(patience=0.2)
    stop = threading.Event()

    def questions() -> None:
        while not stop.is_set():
            with quiet.question():
                time.sleep(0.05)

    thread = threading.Thread(target=questions)
    thread.start()
    try:
        started = time.monotonic()
        assert len(list(quiet.pieces(3 * PIECE))) == 3
        assert time.monotonic() - started < 3 * 0.2 + 1.0
    finally:
        stop.set()
        thread.join()
