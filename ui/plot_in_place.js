// A plotly figure that is updated in place (Plotly.react on one graph div) when its data changes.
//
// st.plotly_chart gives a figure a new element id whenever its spec changes, so each layer or head change mounts a
// new chart: the spec is parsed, stringified and parsed again for the theme, drawn hidden at a default width, then
// drawn again at the page's width. At 512 tokens that is ~0.45 s before the new matrix shows (bench_latency). Here
// the graph div stays, and plotly redraws only what changed.
//
// Plotly itself is the copy Streamlit ships (its chart module sets window.Plotly when it is first loaded): no
// second plotly in the page. `data` is UTF-8 JSON: {figure, config, plotly: the URL of that module, error: the
// translated words shown before a failure's message}.

// Per graph div: the payload last drawn, the figure's own layout, the theme it was drawn with, the draw queue and the
// theme watcher.
const states = new WeakMap();

function themeOf(host) {
  const style = getComputedStyle(host);
  return ["--st-text-color", "--st-background-color", "--st-heading-color", "--st-font"]
    .map((name) => style.getPropertyValue(name).trim()).join("|");
}

function enqueue(state, draw) {
  // one draw at a time on a div, in the order asked; a failed draw does not stop the next
  state.queue = state.queue.catch(() => {}).then(draw);
  return state.queue;
}

function watchTheme(gd, host, state) {
  // Streamlit's theme (light/dark, or a custom one) reaches this element as CSS variables on its wrapper; when it
  // changes, only the colours are drawn again (the data stays).
  state.observer = new MutationObserver(() => {
    const theme = themeOf(host);
    if (!window.Plotly || theme === state.theme) return;
    state.theme = theme;
    enqueue(state, () => window.Plotly.react(gd, gd.data, themed(state.layout, host), gd._context)).catch(() => {});
  });
  // the wrapper that carries the variables is a level or two up; a few levels cover it without watching the page
  let node = host;
  for (let level = 0; node && level < 4; level += 1, node = node.parentElement) {
    state.observer.observe(node, { attributes: true, attributeFilter: ["class", "style"] });
  }
}

function plotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  return import(new URL(url, document.baseURI).href).then(() => {
    if (!window.Plotly) throw new Error("Streamlit's plotly module did not define Plotly");
    return window.Plotly;
  });
}

function colour(host, css) {
  // a CSS colour expression resolved to the rgb() string plotly needs
  const probe = document.createElement("span");
  probe.style.color = css;
  probe.style.display = "none";
  host.appendChild(probe);
  const value = getComputedStyle(probe).color;
  probe.remove();
  return value;
}

function themed(layout, host) {
  // Streamlit's theme for plotly is applied by its own chart element only. The parts a heatmap shows are taken
  // here from the theme's CSS variables on the component (light and dark alike), as Streamlit's chart does:
  // muted axis text, the heading colour for a left-aligned bold title, the page's background for hover labels.
  const style = getComputedStyle(host);
  const family = style.getPropertyValue("--st-font").trim() || style.fontFamily;
  const text = colour(host, "var(--st-text-color, currentColor)");
  const muted = colour(host, "color-mix(in srgb, var(--st-text-color, currentColor) 60%, var(--st-background-color, white))");
  const heading = colour(host, "var(--st-heading-color, var(--st-text-color, currentColor))");
  const border = colour(host, "var(--st-border-color-light, var(--st-border-color, #e6eaf1))");
  const background = colour(host, "var(--st-background-color, white)");
  const axis = (a) => a && {
    tickcolor: border, gridcolor: border, zerolinecolor: border, ...a,
    tickfont: { color: muted, ...(a.tickfont || {}) },
    title: { ...(a.title || {}), font: { color: muted, size: 14, ...((a.title || {}).font || {}) } },
  };
  const title = layout.title || {};
  return {
    ...layout,
    font: { family, color: muted, size: 12, ...(layout.font || {}) },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    hoverlabel: { bgcolor: background, bordercolor: border, font: { family, color: text }, ...(layout.hoverlabel || {}) },
    title: {
      x: 0, xanchor: "left", ...title,
      font: { color: heading, ...(title.font || {}) },
      text: title.text ? `<b>${title.text}</b>` : title.text,
    },
    xaxis: axis(layout.xaxis),
    yaxis: axis(layout.yaxis),
  };
}

export default function ({ data, parentElement }) {
  let gd = parentElement.querySelector(":scope > .bx-plot");
  if (!gd) {
    gd = document.createElement("div");
    gd.className = "bx-plot";
    gd.style.width = "100%";
    parentElement.appendChild(gd);
  }
  let state = states.get(gd);
  if (!state) {
    state = { data: null, layout: null, theme: null, queue: Promise.resolve(), observer: null };
    states.set(gd, state);
    watchTheme(gd, parentElement, state);
  }
  const cleanup = () => {
    state.observer.disconnect();
    states.delete(gd);
    if (window.Plotly) window.Plotly.purge(gd);
  };
  // Streamlit calls this again when anything about the element changes, the data often not: plotly cannot tell
  // new arrays with the same values from new values, so an unchanged payload is not drawn twice.
  if (state.data === data) return cleanup;
  state.data = data;
  const { figure, config, plotly: url, error } = JSON.parse(new TextDecoder().decode(data));
  // Streamlit's plotly template holds placeholder colours that only its own chart element fills in.
  delete figure.layout.template;
  state.layout = figure.layout;
  state.theme = themeOf(parentElement);
  const layout = themed(figure.layout, parentElement);
  enqueue(state, () => plotly(url).then((P) => {
    const options = { ...config, responsive: true };
    // The export file name follows the view's title. Plotly replots from scratch (two full draws: its margins are
    // settled in a second pass) when the config differs, so the name is set where plotly reads it on a camera
    // click instead of counting as a new config.
    if (gd._context && gd._context.toImageButtonOptions) gd._context.toImageButtonOptions = options.toImageButtonOptions;
    return P.react(gd, figure.data, layout, options);
  })).catch((err) => {
    gd.textContent = `${error} ${err}`;
  });
  return cleanup;
}
