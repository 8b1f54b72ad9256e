"""The PDF helpers, the printable paper's structure and the information chart."""

import logging

from sqlalchemy import select

from examsvc import pdf
from examsvc.papers import printing
from examsvc.papers.chart import information_chart
from examsvc.papers.models import AssemblyRun
from examsvc.papers.service import start_assembly
from examsvc.jobs.service import run_pending


def test_without_a_truetype_cjk_font_the_builtin_cid_font_is_used_and_said(tmp_path, caplog):
    not_truetype = tmp_path / "broken.ttf"
    not_truetype.write_bytes(b"OTTO" + bytes(100))  # a CFF header: reportlab cannot embed it
    with caplog.at_level(logging.INFO, logger="examsvc.pdf"):
        name = pdf.cjk_font_name([(str(tmp_path / "missing.ttc"), 0), (str(not_truetype), 0)])
    assert name == pdf.CID_FALLBACK
    assert "not usable" in caplog.text and "STSong-Light" in caplog.text


def test_the_machine_font_renders_chinese_into_an_a4_pdf():
    name = pdf.cjk_font_name()
    data = pdf.render([pdf.paragraph("中式烹调师 <理论> & 知识", pdf.styles()["body"])], title="测试",
                      footer=lambda page: f"第 {page} 页")
    assert data.startswith(b"%PDF") and b"/MediaBox [ 0 0 595.2756 841.8898 ]" in data
    if name == pdf.FONT_NAME:
        assert b"/FontFile2" in data  # embedded TrueType subset
    assert pdf.markup("a < b & c\nd") == "a &lt; b &amp; c<br/>d"


def test_the_printable_paper_has_sections_and_keys_only_when_asked(app, session, papers_world):
    run = start_assembly(session, institution=papers_world["A"], blueprint_version=papers_world["version"], forms=1,
                         overrides={"seed": 3, "time_limit": 30}, actor=papers_world["admin"])
    session.commit()
    with app.app_context():
        run_pending()
    session.expire_all()
    paper = session.scalar(select(AssemblyRun).where(AssemblyRun.id == run.id)).papers[0]
    with app.test_request_context():
        doc = printing.printable_paper(session, paper)
        keyed = printing.printable_paper(session, paper, with_key=True)
        assert [(s.item_type, s.first, s.last, s.points_each, s.total) for s in doc.sections] == [
            ("true_false", 1, 20, 1, 20), ("single_choice", 21, 80, 1, 60), ("multiple_choice", 81, 90, 2, 20)]
        assert all(item.key == () for s in doc.sections for item in s.items)
        assert [list(i.key) for s in keyed.sections for i in s.items] == [i.key for i in paper.items]
        assert printing.section_heading(doc.sections[2]) == "三、多项选择题"
        assert "错选、少选、多选均不得分" in printing.section_instruction(doc.sections[2], "all_or_nothing")
        assert "不得分" not in printing.section_instruction(doc.sections[2], "partial")
        assert printing.pdf_text('<p>看图<img src="asset:' + "0" * 64 + '" alt="">回答</p>') == "看图 ［图］ 回答"


def test_the_information_chart_spans_its_axes_and_says_when_it_is_approximate():
    theta = [-3, -2, -1, 0, 1, 2, 3]
    chart = information_chart({"theta": theta, "information": [1, 4, 9, 10.5, 9, 4, 1],
                               "sem": [1.0, 0.5, 0.333, 0.309, 0.333, 0.5, 1.0], "basis": "rasch_from_p"})
    assert chart.approximate and chart.peak_theta == 0 and chart.peak_information == 10.5
    assert [label for _y, label in chart.information_ticks] == ["0", "2.5", "5", "7.5", "10", "12.5"]
    xs = [float(p.split(",")[0]) for p in chart.information_points.split()]
    ys = [float(p.split(",")[1]) for p in chart.information_points.split()]
    assert xs[0] == chart.left and xs[-1] == chart.right and all(chart.top <= y <= chart.bottom for y in ys)
    assert information_chart(None) is None
    assert not information_chart({"theta": [0, 1], "information": [1, 2], "sem": [1, 0.7], "basis": "irt"}).approximate
