"""Sample items shared by the interchange tests: one of each type, rich text and Mongolian text."""

from __future__ import annotations

from itembank.items import build_content

ASSET = "asset:" + "ab" * 32
MONGOLIAN = "ᠮᠣᠩᠭᠣᠯ"


def single_choice(code: str = "A-01-001"):
    return build_content(
        type="single_choice", element_code=code, key="B", difficulty_estimate=0.65, source="2024 题库",
        zh={"stem": f'<p>钳形电流表测量时，被测导线应置于<strong>钳口中央</strong>，读数单位是（　）</p>'
                    f'<p><img src="{ASSET}">H<sub>2</sub>O &amp; x&lt;y</p>',
            "options": [("A", "伏特 V"), ("B", "安培 A"), ("C", "欧姆 Ω"), ("D", "瓦特 W")],
            "explanation": "<p>电流的单位是<em>安培</em>。</p>"},
        mn={"stem": f"<p>{MONGOLIAN} ᠬᠡᠯᠡ？</p>",
            "options": [("A", "ᠠ"), ("B", "ᠡ"), ("C", "ᠢ"), ("D", "ᠣ")],
            "explanation": f"{MONGOLIAN} ᠲᠠᠶᠢᠯᠪᠤᠷᠢ"},
    )


def true_false(code: str = "A-01-002"):
    return build_content(type="true_false", element_code=code, key="F",
                         zh={"stem": "交流电的频率在我国是 60 Hz。", "explanation": "应为 50 Hz。"},
                         difficulty_estimate=0.8)


def multiple_choice(code: str = "A-02-001"):
    return build_content(
        type="multiple_choice", element_code=code, key="ACD",
        zh={"stem": "下列属于安全电压等级的有（　）",
            "options": [("A", "36 V"), ("B", "220 V"), ("C", "24 V"), ("D", "12 V"), ("E", "380 V")]},
    )


def skill_task(code: str = "B-01-001"):
    return build_content(
        type="skill_task", element_code=code, zh={"stem": "<p>安装并调试单相电能表计量电路。</p>"},
        skill={"materials": "<p>电能表 1 块，导线若干</p>", "time_minutes": 60,
               "rubric": [{"code": "1", "description": "接线正确", "points": 40, "deduction": "每错一处扣 10 分"},
                          {"code": "2", "description": "通电试验|记录", "points": 60.5}]},
    )


def all_items():
    return [single_choice(), true_false(), multiple_choice(), skill_task()]


ELEMENT_CODES = {"A-01-001", "A-01-002", "A-02-001", "B-01-001"}
