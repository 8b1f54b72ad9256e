"""Defences shared by the readers: input size, zip archives (bombs, traversal) and hostile XML.

Everything here raises :class:`~itembank.interchange.InterchangeError` and nothing else, so a
reader can let these calls propagate.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from itembank.interchange import InterchangeError

_CHUNK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ZipLimits:
    """Bounds an archive must stay within before and while it is read.

    Attributes
    ----------
    max_members : int
        Number of entries in the central directory.
    max_member_bytes : int
        Uncompressed size of any one member.
    max_total_bytes : int
        Uncompressed size of all members together.
    max_ratio : float
        Uncompressed / compressed size of a member; checked only for members larger than
        ``ratio_floor`` (a tiny file of blanks compresses well and harms nobody).
    ratio_floor : int
        See ``max_ratio``.
    """

    max_members: int = 25_000
    max_member_bytes: int = 20_000_000
    max_total_bytes: int = 200_000_000
    max_ratio: float = 100.0
    ratio_floor: int = 256 * 1024


def load_input(data, max_bytes: int) -> bytes:
    """Return the bytes of ``data`` (bytes, a path or a binary file), refusing more than ``max_bytes``.

    Raises
    ------
    InterchangeError
        ``interchange.too_large`` or ``interchange.unreadable``.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    elif isinstance(data, (str, os.PathLike)):
        try:
            if os.path.getsize(data) > max_bytes:
                raise _too_large(max_bytes)
            with open(data, "rb") as fh:
                raw = fh.read(max_bytes + 1)
        except OSError as exc:
            raise InterchangeError(
                "interchange.unreadable", f"无法读取文件：{exc}", f"Cannot read the file: {exc}"
            ) from exc
    elif hasattr(data, "read"):
        raw = data.read(max_bytes + 1)
        if not isinstance(raw, bytes):
            raise InterchangeError(
                "interchange.unreadable", "需要二进制文件。", "A binary file object is required."
            )
    else:
        raise InterchangeError(
            "interchange.unreadable",
            "不支持的输入类型。",
            f"Unsupported input type {type(data).__name__}.",
        )
    if len(raw) > max_bytes:
        raise _too_large(max_bytes)
    return raw


def _too_large(max_bytes: int) -> InterchangeError:
    mb = max_bytes / 1_000_000
    return InterchangeError(
        "interchange.too_large", f"文件超过 {mb:g} MB 的上限。", f"The file exceeds the {mb:g} MB limit."
    )


def _unsafe(what: str, what_en: str) -> InterchangeError:
    return InterchangeError("interchange.unsafe_archive", f"压缩包不安全：{what}", f"Unsafe archive: {what_en}")


def check_member_name(name: str) -> None:
    """Refuse absolute paths, ``..`` segments, backslashes, drive letters and NUL in a member name."""
    parts = name.split("/")
    if (
        not name
        or "\x00" in name
        or "\\" in name
        or name.startswith("/")
        or _DRIVE.match(name)
        or any(p == ".." for p in parts)
    ):
        raise _unsafe(f"非法的成员路径 {name!r}", f"member path {name!r} escapes the archive")


class SafeZip:
    """A zip archive whose headers have been checked against :class:`ZipLimits`.

    Reads are counted again while inflating, so a member whose header lies about its size is
    stopped at the limit instead of filling memory.

    Parameters
    ----------
    data : bytes
        The archive.
    limits : ZipLimits
        Bounds to enforce.
    kind : str
        Name of the format for messages (``"xlsx"``, ``"QTI"``).

    Raises
    ------
    InterchangeError
        ``interchange.not_zip`` or ``interchange.unsafe_archive``.
    """

    def __init__(self, data: bytes, limits: ZipLimits, kind: str):
        self.limits = limits
        self._read_total = 0
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
                KeyError, IndexError, NotImplementedError, UnicodeDecodeError) as exc:
            raise InterchangeError(
                "interchange.not_zip",
                f"不是有效的 {kind} 文件（无法作为压缩包打开）。",
                f"Not a valid {kind} file (cannot be opened as a zip archive).",
            ) from exc
        if len(infos) > limits.max_members:
            raise _unsafe(f"成员数 {len(infos)} 超过上限 {limits.max_members}",
                          f"{len(infos)} members exceed the limit of {limits.max_members}")
        seen: set[str] = set()
        total = 0
        for info in infos:
            check_member_name(info.filename)
            if info.filename in seen:
                raise _unsafe(f"成员 {info.filename!r} 重复", f"member {info.filename!r} appears twice")
            seen.add(info.filename)
            if info.flag_bits & 0x1:
                raise _unsafe("含加密成员", f"member {info.filename!r} is encrypted")
            self._check_size(info.filename, info.file_size, info.compress_size)
            total += info.file_size
            if total > limits.max_total_bytes:
                raise _unsafe("解压后总大小超过上限", "total uncompressed size exceeds the limit")
        self._infos = {i.filename: i for i in infos}

    def _check_size(self, name: str, size: int, compressed: int) -> None:
        lim = self.limits
        if size > lim.max_member_bytes:
            raise _unsafe(f"成员 {name!r} 解压后过大", f"member {name!r} inflates beyond the limit")
        if size > lim.ratio_floor and size > lim.max_ratio * max(compressed, 1):
            raise _unsafe(f"成员 {name!r} 压缩比异常", f"member {name!r} has a suspicious compression ratio")

    def names(self) -> list[str]:
        """Member names, in archive order (directories included)."""
        return list(self._infos)

    def read(self, name: str) -> bytes:
        """Inflate one member, counting bytes against the member, ratio and total limits.

        Raises
        ------
        InterchangeError
            ``interchange.missing_member`` if absent; ``interchange.unsafe_archive`` past a limit;
            ``interchange.not_zip`` if the member is corrupt.
        """
        info = self._infos.get(name)
        if info is None:
            raise InterchangeError("interchange.missing_member", f"压缩包中缺少 {name}。",
                                   f"The archive has no member {name}.")
        lim = self.limits
        out = bytearray()
        try:
            with self._zip.open(info) as fh:
                while True:
                    chunk = fh.read(_CHUNK)
                    if not chunk:
                        break
                    out += chunk
                    self._read_total += len(chunk)
                    self._check_size(name, len(out), info.compress_size)
                    if self._read_total > lim.max_total_bytes:
                        raise _unsafe("解压后总大小超过上限", "total uncompressed size exceeds the limit")
        except InterchangeError:
            raise
        except Exception as exc:  # BadZipFile, zlib/lzma/bz2 errors, bad CRC, unknown method
            raise InterchangeError(
                "interchange.not_zip", f"压缩包成员 {name} 已损坏。", f"Archive member {name} is corrupt."
            ) from exc
        return bytes(out)

    def verify_all(self) -> None:
        """Inflate every member once (discarding it), proving the whole archive is within limits."""
        for name, info in self._infos.items():
            if not info.is_dir():
                self.read(name)

    def close(self) -> None:
        self._zip.close()


def parse_xml(data: bytes | str, what: str) -> Element:
    """Parse XML with DTDs, entities and external references forbidden.

    Parameters
    ----------
    data : bytes or str
        The document.
    what : str
        Name of the document for the message (e.g. ``"imsmanifest.xml"``).

    Raises
    ------
    InterchangeError
        ``interchange.unsafe_xml`` for a DTD or entity declaration (XXE, billion laughs),
        ``interchange.bad_xml`` for anything that is not well-formed.
    """
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InterchangeError(
            "interchange.unsafe_xml",
            f"{what} 含 DTD 或实体声明，出于安全原因拒绝。",
            f"{what} contains a DTD or entity declaration and is refused for safety.",
        ) from exc
    except (ParseError, ValueError, TypeError, RecursionError, UnicodeError) as exc:
        raise InterchangeError(
            "interchange.bad_xml", f"{what} 不是格式正确的 XML：{exc}", f"{what} is not well-formed XML: {exc}"
        ) from exc
