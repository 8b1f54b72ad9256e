"""The certificate as an A4 PDF, after the national reference style (人社鉴发〔2021〕1号).

Every field the style requires is printed: name, ID type and number, occupation, work type
("--" when none, never blank), level as "四级/中级工", certificate number, issue date,
institution, the photo (or a placeholder frame) and a QR code that opens the verification page.
Chinese text uses the shared CJK font of :mod:`examsvc.pdf` (embedded). The page is drawn on a
canvas rather than flowed, so that a certificate prints the same whatever its values; long
values shrink, then wrap. A void certificate is stamped 作废 across the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from io import BytesIO

import qrcode
from reportlab.lib.colors import Color, HexColor, black, white
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy.orm import Session

from examsvc import pdf
from examsvc.bank.models import Asset
from examsvc.certificates.models import Certificate
from examsvc.certificates.verification import verification_url
from examsvc.protect import reveal_id
from examsvc.sessions.service import ID_TYPES
from itembank.levels import parse_level

RED = HexColor("#9b1c1c")
GOLD = HexColor("#b08d3c")
INK = HexColor("#1f2933")
MUTED = HexColor("#52606d")
WIDTH, HEIGHT = pdf.PAGE_SIZE


@dataclass(frozen=True)
class CertificateDocument:
    """Everything printed on one certificate, as text (plus the photo's bytes)."""

    number: str
    name: str
    id_type: str                 # 居民身份证 …
    id_number: str               # the full number: the certificate is where it is printed
    occupation_name: str
    occupation_code: str
    work_type: str               # "--" when none
    level: str                   # 四级/中级工
    issued_on: date
    institution_name: str
    verify_url: str
    photo: bytes | None = None
    void: bool = False


def certificate_document(session: Session, certificate: Certificate, base_url: str) -> CertificateDocument:
    """The printable form of ``certificate`` (reveals the ID number: needs an app context)."""
    photo = None
    if certificate.photo_sha256:
        asset = session.get(Asset, certificate.photo_sha256)
        if asset is not None and asset.media_type.startswith("image/"):
            photo = asset.data
    return CertificateDocument(
        number=certificate.number, name=certificate.name,
        id_type=ID_TYPES.get(certificate.id_type, (certificate.id_type,))[0],
        id_number=reveal_id(certificate.id_cipher), occupation_name=certificate.occupation_name,
        occupation_code=certificate.occupation_code, work_type=certificate.work_type.strip() or "--",
        level=parse_level(certificate.level).name_zh, issued_on=certificate.issued_on,
        institution_name=certificate.institution_name, verify_url=verification_url(base_url, certificate.number),
        photo=photo, void=certificate.is_void)


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def certificate_pdf(doc: CertificateDocument) -> bytes:
    """One A4 page; see the module docstring for what it holds."""
    font = pdf.cjk_font_name()
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=pdf.PAGE_SIZE, pageCompression=1)
    canvas.setTitle(f"职业技能等级证书 {doc.number}")
    canvas.setAuthor(doc.institution_name)
    canvas.setCreator("examsvc")
    _frame(canvas)
    _heading(canvas, font)
    _fields(canvas, font, doc)
    _photo(canvas, font, doc.photo)
    _footer(canvas, font, doc)
    if doc.void:
        _void_stamp(canvas, font)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _frame(canvas: Canvas) -> None:
    canvas.setFillColor(HexColor("#fffdf7"))
    canvas.rect(0, 0, WIDTH, HEIGHT, stroke=0, fill=1)
    canvas.setStrokeColor(RED)
    canvas.setLineWidth(2.2)
    canvas.rect(12 * mm, 12 * mm, WIDTH - 24 * mm, HEIGHT - 24 * mm)
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(0.8)
    canvas.rect(15 * mm, 15 * mm, WIDTH - 30 * mm, HEIGHT - 30 * mm)


def _heading(canvas: Canvas, font: str) -> None:
    canvas.setFillColor(RED)
    canvas.setFont(font, 30)
    canvas.drawCentredString(WIDTH / 2, HEIGHT - 52 * mm, "职业技能等级证书")
    canvas.setFont("Helvetica", 10.5)
    canvas.setFillColor(GOLD)
    canvas.drawCentredString(WIDTH / 2, HEIGHT - 60 * mm, "VOCATIONAL  SKILL  LEVEL  CERTIFICATE")
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(0.6)
    canvas.line(55 * mm, HEIGHT - 64 * mm, WIDTH - 55 * mm, HEIGHT - 64 * mm)


_LABELS = (("姓　　名", "name"), ("证件类型", "id_type"), ("证件号码", "id_number"), ("职业名称", "occupation"),
           ("工　　种", "work_type"), ("职业技能等级", "level"), ("证书编号", "number"), ("发证日期", "issued_on"),
           ("评价机构", "institution_name"))
_LABEL_X = 30 * mm
_VALUE_X = 62 * mm
_TOP = HEIGHT - 82 * mm
_ROW = 13.5 * mm
_VALUE_WIDTH = {"default": WIDTH - 30 * mm - _VALUE_X, "beside_photo": 138 * mm - _VALUE_X}


def _values(doc: CertificateDocument) -> dict[str, str]:
    return {"name": doc.name, "id_type": doc.id_type, "id_number": doc.id_number,
            "occupation": f"{doc.occupation_name}（{doc.occupation_code}）", "work_type": doc.work_type or "--",
            "level": doc.level, "number": doc.number, "issued_on": chinese_date(doc.issued_on),
            "institution_name": doc.institution_name}


def _fields(canvas: Canvas, font: str, doc: CertificateDocument) -> None:
    values = _values(doc)
    for row, (label, key) in enumerate(_LABELS):
        y = _TOP - row * _ROW
        canvas.setFillColor(MUTED)
        canvas.setFont(font, 12)
        _spread(canvas, font, 12, label, _LABEL_X, y, 26 * mm)
        canvas.setStrokeColor(HexColor("#d9cfb8"))
        canvas.setLineWidth(0.4)
        width = _VALUE_WIDTH["beside_photo" if row < 4 else "default"]
        canvas.line(_VALUE_X - 1 * mm, y - 2.2 * mm, _VALUE_X + width, y - 2.2 * mm)
        canvas.setFillColor(INK)
        _fit(canvas, font, values[key], _VALUE_X, y, width, 14 if key in {"name", "level"} else 12.5)


def _spread(canvas: Canvas, font: str, size: float, text: str, x: float, y: float, width: float) -> None:
    """Draw a label with its characters spread over ``width`` (as printed forms align labels)."""
    chars = [c for c in text if c != "　"]
    if len(chars) < 2:
        canvas.drawString(x, y, text)
        return
    used = sum(stringWidth(c, font, size) for c in chars)
    gap = max(0.0, (width - used) / (len(chars) - 1))
    for char in chars:
        canvas.drawString(x, y, char)
        x += stringWidth(char, font, size) + gap


def _fit(canvas: Canvas, font: str, text: str, x: float, y: float, width: float, size: float,
         centred: bool = False) -> None:
    """Shrink to at least 9 pt to fit one line; beyond that wrap onto a second (and last) line."""
    while size > 9 and stringWidth(text, font, size) > width:
        size -= 0.5
    canvas.setFont(font, size)
    if stringWidth(text, font, size) <= width:
        if centred:
            canvas.drawCentredString(x + width / 2, y, text)
        else:
            canvas.drawString(x, y, text)
        return
    first = ""
    for index, char in enumerate(text):
        if stringWidth(first + char, font, size) > width:
            rest = text[index:]
            break
        first += char
    else:  # pragma: no cover - the loop always breaks when the text is too wide
        rest = ""
    while rest and stringWidth(rest, font, size) > width:
        rest = rest[:-2] + "…"
    canvas.drawString(x, y + size * 0.55, first)
    canvas.drawString(x, y - size * 0.6, rest)


_PHOTO = (143 * mm, _TOP - 3 * _ROW - 4 * mm, 35 * mm, 49 * mm)  # x, y, width, height: 二寸 35 × 49 mm


def _photo(canvas: Canvas, font: str, photo: bytes | None) -> None:
    x, y, w, h = _PHOTO
    if photo:
        try:
            canvas.drawImage(ImageReader(BytesIO(photo)), x, y, w, h, preserveAspectRatio=True, anchor="c")
            canvas.setStrokeColor(GOLD)
            canvas.rect(x, y, w, h)
            return
        except Exception:  # an unreadable image prints the placeholder rather than no certificate
            pass
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(0.6)
    canvas.setDash(2, 2)
    canvas.rect(x, y, w, h)
    canvas.setDash()
    canvas.setFillColor(MUTED)
    canvas.setFont(font, 11)
    canvas.drawCentredString(x + w / 2, y + h / 2 + 2 * mm, "照　片")
    canvas.setFont(font, 7.5)
    canvas.drawCentredString(x + w / 2, y + h / 2 - 4 * mm, "（二寸免冠）")


def _footer(canvas: Canvas, font: str, doc: CertificateDocument) -> None:
    bottom = 30 * mm
    _qr(canvas, doc.verify_url, 30 * mm, bottom + 6 * mm, 32 * mm)
    canvas.setFillColor(MUTED)
    canvas.setFont(font, 8.5)
    canvas.drawCentredString(46 * mm, bottom, "扫码查验证书真伪")
    canvas.setFont("Helvetica", 6.5)
    url = doc.verify_url.split("?", 1)[0]
    canvas.drawString(30 * mm, bottom - 5 * mm, url if len(url) <= 90 else url[:87] + "...")
    canvas.setFillColor(INK)
    canvas.setFont(font, 12)
    canvas.drawString(_LABEL_X, _TOP - len(_LABELS) * _ROW - 3 * mm, "经考核评价合格，特发此证。")
    # Seal area: the institution stamps the printed certificate here (评价机构盖章).
    cx, cy, radius = WIDTH - 58 * mm, bottom + 17 * mm, 19 * mm
    canvas.setStrokeColor(Color(0.61, 0.11, 0.11, alpha=0.35))
    canvas.setDash(3, 2)
    canvas.circle(cx, cy, radius)
    canvas.setDash()
    canvas.setFillColor(INK)
    _fit(canvas, font, doc.institution_name, cx - 30 * mm, cy + 1 * mm, 60 * mm, 11, centred=True)
    canvas.setFont(font, 9)
    canvas.setFillColor(MUTED)
    canvas.drawCentredString(cx, cy - 7 * mm, "（评价机构盖章）")
    canvas.setFillColor(INK)
    canvas.setFont(font, 10.5)
    canvas.drawCentredString(cx, bottom - 5 * mm, chinese_date(doc.issued_on))


def _qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """The QR code as vector modules (no image), with a white quiet zone around it."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    count = len(matrix)
    module = size / count
    canvas.setFillColor(white)
    canvas.rect(x - 4 * module, y - 4 * module, size + 8 * module, size + 8 * module, stroke=0, fill=1)
    canvas.saveState()
    canvas.translate(x, y + size)
    canvas.scale(module, -module)  # one unit per module, rows downwards: whole-number coordinates
    canvas.setFillColor(black)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        column = 0
        while column < count:  # one rectangle per run of dark modules
            if row[column]:
                start = column
                while column < count and row[column]:
                    column += 1
                path.rect(start, row_index, column - start, 1)
            else:
                column += 1
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def _void_stamp(canvas: Canvas, font: str) -> None:
    canvas.saveState()
    canvas.translate(WIDTH / 2, HEIGHT / 2)
    canvas.rotate(35)
    canvas.setFillColor(Color(0.7, 0.1, 0.1, alpha=0.28))
    canvas.setFont(font, 110)
    canvas.drawCentredString(0, -20 * mm, "作废")
    canvas.setFont("Helvetica-Bold", 40)
    canvas.drawCentredString(0, -45 * mm, "VOID")
    canvas.restoreState()
