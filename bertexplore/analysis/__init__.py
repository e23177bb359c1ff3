"""Analysis lab: what moves information through an encoder, beyond attention weights.

One small module per method, all working from one trace (plus the layer weights), never from extra forwards
unless the method needs them (census and projector: one batched forward; gradient importance: one forward and
one backward):

- `arrays`: the per-layer arrays every method reads (layer input, attention pattern, value vectors, weights).
- `norms`: ‖α·f(x)‖ (Kobayashi et al. 2020) and the same with residual + LayerNorm (Kobayashi et al. 2021).
- `alti`: ALTI token contributions and their rollout (Ferrando et al. 2022).
- `measures`: the "weight vs what moved" choice the Attention page's views share.
- `graph`: the contribution graph from one output position down to the input tokens.
- `lens`: the logit lens: the model's own masked-LM head (or classifier) on every layer.
- `census`: per-head statistics (Clark et al. 2019) and pattern labels (Kovaleva et al. 2019).
- `gradient_importance`: every head's importance from one backward through per-head gates (Michel et al. 2019).
- `projector`: PCA of hidden states across sentences.
- `figures`: the plotly figures of this package.
"""
