"""The item bank's pages: each role sees its pages, the writing and review workflow runs through the
forms, and what users type never reaches a page as live HTML.

Requests run in their own app contexts (the ``site`` fixture sets up data and leaves its context),
so each test client has its own signed-in user.
"""

from __future__ import annotations

import io
import re
from contextlib import contextmanager

import openpyxl
import pytest
from sqlalchemy import func, select

from examsvc.accounts.models import User
from examsvc.audit.models import AuditEvent
from examsvc.bank import service
from examsvc.bank.models import BlueprintVersion, EnemyGroup, ImportJob, Item, ItemVersion
from examsvc.db import get_session
from examsvc.reference.service import load_occupations
from itembank.items import content_from_dict
from tests.bank.conftest import THEORY_L4, single_choice
from tests.conftest import csrf_token_from, login, make_user

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
MONGOLIAN_STEM = "ᠨᠤᠭᠤᠭ᠎ᠠ ᠶᠠᠭᠤ ᠪᠤᠢ ︖"


@contextmanager
def db(app):
    with app.app_context():
        yield get_session()


@pytest.fixture
def site(app):
    """The 中式烹调师 四级 theory blueprint, two writers, two reviewers and a regulator (ids)."""
    with db(app) as session:
        load_occupations(session)
        version, _ = service.load_blueprint_file(session, THEORY_L4, "test")
        session.commit()
        ids = {"blueprint": version.blueprint_id, "codes": service.blueprint_of(version).element_codes}
        for username, role in (("writer1", "item_writer"), ("writer2", "item_writer"), ("reviewer1", "item_reviewer"),
                               ("reviewer2", "item_reviewer"), ("regulator1", "regulator")):
            ids[username] = make_user(session, username, role).id
    return ids


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def token(client) -> str:
    return csrf_token_from(client.get("/login").get_data(as_text=True))


def post(client, url, data=None, **kwargs):
    return client.post(url, data={"csrf_token": token(client), **(data or {})}, **kwargs)


def make_item(app, site, author="writer1", stem="下列原料中，属于植物性原料的是（　）。", code=None, submit=False,
              approve_by=None, **extra):
    with db(app) as session:
        user = session.get(User, site[author])
        fields = {**single_choice(code or site["codes"][0], stem), **extra}
        item = service.create_item(session, blueprint_id=site["blueprint"], content=fields, author=user)
        if submit or approve_by:
            warnings = {f.rule for f in service.findings_for(content_from_dict(item.latest.content),
                                                             item.blueprint) if f.severity == "warning"}
            service.submit_version(session, item.latest, user, warnings)
        if approve_by:
            service.review_version(session, item.latest, session.get(User, site[approve_by]), "approve", "")
        session.commit()
        return item.id


def count(app, model, *where) -> int:
    with db(app) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def latest_status(app, item_id) -> str:
    with db(app) as session:
        return session.get(Item, item_id).latest.status


def editor_form(site, stem, key="B", **extra) -> dict:
    form = {"blueprint_id": str(site["blueprint"]), "type": "single_choice", "element_code": site["codes"][0],
            "key": key, "difficulty_estimate": "0.7", "source": "自编", "zh.stem": stem,
            "zh.options.A": "猪肉", "zh.options.B": "白菜", "zh.options.C": "鲤鱼", "zh.options.D": "鸡蛋",
            "zh.options.E": "", "zh.explanation": "白菜是蔬菜。"}
    form.update(extra)
    return form


# --- every page for its roles ---------------------------------------------------------------

def test_each_page_renders_for_its_roles_and_is_refused_to_others(app, site):
    item_id = make_item(app, site, submit=True)
    writer, reviewer, regulator = (signed_in(app, u) for u in ("writer1", "reviewer1", "regulator1"))
    bp_id, code = site["blueprint"], site["codes"][0]

    page = writer.get("/bank/").get_data(as_text=True)
    assert "试题" in page and "下列原料中，属于植物性原料的是" in page and f"/bank/items/{item_id}" in page
    page = writer.get("/bank/items/new").get_data(as_text=True)
    assert "中式烹调师" in page and 'name="blueprint_id"' in page
    page = writer.get(f"/bank/items/new?blueprint_id={bp_id}").get_data(as_text=True)
    assert f'value="{code}"' in page and 'id="live-findings"' in page and "题干" in page and "保存草稿" in page
    page = writer.get(f"/bank/items/{item_id}").get_data(as_text=True)
    assert "版本历史" in page and "待审题" in page and "白菜" in page
    assert "导入" in writer.get("/bank/import").get_data(as_text=True)
    assert "互斥组" in writer.get("/bank/enemy-groups").get_data(as_text=True)
    page = writer.get("/bank/blueprints").get_data(as_text=True)
    assert "中式烹调师" in page and "覆盖情况" in page and "上传考核蓝图" not in page   # writers do not upload
    assert code in writer.get(f"/bank/blueprints/{bp_id}/coverage").get_data(as_text=True)

    page = reviewer.get("/bank/review").get_data(as_text=True)
    assert "审题" in page and f"/bank/items/{item_id}" in page and "通过" in page and "退回" in page
    assert "上传考核蓝图" in reviewer.get("/bank/blueprints").get_data(as_text=True)

    assert regulator.get("/bank/").status_code == 200
    assert regulator.get(f"/bank/blueprints/{bp_id}/coverage").status_code == 200
    for url in ("/bank/items/new", "/bank/review", "/bank/import", f"/bank/items/{item_id}/edit"):
        assert regulator.get(url).status_code == 403, url
    for url in ("/bank/review",):
        assert writer.get(url).status_code == 403
    for url in ("/bank/items/new", "/bank/import"):
        assert reviewer.get(url).status_code == 403
    assert app.test_client().get("/bank/").status_code == 302  # signed out: to the sign-in page


def test_home_page_lists_the_bank_tasks_of_each_role(app, site):
    writer = signed_in(app, "writer1").get("/").get_data(as_text=True)
    assert "/bank/items/new" in writer and "/bank/import" in writer and f"author_id={site['writer1']}" in writer
    assert "/bank/review" not in writer
    reviewer = signed_in(app, "reviewer1").get("/").get_data(as_text=True)
    assert "/bank/review" in reviewer and "/bank/items/new" not in reviewer and "/bank/blueprints" in reviewer
    regulator = signed_in(app, "regulator1").get("/").get_data(as_text=True)
    assert "/bank/blueprints" in regulator and "/bank/review" not in regulator


def test_item_list_filters_and_reports_a_bad_filter(app, site):
    choice = make_item(app, site)
    tf = make_item(app, site, type="true_false", key="对", zh={"stem": "白菜属于植物性原料。"})
    mongolian = make_item(app, site, stem="下列原料中，属于蔬菜的是（　）。", code=site["codes"][1],
                          mn={"stem": MONGOLIAN_STEM, "options": [("A", "ᠮᠢᠬ᠎ᠠ"), ("B", "ᠨᠤᠭᠤᠭ᠎ᠠ"), ("C", "ᠵᠢᠭᠠᠰᠤ"),
                                                                  ("D", "ᠥᠨᠳᠡᠭᠡ")], "explanation": "ᠨᠤᠭᠤᠭ᠎ᠠ"})
    client = signed_in(app, "reviewer1")

    def listed(query):
        page = client.get(f"/bank/?{query}").get_data(as_text=True)
        return {int(i) for i in re.findall(r'<td><a href="/bank/items/(\d+)">', page)}

    assert listed("") == {choice, tf, mongolian}
    assert listed("type=true_false") == {tf}
    assert listed("language=mn") == {mongolian}
    assert listed(f"element={site['codes'][1]}") == {mongolian}
    assert listed(f"blueprint_id={site['blueprint']}&status=draft&author_id={site['writer1']}") == {choice, tf, mongolian}
    assert listed("status=approved") == set()
    bad = client.get("/bank/?status=lost")
    assert bad.status_code == 422 and "状态" in bad.get_data(as_text=True)


# --- writing ----------------------------------------------------------------------------------

def test_writer_creates_an_item_sees_its_findings_and_submits_with_acknowledgement(app, site):
    writer = signed_in(app, "writer1")
    negative = "下列原料中，不属于动物性原料的是（　）。"  # the negative word is not emphasised: a warning

    live = writer.post("/bank/check", json=editor_form(site, negative), headers={"X-CSRFToken": token(writer)})
    assert live.status_code == 200
    rules = {f["rule"]: f for f in live.get_json()["findings"]}
    assert rules["stem-negative-unemphasised"]["severity"] == "warning"
    assert rules["stem-negative-unemphasised"]["field_label"] == "题干"
    broken = writer.post("/bank/check", json=editor_form(site, negative, key="E"), headers={"X-CSRFToken": token(writer)})
    assert [(f["severity"], f["field"]) for f in broken.get_json()["findings"]] == [("error", "key")]
    assert writer.post("/bank/check", json=editor_form(site, negative)).status_code == 400  # no CSRF header

    created = post(writer, "/bank/items", editor_form(site, negative))
    assert created.status_code == 302
    item_id = int(created.headers["Location"].rsplit("/", 1)[1])
    page = writer.get(f"/bank/items/{item_id}").get_data(as_text=True)
    assert "stem-negative-unemphasised" in page and 'name="acknowledged"' in page and "草稿" in page

    refused = post(writer, f"/bank/items/{item_id}/submit")
    assert refused.status_code == 422 and "尚未确认" in refused.get_data(as_text=True)
    assert latest_status(app, item_id) == "draft"
    with db(app) as session:
        item = session.get(Item, item_id)
        warnings = sorted({f.rule for f in service.findings_for(content_from_dict(item.latest.content),
                                                                item.blueprint) if f.severity == "warning"})
    submitted = writer.post(f"/bank/items/{item_id}/submit", data={"csrf_token": token(writer), "acknowledged": warnings})
    assert submitted.status_code == 302 and latest_status(app, item_id) == "submitted"
    assert "待审题" in writer.get(f"/bank/items/{item_id}").get_data(as_text=True)


def test_a_service_error_re_renders_the_form_with_the_field_and_the_input_and_stores_nothing(app, site):
    writer = signed_in(app, "writer1")
    response = post(writer, "/bank/items", editor_form(site, "我的题干保留着（　）。", key="E"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<strong>答案</strong>" in page and "答案字母不在选项中" in page
    assert "我的题干保留着（　）。" in page and 'value="E"' in page and 'id="key" name="key" value="E" aria-invalid="true"' in page
    assert count(app, Item) == 0 and count(app, ItemVersion) == 0
    rubric = post(writer, "/bank/items", editor_form(site, "操作题", key="", type="skill_task", **{
        "zh.options.A": "", "zh.options.B": "", "zh.options.C": "", "zh.options.D": "", "skill.rubric": "只有一列"}))
    assert rubric.status_code == 422 and "评分标准" in rubric.get_data(as_text=True) and count(app, Item) == 0


def test_edits_after_approval_are_new_versions_and_the_diff_shows_the_changed_stem(app, site):
    item_id = make_item(app, site, approve_by="reviewer1")
    writer = signed_in(app, "writer2")
    edit = writer.get(f"/bank/items/{item_id}/edit").get_data(as_text=True)
    assert "下列原料中，属于植物性原料的是（　）。" in edit and "第 2 版" in edit
    saved = post(writer, f"/bank/items/{item_id}/edit", editor_form(site, "下列原料中，属于叶菜类蔬菜的是（　）。"))
    assert saved.status_code == 302
    with db(app) as session:
        versions = session.get(Item, item_id).versions
        assert [(v.number, v.status) for v in versions] == [(1, "approved"), (2, "draft")]
    diff = writer.get(f"/bank/items/{item_id}/diff").get_data(as_text=True)
    assert "题干" in diff and "属于植物性原料" in diff and "属于叶菜类蔬菜" in diff
    assert "<del>植物性原料</del>" in diff and "<ins>叶菜类蔬菜</ins>" in diff
    same = writer.get(f"/bank/items/{item_id}/diff?from=1&to=1").get_data(as_text=True)
    assert "内容相同" in same
    assert writer.get(f"/bank/items/{item_id}/diff?from=1&to=7").status_code == 404
    again = post(writer, f"/bank/items/{item_id}/edit", editor_form(site, "下列原料中，属于叶菜类蔬菜的是（　）。"))
    assert again.status_code == 409 and "内容没有变化" in again.get_data(as_text=True)


# --- review -----------------------------------------------------------------------------------

def test_reviewer_approves_and_returns_from_the_queue(app, site):
    first = make_item(app, site, submit=True)
    second = make_item(app, site, stem="下列原料中，属于叶菜类的是（　）。", submit=True)
    own = make_item(app, site, author="reviewer1", stem="下列原料中，属于根菜类的是（　）。", submit=True)
    reviewer = signed_in(app, "reviewer1")
    queue = reviewer.get("/bank/review").get_data(as_text=True)
    assert f"/bank/items/{first}" in queue and f"/bank/items/{second}" in queue
    assert f"/bank/items/{own}" not in queue  # four-eyes: never one's own version
    assert "命题规范" in queue

    with db(app) as session:
        v1, v2, v_own = (session.get(Item, i).latest.id for i in (first, second, own))
    approved = post(reviewer, f"/bank/versions/{v1}/review", {"decision": "approve", "comments": ""})
    assert approved.status_code == 302 and latest_status(app, first) == "approved"
    no_comment = post(reviewer, f"/bank/versions/{v2}/review", {"decision": "return", "comments": " "})
    assert no_comment.status_code == 422 and "退回时须填写修改意见" in no_comment.get_data(as_text=True)
    assert latest_status(app, second) == "submitted"
    returned = post(reviewer, f"/bank/versions/{v2}/review", {"decision": "return", "comments": "干扰项C不合理"})
    assert returned.status_code == 302 and latest_status(app, second) == "returned"
    assert "干扰项C不合理" in signed_in(app, "writer1").get(f"/bank/items/{second}").get_data(as_text=True)
    mine = post(reviewer, f"/bank/versions/{v_own}/review", {"decision": "approve"})
    assert mine.status_code == 422 and "不能审核自己编写的试题版本" in mine.get_data(as_text=True)
    assert latest_status(app, own) == "submitted"
    assert "没有等待您审核的试题" in reviewer.get("/bank/review").get_data(as_text=True)


def test_a_writer_cannot_review(app, site):
    item_id = make_item(app, site, author="writer2", submit=True)
    with db(app) as session:
        version_id = session.get(Item, item_id).latest.id
    writer = signed_in(app, "writer1")
    assert writer.get("/bank/review").status_code == 403
    refused = post(writer, f"/bank/versions/{version_id}/review", {"decision": "approve"})
    assert refused.status_code == 403 and latest_status(app, item_id) == "submitted"
    assert "/review" not in writer.get(f"/bank/items/{item_id}").get_data(as_text=True).split("</nav>", 2)[-1]


# --- blueprints, coverage, enemy groups -------------------------------------------------------

def test_coverage_marks_short_elements_red_and_turns_a_near_duplicate_into_an_enemy_group(app, site):
    full, thin = site["codes"][0], site["codes"][1]
    stems = ["下列原料中，属于植物性原料的是（　）。", "下列蔬菜中，属于叶菜类的是（　）。",
             "下列调料中，属于咸味调料的是（　）。", "下列刀法中，属于直刀法的是（　）。"]
    kept = [make_item(app, site, stem=s, code=full, approve_by="reviewer1") for s in stems]
    near = make_item(app, site, stem="下列原料中，属于植物性原料的是（　）？", code=full, approve_by="reviewer1")
    make_item(app, site, stem="烹调中旺火的作用是（　）。", code=thin, approve_by="reviewer1")
    writer = signed_in(app, "writer1")
    page = writer.get(f"/bank/blueprints/{site['blueprint']}/coverage").get_data(as_text=True)
    rows = {m.group(2): m.group(1) for m in re.finditer(r'<tr( class="short")?>\s*<td><code>([^<]+)</code>', page)}
    assert rows[full] is None and rows[thin] == ' class="short"'
    assert "差 3 道" in page and "答案均衡" in page and "难度分布" in page
    assert f'value="{kept[0]} {near}"' in page  # the near-duplicate pair, offered as an enemy group

    made = post(writer, "/bank/enemy-groups", {"item_ids": f"{kept[0]} {near}", "name": "近似重复", "reason": "相似",
                                                "coverage_of": str(site["blueprint"])})
    assert made.status_code == 302 and made.headers["Location"].endswith(f"/bank/blueprints/{site['blueprint']}/coverage")
    assert count(app, EnemyGroup) == 1
    assert "已在互斥组中" in writer.get(f"/bank/blueprints/{site['blueprint']}/coverage").get_data(as_text=True)
    assert "近似重复" in writer.get("/bank/enemy-groups").get_data(as_text=True)
    assert "近似重复" in writer.get(f"/bank/items/{near}").get_data(as_text=True)
    bad = post(writer, "/bank/enemy-groups", {"item_ids": "12, x", "name": "n"})
    assert bad.status_code == 422 and "试题编号" in bad.get_data(as_text=True) and 'value="12, x"' in bad.get_data(as_text=True)
    one = post(writer, "/bank/enemy-groups", {"item_ids": str(near)})
    assert one.status_code == 422 and "至少包含两道试题" in one.get_data(as_text=True) and count(app, EnemyGroup) == 1


def test_reviewer_uploads_a_blueprint_and_sees_every_problem_of_a_broken_one(app, site):
    reviewer = signed_in(app, "reviewer1")
    text = THEORY_L4.read_text(encoding="utf-8")
    broken = text.replace('occupation_code = "4-03-02-01"', 'occupation_code = "1-01-01-01"')
    response = post(reviewer, "/bank/blueprints", {"file": (io.BytesIO(broken.encode()), "broken.toml")},
                    content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "broken.toml" in page and "occupation_code" in page and "未保存" in page
    assert count(app, BlueprintVersion) == 1
    revised = text.replace("duration_minutes = 90", "duration_minutes = 120")
    stored = post(reviewer, "/bank/blueprints", {"file": (io.BytesIO(revised.encode()), "cook.toml")},
                  content_type="multipart/form-data")
    assert stored.status_code == 302 and count(app, BlueprintVersion) == 2
    assert "第 2 版" in reviewer.get("/bank/blueprints").get_data(as_text=True)
    writer = signed_in(app, "writer1")
    assert post(writer, "/bank/blueprints", {"file": (io.BytesIO(revised.encode()), "w.toml")},
                content_type="multipart/form-data").status_code == 403


# --- import and export ------------------------------------------------------------------------

def _workbook(rows) -> bytes:
    from itembank.interchange.excel import COLUMNS, blank_template

    book = openpyxl.load_workbook(io.BytesIO(blank_template()))
    sheet = book["试题"]
    for number, values in enumerate(rows, start=2):
        for column, name in enumerate(COLUMNS, start=1):
            if values.get(name) not in (None, ""):
                sheet.cell(row=number, column=column, value=values[name])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_excel_import_reports_bad_rows_and_imports_nothing_until_the_valid_rows_are_chosen(app, site):
    code = site["codes"][0]
    good = {"题型": "单选", "题干": "下列原料中，属于植物性原料的是（　）。", "选项A": "猪肉", "选项B": "白菜",
            "选项C": "鲤鱼", "选项D": "鸡蛋", "答案": "B", "鉴定点代码": code, "难度": 0.7, "解析": "白菜是蔬菜。"}
    bad = {**good, "题干": "下列原料中，属于水产品的是（　）。", "答案": "Z"}
    writer = signed_in(app, "writer1")
    template = writer.get("/bank/template.xlsx")
    assert template.status_code == 200 and template.data.startswith(b"PK")
    assert "spreadsheetml" in template.headers["Content-Type"]

    uploaded = post(writer, "/bank/import", {"blueprint_id": str(site["blueprint"]), "format": "excel",
                                             "file": (io.BytesIO(_workbook([good, bad])), "items.xlsx")},
                    content_type="multipart/form-data")
    assert uploaded.status_code == 302
    job_url = uploaded.headers["Location"]
    report = writer.get(job_url).get_data(as_text=True)
    assert re.search(r"<td>3</td><td>答案</td><td>[^<]+</td>", report), report
    assert "导入正确的行" in report and count(app, Item) == 0

    everything = post(writer, f"{job_url}/confirm")
    assert everything.status_code == 422 and "只导入正确的行" in everything.get_data(as_text=True)
    assert count(app, Item) == 0
    chosen = post(writer, f"{job_url}/confirm", {"valid_rows_only": "1"})
    assert chosen.status_code == 302 and count(app, Item) == 1
    assert count(app, ItemVersion, ItemVersion.status == "submitted") == 1
    assert "1 道试题已导入" in writer.get(job_url).get_data(as_text=True)
    assert post(writer, f"{job_url}/confirm", {"valid_rows_only": "1"}).status_code == 409  # imports once
    other = signed_in(app, "writer2")
    assert "导入正确的行" not in other.get(job_url).get_data(as_text=True)

    not_excel = post(writer, "/bank/import", {"blueprint_id": str(site["blueprint"]), "format": "excel",
                                              "file": (io.BytesIO(b"not a workbook"), "items.xlsx")},
                     content_type="multipart/form-data")
    assert not_excel.status_code == 422 and "<strong>文件</strong>" in not_excel.get_data(as_text=True)
    assert count(app, ImportJob) == 1


def test_export_downloads_the_bank_and_is_audited(app, site):
    make_item(app, site, approve_by="reviewer1")
    reader = signed_in(app, "regulator1")
    excel = reader.get(f"/bank/blueprints/{site['blueprint']}/export?format=excel")
    assert excel.status_code == 200 and excel.data.startswith(b"PK") and "attachment" in excel.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(excel.data))["试题"]
    assert sheet.cell(row=2, column=2).value == "下列原料中，属于植物性原料的是（　）。"
    qti = reader.get(f"/bank/blueprints/{site['blueprint']}/export?format=qti")
    assert qti.status_code == 200 and qti.headers["Content-Type"] == "application/zip"
    assert reader.get(f"/bank/blueprints/{site['blueprint']}/export?format=pdf").status_code == 422
    assert count(app, AuditEvent, AuditEvent.action == "bank.export") == 2


# --- images and untrusted text ----------------------------------------------------------------

def test_an_uploaded_image_round_trips_and_a_non_image_is_refused(app, site):
    writer = signed_in(app, "writer1")
    page = post(writer, "/bank/assets", {"image": (io.BytesIO(PNG), "figure.png")}, content_type="multipart/form-data")
    text = page.get_data(as_text=True)
    digest = re.search(r"asset:([0-9a-f]{64})", text).group(1)
    assert page.status_code == 200 and f"/bank/assets/{digest}" in text
    as_json = writer.post("/bank/assets", data={"image": (io.BytesIO(PNG), "again.png")},
                          headers={"X-CSRFToken": token(writer), "Accept": "application/json"},
                          content_type="multipart/form-data")
    assert as_json.status_code == 201 and as_json.get_json()["reference"] == f"asset:{digest}"

    served = signed_in(app, "regulator1").get(as_json.get_json()["url"])
    assert served.status_code == 200 and served.data == PNG
    assert served.headers["Content-Type"] == "image/png" and served.headers["X-Content-Type-Options"] == "nosniff"
    assert writer.get("/bank/assets/" + "0" * 64).status_code == 404
    assert writer.get("/bank/assets/not-a-hash").status_code == 404

    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    refused = post(writer, "/bank/assets", {"image": (io.BytesIO(svg), "figure.png")}, content_type="multipart/form-data")
    assert refused.status_code == 422 and "只接受 PNG、JPEG 或 GIF 图片" in refused.get_data(as_text=True)
    refused = writer.post("/bank/assets", data={"image": (io.BytesIO(svg), "x.svg")},
                          headers={"X-CSRFToken": token(writer), "Accept": "application/json"},
                          content_type="multipart/form-data")
    assert refused.status_code == 422 and refused.get_json()["field"] == "image"

    item_id = make_item(app, site, stem=f'<p>看图回答（　）。</p><img src="asset:{digest}" alt="">')
    assert f'<img src="/bank/assets/{digest}"' in writer.get(f"/bank/items/{item_id}").get_data(as_text=True)


def test_script_in_a_stem_never_reaches_a_page_unescaped(app, site):
    writer = signed_in(app, "writer1")
    hostile = '<script>alert("stem")</script><p onclick="alert(1)">下列原料中，属于植物性原料的是（　）。</p><img src=x onerror=alert(2)>'
    live = writer.post("/bank/check", json=editor_form(site, hostile, element_code="<script>alert(3)</script>"),
                       headers={"X-CSRFToken": token(writer)})
    assert live.status_code == 200
    created = post(writer, "/bank/items", editor_form(site, hostile, **{"zh.options.C": "<script>alert(4)</script>鲤鱼"}))
    item_id = int(created.headers["Location"].rsplit("/", 1)[1])
    with db(app) as session:  # and even if raw HTML got into storage some other way
        version = session.get(Item, item_id).latest
        version.content = {**version.content, "zh": {**version.content["zh"],
                                                     "explanation": '<script>alert("stored")</script>解析'}}
        session.commit()
    post(writer, f"/bank/items/{item_id}/submit", {"acknowledged": ["stem-not-question"]})
    reviewer = signed_in(app, "reviewer1")
    pages = [writer.get(f"/bank/items/{item_id}"), writer.get("/bank/"), writer.get(f"/bank/items/{item_id}/edit"),
             reviewer.get("/bank/review"),
             post(writer, "/bank/items", editor_form(site, hostile, key="E"))]  # the re-rendered form
    live_handler = re.compile(r"<[^<>]*\bon(error|click)\s*=", re.IGNORECASE)  # inside a real tag, not escaped text
    for response in pages:
        html = response.get_data(as_text=True)
        assert "<script>alert" not in html and not live_handler.search(html), response.request.path
    assert "下列原料中，属于植物性原料的是" in pages[0].get_data(as_text=True)
    assert "&lt;script&gt;" in pages[2].get_data(as_text=True)  # what the writer typed stays visible, as text


def test_mongolian_text_is_set_vertically_in_a_mongolian_font(app, site):
    item_id = make_item(app, site, mn={"stem": MONGOLIAN_STEM,
                                       "options": [("A", "ᠮᠢᠬ᠎ᠠ"), ("B", "ᠨᠤᠭᠤᠭ᠎ᠠ"), ("C", "ᠵᠢᠭᠠᠰᠤ"), ("D", "ᠥᠨᠳᠡᠭᠡ")],
                                       "explanation": "ᠨᠤᠭᠤᠭ᠎ᠠ"})
    page = signed_in(app, "writer1").get(f"/bank/items/{item_id}").get_data(as_text=True)
    assert MONGOLIAN_STEM in page and '<div class="mn" lang="mn-Mong">' in page
    assert "writing-mode:vertical-lr" in page and '"Noto Sans Mongolian"' in page
