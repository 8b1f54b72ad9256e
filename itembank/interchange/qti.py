"""IMS QTI 2.1 content packages: one ``assessmentItem`` per choice item plus ``imsmanifest.xml``.

Export
    Single choice and true/false become a ``choiceInteraction`` with ``maxChoices="1"`` (true/false
    as the two choices ``T`` 正确 and ``F`` 错误), multiple choice one with ``maxChoices`` equal to
    the number of options; the key is the ``correctResponse`` and scoring uses the standard
    ``match_correct`` response-processing template. The explanation (解析) is a ``modalFeedback``
    with identifier ``EXPLANATION``. What QTI has no place for (element code, difficulty
    estimate, source, the Mongolian variant, the item reference) is kept in the manifest, in each
    resource's ``<metadata>`` under the extension namespace :data:`EXT_NS`, so a package written
    here imports back to equal content. Skill tasks have no QTI choice form: they are skipped and
    listed as ``<ext:skipped>`` in the manifest metadata (and in ``notes`` when given).

Import
    Reads packages from this module and plain QTI 2.x packages from other tools (choices are
    re-lettered A, B, C ... in order; identifiers ``T``/``F`` mean true/false). The archive is
    bounded (:class:`~itembank.interchange._safety.ZipLimits`) and XML is parsed without DTDs or
    entities.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from typing import Sequence

from itembank.interchange import ImportResult, InterchangeError, RowError
from itembank.interchange._common import build_and_check, parse_true_false
from itembank.interchange._safety import SafeZip, ZipLimits, load_input, parse_xml
from itembank.interchange._xhtml import append_html, inner_html, local, xml_text
from itembank.items import ItemType, plain_text

QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
MD_NS = "http://ltsc.ieee.org/xsd/LOM"
QTIMD_NS = "http://www.imsglobal.org/xsd/imsqti_metadata_v2p1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
EXT_NS = "urn:x-itembank:qti-extension:1"
MATCH_CORRECT = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct"
ITEM_RESOURCE = "imsqti_item_xmlv2p1"
QTI_LIMITS = ZipLimits(max_members=25_000, max_member_bytes=10_000_000,
                       max_total_bytes=200_000_000, max_ratio=100.0)
MAX_PACKAGE_BYTES = 50_000_000
_TF_TEXT = {"T": "正确", "F": "错误"}
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")

for _prefix, _uri in (("imsmd", MD_NS), ("imsqti", QTIMD_NS), ("ext", EXT_NS), ("xsi", XSI_NS)):
    ET.register_namespace(_prefix, _uri)


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _tostring(root: ET.Element) -> bytes:
    # The document's own namespace is the default one: its elements are built unqualified and the
    # root carries ``xmlns`` (ElementTree's default_namespace option rejects plain attributes).
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")


# ---------------------------------------------------------------------------------------- export


def _identifier(ref: str, used: set[str]) -> str:
    base = ref if _NCNAME.fullmatch(ref) and len(ref) <= 64 else (
        "item-" + hashlib.sha256(ref.encode("utf-8")).hexdigest()[:16])
    ident, n = base, 1
    while ident in used:
        n += 1
        ident = f"{base}-{n}"
    used.add(ident)
    return ident


def item_xml(identifier: str, content) -> bytes:
    """One ``assessmentItem`` document (QTI 2.1) for a true/false or choice item."""
    multiple = content.type is ItemType.MULTIPLE_CHOICE
    choices = (list(_TF_TEXT.items()) if content.type is ItemType.TRUE_FALSE
               else list(content.zh.options))
    root = ET.Element("assessmentItem", {
        "xmlns": QTI_NS,
        f"{{{XSI_NS}}}schemaLocation": f"{QTI_NS} http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd",
        "identifier": identifier,
        "title": xml_text(plain_text(content.zh.stem)[:60]) or identifier,
        "adaptive": "false", "timeDependent": "false", f"{{{XML_NS}}}lang": "zh-CN",
    })
    decl = ET.SubElement(root, "responseDeclaration", {
        "identifier": "RESPONSE", "cardinality": "multiple" if multiple else "single",
        "baseType": "identifier"})
    correct = ET.SubElement(decl, "correctResponse")
    for letter in content.key:
        ET.SubElement(correct, "value").text = letter
    score = ET.SubElement(root, "outcomeDeclaration",
                          {"identifier": "SCORE", "cardinality": "single", "baseType": "float"})
    ET.SubElement(ET.SubElement(score, "defaultValue"), "value").text = "0"
    if content.zh.explanation:
        ET.SubElement(root, "outcomeDeclaration",
                      {"identifier": "FEEDBACK", "cardinality": "single", "baseType": "identifier"})
    body = ET.SubElement(root, "itemBody")
    append_html(ET.SubElement(body, "div", {"class": "stem"}), content.zh.stem)
    interaction = ET.SubElement(body, "choiceInteraction", {
        "responseIdentifier": "RESPONSE", "shuffle": "false",
        "maxChoices": str(len(choices)) if multiple else "1"})
    for letter, text in choices:
        append_html(ET.SubElement(interaction, "simpleChoice", {"identifier": letter}), text)
    ET.SubElement(root, "responseProcessing", {"template": MATCH_CORRECT})
    if content.zh.explanation:
        feedback = ET.SubElement(root, "modalFeedback", {
            "outcomeIdentifier": "FEEDBACK", "identifier": "EXPLANATION", "showHide": "show"})
        append_html(feedback, content.zh.explanation)
    return _tostring(root)


def _extension(ref: str, content) -> ET.Element:
    ext = ET.Element(_q(EXT_NS, "item"), {"ref": xml_text(ref), "type": content.type.value,
                                          "elementCode": xml_text(content.element_code)})
    if content.difficulty_estimate is not None:
        ext.set("difficulty", repr(float(content.difficulty_estimate)))
    if content.source:
        ET.SubElement(ext, _q(EXT_NS, "source")).text = xml_text(content.source)
    if content.mn is not None:
        mn = ET.SubElement(ext, _q(EXT_NS, "variant"), {"lang": "mn"})
        ET.SubElement(mn, _q(EXT_NS, "stem")).text = xml_text(content.mn.stem)
        for letter, text in content.mn.options:
            ET.SubElement(mn, _q(EXT_NS, "option"), {"letter": letter}).text = xml_text(text)
        ET.SubElement(mn, _q(EXT_NS, "explanation")).text = xml_text(content.mn.explanation)
    return ext


def export_package(items: Sequence[tuple[str, object]], *, notes: list[str] | None = None) -> bytes:
    """Write a QTI 2.1 content package (zip) of the choice and true/false items.

    Parameters
    ----------
    items : sequence of (str, ItemContent)
        Item reference (e.g. the bank's item id) and content.
    notes : list of str, optional
        When given, one line is appended for every item that could not be exported.

    Returns
    -------
    bytes
        Zip with ``imsmanifest.xml`` and ``items/<identifier>.xml``.
    """
    manifest = ET.Element("manifest", {
        "xmlns": CP_NS,
        "identifier": "MANIFEST-" + hashlib.sha256(repr([r for r, _ in items]).encode()).hexdigest()[:16],
        f"{{{XSI_NS}}}schemaLocation": (
            f"{CP_NS} http://www.imsglobal.org/xsd/imscp_v1p1.xsd "
            f"{MD_NS} http://www.imsglobal.org/xsd/imsmd_loose_v1p3p2.xsd "
            f"{QTIMD_NS} http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_metadata_v2p1.xsd")})
    meta = ET.SubElement(manifest, "metadata")
    ET.SubElement(meta, "schema").text = "QTIv2.1 Package"
    ET.SubElement(meta, "schemaversion").text = "1.0.0"
    ET.SubElement(manifest, "organizations")
    resources = ET.SubElement(manifest, "resources")
    used: set[str] = set()
    files: list[tuple[str, bytes]] = []
    for ref, content in items:
        ref = str(ref)
        if content.type is ItemType.SKILL_TASK:
            ET.SubElement(meta, _q(EXT_NS, "skipped"), {"ref": xml_text(ref), "reason": "skill_task"})
            if notes is not None:
                notes.append(f"{ref}: 操作技能试题无法用 QTI 选择题表示，已跳过 / "
                             "skill task has no QTI choice form, skipped")
            continue
        ident = _identifier(ref, used)
        href = f"items/{ident}.xml"
        files.append((href, item_xml(ident, content)))
        res = ET.SubElement(resources, "resource",
                            {"identifier": f"RES-{ident}", "type": ITEM_RESOURCE, "href": href})
        res_meta = ET.SubElement(res, "metadata")
        qmd = ET.SubElement(res_meta, _q(QTIMD_NS, "qtiMetadata"))
        ET.SubElement(qmd, _q(QTIMD_NS, "interactionType")).text = "choiceInteraction"
        res_meta.append(_extension(ref, content))
        ET.SubElement(res, "file", {"href": href})
    ET.indent(manifest)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("imsmanifest.xml", _tostring(manifest))
        for href, xml in files:
            zf.writestr(href, xml)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------- import


def _child(node, name: str):
    for c in node:
        if local(c.tag) == name:
            return c
    return None


def _children(node, name: str) -> list:
    return [c for c in node if local(c.tag) == name]


def _descendants(node, name: str) -> list:
    return [c for c in node.iter() if local(c.tag) == name]


def _resolve(href: str) -> str:
    path = posixpath.normpath(href.replace("%20", " "))
    if href.startswith("/") or "\\" in href or path.startswith("..") or "://" in href:
        raise InterchangeError("interchange.unsafe_archive", f"清单引用了包外的路径 {href!r}。",
                               f"The manifest refers to a path outside the package: {href!r}.")
    return path


def _read_extension(meta) -> dict:
    ext = meta.find(f".//{{{EXT_NS}}}item") if meta is not None else None
    if ext is None:
        return {}
    out = {"ref": ext.get("ref"), "type": ext.get("type"), "element_code": ext.get("elementCode", ""),
           "difficulty": ext.get("difficulty"), "source": (_child(ext, "source").text or "")
           if _child(ext, "source") is not None else ""}
    mn = _child(ext, "variant")
    if mn is not None:
        out["mn"] = {"stem": getattr(_child(mn, "stem"), "text", "") or "",
                     "options": [(o.get("letter", ""), o.text or "") for o in _children(mn, "option")],
                     "explanation": getattr(_child(mn, "explanation"), "text", "") or ""}
    return out


class _Unsupported(Exception):
    """An item this reader cannot turn into content; becomes a :class:`RowError`."""

    def __init__(self, field: str, message: str, message_en: str):
        super().__init__(field, message, message_en)
        self.field, self.message, self.message_en = field, message, message_en


def _item_fields(item, ext: dict) -> dict:
    """``build_content`` arguments from an ``assessmentItem``.

    Raises
    ------
    _Unsupported
        Not exactly one ``choiceInteraction``; ValueError for unreadable attribute values.
    """
    body = _child(item, "itemBody")
    interactions = _descendants(body, "choiceInteraction") if body is not None else []
    if len(interactions) != 1:
        raise _Unsupported("type", "只支持含一个选择交互（choiceInteraction）的试题。",
                           "Only items with exactly one choiceInteraction are supported.")
    interaction = interactions[0]
    choices = _children(interaction, "simpleChoice")
    idents = [c.get("identifier", "") for c in choices]
    response_id = interaction.get("responseIdentifier", "RESPONSE")
    decl = next((d for d in _children(item, "responseDeclaration")
                 if d.get("identifier") == response_id), None)
    correct = []
    if decl is not None:
        values = _child(decl, "correctResponse")
        correct = [(v.text or "").strip() for v in _children(values, "value")] if values is not None else []
        mapping = _child(decl, "mapping")
        if not correct and mapping is not None:
            correct = [e.get("mapKey", "") for e in _children(mapping, "mapEntry")
                       if float(e.get("mappedValue", "0")) > 0]
    max_choices = int(interaction.get("maxChoices", "1") or 1)
    if ext.get("type"):
        item_type = ItemType(ext["type"])
    elif sorted(idents) == ["F", "T"] and max_choices == 1:
        item_type = ItemType.TRUE_FALSE
    elif (len(choices) == 2 and max_choices == 1
          and all(parse_true_false(plain_text(inner_html(c))) for c in choices)):
        item_type = ItemType.TRUE_FALSE
        idents_tf = {i: parse_true_false(plain_text(inner_html(c))) for i, c in zip(idents, choices)}
        correct = [idents_tf.get(c, c) for c in correct]
        idents = list(idents_tf.values())
    else:
        item_type = ItemType.SINGLE_CHOICE if max_choices == 1 and (
            decl is None or decl.get("cardinality") == "single") else ItemType.MULTIPLE_CHOICE
    stem_div = next((d for d in body if local(d.tag) == "div" and d.get("class") == "stem"), None)
    prompt = _child(interaction, "prompt")
    if stem_div is not None:
        stem = inner_html(stem_div)
    else:
        stem = inner_html(body, skip=[c for c in body if c is interaction or interaction in list(c.iter())])
        stem += inner_html(prompt) if prompt is not None else ""
    feedback = next((f for f in _children(item, "modalFeedback") if f.get("identifier") == "EXPLANATION"), None)
    if item_type is ItemType.TRUE_FALSE:
        options, key = (), [c for c in correct if c in ("T", "F")][:1] or correct
    else:
        letters = {ident: chr(ord("A") + i) for i, ident in enumerate(idents)}
        options = [(letters[i], inner_html(c)) for i, c in zip(idents, choices)]
        key = [letters.get(c, c) for c in correct]
    return {"type": item_type, "key": key,
            "zh": {"stem": stem, "options": options, "explanation": inner_html(feedback)}}


def import_package(data, *, element_codes: set[str] | None = None, default_element_code: str = "",
                   max_bytes: int = MAX_PACKAGE_BYTES, config=None) -> ImportResult:
    """Read a QTI 2.x content package.

    Parameters
    ----------
    data : bytes, path or binary file
        The zip.
    element_codes : set of str, optional
        Element codes of the target blueprint, for the spec's element check.
    default_element_code : str
        Element code for items whose manifest metadata carries none.
    max_bytes : int
        Largest package accepted.
    config : optional
        Spec configuration.

    Returns
    -------
    ImportResult
        ``row_or_ref`` is the item's reference (ours) or its QTI identifier; skipped items of the
        exporter appear in ``notes``.

    Raises
    ------
    InterchangeError
        Not a zip, no manifest, broken or unsafe XML, an archive past its limits, a path
        traversal, a referenced file missing.
    """
    archive = SafeZip(load_input(data, max_bytes), QTI_LIMITS, "QTI")
    try:
        return _import(archive, element_codes, default_element_code, config)
    except InterchangeError:
        raise
    except Exception as exc:  # a net for shapes no check foresaw: the package is still unusable
        raise InterchangeError("interchange.bad_package", "QTI 包结构无法识别。",
                               f"The QTI package structure is not understood: {exc!r}") from exc
    finally:
        archive.close()


def _import(archive: SafeZip, element_codes, default_element_code, config) -> ImportResult:
    if "imsmanifest.xml" not in archive.names():
        raise InterchangeError("interchange.no_manifest", "压缩包中没有 imsmanifest.xml，不是 QTI 内容包。",
                               "No imsmanifest.xml: not a QTI content package.")
    manifest = parse_xml(archive.read("imsmanifest.xml"), "imsmanifest.xml")
    result = ImportResult()
    for skipped in _descendants(manifest, "skipped"):
        result.notes.append(f"{skipped.get('ref')}: 导出时跳过（{skipped.get('reason')}） / "
                            f"skipped by the exporter ({skipped.get('reason')})")
    for res in _descendants(manifest, "resource"):
        if not (res.get("type") or "").startswith("imsqti_item_xmlv2p"):
            continue
        href = res.get("href") or next((f.get("href") for f in _children(res, "file")), None)
        if not href:
            result.errors.append(RowError(res.get("identifier", "?"), "href", "资源缺少文件路径。",
                                          "The resource names no file."))
            continue
        path = _resolve(href)
        item = parse_xml(archive.read(path), path)
        ext = _read_extension(_child(res, "metadata"))
        ref = ext.get("ref") or item.get("identifier") or res.get("identifier") or path
        if local(item.tag) != "assessmentItem":
            result.errors.append(RowError(ref, "type", f"{path} 不是 assessmentItem。",
                                          f"{path} is not an assessmentItem."))
            continue
        try:
            fields = _item_fields(item, ext)
        except _Unsupported as exc:
            result.errors.append(RowError(ref, exc.field, exc.message, exc.message_en))
            continue
        except (ValueError, KeyError, IndexError) as exc:
            result.errors.append(RowError(ref, "type", "试题结构无法识别。",
                                          f"Item structure not understood: {exc}"))
            continue
        code = ext.get("element_code") or default_element_code
        if not code:
            result.errors.append(RowError(ref, "element_code", "缺少鉴定点代码，且未指定默认值。",
                                          "No element code, and no default was given."))
            continue
        fields.update(element_code=code, difficulty_estimate=ext.get("difficulty"),
                      source=ext.get("source", ""), mn=ext.get("mn"))
        item_obj, errors = build_and_check(ref, fields, element_codes=element_codes, config=config)
        result.errors.extend(errors)
        if item_obj is not None:
            result.items.append(item_obj)
    return result
