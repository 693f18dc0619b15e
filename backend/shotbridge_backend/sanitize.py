"""Images as they may leave the building: no EXIF, XMP, GPS, IPTC, comments or text chunks, no file name.

PNG and JPEG are cleaned losslessly (metadata chunks and segments dropped, pixels untouched); anything else
is decoded and re-encoded as PNG, which carries no metadata we did not put there. Colour profiles stay: they
describe the pixels, not the studio.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Ancillary PNG chunks that describe pixels; every other ancillary chunk (tEXt, zTXt, iTXt, eXIf, tIME and
# private ones) is dropped.
PNG_KEEP = {b"PLTE", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs", b"cICP", b"mDCv",
            b"cLLi", b"acTL", b"fcTL", b"fdAT"}
# JPEG APPn segments that describe pixels: APP0 (JFIF), APP2 only when it is an ICC profile, APP14 (Adobe
# colour transform). APP1 (EXIF, XMP), APP13 (IPTC/Photoshop), other APPn and COM are dropped.
JPEG_ICC = b"ICC_PROFILE\x00"


class SanitizeError(ValueError):
    """The bytes are not an image we can clean; nothing is sent."""


@dataclass
class Clean:
    data: bytes
    media_type: str
    extension: str
    stripped: list[str]  # what was removed, for the audit: "EXIF", "GPS", "XMP", "text:Author", ...


def clean_image(data: bytes) -> Clean:
    if data.startswith(PNG_SIGNATURE):
        return _clean_png(data)
    if data[:3] == b"\xff\xd8\xff":
        return _clean_jpeg(data)
    return _reencode(data)


def _clean_png(data: bytes) -> Clean:
    out, stripped, pos = [PNG_SIGNATURE], [], len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise SanitizeError("the PNG is truncated (a chunk runs past the end of the file)")
        critical = kind[:1].isupper()
        if critical or kind in PNG_KEEP:
            out.append(data[pos:end])
        else:
            stripped.append(_png_label(kind, data[pos + 8:pos + 8 + length]))
        pos = end
        if kind == b"IEND":
            break
    return Clean(b"".join(out), "image/png", ".png", stripped)


def _png_label(kind: bytes, body: bytes) -> str:
    if kind in (b"tEXt", b"zTXt", b"iTXt"):
        keyword = body.split(b"\x00", 1)[0].decode("latin-1", "replace")
        return "XMP" if keyword == "XML:com.adobe.xmp" else f"text:{keyword}"
    if kind == b"eXIf":
        return "EXIF+GPS" if _exif_has_gps(body) else "EXIF"
    return kind.decode("latin-1", "replace")


def _clean_jpeg(data: bytes) -> Clean:
    out, stripped, pos = [data[:2]], [], 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise SanitizeError(f"the JPEG is damaged (no segment marker at byte {pos})")
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the entropy-coded image and the rest of the file stay as they are
            out.append(data[pos:])
            break
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            out.append(data[pos:pos + 2])
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        segment, body = data[pos:pos + 2 + length], data[pos + 4:pos + 2 + length]
        pos += 2 + length
        if marker == 0xE1:
            if body.startswith(b"Exif\x00\x00"):
                stripped.append("EXIF+GPS" if _exif_has_gps(body[6:]) else "EXIF")
            elif b"adobe.com/xap" in body[:64] or b"adobe.com/xmp" in body[:64]:
                stripped.append("XMP")
            else:
                stripped.append("APP1")
        elif marker == 0xE0 or marker == 0xEE or (marker == 0xE2 and body.startswith(JPEG_ICC)):
            out.append(segment)
        elif marker == 0xED:
            stripped.append("IPTC")
        elif marker == 0xFE:
            stripped.append("comment")
        elif 0xE0 <= marker <= 0xEF:
            stripped.append(f"APP{marker - 0xE0}")
        else:
            out.append(segment)  # tables, frame headers: the image itself
    return Clean(b"".join(out), "image/jpeg", ".jpg", stripped)


def _exif_has_gps(tiff: bytes) -> bool:
    """Whether an EXIF (TIFF) block's first IFD points at a GPS IFD (tag 0x8825)."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return False
    order = "<" if tiff[:2] == b"II" else ">"
    ifd = struct.unpack(order + "I", tiff[4:8])[0]
    if ifd + 2 > len(tiff):
        return False
    count = struct.unpack(order + "H", tiff[ifd:ifd + 2])[0]
    for i in range(count):
        entry = ifd + 2 + 12 * i
        if entry + 2 <= len(tiff) and struct.unpack(order + "H", tiff[entry:entry + 2])[0] == 0x8825:
            return True
    return False


def _reencode(data: bytes) -> Clean:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            found = sorted(k for k in img.info if k not in ("icc_profile", "dpi", "transparency", "gamma"))
            if img.getexif():
                found.append("EXIF")
            icc = img.info.get("icc_profile")
            if img.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
                img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
            buf = io.BytesIO()
            img.save(buf, "PNG", icc_profile=icc) if icc else img.save(buf, "PNG")
    except (UnidentifiedImageError, OSError, zlib.error) as exc:
        raise SanitizeError(f"not an image ShotBridge can clean before sending ({exc}); send PNG or JPEG") from exc
    return Clean(buf.getvalue(), "image/png", ".png", found)
