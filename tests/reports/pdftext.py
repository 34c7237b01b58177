"""Reading back what reportlab wrote, without a PDF library: check the file's structure
(header, cross-reference table pointing at every object, trailer) and pull the text out of
its content streams (ASCII85 + Flate, as reportlab compresses them)."""

import base64
import re
import zlib

_STREAM = re.compile(rb"\n<<(?P<dict>[^<>]*)>>\s*stream\r?\n(?P<data>.*?)\s*endstream", re.S)
_STRING = re.compile(rb"\((?P<s>(?:\\.|[^\\)])*)\)\s*Tj", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def check_structure(pdf: bytes) -> int:
    """Asserts a well-formed single-revision PDF; returns its number of pages."""
    assert pdf.startswith(b"%PDF-1."), pdf[:20]
    assert pdf.rstrip().endswith(b"%%EOF")
    start = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    assert pdf[start : start + 4] == b"xref"
    header = re.match(rb"xref\s+0\s+(\d+)\s+", pdf[start:])
    assert header is not None
    count = int(header.group(1))
    table = pdf[start + header.end() :]
    for n in range(1, count):
        entry = table[20 * n : 20 * n + 18]
        offset, _, kind = entry.split(b" ")
        assert kind == b"n"
        assert pdf[int(offset) :].startswith(f"{n} 0 obj".encode()), n
    assert b"/Type /Catalog" in pdf
    pages = re.search(rb"/Count (\d+) /Kids", pdf)
    assert pages is not None
    return int(pages.group(1))


def _unescape(raw: bytes) -> str:
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i : i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        nxt = raw[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8))
            i += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return out.decode("cp1252")


def pdf_text(pdf: bytes) -> str:
    """Every string shown on the pages, one per line, in drawing order."""
    check_structure(pdf)
    lines = []
    for match in _STREAM.finditer(pdf):
        data = match.group("data")
        filters = match.group("dict")
        if b"/ASCII85Decode" in filters:
            data = base64.a85decode(data.strip().removesuffix(b"~>"))
        if b"/FlateDecode" in filters:
            data = zlib.decompress(data)
        lines += [_unescape(m.group("s")) for m in _STRING.finditer(data)]
    return "\n".join(lines)
