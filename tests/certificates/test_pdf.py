"""The certificate PDF: A4, every field of the national style in real (embedded) Chinese text, the
photo or its placeholder, a QR code of the verification URL, and 作废 across a void one."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
from datetime import date

import pytest
from PIL import Image

from examsvc import clock
from examsvc.bank.models import Asset
from examsvc.certificates import pdf as certificate_pdf_module
from examsvc.certificates.pdf import CertificateDocument, certificate_document, certificate_pdf, chinese_date
from examsvc.certificates.service import issue_certificate, void_certificate
from examsvc.certificates.verification import qr_tag
from tests.certificates.builders import pass_records, void_case

needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is not installed")


def pdf_text(data: bytes, tmp_path, mode: str = "-layout") -> str:
    """The page's text; ``-raw`` keeps the drawing order (rotated text stays whole)."""
    path = tmp_path / "certificate.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", mode, str(path), "-"], capture_output=True, text=True, check=True).stdout


def document(**changes) -> CertificateDocument:
    base = dict(number="S000015000001264000001", name="张三丰", id_type="居民身份证", id_number="15010219800101024X",
                occupation_name="中式烹调师", occupation_code="4-03-02-01", work_type="--", level="四级/中级工",
                issued_on=date(2026, 12, 20), institution_name="甲评价机构",
                verify_url="http://127.0.0.1:5000/verify/S000015000001264000001?n=0123456789abcdef")
    return CertificateDocument(**{**base, **changes})


@needs_poppler
def test_every_field_is_printed_as_chinese_text_on_one_a4_page(app, session, cert_world, tmp_path):
    with app.app_context():
        record = pass_records(session, cert_world["passes_a"].make(1, names=["张三丰"]))[0]
        certificate = issue_certificate(session, record, "cli")
        doc = certificate_document(session, certificate, "https://certs.example.cn")
        data = certificate_pdf(doc)
        tag = qr_tag(certificate.number)
    text = pdf_text(data, tmp_path)
    assert "".join(text.split()).count("职业技能等级证书") == 1
    for value in ("张三丰", "居民身份证", doc.id_number, "中式烹调师", "4-03-02-01", "--", "四级/中级工", certificate.number,
                  "2026年12月20日", "甲评价机构", "照", "扫码查验证书真伪"):
        assert value in text, value
    assert doc.verify_url == f"https://certs.example.cn/verify/{certificate.number}?n={tag}"
    info = subprocess.run(["pdfinfo", str(tmp_path / "certificate.pdf")], capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M) and "595.276 x 841.89 pts (A4)" in info
    fonts = subprocess.run(["pdffonts", str(tmp_path / "certificate.pdf")], capture_output=True, text=True).stdout
    cjk = [line for line in fonts.splitlines()[2:] if not line.startswith("Helvetica")]
    assert cjk, fonts
    if "STSong" not in fonts:  # a TrueType CJK font was found: a subset travels inside the file
        assert all(line.split()[-5:-3] == ["yes", "yes"] for line in cjk), fonts


def test_the_qr_code_encodes_the_verification_url(monkeypatch):
    seen = []

    class Spy(certificate_pdf_module.qrcode.QRCode):
        def add_data(self, data, optimize=20):
            seen.append(data)
            super().add_data(data, optimize)

    monkeypatch.setattr(certificate_pdf_module.qrcode, "QRCode", Spy)
    certificate_pdf(document())
    assert seen == ["http://127.0.0.1:5000/verify/S000015000001264000001?n=0123456789abcdef"]


@needs_poppler
def test_a_photo_replaces_the_placeholder_and_a_void_certificate_is_stamped(app, session, cert_world, tmp_path):
    image = io.BytesIO()
    Image.new("RGB", (350, 490), (200, 210, 230)).save(image, format="JPEG")
    photo = image.getvalue()
    with app.app_context():
        record = pass_records(session, cert_world["passes_a"].make(1))[0]
        record.photo_sha256 = hashlib.sha256(photo).hexdigest()
        session.add(Asset(sha256=record.photo_sha256, media_type="image/jpeg", size=len(photo), data=photo,
                          created_at=clock.now()))
        certificate = issue_certificate(session, record, "cli")
        void_certificate(session, certificate, reason_category="issued_in_error", reason="错发",
                         case_reference=void_case(session, certificate, cert_world["regulator"]),
                         actor=cert_world["regulator"])
        doc = certificate_document(session, certificate, "http://127.0.0.1:5000")
    assert doc.photo == photo and doc.void
    data = certificate_pdf(doc)
    text = pdf_text(data, tmp_path)
    assert "（二寸免冠）" not in text
    assert "".join(pdf_text(data, tmp_path, "-raw").split()).endswith("作废VOID")  # the stamp, drawn last
    images = subprocess.run(["pdfimages", "-list", str(tmp_path / "certificate.pdf")], capture_output=True,
                            text=True).stdout
    assert len(images.strip().splitlines()) == 3  # two header lines and the photo


@needs_poppler
def test_long_values_shrink_or_wrap_instead_of_running_off_the_page(tmp_path):
    long_name = "内蒙古自治区某某职业技能等级认定评价中心有限责任公司包头分公司第三培训评价基地"
    text = pdf_text(certificate_pdf(document(institution_name=long_name, work_type="中式面点（含西点）方向")), tmp_path)
    flat = "".join(text.split())
    assert long_name[:20] in flat and "中式面点（含西点）方向" in flat
    assert chinese_date(date(2027, 1, 5)) == "2027年1月5日"


@pytest.mark.skipif(not (shutil.which("zbarimg") and shutil.which("pdftoppm")), reason="zbarimg or pdftoppm missing")
def test_a_scanner_reads_the_verification_url_from_the_printed_qr_code(tmp_path):
    url = "https://certs.example.cn/verify/S000015000001264000001?n=0123456789abcdef"
    (tmp_path / "c.pdf").write_bytes(certificate_pdf(document(verify_url=url)))
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-singlefile", str(tmp_path / "c.pdf"), str(tmp_path / "c")],
                   check=True)
    scanned = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "c.png")], capture_output=True, text=True)
    assert scanned.stdout.strip() == url
