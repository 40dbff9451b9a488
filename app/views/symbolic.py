"""Symbolic regression page: train a KAN, snap its edges to formulas, read off the result.

Top to bottom: data and model controls, live training with sparsity and pruning, the
network diagram with the loss curves, one edge with its best symbolic candidates, Snap all,
and the formula. The models and all actions live in `ui.symbolic_session`, and the panels
below the training are in `ui.symbolic_panels`.
"""

import streamlit as st

from kan_core.limits import LIMITS
from ui import controls
from ui import symbolic_actions as actions
from ui import symbolic_session as session
from ui.controls import BIND
from ui.figures.common import PLOTLY_CONFIG
from ui.figures.network import EDGE_PREFIX, network_figure
from ui.figures.training import loss_figure
from ui.symbolic_panels import edge_panel, formula_panel, snap_all_panel, weight_slider
from ui.target_picker import build_dataset, target_picker

WIDTHS_KEY = "sy_widths"
EDGE_KEY = "sy_edge"
MAX_HIDDEN_WIDTH = 6
MAX_LAYERS = 3
LEARNING_RATES = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
STRENGTHS = [0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2]
PRUNE_THRESHOLDS = [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]


def _parse_widths(text: str) -> list[int]:
    numbers = controls.parse_number_list(text, name="widths", max_count=MAX_LAYERS + 1)
    if len(numbers) < 2:
        raise ValueError(f"Type at least two widths, such as 2, 5, 1, but got {text!r}.")
    if any(number != int(number) for number in numbers):
        raise ValueError(f"Widths must be whole numbers, but {text!r} has a fraction.")
    widths = [int(number) for number in numbers]
    if widths[0] != 2 or widths[-1] != 1:
        raise ValueError(
            f"The first width must be 2 (inputs x and y) and the last 1 (output f), but they "
            f"are {widths[0]} and {widths[-1]}. Type, for example, 2, 5, 1."
        )
    for width in widths[1:-1]:
        if not 1 <= width <= MAX_HIDDEN_WIDTH:
            raise ValueError(
                f"Hidden widths must be between 1 and {MAX_HIDDEN_WIDTH} so the diagram stays "
                f"readable, but one is {width}. Use a smaller width."
            )
    return widths


def _apply_clicked_edge() -> None:
    # A click in the diagram reruns the app, and the select box takes the clicked edge here.
    # Streamlit lets code set a widget's value only before the widget is drawn.
    pending = st.session_state[session.PENDING_EDGE]
    if pending is not None:
        st.session_state[EDGE_KEY] = pending
        st.session_state[session.PENDING_EDGE] = None


def _handle_click(event, current: session.Edge) -> None:
    points = event.selection.points if event is not None else []
    ids = [p.get("customdata") for p in points if str(p.get("customdata", "")).startswith(EDGE_PREFIX)]
    if not ids or ids[-1] == st.session_state[session.LAST_CLICK]:
        return
    st.session_state[session.LAST_CLICK] = ids[-1]
    edge = tuple(int(part) for part in ids[-1][len(EDGE_PREFIX):].split("-"))
    if edge != current:
        st.session_state[session.PENDING_EDGE] = edge
        st.rerun(scope="app")


st.title("Symbolic regression")
st.markdown(
    """
A KAN puts a learnable function on every edge. After training, many of these functions look
like familiar ones: a sine, a square, an exponential. Here you train a small KAN on a formula
and look at every edge in the diagram. Then ask which functions each edge resembles, **snap**
edges to them, and keep training so the fitted constants settle. At the end you read off the
formula the network found.
"""
)
session.init_page_state()
_apply_clicked_edge()

data_column, model_column = st.columns(2)
with data_column:
    choice = target_picker("sy", n_inputs=2, default="exp_sin_pi_x_y_shift")
    noise = controls.noise_slider("sy_noise")
    n_samples = controls.sample_count_slider("sy_samples", value=600, max_value=LIMITS.max_samples)
with model_column:
    widths_text = st.text_input(
        "Widths", value="2, 5, 1", key=WIDTHS_KEY, bind=BIND, max_chars=40,
        help=f"Nodes per layer from inputs to output, separated by commas. Hidden widths run from 1 to {MAX_HIDDEN_WIDTH}.",
    )
    try:
        widths = _parse_widths(widths_text)
        st.session_state[session.LAST_WIDTHS] = widths
    except ValueError as error:
        widths = st.session_state[session.LAST_WIDTHS]
        st.error(f"{error} Still using {', '.join(map(str, widths))}.")
    grid_size = controls.grid_size_slider("sy_grid", value=5, min_value=3, max_value=20)
    lr = st.select_slider(
        "Learning rate (Adam)", options=LEARNING_RATES, value=3e-2, key="sy_lr", bind=BIND,
        help="Step size of the optimiser. Changing it keeps the models and their history.",
    )
    seed = controls.seed_input("sy_seed")
    compare = st.checkbox(
        "Also train a copy that is never snapped", value=True, key="sy_compare", bind=BIND,
        help="Trains an identical network beside the first one, so the loss chart shows what snapping costs or gains.",
    )

domain = choice.target.domain if choice.target is not None else None
signature = (choice.source, choice.label, domain, tuple(widths), grid_size, noise, n_samples, seed, compare)
try:
    rebuilt = session.LIVE.sync(
        signature,
        lambda: session.build_trainers(
            build_dataset(choice, n_samples, noise=noise, seed=seed), widths, grid_size,
            lr=lr, seed=seed, compare=compare,
        ),
        lr=lr,
    )
except ValueError as error:
    rebuilt = False
    st.error(f"The data could not be built: {error}. The previous model stays; change the target or its range.")
if rebuilt:
    session.reset_page_state()
if not session.LIVE.trainers:
    st.stop()

model = session.LIVE.trainers[session.MAIN].model
widths = model.widths
edges = session.all_edges(model)

st.subheader("Train")
session.LIVE.buttons()
strength_column, threshold_column, prune_column = st.columns([2, 2, 1], vertical_alignment="bottom")
strength = strength_column.select_slider(
    "Sparsity penalty λ", options=STRENGTHS, value=1e-3, key="sy_lambda", bind=BIND,
    format_func=lambda value: "off" if value == 0 else f"{value:g}",
    help="Weight of the L1 and entropy penalty on edge magnitudes; it pushes unneeded edges towards zero.",
)
prune_threshold = threshold_column.select_slider(
    "Prune threshold", options=PRUNE_THRESHOLDS, value=1e-2, key="sy_prune_threshold", bind=BIND,
    format_func=lambda value: f"{value:g}",
    help="A hidden node is removed when its largest incoming or outgoing edge magnitude is below this.",
)
prune_column.button(
    "Prune", key="sy_prune", icon=":material/content_cut:", width="stretch",
    on_click=actions.prune_models, args=(session.LIVE.trainers[session.MAIN].train_input, prune_threshold),
    help="Remove weak hidden nodes and their edges from every model.",
)
session.show_notice("prune")
session.set_regularizer(session.LIVE.trainers, strength)

diagram_area = st.container()

st.subheader("Inspect and snap an edge")
weight = weight_slider()
selected = st.selectbox(
    "Edge", edges, key=EDGE_KEY, bind=BIND, format_func=lambda e: session.edge_label(e, widths),
    help="Pick an edge here or click its box in the diagram.",
)


def render(trainers) -> None:
    """Draw the network diagram and the loss curves; runs on every training tick."""
    main = trainers[session.MAIN]
    node_labels = [[session.node_label(level, index, widths) for index in range(width)]
                   for level, width in enumerate(widths)]
    diagram_column, loss_column = st.columns([3, 2])
    with diagram_column:
        event = st.plotly_chart(
            network_figure(session.edge_curves(main.model, main.train_input), node_labels, selected=selected),
            key="sy_network", on_select="rerun", selection_mode="points", config=PLOTLY_CONFIG,
            width="stretch",
        )
        st.caption(
            "Each box plots one edge's activation over the inputs it receives. Blue: spline, "
            "green: symbolic, grey: pruned; faint edges matter little to the output. Click a box "
            "to inspect that edge."
        )
        _handle_click(event, selected)
    with loss_column:
        histories = {name: trainer.history for name, trainer in trainers.items()}
        st.plotly_chart(
            loss_figure(histories, events=st.session_state[session.EVENTS], uirevision="sy-loss", height=480),
            key="sy_loss", config=PLOTLY_CONFIG, width="stretch",
        )
        if session.COMPARISON in trainers:
            st.caption(
                "Both networks start identical, so their curves overlap until the first snap. "
                "Dotted lines mark snaps, undos and prunes."
            )


# The training fragment draws into the area above the edge controls, which it needs first.
with diagram_area:
    session.LIVE.run(render)

edge_panel(selected, widths, weight)

st.subheader("Snap all edges")
snap_all_panel(widths, weight)

st.subheader("Formula")
formula_panel()

st.subheader("What to notice")
st.markdown(
    """
- **A wrong form costs accuracy for good.** Snap an edge to a function that only looks
  similar, say x² where the edge is really a shifted exponential, and the loss jumps. More
  training moves a, b, c and d, but it cannot bend x² into another shape, so the loss stays
  above the never-snapped copy. Undo the snap to get the spline back.
- **Noise makes the other edges overfit.** Raise the noise level, pick a finer grid and train
  again. Edges that should be straight lines or zero can start to wiggle, because a spline is
  free to follow the noise. Their best candidates then tend to reach a lower R², so at a strict
  threshold Snap all leaves more of them as splines. A stronger sparsity penalty and Prune
  remove many of these edges before you snap.
- **Snap in order.** Snap the edges you are sure of first, train a little, and check the
  candidates of the rest again: their inputs change when earlier edges become exact.
"""
)
