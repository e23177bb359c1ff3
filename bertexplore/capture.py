"""Recording named activations during one forward, safely on a model every session shares.

Hooks are installed once, when a model is prepared (`install`), and do nothing unless the running thread has set a
`Recorder` in a context variable (`recording`). So one session's capture never leaks into another's forward, and
no hook is ever added or removed per request. The attention function (attention_function.py) records q, k, v,
scores, pattern and z through the same recorder; the hooks here record the rest.

A recorder counts calls per role to know the layer: layers run in order, which also holds for ALBERT, whose
layers all call one shared module.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ContextManager, Iterable, Iterator

import torch
from torch import nn

from .errors import InputError
from . import families
from .i18n import _

EMBED_NAMES = ("embed.word", "embed.position", "embed.segment", "embed.sum", "embed.out")
ATTN_NAMES = ("q", "k", "v", "scores", "pattern", "z", "head_out", "out")
# TransformerLens's HookedEncoder names where it has them, meaning the same tensors: resid_pre is the block's input,
# resid_mid / resid_post the sums BEFORE each LayerNorm, normalized_resid_mid / normalized_resid_post the LayerNorm
# outputs (BERT's hidden state is normalized_resid_post). TransformerLens exposes the first LayerNorm's output as
# ln1.hook_normalized; normalized_resid_mid names it by analogy with normalized_resid_post.
BLOCK_NAMES = ("resid_pre",) + tuple(f"attn.{n}" for n in ATTN_NAMES) + (
    "resid_mid", "normalized_resid_mid", "mlp.pre", "mlp.post", "mlp.out", "resid_post", "normalized_resid_post")
HEAD_NAMES = ("pooler.out", "mlm.log_probs", "cls.logits", "token.logits", "qa.start_logits", "qa.end_logits",
              "nsp.logits")
_BLOCK = re.compile(r"^blocks\.(\d+|\*)\.(.+)$")

_recorder: ContextVar["Recorder | None"] = ContextVar("bertexplore_recorder", default=None)
# Interventions (the causal lab): an editor, set per forward like the recorder, may replace what a site computes.
# It is any object with `edit(site, tensor) -> tensor | None` (None: unchanged); see bertexplore/causal/edits.py.
_editor: ContextVar["object | None"] = ContextVar("bertexplore_editor", default=None)


def expand_names(names: Iterable[str], num_layers: int) -> frozenset[str]:
    """Concrete names for `names`; `blocks.*.x` means every layer. Unknown names raise InputError."""
    out: set[str] = set()
    for name in names:
        match = _BLOCK.match(name)
        if match:
            layer, rest = match.groups()
            if rest not in BLOCK_NAMES:
                raise InputError(_("Unknown activation '{name}'; a block holds {choices}.").format(
                                     name=name, choices=', '.join(BLOCK_NAMES)))
            if layer == "*":
                out.update(f"blocks.{l}.{rest}" for l in range(num_layers))
            elif int(layer) < num_layers:
                out.add(f"blocks.{int(layer)}.{rest}")
            else:
                raise InputError(_("'{name}': the model has layers 0..{num_layers}.").format(
                                     name=name, num_layers=num_layers - 1))
        elif name in EMBED_NAMES or name in HEAD_NAMES:
            out.add(name)
        else:
            raise InputError(_("Unknown activation '{name}'. Names: {choices}, and "
                               "blocks.<layer>.<{blocks}>.").format(
                                 name=name, choices=', '.join(EMBED_NAMES + HEAD_NAMES),
                                 blocks='|'.join(BLOCK_NAMES)))
    return frozenset(out)


class Recorder:
    """What one forward stores: tensors with their batch axis, by name; patterns of every layer in one buffer."""

    def __init__(self, wanted: frozenset[str], num_layers: int) -> None:
        self.wanted = wanted
        self.num_layers = num_layers
        self.store: dict[str, torch.Tensor] = {}
        self.patterns: torch.Tensor | None = None  # [batch, layers, heads, T, T] when every layer's pattern is wanted
        self._all_patterns = all(f"blocks.{l}.attn.pattern" in wanted for l in range(num_layers))
        self._counts: dict[str, int] = {}
        self._heads = 0  # heads per layer, learnt from the first attention call (head_out splits W_O by it)

    def layer(self, role: str) -> int:
        count = self._counts.get(role, 0)
        self._counts[role] = count + 1
        return count

    def wants(self, name: str) -> bool:
        return name in self.wanted

    def put(self, name: str, tensor: torch.Tensor) -> None:
        if name in self.wanted:
            self.store[name] = tensor.detach()

    def _buffer(self, like: torch.Tensor) -> torch.Tensor:
        if self.patterns is None:  # one buffer, filled layer by layer: no stacking copy afterwards
            b, h, t, s = like.shape
            self.patterns = torch.empty((b, self.num_layers, h, t, s), dtype=torch.float32)
        return self.patterns

    def pattern_slot(self, scores: torch.Tensor) -> torch.Tensor | None:
        """Where this layer's softmax may be written directly: the buffer's slice for the next layer, when it is
        contiguous and of the scores' dtype and device (a batch of one float32 forward on the CPU)."""
        layer = self._counts.get("attn", 0)
        if not self._all_patterns or layer >= self.num_layers or scores.dtype != torch.float32 \
                or scores.device.type != "cpu" or scores.shape[0] != 1:
            return None
        return self._buffer(scores)[:, layer]

    def attention(self, query, key, value, scores, weights, z, in_place: bool = False) -> None:
        """Called by the attention function with [batch, heads, T, ...] tensors."""
        layer = self.layer("attn")
        prefix = f"blocks.{layer}.attn."
        self.put(prefix + "q", query)
        self.put(prefix + "k", key)
        self.put(prefix + "v", value)
        self.put(prefix + "scores", scores)
        if self._all_patterns:
            if not in_place and layer < self.num_layers:
                self._buffer(weights)[:, layer].copy_(weights)
        else:
            self.put(prefix + "pattern", weights)
        self._heads = int(query.shape[1])
        self.put(prefix + "z", z)

    def head_out(self, layer: int, o: nn.Linear, o_input: torch.Tensor) -> None:
        """Each head's share of the attention output: the output projection's real input (the heads' z vectors,
        concatenated, as the model passed them) split per head, times that head's rows of W_O. DERIVED, not
        executed: the model runs one matrix product for all heads; the shares plus the bias sum to attn.out, which
        is recorded from the model's own execution (anatomy checks that sum)."""
        name = f"blocks.{layer}.attn.head_out"
        if name not in self.wanted:
            return
        weight = o.weight
        heads = self._heads or 1
        b, t, width = o_input.shape
        d = width // heads
        z = o_input.detach().reshape(b, t, heads, d)
        self.store[name] = torch.einsum("bthd,Dhd->bhtD", z, weight.view(weight.shape[0], heads, d).to(z.dtype))


def current() -> Recorder | None:
    return _recorder.get()


@contextmanager
def _bound(var: ContextVar, value: Any) -> Iterator[Any]:
    token = var.set(value)
    try:
        yield value
    finally:
        var.reset(token)


def recording(recorder: Recorder) -> ContextManager[Recorder]:
    """Within the block, forwards in this thread record their activations into `recorder`."""
    return _bound(_recorder, recorder)


def editing(editor: object) -> ContextManager[object]:
    """Within the block, forwards in this thread let `editor` replace activations at the edit sites."""
    return _bound(_editor, editor)


def _edit_hook(site: str, take_input: bool = False):
    """An edit site: `site` names the value (a layer's calls are counted by the editor, as the recorder does)."""
    if take_input:
        def pre_hook(module, args):
            editor = _editor.get()
            if editor is not None:
                new = editor.edit(site, args[0])
                if new is not None:
                    return (new,) + tuple(args[1:])
        return pre_hook

    def hook(module, args, output):
        editor = _editor.get()
        if editor is not None:
            return editor.edit(site, output)
    return hook


def _out_hook(role: str, suffix: str, input_suffix: str | None = None):
    """Record a module's output as blocks.{l}.{suffix} (and its first input as blocks.{l}.{input_suffix})."""
    def hook(module, args, output):
        rec = _recorder.get()
        if rec is not None:
            layer = rec.layer(role)
            if input_suffix is not None:
                rec.put(f"blocks.{layer}.{input_suffix}", args[0])
            if suffix:
                rec.put(f"blocks.{layer}.{suffix}", output)
    return hook


def _o_hook(module, args, output):
    rec = _recorder.get()
    if rec is not None:
        layer = rec.layer("o")
        rec.put(f"blocks.{layer}.attn.out", output)
        rec.head_out(layer, module, args[0])


def _ffn_out_hook(module, args, output):
    rec = _recorder.get()
    if rec is not None:
        layer = rec.layer("ffn_out")
        rec.put(f"blocks.{layer}.mlp.post", args[0])
        rec.put(f"blocks.{layer}.mlp.out", output)


def _named_hook(name: str, take_input: bool = False):
    def hook(module, args, output):
        rec = _recorder.get()
        if rec is not None:
            rec.put(name, args[0] if take_input else output)
    return hook


def _embed_ln_hook(module, args, output):
    rec = _recorder.get()
    if rec is not None:
        rec.put("embed.sum", args[0])
        rec.put("embed.out", output)


_INSTALLED = "_bertexplore_capture"
EDIT_SITES = ("embed", "attn.z", "attn.out", "mlp.post", "mlp.out", "normalized_resid_post")


def _install_edit_sites(model: nn.Module, emb: families.EmbeddingParts) -> None:
    """The sites an editor may change, registered after the capture hooks (recordings see the unedited values).
    attn.z and mlp.post are the inputs of the output projections (heads concatenated; FFN neurons)."""
    (emb.ln if emb.projection is None else emb.projection).register_forward_hook(_edit_hook("embed"))
    seen: list[nn.Module] = []
    for layer in range(families.layer_count(model)):
        parts = families.layer_parts(model, layer)
        if any(parts.o is m for m in seen):
            continue  # ALBERT's shared modules: one hook, fired once per layer
        seen.append(parts.o)
        parts.o.register_forward_pre_hook(_edit_hook("attn.z", take_input=True))
        parts.o.register_forward_hook(_edit_hook("attn.out"))
        parts.ffn_out.register_forward_pre_hook(_edit_hook("mlp.post", take_input=True))
        parts.ffn_out.register_forward_hook(_edit_hook("mlp.out"))
        parts.ln2.register_forward_hook(_edit_hook("normalized_resid_post"))


def install(model: nn.Module) -> bool:
    """Install the capture hooks once (idempotent); False for families without the full cache."""
    if getattr(model, _INSTALLED, False):
        return True
    if not families.has_full_cache(model):
        return False
    emb = families.embedding_parts(model)
    hooks = [(emb.word, _named_hook("embed.word")), (emb.position, _named_hook("embed.position")),
             (emb.ln, _embed_ln_hook)]
    if emb.segment is not None:
        hooks.append((emb.segment, _named_hook("embed.segment")))
    if emb.projection is not None:
        hooks.append((emb.projection, _named_hook("embed.out")))  # after the LayerNorm hook: the projected vectors win
    pooler = families.pooler_module(model)
    if pooler is not None:
        hooks.append((pooler, _named_hook("pooler.out")))
    done: list[nn.Module] = []
    for layer in range(families.layer_count(model)):
        parts = families.layer_parts(model, layer)
        if any(parts.o is m for m in done):  # ALBERT: the shared modules are hooked once and fire once per layer
            continue
        done.append(parts.o)
        # Every family's sub-layer LayerNorm reads the residual sum (input + sub-layer output, dropout off in
        # eval): its input IS resid_mid / resid_post as the model computed it, its output the normalized one.
        # The query projection reads the block's input: resid_pre.
        hooks += [(parts.q, _out_hook("q", "", "resid_pre")), (parts.o, _o_hook),
                  (parts.ln1, _out_hook("ln1", "normalized_resid_mid", "resid_mid")),
                  (parts.ffn_in, _out_hook("ffn_in", "mlp.pre")), (parts.ffn_out, _ffn_out_hook),
                  (parts.ln2, _out_hook("ln2", "normalized_resid_post", "resid_post"))]
    for module, hook in hooks:
        module.register_forward_hook(hook)
    _install_edit_sites(model, emb)
    setattr(model, _INSTALLED, True)
    return True
