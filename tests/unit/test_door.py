"""The one door to a shared model: counted forwards and head calls, gradients to caller tensors only, frozen params,
the lock held per call (another thread runs between calls), and `heads` as the one answer about heads."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np
import pytest
import torch

from bertexplore import heads
from bertexplore.errors import UnsupportedModel
from bertexplore.loading import forward_count, head_call_count, load_model

TEXT = "the cat sat on the mat"


def _params(loaded):
    return {k: v.detach().clone() for k, v in loaded.model.state_dict().items()}



@contextmanager
def lock_held_elsewhere(loaded, seconds: float = 60):
    """Within the block, another thread holds `loaded`'s lock (released on leaving the block)."""
    held, release = threading.Event(), threading.Event()

    def holder():
        with loaded.lock:
            held.set()
            release.wait(seconds)

    blocker = threading.Thread(target=holder)
    blocker.start()
    held.wait()
    try:
        yield
    finally:
        release.set()
        blocker.join()

def test_forward_counts_every_execution_with_or_without_gradients(tiny_mlm):
    batch = tiny_mlm.model_inputs(tiny_mlm.tokenize(TEXT).input_ids, (0,))
    before = forward_count()
    tiny_mlm.forward(batch)
    tiny_mlm.forward(batch, encoder_only=True)
    tiny_mlm.forward(batch, grad=True)
    assert forward_count() == before + 3


def test_grad_forward_flows_to_inputs_embeds_and_leaves_parameters_alone(tiny_mlm):
    ids = torch.as_tensor(tiny_mlm.tokenize(TEXT).input_ids)[None]
    before = _params(tiny_mlm)
    embeds = tiny_mlm.model.get_input_embeddings().weight[ids].detach().clone().requires_grad_()
    out = tiny_mlm.forward({"inputs_embeds": embeds}, grad=True)
    assert out.logits.requires_grad
    (grad,) = torch.autograd.grad(out.logits[0, 2, 7], embeds)
    assert grad.shape == embeds.shape and float(grad.abs().sum()) > 0
    # The gradient by central differences along a random direction.
    direction = torch.randn_like(embeds)
    eps = 1e-3
    with torch.no_grad():
        plus = tiny_mlm.model(inputs_embeds=embeds + eps * direction).logits[0, 2, 7]
        minus = tiny_mlm.model(inputs_embeds=embeds - eps * direction).logits[0, 2, 7]
    assert float((grad * direction).sum()) == pytest.approx(float(plus - minus) / (2 * eps), rel=1e-2, abs=1e-4)
    assert all(not p.requires_grad and p.grad is None for p in tiny_mlm.model.parameters())
    assert all(torch.equal(before[k], v) for k, v in tiny_mlm.model.state_dict().items())
    # Without grad: inference mode, no graph.
    assert not tiny_mlm.forward({"inputs_embeds": embeds.detach()}).logits.requires_grad


def test_head_call_is_the_models_own_head_counted_and_differentiable(tiny_mlm):
    ids = torch.as_tensor(tiny_mlm.tokenize(TEXT).input_ids)[None]
    with torch.no_grad():
        out = tiny_mlm.model(input_ids=ids, output_hidden_states=True)
    last = out.hidden_states[-1][0]
    before = head_call_count()
    logits = tiny_mlm.head_call("mlm", last)
    assert head_call_count() == before + 1
    np.testing.assert_allclose(logits.numpy(), out.logits[0].numpy(), atol=1e-5)
    x = last.clone().requires_grad_()
    (grad,) = torch.autograd.grad(tiny_mlm.head_call("mlm", x, grad=True)[1, 5], x)
    assert float(grad[1].abs().sum()) > 0 and float(grad[0].abs().sum()) == 0  # position-wise head
    with pytest.raises(UnsupportedModel):
        tiny_mlm.head_call("qa", last)


def test_another_thread_uses_the_model_between_gradient_calls(tiny_mlm):
    """The lock is held for each call only: once a grad forward returns (its graph still alive), another thread
    takes the lock and runs the model, and the caller's backward completes while that thread holds the lock."""
    batch = tiny_mlm.model_inputs(tiny_mlm.tokenize(TEXT).input_ids, (0,))
    embeds = tiny_mlm.model.get_input_embeddings().weight[batch["input_ids"]].detach().clone().requires_grad_()
    out = tiny_mlm.forward({"inputs_embeds": embeds}, grad=True)
    before = forward_count()
    worker = threading.Thread(target=lambda: tiny_mlm.forward(batch))
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive() and forward_count() == before + 1
    # The backward runs while another thread holds the lock: it does not need it.
    with lock_held_elsewhere(tiny_mlm):
        (grad,) = torch.autograd.grad(out.logits.sum(), embeds)
    assert float(grad.abs().sum()) > 0


def test_tokenizer_door_methods(tiny_mlm):
    ids = tiny_mlm.tokenize(TEXT).input_ids
    assert tiny_mlm.tokens_of(ids) == list(tiny_mlm.tokenize(TEXT).tokens)
    assert tiny_mlm.decode(ids) == TEXT
    enc = tiny_mlm.with_tokenizer(lambda tok: tok([TEXT, "a dog"], padding=True))
    assert len(enc["input_ids"]) == 2 and enc["input_ids"][0] == list(ids)


# Every head a BERT checkpoint can be loaded with, and the heads each brings.
LOADS = {
    "base": ("tiny-base", {"pooler"}),
    "mlm": ("tiny-mlm", {"mlm"}),
    "pretraining": ("tiny-pretraining", {"mlm", "nsp", "pooler"}),
    "sequence-classification": ("tiny-cls", {"cls", "pooler"}),
    "token-classification": ("tiny-ner", {"token"}),
    "question-answering": ("tiny-qa", {"qa"}),
}


@pytest.mark.parametrize("head", list(LOADS))
def test_heads_answer_matches_each_loading_head(tiny_dir, head):
    folder, expected = LOADS[head]
    loaded = load_model(str(tiny_dir / folder), head=head, device="cpu")
    assert set(heads.available(loaded)) == expected


def test_an_absent_checkpoint_head_is_found_but_not_trained(tiny_dir):
    """A pre-training load of a masked-LM checkpoint: the MLM head is trained, the next-sentence head random."""
    loaded = load_model(str(tiny_dir / "tiny-mlm"), head="pretraining", device="cpu")
    assert heads.has(loaded, "mlm") and not heads.has(loaded, "nsp")
    assert heads.find(loaded, "nsp") is not None and not heads.find(loaded, "nsp").trained


def test_each_head_call_matches_the_models_forward(tiny_dir):
    ids = None
    for head, (folder, names) in LOADS.items():
        loaded = load_model(str(tiny_dir / folder), head=head, device="cpu")
        ids = torch.as_tensor(loaded.tokenize(TEXT).input_ids)[None]
        with torch.no_grad():
            out = loaded.model(input_ids=ids, output_hidden_states=True)
            enc = loaded.encoder(input_ids=ids)
        last = out.hidden_states[-1]
        expected = {
            "mlm": getattr(out, "prediction_logits", None) if head == "pretraining" else getattr(out, "logits", None),
            "pooler": getattr(enc, "pooler_output", None),
            "cls": getattr(out, "logits", None),
            "nsp": getattr(out, "seq_relationship_logits", None),
            "token": getattr(out, "logits", None),
        }
        for name in names:
            if name == "qa":
                got = loaded.head_call("qa", last)
                np.testing.assert_allclose(got[..., 0].numpy(), out.start_logits.numpy(), atol=1e-5)
                continue
            arg = enc.pooler_output if name == "nsp" else last
            got = loaded.head_call(name, arg)
            want = expected[name]
            want = want[0] if name == "mlm" else want
            got = got[0] if name == "mlm" else got
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5, err_msg=f"{head}/{name}")


def test_compression_copies_run_without_the_shared_lock_and_the_reference_through_the_door(tiny_mlm):
    from bertexplore.inside.compression import _runner, compression_report, variant_model

    inputs = tiny_mlm.tokenize(TEXT)
    before = forward_count()
    compression_report(tiny_mlm, inputs, runs=2, variants=["float32"])
    assert forward_count() == before + 3  # warm-up + 2 timed runs, each through the door
    variant_model(tiny_mlm, "bfloat16")  # the copy is made (under the lock, once)
    run = _runner(tiny_mlm, "bfloat16")  # what compression_report runs for that variant
    batch = tiny_mlm.model_inputs(inputs.input_ids, inputs.segment_ids)
    done = threading.Event()
    with lock_held_elsewhere(tiny_mlm):
        worker = threading.Thread(target=lambda: (run(batch), run(batch), done.set()))
        worker.start()
        finished = done.wait(60)  # the private copy's forwards do not wait for the shared model's lock
    worker.join()
    assert finished
