"""Images leave without EXIF, GPS, XMP, IPTC, comments or text chunks; their pixels do not change."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from shotbridge_backend.sanitize import SanitizeError, _exif_has_gps, clean_image

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description xmp:CreatorTool="ACME Studio"/></rdf:RDF></x:xmpmeta>'


def exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "StudioCam"  # Make
    exif[0x013B] = "Jane Director"  # Artist
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})  # GPS IFD
    return exif


def picture() -> Image.Image:
    rng = np.random.default_rng(3)
    return Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))


def test_jpeg_loses_exif_gps_xmp_and_comment_but_keeps_its_pixels_bit_for_bit():
    buf = io.BytesIO()
    picture().save(buf, "JPEG", quality=90, exif=exif_with_gps(), xmp=XMP, comment=b"shot on the secret set")
    data = buf.getvalue()
    assert b"Jane Director" in data and b"ACME Studio" in data and b"secret set" in data
    clean = clean_image(data)
    assert clean.media_type == "image/jpeg"
    assert {"EXIF+GPS", "XMP", "comment"} <= set(clean.stripped)
    for secret in (b"Jane Director", b"StudioCam", b"ACME Studio", b"secret set", b"Exif\x00\x00"):
        assert secret not in clean.data
    with Image.open(io.BytesIO(clean.data)) as out, Image.open(io.BytesIO(data)) as original:
        assert not out.getexif()
        assert np.array_equal(np.asarray(out), np.asarray(original))  # same entropy-coded data


def test_png_loses_text_xmp_and_exif_chunks_but_keeps_its_colour_chunks():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Director")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add_text("Comment", "sh010 plate, do not share", zip=True)
    buf = io.BytesIO()
    picture().save(buf, "PNG", pnginfo=info, exif=exif_with_gps())
    data = buf.getvalue()
    clean = clean_image(data)
    assert clean.media_type == "image/png"
    assert {"text:Author", "XMP", "text:Comment", "EXIF+GPS"} <= set(clean.stripped), clean.stripped
    for secret in (b"Jane Director", b"ACME Studio", b"eXIf", b"tEXt", b"iTXt", b"zTXt"):
        assert secret not in clean.data
    with Image.open(io.BytesIO(clean.data)) as out, Image.open(io.BytesIO(data)) as original:
        assert np.array_equal(np.asarray(out), np.asarray(original))


def test_other_formats_are_re_encoded_as_png_without_their_metadata():
    buf = io.BytesIO()
    picture().save(buf, "TIFF", exif=exif_with_gps())
    clean = clean_image(buf.getvalue())
    assert clean.media_type == "image/png" and "EXIF" in clean.stripped
    assert b"Jane Director" not in clean.data
    with Image.open(io.BytesIO(clean.data)) as out:
        assert np.array_equal(np.asarray(out.convert("RGB")), np.asarray(picture()))


def test_a_clean_image_stays_as_it_was():
    buf = io.BytesIO()
    picture().save(buf, "PNG")
    assert clean_image(buf.getvalue()).data == buf.getvalue() and clean_image(buf.getvalue()).stripped == []


def test_gps_detection_reads_the_first_ifd():
    exif = exif_with_gps().tobytes()
    assert _exif_has_gps(exif[6:] if exif.startswith(b"Exif") else exif)
    plain = Image.Exif()
    plain[0x010F] = "Cam"
    raw = plain.tobytes()
    assert not _exif_has_gps(raw[6:] if raw.startswith(b"Exif") else raw)


def test_not_an_image_is_refused_with_a_reason():
    with pytest.raises(SanitizeError, match="PNG or JPEG"):
        clean_image(b"%PDF-1.7 not a picture")
    with pytest.raises(SanitizeError, match="truncated"):
        buf = io.BytesIO()
        picture().save(buf, "PNG")
        clean_image(buf.getvalue()[:60])
