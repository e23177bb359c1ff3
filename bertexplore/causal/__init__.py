"""The causal lab: intervene on an encoder and measure what changes (no streamlit here).

    from bertexplore.causal import patch, patch_heads, attribution_patch_heads, knowledge_neurons, edit_neurons, \
        probe_tagset
    m = patch(loaded, "The keys to the cabinet [MASK] on the table.", "The key to the cabinet [MASK] on the table.",
              site="resid", target="are", contrast="is")
    m.effect  # [layers + 1, tokens] normalised effect; m.rows, m.pair.tokens label it

Every run goes through `LoadedModel.forward` (counted, locked); interventions are per forward (edits.py).
"""
from .bundled import minimal_pairs, ner_sentences, pos_sentences
from .edits import Edit, Editor
from .metrics import Metric, head_kind
from .neurons import NeuronEdit, NeuronScores, edit_neurons, knowledge_neurons
from .patching import (HeadAverage, HeadMap, Pair, PatchMap, attribution_patch_heads, average_heads, patch, patch_heads, patched_value,
                       prepare_pair, rank_correlation)
from .probes import ProbeResult, probe, probe_tagset, word_vectors

__all__ = ["Edit", "Editor", "HeadAverage", "HeadMap", "Metric", "NeuronEdit", "NeuronScores", "Pair", "PatchMap", "ProbeResult",
           "attribution_patch_heads", "average_heads", "edit_neurons", "head_kind", "knowledge_neurons", "minimal_pairs",
           "ner_sentences", "patch", "patch_heads", "patched_value", "pos_sentences", "prepare_pair", "probe",
           "probe_tagset", "rank_correlation", "word_vectors"]
