"""A click reruns only the part of the page it changes (issue 13), checked on the wire in a real browser.

Streamlit tells the server which fragment a widget belongs to (BackMsg.rerun_script.fragment_id) and the server
then sends deltas of that fragment only. A page whose selectors moved out of their fragment would send a full
rerun (no fragment id) and re-send the text boxes, the token table and the model caption.
"""
from __future__ import annotations

import pytest
from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e


class Wire:
    """Every message of the page's Streamlit websocket, decoded."""

    def __init__(self, page):
        self.sent: list = []  # BackMsg
        self.received: list = []  # ForwardMsg
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        # Importing streamlit switches plotly's default template for the whole test process, which other e2e
        # tests that draw bare plotly figures do not expect: put it back.
        import plotly.io as pio

        template = pio.templates.default
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        pio.templates.default = template

        if "_stcore/stream" not in ws.url:
            return
        ws.on("framesent", lambda payload: self._decode(payload, BackMsg, self.sent))
        ws.on("framereceived", lambda payload: self._decode(payload, ForwardMsg, self.received))

    @staticmethod
    def _decode(payload, kind, into: list) -> None:
        if isinstance(payload, (bytes, bytearray)):
            into.append(kind.FromString(bytes(payload)))

    def clear(self) -> None:
        self.sent.clear()
        self.received.clear()

    def reruns(self) -> list:
        return [m.rerun_script for m in self.sent if m.HasField("rerun_script")]

    def deltas(self) -> list:
        return [m.delta for m in self.received if m.HasField("delta")]


def _only_the_fragment_reran(wire: Wire) -> None:
    reruns = wire.reruns()
    assert len(reruns) == 1, reruns
    fragment = reruns[0].fragment_id
    assert fragment, "the widget asked for a full rerun of the page"
    deltas = wire.deltas()
    assert deltas, "nothing was redrawn"
    assert {d.fragment_id for d in deltas} == {fragment}, "elements outside the fragment were sent again"


def test_attention_head_change_reruns_only_the_views(app_url, web, models_dir):
    wire = Wire(web)
    web.goto(app_url + "/attention?model=tiny-mlm&attention_text=the+cat+sat+on+the+mat")
    wait_idle(web)
    title = web.locator(".js-plotly-plot .gtitle").first
    title.wait_for(timeout=60_000)
    assert "head 1" in title.text_content()
    wire.clear()
    web.locator("[data-testid='stSlider'] input[type='range'][aria-label='Head']").first.focus()
    web.keyboard.press("ArrowRight")
    wait_idle(web)
    no_exception_shown(web)
    assert "head 2" in web.locator(".js-plotly-plot .gtitle").first.text_content()
    _only_the_fragment_reran(wire)


def test_masked_lm_token_click_reruns_only_the_predictions(app_url, web, models_dir):
    wire = Wire(web)
    web.goto(app_url + "/masked_lm?model=tiny-mlm&mlm_text=the+cat+sat+on+the+mat")
    wait_idle(web)
    pills = web.locator("[data-testid='stButtonGroup']").first.locator("button")
    pills.first.wait_for(timeout=60_000)
    wire.clear()
    pills.nth(1).click()
    wait_idle(web)
    no_exception_shown(web)
    web.locator(".js-plotly-plot .barlayer path").first.wait_for(timeout=60_000)
    _only_the_fragment_reran(wire)
