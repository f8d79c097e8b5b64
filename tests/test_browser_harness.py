"""The headless-browser harness in ``_browser`` must be able to fail, not just pass."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from _browser import SRC_PREFIX_CHARS, render, require_chromium


def _png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG, written by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\x00" + b"\xcc\x33\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


GOOD_SRC = "data:image/png;base64," + base64.b64encode(_png()).decode("ascii")
GARBAGE_SRC = "data:image/png;base64," + base64.b64encode(b"not a png at all").decode("ascii")


def _page(body: str, title: str = "harness") -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body>{body}</body></html>"
    )


@pytest.fixture(autouse=True)
def _chromium():
    require_chromium()


def test_broken_images_and_console_errors_are_reported(tmp_path):
    html = tmp_path / "bad.html"
    html.write_text(
        _page(
            f'<p>Kappa = 0.41</p><img alt="good" src="{GOOD_SRC}">'
            f'<img alt="garbage" src="{GARBAGE_SRC}">'
            '<img alt="missing" src="no-such-figure.png">'
            '<script>console.error("boom")</script>'
        ),
        encoding="utf-8",
    )
    page = render(html)

    assert [img["src_prefix"] for img in page.images] == [
        GOOD_SRC[:SRC_PREFIX_CHARS],
        GARBAGE_SRC[:SRC_PREFIX_CHARS],
        (tmp_path / "no-such-figure.png").as_uri()[:SRC_PREFIX_CHARS],
    ]
    assert all(len(img["src_prefix"]) <= SRC_PREFIX_CHARS for img in page.images)
    assert all(img["complete"] for img in page.images)  # finished, successfully or not
    assert page.images[0]["natural_width"] == 3
    assert page.images[1]["natural_width"] == 0
    assert page.images[2]["natural_width"] == 0
    assert len(page.loaded_images) == 1
    assert len(page.broken_images) == 2
    assert any('"boom"' in message for message in page.console_errors), page.console_errors
    assert page.network_requests == []
    assert "Kappa = 0.41" in page.text


def test_clean_page_has_no_errors_and_all_images_load(tmp_path):
    html = tmp_path / "clean.html"
    html.write_text(
        _page(
            "<h1>Agreement</h1><table><tr><td>ICC</td><td>0.62</td></tr></table>"
            f'<img alt="a" src="{GOOD_SRC}"><img alt="b" src="{GOOD_SRC}">'
            '<script>console.log("just info")</script>',
            title="Clean report",
        ),
        encoding="utf-8",
    )
    page = render(html)

    assert page.console_errors == []
    assert page.network_requests == []
    assert len(page.images) == 2
    assert page.broken_images == []
    assert all(img["natural_width"] == 3 for img in page.images)
    assert page.title == "Clean report"
    assert "Agreement" in page.text
    assert "0.62" in page.text
    assert "<td>" not in page.text  # rendered text, not markup


def test_uncaught_exception_and_network_use_are_reported(tmp_path):
    html = tmp_path / "online.html"
    html.write_text(
        _page(
            '<script src="https://cdn.example.invalid/plotly.min.js"></script>'
            "<script>undefinedFunction()</script><p>text</p>"
        ),
        encoding="utf-8",
    )
    page = render(html)

    assert page.network_requests == ["https://cdn.example.invalid/plotly.min.js"]
    assert any("undefinedFunction" in message for message in page.console_errors)
    assert page.text == "text"
