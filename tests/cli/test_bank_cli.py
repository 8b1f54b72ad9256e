"""`examsvc blueprints load`, `examsvc items import/export`, `examsvc papers assemble`."""

from sqlalchemy import func, select

from examsvc.bank.models import BlueprintVersion, Item
from itembank.interchange.excel import read_items, write_items
from itembank.items import build_content
from tests.bank.conftest import THEORY_L4, single_choice
from tests.cli.test_cli import examsvc  # noqa: F401  (the in-process runner fixture)
from tests.conftest import make_user

BLUEPRINTS = THEORY_L4.parent


def test_blueprints_load_all_or_nothing(examsvc, database_url, session, world, tmp_path):  # noqa: F811
    result = examsvc("blueprints", "load", str(BLUEPRINTS), database_url=database_url)
    assert result.code == 0, result.err
    shipped = len(list(BLUEPRINTS.glob("*.toml")))  # every shipped blueprint, whatever their number
    assert shipped >= 3 and result.out.count("new version 1") == shipped
    again = examsvc("blueprints", "load", str(THEORY_L4), database_url=database_url)
    assert again.code == 0 and "unchanged (version 1)" in again.out
    broken = tmp_path / "broken.toml"
    broken.write_text(THEORY_L4.read_text(encoding="utf-8").replace("duration_minutes = 90", "duration_minutes = 30"),
                      encoding="utf-8")
    revised = tmp_path / THEORY_L4.name
    revised.write_text(THEORY_L4.read_text(encoding="utf-8").replace("duration_minutes = 90", "duration_minutes = 120"),
                       encoding="utf-8")
    failed = examsvc("blueprints", "load", str(revised), str(broken), database_url=database_url)
    assert failed.code == 1 and "duration_min" in failed.err and "nothing was loaded" in failed.err
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(BlueprintVersion)) == shipped  # not even the good revision


def test_items_import_refuses_bad_rows_then_imports_valid_rows_and_exports(examsvc, database_url, session, world,  # noqa: F811
                                                                           tmp_path):
    make_user(session, "writer", "item_writer")
    assert examsvc("blueprints", "load", str(THEORY_L4), database_url=database_url).code == 0
    codes = ["A-02-02-002", "NO-SUCH"]
    upload = tmp_path / "items.xlsx"
    upload.write_bytes(write_items([build_content(**single_choice(code)) for code in codes]))
    refused = examsvc("items", "import", str(upload), "--blueprint", "4-03-02-01/4/theory", "--user", "writer",
                      database_url=database_url)
    assert refused.code == 1 and "row 3, 鉴定点代码" in refused.err and "nothing imported" in refused.err
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Item)) == 0
    done = examsvc("items", "import", str(upload), "--blueprint", "4-03-02-01/4/theory", "--user", "writer",
                   "--valid-rows-only", database_url=database_url)
    assert done.code == 0 and "imported 1 item(s)" in done.out
    out = tmp_path / "export.xlsx"
    exported = examsvc("items", "export", "--blueprint", "4-03-02-01/四级/theory", "--format", "excel",
                       "--all-versions", "-o", str(out), database_url=database_url)
    assert exported.code == 0, exported.err
    assert [i.content.element_code for i in read_items(out.read_bytes()).items] == ["A-02-02-002"]
    unknown = examsvc("items", "export", "--blueprint", "1-01-01-01/4/theory", "--format", "qti", "-o", str(out),
                      database_url=database_url)
    assert unknown.code != 0 and "no blueprint" in unknown.err
