"""The papers' pages: assemble through the form, follow the run, read the report, lock; the
printable paper without keys, the answer key apart from it (HTML and PDF), and who may see what.

Data is set up with the ``session`` fixture (no app context pushed); each client signs in for
itself, so requests never share a signed-in user.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from sqlalchemy import func, select

from examsvc.audit.models import AuditEvent
from examsvc.bank.models import ItemVersion
from examsvc.institutions.models import InstitutionStatus
from examsvc.institutions.service import set_status
from examsvc.jobs.service import run_pending
from examsvc.papers.models import AssemblyRun, Paper
from examsvc.papers.service import start_assembly
from tests.conftest import csrf_token_from, login, make_user
from tests.papers.conftest import papers_world  # noqa: F401  (a fixture)

EN = {"Accept-Language": "en"}


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def post(client, url, data=None, **kwargs):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def assemble_directly(app, session, world, forms=1, seed=3):
    """Papers made through the service (the form has its own test)."""
    run = start_assembly(session, institution=world["A"], blueprint_version=world["version"], forms=forms,
                         overrides={"seed": seed, "time_limit": 30}, actor=world["admin"])
    session.commit()
    with app.app_context():
        run_pending()
    session.expire_all()
    run = session.get(AssemblyRun, run.id)
    assert run.status == "done", run.outcome
    return run


def with_explanations(session):
    """Give every approved item an explanation, to prove the printable paper leaves them out."""
    for version in session.scalars(select(ItemVersion)):
        content = dict(version.content)
        content["zh"] = {**content["zh"], "explanation": f"解析说明{version.id}号"}
        version.content = content
    session.commit()


def form_fields(world, **extra):
    return {"institution_id": str(world["A"].id), "blueprint_version_id": str(world["version"].id),
            "forms": "2", "seed": "3", "time_limit": "30", **extra}


# --- assemble, report, lock -------------------------------------------------------------------

def test_assemble_through_the_form_then_read_the_report_and_lock(app, session, papers_world):
    app.config["JOBS_EAGER"] = True
    client = signed_in(app, "admin_a")
    home = client.get("/").get_data(as_text=True)
    assert "/papers/assemble" in home and 'href="/papers/"' in home
    page = client.get("/papers/assemble").get_data(as_text=True)
    assert "中式烹调师" in page and 'name="blueprint_version_id"' in page and "平行卷" in page

    response = post(client, "/papers/assemble", form_fields(papers_world))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert re.fullmatch(r"/papers/runs/\d+", response.headers["Location"])
    run_page = client.get(response.headers["Location"]).get_data(as_text=True)
    run = session.scalar(select(AssemblyRun))
    assert run.status == "done" and run.params["overrides"] == {"seed": 3, "time_limit": 30.0}
    a, b = run.papers
    assert f"/papers/{a.id}" in run_page and f"/papers/{b.id}" in run_page and "A卷" in run_page

    report = a.report
    page = client.get(f"/papers/{a.id}").get_data(as_text=True)
    assert f"{report['elements_covered']} / {report['elements_needed']}" in page
    assert str(report["difficulty"]["mean"]) in page and "0.65 ± 0.05" in page
    assert "判断题" in page or "True/false" in page
    for row in report["type_counts"] + report["scopes"]:
        assert f'<td class="num">{row["target"]}</td><td class="num">{row["actual"]}</td>' in page
    assert 'class="off"' not in page  # every count as the blueprint asks
    assert "<svg" in page and "<polyline" in page and 'id="approximate"' in page
    assert "测验信息函数" in page and "测量标准误" in page
    assert '<td>B</td><td class="num">0</td>' in page  # no item shared with the sibling form

    refused = post(client, f"/papers/{a.id}/lock")
    assert refused.status_code == 422 and "确认" in refused.get_data(as_text=True)
    assert session.get(Paper, a.id).status == "draft"
    locked = post(client, f"/papers/{a.id}/lock", {"confirm": "1"})
    assert locked.status_code == 302 and locked.headers["Location"] == f"/papers/{a.id}"
    session.expire_all()
    paper = session.get(Paper, a.id)
    assert paper.status == "locked" and len(paper.snapshot_hash) == 64
    page = client.get(f"/papers/{a.id}").get_data(as_text=True)
    assert paper.snapshot_hash in page and "/lock" not in page and "已锁定" in page
    again = post(client, f"/papers/{a.id}/lock", {"confirm": "1"})
    assert again.status_code == 409 and "只有草稿试卷可以锁定" in again.get_data(as_text=True)

    listing = client.get("/papers/").get_data(as_text=True)
    assert a.title in listing and b.title in listing and f"/papers/runs/{run.id}" in listing


def test_retire_needs_a_reason_and_discard_needs_confirmation(app, session, papers_world):
    run = assemble_directly(app, session, papers_world, forms=2)
    a, b = run.papers
    run_id, b_id = run.id, b.id
    client = signed_in(app, "admin_a")
    no_reason = post(client, f"/papers/{a.id}/retire", {"reason": " "})
    assert no_reason.status_code == 422 and "须说明停用理由" in no_reason.get_data(as_text=True)
    assert post(client, f"/papers/{a.id}/retire", {"reason": "题目泄露"}).status_code == 302
    session.expire_all()
    assert session.get(Paper, a.id).status == "retired"
    assert post(client, f"/papers/{b_id}/discard").status_code == 422
    discarded = post(client, f"/papers/{b_id}/discard", {"confirm": "1"})
    assert discarded.status_code == 302 and discarded.headers["Location"] == f"/papers/runs/{run_id}"
    session.expire_all()
    assert session.get(Paper, b_id) is None
    assert post(client, f"/papers/{a.id}/discard", {"confirm": "1"}).status_code == 409  # retired, not draft


def test_a_short_bank_shows_the_reasons_in_domain_words(app, session, papers_world):
    app.config["JOBS_EAGER"] = True
    client = signed_in(app, "admin_a")
    response = post(client, "/papers/assemble", form_fields(papers_world, forms="5"))  # 450 items from 596
    assert response.status_code == 302
    run = session.scalar(select(AssemblyRun))
    assert run.status == "infeasible"
    reasons = run.outcome["reasons"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "题库无法满足" in page and all(r["message"] in page for r in reasons)
    english = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert all(r["message_en"].replace("'", "&#39;") in english for r in reasons)
    assert session.scalar(select(func.count()).select_from(Paper)) == 0


def test_the_form_names_the_field_and_shows_the_can_certify_reason(app, session, papers_world):
    client = signed_in(app, "admin_a")
    too_many = post(client, "/papers/assemble", form_fields(papers_world, forms="13"))
    text = too_many.get_data(as_text=True)
    assert too_many.status_code == 422 and "平行卷数量" in text and 'id="forms" name="forms" aria-invalid="true"' in text
    not_a_number = post(client, "/papers/assemble", form_fields(papers_world, target_difficulty="abc"))
    assert not_a_number.status_code == 422 and "目标难度" in not_a_number.get_data(as_text=True)
    out_of_band = post(client, "/papers/assemble", form_fields(papers_world, target_difficulty="1.5"))
    text = out_of_band.get_data(as_text=True)
    assert out_of_band.status_code == 422 and 'value="1.5" aria-invalid="true"' in text
    assert session.scalar(select(func.count()).select_from(AssemblyRun)) == 0

    set_status(session, papers_world["A"], InstitutionStatus.SUSPENDED, "内人社监〔2026〕3号", "regulator")
    session.commit()
    form = client.get("/papers/assemble").get_data(as_text=True)
    assert "已被责令停止认定" in form and "内人社监〔2026〕3号" in form
    refused = post(client, "/papers/assemble", form_fields(papers_world))
    assert refused.status_code == 400 and "内人社监〔2026〕3号" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(AssemblyRun)) == 0


# --- who may see what -------------------------------------------------------------------------

def test_another_institutions_admin_gets_403_on_every_paper_page(app, session, papers_world):
    run = assemble_directly(app, session, papers_world)
    paper = run.papers[0]
    make_user(session, "admin_b", "institution_admin", papers_world["B"].id)
    client = signed_in(app, "admin_b")
    for url in (f"/papers/{paper.id}", f"/papers/runs/{run.id}", f"/papers/{paper.id}/print",
                f"/papers/{paper.id}/print.pdf", f"/papers/{paper.id}/key", f"/papers/{paper.id}/key.pdf"):
        assert client.get(url).status_code == 403, url
    for url, data in ((f"/papers/{paper.id}/lock", {"confirm": "1"}), (f"/papers/{paper.id}/retire", {"reason": "x"}),
                      (f"/papers/{paper.id}/discard", {"confirm": "1"}), ("/papers/assemble", form_fields(papers_world))):
        assert post(client, url, data).status_code == 403, url
    listing = client.get("/papers/").get_data(as_text=True)
    assert paper.title not in listing and f"/papers/runs/{run.id}" not in listing
    assert "甲评价机构" not in client.get("/papers/assemble").get_data(as_text=True)
    session.expire_all()
    assert session.get(Paper, paper.id).status == "draft"


def test_candidates_and_invigilators_never_get_the_key_or_the_items(app, session, papers_world):
    paper = assemble_directly(app, session, papers_world).papers[0]
    make_user(session, "inv_a", "invigilator", papers_world["A"].id)
    make_user(session, "cand", "candidate")
    make_user(session, "reg", "regulator")
    invigilator = signed_in(app, "inv_a")
    assert invigilator.get(f"/papers/{paper.id}").status_code == 200  # the report, without items
    page = invigilator.get(f"/papers/{paper.id}").get_data(as_text=True)
    assert "/key" not in page and "/print" not in page and "/lock" not in page
    candidate = signed_in(app, "cand")
    for suffix in ("/key", "/key.pdf", "/print", "/print.pdf"):
        assert invigilator.get(f"/papers/{paper.id}{suffix}").status_code == 403, suffix
        assert candidate.get(f"/papers/{paper.id}{suffix}").status_code == 403, suffix
    assert candidate.get(f"/papers/{paper.id}").status_code == 403
    assert "/papers/" not in candidate.get("/").get_data(as_text=True)
    regulator = signed_in(app, "reg")
    assert regulator.get(f"/papers/{paper.id}/key").status_code == 200
    assert paper.title in regulator.get("/papers/").get_data(as_text=True)
    assert regulator.get("/papers/assemble").status_code == 403


# --- the printable paper and the key ------------------------------------------------------------

def _stems(session, paper):
    versions = {v.id: v for v in session.scalars(select(ItemVersion))}
    return [versions[i.item_version_id].content["zh"]["stem"] for i in paper.items]


def test_the_printable_paper_has_stems_and_options_but_no_keys_or_explanations(app, session, papers_world):
    with_explanations(session)
    paper = assemble_directly(app, session, papers_world).papers[0]
    client = signed_in(app, "admin_a")
    response = client.get(f"/papers/{paper.id}/print")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert paper.title in page and "中式烹调师" in page and "四级/中级工" in page and "90" in page
    assert "一、判断题" in page and "二、单项选择题" in page and "三、多项选择题" in page
    assert "第1题至第20题" in page and "第81题至第90题" in page
    assert all(stem in page for stem in _stems(session, paper))
    assert "姓名" in page and "准考证号" in page and "@page" in page and "size: A4" in page
    assert "解析说明" not in page and "参考答案" not in page and 'class="answer"' not in page
    assert "草稿" in page  # an unlocked paper says so on its face

    key = client.get(f"/papers/{paper.id}/key").get_data(as_text=True)
    assert "参考答案" in key and "解析说明" not in key
    answers = re.findall(r'<td class="answer">([^<]*)</td>', key)
    expected = ["√" if i.key == ["T"] else "×" if i.key == ["F"] else "".join(i.key) for i in paper.items]
    assert answers == expected
    assert not any(stem in key for stem in _stems(session, paper))

    english = client.get(f"/papers/{paper.id}/print", headers=EN).get_data(as_text=True)
    assert "1. True/false questions" in english and "Questions 1 to 20" in english
    opened = session.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(["paper.print", "paper.key_open"])))
    assert sorted(opened) == ["paper.key_open", "paper.print", "paper.print"]


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _letter_runs(text: str) -> list[str]:
    """Tokens made only of two or more option letters: a multiple-choice key such as ``ACD``."""
    return re.findall(r"(?<!\S)[A-E]{2,5}(?!\S)", text)


def test_the_pdfs_hold_the_paper_and_separately_the_key(app, session, papers_world, tmp_path):
    with_explanations(session)
    paper = assemble_directly(app, session, papers_world).papers[0]
    client = signed_in(app, "admin_a")
    printed = client.get(f"/papers/{paper.id}/print.pdf")
    key = client.get(f"/papers/{paper.id}/key.pdf")
    for response in (printed, key):
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF") and response.headers["Cache-Control"] == "no-store"
    from examsvc.pdf import FONT_NAME, cjk_font_name

    if cjk_font_name() == FONT_NAME:
        assert b"/FontFile2" in printed.data  # the TrueType font travels with the file
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDFs' text is not checked")
    paper_text, key_text = _pdf_text(printed.data, tmp_path), _pdf_text(key.data, tmp_path)
    squeezed = re.sub(r"\s+", "", paper_text)
    assert re.sub(r"\s+", "", paper.title) in squeezed and "判断题" in squeezed and "多项选择题" in squeezed
    assert re.sub(r"\s+", "", _stems(session, paper)[0]) in squeezed
    assert "参考答案" not in squeezed and "解析说明" not in squeezed
    multiple = ["".join(i.key) for i in paper.items if i.item_type == "multiple_choice"]
    assert _letter_runs(paper_text) == []
    assert "参考答案" in re.sub(r"\s+", "", key_text) and _letter_runs(key_text) == multiple
    single = [i.key[0] for i in paper.items if i.item_type == "single_choice"]
    assert re.findall(r"(?<!\S)[A-D](?!\S)", key_text) == single
