"""The worker of the parallel-issuers test: a process of its own, with its own engine, issuing
one certificate per transaction as fast as it can once every worker is ready."""

from __future__ import annotations


def issue_worker(url: str, pass_record_ids: list[int], barrier, results) -> None:
    from sqlalchemy.orm import Session

    from examsvc import clock
    from examsvc.certificates.service import issue_certificate
    from examsvc.db import make_engine
    from examsvc.errors import Conflict
    from examsvc.grading.models import PassRecord
    import examsvc.models  # noqa: F401  (every mapper, for the relationships)
    from tests.certificates.builders import ISSUE_TIME

    engine = make_engine(url)
    issued, refused = [], []
    try:
        barrier.wait(timeout=60)
        with clock.frozen(ISSUE_TIME):
            for pass_record_id in pass_record_ids:
                with Session(engine, expire_on_commit=False) as session:
                    try:
                        with session.begin():
                            certificate = issue_certificate(session, session.get(PassRecord, pass_record_id), "worker")
                        issued.append((pass_record_id, certificate.number))
                    except Conflict:
                        refused.append(pass_record_id)
        results.put(("ok", issued, refused))
    except Exception as exc:  # report, do not hang the parent
        results.put(("error", repr(exc), []))
    finally:
        engine.dispose()
