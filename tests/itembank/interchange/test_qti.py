"""QTI 2.1 content packages: round trip, structure, and hostile packages.

No QTI 2.1 XSD ships in any package this project may depend on, so instead of schema validation
the structural tests check the elements, attributes and element order that imsqti_v2p1.xsd
requires of what we write (assessmentItem, responseDeclaration, outcomeDeclaration, itemBody,
choiceInteraction, simpleChoice, responseProcessing, modalFeedback) and of the IMS CP manifest.
"""

from __future__ import annotations

import io
import time
import xml.etree.ElementTree as ET
import zipfile

import pytest

from itembank.interchange import InterchangeError, qti
from itembank.items import ItemType

from ._samples import ASSET, ELEMENT_CODES, MONGOLIAN, all_items, multiple_choice, single_choice, true_false

Q = f"{{{qti.QTI_NS}}}"
CP = f"{{{qti.CP_NS}}}"


def _zip(members: dict[str, bytes | str], method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _members(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _export(items=None):
    items = all_items() if items is None else items
    return qti.export_package([(f"bank/item {i}", c) for i, c in enumerate(items)])


def test_round_trip_is_lossless_and_skill_tasks_are_skipped_with_a_note():
    items = all_items()
    notes: list[str] = []
    package = qti.export_package([(f"bank/item {i}", c) for i, c in enumerate(items)], notes=notes)
    assert len(notes) == 1 and notes[0].startswith("bank/item 3")
    result = qti.import_package(package, element_codes=ELEMENT_CODES)
    assert result.errors == []
    assert [i.content for i in result.items] == items[:3]
    assert [i.row_or_ref for i in result.items] == ["bank/item 0", "bank/item 1", "bank/item 2"]
    assert any("bank/item 3" in n for n in result.notes)
    content = result.items[0].content
    assert MONGOLIAN in content.mn.stem and ASSET in content.zh.stem and "<sub>2</sub>" in content.zh.stem


def test_manifest_structure():
    members = _members(_export())
    manifest = ET.fromstring(members["imsmanifest.xml"])
    assert manifest.tag == f"{CP}manifest" and manifest.get("identifier")
    assert [c.tag for c in manifest] == [f"{CP}metadata", f"{CP}organizations", f"{CP}resources"]
    assert manifest.find(f"{CP}metadata/{CP}schema").text == "QTIv2.1 Package"
    resources = manifest.findall(f"{CP}resources/{CP}resource")
    assert len(resources) == 3
    for res in resources:
        assert res.get("type") == "imsqti_item_xmlv2p1" and res.get("identifier")
        assert res.find(f"{CP}file").get("href") == res.get("href") and res.get("href") in members
        assert res.find(f"{CP}metadata/{{{qti.EXT_NS}}}item") is not None


ITEM_ORDER = ["responseDeclaration", "outcomeDeclaration", "itemBody", "responseProcessing", "modalFeedback"]


@pytest.mark.parametrize("content, cardinality, max_choices, choices", [
    (single_choice(), "single", "1", ["A", "B", "C", "D"]),
    (true_false(), "single", "1", ["T", "F"]),
    (multiple_choice(), "multiple", "5", ["A", "B", "C", "D", "E"]),
])
def test_item_structure_follows_qti_2_1(content, cardinality, max_choices, choices):
    root = ET.fromstring(qti.item_xml("item-1", content))
    assert root.tag == f"{Q}assessmentItem"
    for attr in ("identifier", "title", "adaptive", "timeDependent"):
        assert root.get(attr), attr
    local = [c.tag.removeprefix(Q) for c in root]
    assert all(tag in ITEM_ORDER for tag in local)
    assert local == sorted(local, key=ITEM_ORDER.index)  # the XSD's sequence order
    decl = root.find(f"{Q}responseDeclaration")
    assert (decl.get("identifier"), decl.get("cardinality"), decl.get("baseType")) == (
        "RESPONSE", cardinality, "identifier")
    assert [v.text for v in decl.findall(f"{Q}correctResponse/{Q}value")] == list(content.key)
    score = root.find(f"{Q}outcomeDeclaration[@identifier='SCORE']")
    assert score.get("cardinality") == "single" and score.get("baseType") == "float"
    interaction = root.find(f"{Q}itemBody/{Q}choiceInteraction")
    assert interaction.get("responseIdentifier") == "RESPONSE"
    assert interaction.get("maxChoices") == max_choices and interaction.get("shuffle") == "false"
    assert [c.get("identifier") for c in interaction.findall(f"{Q}simpleChoice")] == choices
    assert root.find(f"{Q}responseProcessing").get("template") == qti.MATCH_CORRECT
    for img in root.iter(f"{Q}img"):
        assert img.get("alt") is not None  # required by the XSD
    if content.zh.explanation:
        feedback = root.find(f"{Q}modalFeedback")
        assert feedback.get("outcomeIdentifier") == "FEEDBACK" and feedback.get("showHide") == "show"
        assert root.find(f"{Q}outcomeDeclaration[@identifier='FEEDBACK']") is not None


def test_foreign_package_is_relettered_and_uses_the_default_element_code():
    item = f"""<?xml version="1.0"?>
<assessmentItem xmlns="{qti.QTI_NS}" identifier="q1" title="t" adaptive="false" timeDependent="false">
  <responseDeclaration identifier="RESPONSE" cardinality="multiple" baseType="identifier">
    <correctResponse><value>ChoiceB</value><value>ChoiceC</value></correctResponse>
  </responseDeclaration>
  <itemBody><p>以下哪些是导体（　）</p>
    <choiceInteraction responseIdentifier="RESPONSE" shuffle="true" maxChoices="0">
      <simpleChoice identifier="ChoiceA">木头</simpleChoice><simpleChoice identifier="ChoiceB">铜</simpleChoice>
      <simpleChoice identifier="ChoiceC">铝</simpleChoice><simpleChoice identifier="ChoiceD">玻璃</simpleChoice>
    </choiceInteraction></itemBody>
  <responseProcessing template="{qti.MATCH_CORRECT}"/>
</assessmentItem>"""
    manifest = f"""<manifest xmlns="{qti.CP_NS}" identifier="m"><resources>
  <resource identifier="r1" type="imsqti_item_xmlv2p1" href="q1.xml"><file href="q1.xml"/></resource>
</resources></manifest>"""
    package = _zip({"imsmanifest.xml": manifest, "q1.xml": item})
    missing = qti.import_package(package)
    assert missing.items == [] and missing.errors[0].column == "element_code"
    result = qti.import_package(package, default_element_code="A-02-001")
    assert result.errors == []
    content = result.items[0].content
    assert content.type is ItemType.MULTIPLE_CHOICE and content.key == ("B", "C")
    assert [t for _, t in content.zh.options] == ["木头", "铜", "铝", "玻璃"]
    assert content.zh.stem == "<p>以下哪些是导体（　）</p>"


def test_broken_xml_is_an_interchange_error():
    package = _zip({"imsmanifest.xml": "<manifest><resources>"})
    with pytest.raises(InterchangeError) as info:
        qti.import_package(package)
    assert info.value.code == "interchange.bad_xml"
    members = _members(_export())
    item = next(n for n in members if n.startswith("items/"))
    members[item] = b"<assessmentItem><itemBody></assessmentItem>"
    with pytest.raises(InterchangeError):
        qti.import_package(_zip(members))


XXE = """<?xml version="1.0"?>
<!DOCTYPE manifest [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1">&xxe;</manifest>"""
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<manifest>&lol9;</manifest>"""


@pytest.mark.parametrize("payload", [XXE, LAUGHS])
def test_entity_payloads_are_refused(payload):
    started = time.perf_counter()
    with pytest.raises(InterchangeError) as info:
        qti.import_package(_zip({"imsmanifest.xml": payload}))
    assert info.value.code == "interchange.unsafe_xml"
    assert "passwd" not in str(info.value)
    assert time.perf_counter() - started < 1.0


def test_member_that_inflates_past_the_limit_is_refused_from_its_header():
    package = _zip({"imsmanifest.xml": "<manifest/>", "items/big.xml": b"\0" * 30_000_000})
    assert len(package) < 100_000
    started = time.perf_counter()
    with pytest.raises(InterchangeError) as info:
        qti.import_package(package)
    assert info.value.code == "interchange.unsafe_archive"
    assert time.perf_counter() - started < 0.5


def test_high_compression_ratio_is_refused():
    package = _zip({"imsmanifest.xml": b" " * 2_000_000 + b"<manifest/>"})
    with pytest.raises(InterchangeError) as info:
        qti.import_package(package)
    assert info.value.code == "interchange.unsafe_archive" and "ratio" in info.value.message_en


def test_header_that_understates_the_size_is_caught_while_reading():
    real = b"<manifest/>" + b" " * 200_000
    package = bytearray(_zip({"imsmanifest.xml": real}))
    # Patch the uncompressed size in the central directory and the local header to 11 bytes.
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        at = package.find(signature)
        package[at + offset:at + offset + 4] = (11).to_bytes(4, "little")
    with pytest.raises(InterchangeError) as info:
        qti.import_package(bytes(package))
    assert info.value.code in ("interchange.not_zip", "interchange.unsafe_archive")


def test_too_many_members_and_total_size():
    many = _zip({f"m{i}.xml": "<a/>" for i in range(30)})
    from itembank.interchange._safety import SafeZip, ZipLimits

    with pytest.raises(InterchangeError):
        SafeZip(many, ZipLimits(max_members=20), "QTI")
    with pytest.raises(InterchangeError):
        SafeZip(many, ZipLimits(max_total_bytes=100), "QTI")
    with pytest.raises(InterchangeError) as info:
        qti.import_package(many, max_bytes=10)
    assert info.value.code == "interchange.too_large"


@pytest.mark.parametrize("name", ["../evil.xml", "/etc/evil.xml", "a/../../evil.xml", "C:/evil.xml",
                                  "a\\..\\evil.xml"])
def test_path_traversal_member_is_refused(name):
    with pytest.raises(InterchangeError) as info:
        qti.import_package(_zip({"imsmanifest.xml": "<manifest/>", name: "<a/>"}))
    assert info.value.code == "interchange.unsafe_archive"


def test_manifest_href_outside_the_package_is_refused():
    manifest = f"""<manifest xmlns="{qti.CP_NS}"><resources>
  <resource identifier="r" type="imsqti_item_xmlv2p1" href="../../etc/passwd"/></resources></manifest>"""
    with pytest.raises(InterchangeError) as info:
        qti.import_package(_zip({"imsmanifest.xml": manifest}))
    assert info.value.code == "interchange.unsafe_archive"


def test_not_a_package():
    with pytest.raises(InterchangeError) as info:
        qti.import_package(b"PK\x03\x04 broken")
    assert info.value.code == "interchange.not_zip"
    with pytest.raises(InterchangeError) as info:
        qti.import_package(_zip({"readme.txt": "hi"}))
    assert info.value.code == "interchange.no_manifest"
