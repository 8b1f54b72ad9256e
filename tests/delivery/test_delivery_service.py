"""The exam room's rules at the service layer: sign-in, clock, saves by sequence, submit, invigilators."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from random import Random

import pytest

from examsvc import clock
from examsvc.delivery.models import Answer
from examsvc.delivery.service import (
    AttemptClosed, AttemptPaused, StaleSave, check_in, close_expired, grant_extra_time, pause, remaining_seconds,
    resume, save_answer, shuffle, sign_in, start_or_resume, submit, terminate,
)
from examsvc.delivery.paper_text import item_types
from examsvc.delivery.view import attempt_view
from examsvc.errors import Forbidden, ValidationFailed
from examsvc.papers.models import Paper
from tests.delivery.conftest import EXAM_DAY, resident_id

pytestmark = pytest.mark.usefixtures("app_context")


def _start(session, exam, index=0):
    candidate = exam["candidates"][index]
    check_in(session, candidate, exam["invigilators"][0])
    signed = sign_in(session, ticket_number=candidate.ticket_number, id_number=resident_id(index + 1))
    attempt = start_or_resume(session, signed)
    return attempt, item_types(session, attempt.paper_id)


def test_sign_in_needs_the_right_id_the_window_and_check_in(session, exam):
    candidate = exam["candidates"][0]
    with clock.frozen(EXAM_DAY):
        with pytest.raises(Forbidden) as caught:
            sign_in(session, ticket_number=candidate.ticket_number, id_number=resident_id(1))
        assert caught.value.code == "not_checked_in"
        check_in(session, candidate, exam["invigilators"][0])
        with pytest.raises(Forbidden):
            sign_in(session, ticket_number=candidate.ticket_number, id_number=resident_id(2))
        assert sign_in(session, ticket_number=candidate.ticket_number, id_number=resident_id(1)).id == candidate.id
    with clock.frozen(EXAM_DAY + timedelta(hours=2)), pytest.raises(Forbidden) as caught:
        sign_in(session, ticket_number=candidate.ticket_number, id_number=resident_id(1))
    assert caught.value.code == "outside_window"


def test_forms_rotate_across_seats_and_the_shuffle_is_reproducible(session, exam):
    with clock.frozen(EXAM_DAY):
        first, _ = _start(session, exam, 0)
        second, _ = _start(session, exam, 1)
    assert first.paper_id != second.paper_id
    paper = session.get(Paper, first.paper_id)
    assert shuffle(paper.items, first.shuffle_seed) == (first.item_order, first.option_orders)
    assert sorted(first.item_order) == [i.position for i in paper.items]
    sections = [paper.items[p - 1].item_type for p in first.item_order]
    assert sections == sorted(sections, key=["true_false", "single_choice", "multiple_choice"].index)


def test_saves_keep_the_highest_sequence_and_are_idempotent(session, exam):
    with clock.frozen(EXAM_DAY):
        attempt, types = _start(session, exam)
        position = next(p for p, t in types.items() if t == "single_choice")
        letters = attempt.option_orders[str(position)]
        assert save_answer(session, attempt.candidate_id, position=position, response=[letters[0]], flagged=False,
                           seq=2).outcome == "saved"
        assert save_answer(session, attempt.candidate_id, position=position, response=[letters[0]], flagged=False,
                           seq=2).outcome == "duplicate"
        with pytest.raises(StaleSave):  # an older tab
            save_answer(session, attempt.candidate_id, position=position, response=[letters[1]], flagged=False, seq=1)
        save_answer(session, attempt.candidate_id, position=position, response=[letters[2]], flagged=True, seq=5)
    stored = session.query(Answer).filter_by(attempt_id=attempt.id, position=position).one()
    assert (stored.response, stored.flagged, stored.seq) == ([letters[2]], True, 5)
    session.refresh(attempt)
    assert attempt.last_seq == 5


@pytest.mark.parametrize("response, position_type, field", [
    (["A", "B"], "single_choice", "response"), (["X"], "true_false", "response"), ("A", "single_choice", "response"),
    (["Z"], "multiple_choice", "response"),
])
def test_malformed_answers_are_refused_and_nothing_stored(session, exam, response, position_type, field):
    with clock.frozen(EXAM_DAY):
        attempt, types = _start(session, exam)
        position = next(p for p, t in types.items() if t == position_type)
        with pytest.raises(ValidationFailed) as caught:
            save_answer(session, attempt.candidate_id, position=position, response=response, flagged=False, seq=1)
        assert caught.value.field == field
        with pytest.raises(ValidationFailed) as caught:
            save_answer(session, attempt.candidate_id, position=9999, response=[], flagged=False, seq=1)
        assert caught.value.field == "position"
    assert session.query(Answer).count() == 0


def test_the_server_closes_the_attempt_at_the_deadline_keeping_answers(session, exam):
    with clock.frozen(EXAM_DAY) as frozen:
        attempt, types = _start(session, exam)
        position = next(p for p, t in types.items() if t == "true_false")
        save_answer(session, attempt.candidate_id, position=position, response=["T"], flagged=False, seq=1)
        assert remaining_seconds(attempt) == 90 * 60
        frozen.advance(timedelta(minutes=90, seconds=1))
        assert close_expired(session) == 1
        assert attempt.status == "expired" and attempt.closed_at == attempt.deadline_at
        with pytest.raises(AttemptClosed):
            save_answer(session, attempt.candidate_id, position=position, response=["F"], flagged=False, seq=2)
        assert submit(session, attempt).status == "expired"  # idempotent, changes nothing
    assert session.query(Answer).filter_by(attempt_id=attempt.id).one().response == ["T"]


def test_pause_does_not_count_and_extra_time_moves_the_deadline(session, exam):
    admin = exam["invigilators"][0]
    with clock.frozen(EXAM_DAY) as frozen:
        attempt, types = _start(session, exam)
        frozen.advance(timedelta(minutes=10))
        pause(session, attempt, admin, "停电")
        frozen.advance(timedelta(minutes=7))
        assert remaining_seconds(attempt) == 80 * 60
        with pytest.raises(AttemptPaused):
            save_answer(session, attempt.candidate_id, position=1, response=[], flagged=False, seq=1)
        resume(session, attempt, admin)
        assert remaining_seconds(attempt) == 80 * 60
        grant_extra_time(session, attempt, admin, 5, "视力障碍")
        assert remaining_seconds(attempt) == 85 * 60
        with pytest.raises(ValidationFailed):
            grant_extra_time(session, attempt, admin, 5, " ")
        terminate(session, attempt, admin, "携带手机")
        assert attempt.status == "terminated"


def test_resume_after_reload_restores_answers_and_time(session, exam):
    with clock.frozen(EXAM_DAY) as frozen:
        attempt, types = _start(session, exam)
        position = next(p for p, t in types.items() if t == "multiple_choice")
        letters = attempt.option_orders[str(position)]
        save_answer(session, attempt.candidate_id, position=position, response=sorted(letters[:2]), flagged=True, seq=3)
        frozen.advance(timedelta(minutes=20))
        again = start_or_resume(session, exam["candidates"][0])
        view = attempt_view(session, again)
    assert again.id == attempt.id and view["remaining_seconds"] == 70 * 60 and view["last_seq"] == 3
    shown = next(i for i in view["items"] if i["position"] == position)
    assert shown["response"] == sorted(letters[:2]) and shown["flagged"]
    assert "key" not in str(view) and "explanation" not in str(view) and "element_code" not in str(view)


def test_the_job_runner_sweep_closes_attempts_whose_browser_is_gone(session, exam):
    from examsvc.jobs.service import run_periodic

    with clock.frozen(EXAM_DAY) as frozen:
        attempt, _types = _start(session, exam)
        session.commit()
        frozen.advance(timedelta(minutes=91))
        run_periodic()
    session.expire_all()
    assert session.get(type(attempt), attempt.id).status == "expired"


def test_concurrent_saves_of_one_attempt_keep_the_highest_sequence(app, session, exam):
    """Two tabs and retries racing: whatever order the saves commit in, the highest sequence wins."""
    with clock.frozen(EXAM_DAY):
        attempt, types = _start(session, exam)
        session.commit()
        position = next(p for p, t in types.items() if t == "true_false")
        sequences = list(range(1, 41))
        Random(7).shuffle(sequences)

        def one(seq):
            with app.app_context():
                worker = app.extensions["examsvc.sessionmaker"]()
                try:
                    save_answer(worker, attempt.candidate_id, position=position, response=["T" if seq % 2 else "F"],
                                flagged=False, seq=seq)
                    worker.commit()
                    return "saved"
                except StaleSave:
                    worker.rollback()
                    return "stale"
                finally:
                    worker.close()

        with ThreadPoolExecutor(max_workers=6) as pool:
            outcomes = list(pool.map(one, sequences))
    assert "saved" in outcomes and len(outcomes) == 40
    session.expire_all()
    stored = session.query(Answer).filter_by(attempt_id=attempt.id, position=position).one()
    assert (stored.seq, stored.response) == (40, ["F"])
    session.refresh(attempt)
    assert attempt.last_seq == 40
