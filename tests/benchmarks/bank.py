"""Benchmark: importing and checking a 10,000-item bank.

Builds a 10,000-item Excel file (fixed seed) for the shipped 中式烹调师 四级 blueprint, then times
1. reading it with full specification checks (``itembank.interchange.excel.read_items``);
2. the whole import into a fresh SQLite database: validate, then confirm (one transaction);
3. the bank-level checks of the 10,000 items, near-duplicate detection included (``check_bank``),
   and the same on 2,500 items, so the growth from 2,500 to 10,000 items shows the scaling
   (4.0 means linear; quadratic would be 16).
Prints one JSON line. Target (issue 3): 10,000 items imported and checked in under 20 s.

Run: ``python tests/benchmarks/bank.py [--items N]``
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from examsvc import create_app  # noqa: E402
from examsvc.accounts.service import create_user  # noqa: E402
from examsvc.bank.imports import confirm_import, validate_import  # noqa: E402
from examsvc.bank.service import blueprint_of, load_blueprint_file  # noqa: E402
from examsvc.db import unit_of_work  # noqa: E402
from examsvc.migrate import upgrade  # noqa: E402
from examsvc.reference.service import load_occupations  # noqa: E402
from itembank.blueprint import load_blueprint  # noqa: E402
from itembank.interchange.excel import read_items, write_items  # noqa: E402
from itembank.items import build_content  # noqa: E402
from itembank.spec import check_bank  # noqa: E402

BLUEPRINT = ROOT / "blueprints" / "4-03-02-01_L4_theory.toml"
WORDS = ("原料", "刀工", "火候", "调味", "勾芡", "挂糊", "上浆", "焯水", "过油", "蒸制", "烧制", "炖制", "冷菜",
         "热菜", "面点", "营养", "卫生", "成本", "毛利", "菜肴", "汤汁", "色泽", "香味", "口感", "质地", "刀法",
         "切片", "切丝", "切丁", "花刀", "油温", "淀粉", "食盐", "酱油", "味精", "香料", "腌制", "冷藏", "解冻",
         "初加工", "干货", "涨发", "禽类", "畜肉", "水产", "蔬菜", "菌类", "豆制品", "蛋品", "乳品")


def synthetic_items(n: int, codes: tuple[str, ...], rng: random.Random) -> list:
    items = []
    for i in range(n):
        stem_words = "、".join(rng.sample(WORDS, 6))
        options = [("ABCD"[j], "".join(rng.sample(WORDS, 2)) + f"{rng.randint(10, 99)}") for j in range(4)]
        items.append(build_content(
            type="single_choice", element_code=codes[i % len(codes)], key="ABCD"[rng.randrange(4)],
            zh={"stem": f"关于{stem_words}的说法，正确的是（　）。第{i}题", "options": options,
                "explanation": "依据烹饪工艺学。"},
            difficulty_estimate=round(rng.uniform(0.3, 0.9), 2), source="benchmark"))
    return items


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(20261126)
    model = load_blueprint(BLUEPRINT)
    codes = model.element_codes
    items = synthetic_items(args.items, codes, rng)
    xlsx = write_items(items)

    started = time.perf_counter()
    result = read_items(xlsx, element_codes=set(codes))
    read_seconds = time.perf_counter() - started
    assert len(result.items) == args.items and not result.errors, result.errors[:3]

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "INSTANCE_PATH": tmp,
                          "SECRET_KEY": "benchmark-" + "x" * 32})
        with app.app_context():
            upgrade(app)
            with unit_of_work() as session:
                load_occupations(session)
                version, _ = load_blueprint_file(session, BLUEPRINT, "benchmark")
                writer = create_user(session, username="bench", password="benchmark-pw", display_name="bench",
                                     roles=[("item_writer", None)])
            started = time.perf_counter()
            with unit_of_work() as session:
                job = validate_import(session, version.blueprint, "excel", "bank.xlsx", xlsx, writer)
            with unit_of_work() as session:
                job = session.merge(job)
                imported = confirm_import(session, job, session.merge(writer))
            import_seconds = time.perf_counter() - started
            assert imported == args.items
            assert blueprint_of(version).element_codes == codes

    pairs = [(str(i), content) for i, content in enumerate(items)]
    started = time.perf_counter()
    report = check_bank(pairs, element_codes=set(codes))
    bank_seconds = time.perf_counter() - started
    quarter = pairs[: len(pairs) // 4]
    started = time.perf_counter()
    check_bank(quarter, element_codes=set(codes))
    quarter_seconds = time.perf_counter() - started

    print(json.dumps({
        "benchmark": "bank",
        "items": args.items,
        "excel_read_and_spec_check_s": round(read_seconds, 2),
        "excel_read_items_per_s": round(args.items / read_seconds),
        "import_validate_and_confirm_s": round(import_seconds, 2),
        "import_items_per_s": round(args.items / import_seconds),
        "check_bank_s": round(bank_seconds, 2),
        "check_bank_items_per_s": round(args.items / bank_seconds),
        "check_bank_quarter_s": round(quarter_seconds, 2),
        "check_bank_growth_quarter_to_full": round(bank_seconds / quarter_seconds, 2),
        "near_duplicates": len(report.near_duplicates),
        "import_plus_bank_check_s": round(import_seconds + bank_seconds, 2),
        "target_s": 20,
        "meets_target": import_seconds + bank_seconds < 20,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
