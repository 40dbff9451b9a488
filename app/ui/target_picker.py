"""The shared target picker: a preset, a custom formula, or columns of an uploaded CSV file.

Every page that learns a function calls `target_picker` once and `build_dataset` once. Typed
formulas go through `kan_core.expressions`, which parses them with an allow-list and never
evaluates the text as code; uploaded files go through `kan_core.tabular`.

An invalid formula or file shows one `st.error` sentence, and the picker keeps returning the
last valid choice of this session, so the page keeps its data and model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import streamlit as st
import torch

from kan_core.expressions import ExpressionError, expression_target, parse_expression
from kan_core.limits import LIMITS
from kan_core.tabular import load_csv, rescale_inputs, select_columns
from kan_core.targets import Dataset, Target, dataset_from_samples, make_dataset, targets_with_inputs
from ui.controls import BIND

__all__ = ["CUSTOM", "UPLOAD", "TargetChoice", "build_dataset", "target_picker"]

CUSTOM = "custom"
UPLOAD = "csv"
VARIABLES = ("x", "y", "z", "w")
DEFAULT_FORMULAS = {1: "sin(pi*x) + x^2", 2: "exp(sin(pi*x) + y^2)"}
# Names for the two extra menu entries; the URL stores these labels.
EXTRA_LABELS = {CUSTOM: "Custom formula", UPLOAD: "Upload a CSV file"}


@dataclass(frozen=True)
class TargetChoice:
    """The function or data the reader chose to learn.

    Attributes
    ----------
    source : str
        ``"preset"``, ``"custom"`` or ``"csv"``.
    label : str
        Plain-text name for captions and legends.
    latex : str
        Formula in LaTeX, empty for uploaded data.
    target : Target or None
        A function to sample; None for uploaded data, which has only samples.
    samples : tuple of Tensor or None
        Uploaded inputs ``(n, d)`` already rescaled onto the grid range, and labels ``(n, 1)``.
    notes : tuple of str
        Facts the page shows under the picker, such as dropped rows or the input scaling.
    identity : str
        Changes whenever the data would change: the preset key, the formula and its range, or
        the file's digest and columns. Pages compare it to decide whether to start over.
    """

    source: str
    label: str
    latex: str
    target: Target | None
    samples: tuple[torch.Tensor, torch.Tensor] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    identity: str = ""

    @property
    def domain(self) -> tuple[tuple[float, float], ...]:
        """Range of each input: the target's domain, or the span of the uploaded inputs."""
        if self.target is not None:
            return self.target.domain
        inputs = self.samples[0]
        return tuple(
            (float(inputs[:, column].min()), float(inputs[:, column].max()))
            for column in range(inputs.shape[1])
        )


_MARKDOWN_SPECIALS = set("\\`*_{}[]()#+-.!|<>$~:")


def _plain(text: str) -> str:
    """Escape Markdown in text from an uploaded file, so a column name cannot become a link."""
    return "".join("\\" + char if char in _MARKDOWN_SPECIALS else char for char in text)


_EMPHASIS = set("\\`*_[]$~|#")


def _escape_markdown(text: str) -> str:
    """Escape the characters that start Markdown emphasis, code, links or math."""
    return "".join("\\" + char if char in _EMPHASIS else char for char in text)


def _last_valid_key(prefix: str) -> str:
    return f"{prefix}__last_valid_target"


def target_picker(
    prefix: str,
    n_inputs: int,
    *,
    default: str | None = None,
    allow_upload: bool = True,
    grid_range: Sequence[float] = (-1.0, 1.0),
    formula_range: Sequence[float] | None = None,
) -> TargetChoice:
    """Draw the target controls and return the reader's choice.

    Parameters
    ----------
    prefix : str
        The page's key prefix, such as ``"st"``; the widgets are ``{prefix}_target``,
        ``{prefix}_formula``, ``{prefix}_formula_min``, ``{prefix}_formula_max``,
        ``{prefix}_csv``, ``{prefix}_csv_inputs`` and ``{prefix}_csv_output``.
    n_inputs : int
        Number of inputs of the page's model: 1 on the one-dimensional pages.
    default : str, optional
        Key of the default preset; the first preset with `n_inputs` inputs when omitted.
    allow_upload : bool
        Offer CSV upload.
    grid_range : pair of float
        Interval onto which uploaded inputs are rescaled.
    formula_range : pair of float, optional
        Input range of a typed formula, for pages that sample over a range of their own.
        When it is omitted, the reader sets the range next to the formula.

    Returns
    -------
    TargetChoice
        The current choice, or the last valid one of this session when the current input is
        invalid (an error is shown then).
    """
    presets = targets_with_inputs(n_inputs)
    options = list(presets) + [CUSTOM] + ([UPLOAD] if allow_upload else [])
    labels = {key: target.label for key, target in presets.items()} | EXTRA_LABELS
    index = options.index(default) if default in options else 0
    source = st.selectbox(
        "Target function",
        options,
        index=index,
        format_func=lambda key: labels[key],
        key=f"{prefix}_target",
        bind=BIND,
        help="A preset, a formula you type, or columns of your own CSV file.",
    )

    try:
        if source == CUSTOM:
            choice = _formula_choice(prefix, n_inputs, formula_range)
        elif source == UPLOAD:
            choice = _upload_choice(prefix, n_inputs, grid_range)
        else:
            target = presets[source]
            choice = TargetChoice("preset", target.label, target.latex, target, identity=source)
    except ValueError as error:
        # A message may quote the typed formula, whose ** or _ would otherwise turn into
        # Markdown emphasis.
        st.error(_escape_markdown(str(error)))
        choice = st.session_state.get(_last_valid_key(prefix))
        if choice is None:
            choice = _first_preset(presets)
        st.caption(f"Still using the last valid target: {choice.label}.")
        return choice

    if choice is None:
        # Nothing uploaded yet: keep the previous target and tell the reader to upload a file.
        choice = st.session_state.get(_last_valid_key(prefix))
        if choice is None:
            choice = _first_preset(presets)
        st.info(f"Upload a CSV file to train on your own data. Until then: {choice.label}.")
        return choice

    st.session_state[_last_valid_key(prefix)] = choice
    for note in choice.notes:
        st.caption(note)
    return choice


def _first_preset(presets: dict[str, Target]) -> TargetChoice:
    key, target = next(iter(presets.items()))
    return TargetChoice("preset", target.label, target.latex, target, identity=key)


def _formula_choice(
    prefix: str, n_inputs: int, formula_range: Sequence[float] | None
) -> TargetChoice:
    variables = VARIABLES[:n_inputs]
    names = ", ".join(variables)
    text = st.text_input(
        f"f({names}) =",
        value=DEFAULT_FORMULAS.get(n_inputs, " + ".join(variables)),
        max_chars=LIMITS.max_formula_length,
        key=f"{prefix}_formula",
        bind=BIND,
        help=(
            f"Use {names}, numbers, + - * / ^, parentheses, pi, e and functions such as sin, "
            "cos, tan, exp, log, sqrt, abs, tanh, arctan, arcsin, sign, min(a, b), max(a, b)."
        ),
    )
    if formula_range is None:
        lower, upper = _range_inputs(prefix, names)
    else:
        lower, upper = float(formula_range[0]), float(formula_range[1])
    if lower >= upper:
        raise ValueError(
            f"The input range must have lowest < highest, but it is [{lower:g}, {upper:g}]. "
            "Raise the highest value or lower the lowest."
        )

    try:
        expression = parse_expression(text, variables)
    except ExpressionError as error:
        raise ValueError(f"The formula is invalid: {error}") from error
    target = expression_target(expression, [(lower, upper)] * n_inputs)

    # Sampling once here rejects a formula that is undefined on most of the range now, while
    # the previous target is still at hand.
    probe = make_dataset(target, 400, seed=0)
    notes = ()
    if probe.dropped:
        share = probe.dropped / 400
        notes = (
            f"f is undefined (NaN or infinite) at about {share:.0%} of the range; "
            "those sample points are dropped.",
        )
    identity = f"{CUSTOM}:{expression.text}:{lower!r}:{upper!r}"
    return TargetChoice(
        CUSTOM, expression.text, expression.latex, target, notes=notes, identity=identity
    )


def _range_inputs(prefix: str, names: str) -> tuple[float, float]:
    low_column, high_column = st.columns(2)
    lower = low_column.number_input(
        f"Lowest {names}", value=-1.0, step=0.5, key=f"{prefix}_formula_min", bind=BIND,
        min_value=-100.0, max_value=100.0,
    )
    upper = high_column.number_input(
        f"Highest {names}", value=1.0, step=0.5, key=f"{prefix}_formula_max", bind=BIND,
        min_value=-100.0, max_value=100.0,
    )
    return float(lower), float(upper)


def _upload_choice(prefix: str, n_inputs: int, grid_range: Sequence[float]) -> TargetChoice | None:
    # NOTE: an uploaded file cannot be part of a shared link; the column choices are.
    upload = st.file_uploader(
        "CSV file",
        type=["csv", "txt"],
        key=f"{prefix}_csv",
        help=(
            f"Comma, semicolon or tab separated, with a header row; at most "
            f"{LIMITS.max_csv_rows:,} rows and {LIMITS.max_csv_bytes // 1_000_000} MB. "
            "Uploaded files stay in your session and are not part of the page link."
        ),
    )
    if upload is None:
        return None

    table = load_csv(upload.getvalue())
    numeric = list(table.numeric_columns)
    if len(numeric) < n_inputs + 1:
        found = "1 numeric column" if len(numeric) == 1 else f"{len(numeric)} numeric columns"
        inputs_needed = "1 input" if n_inputs == 1 else f"{n_inputs} inputs"
        raise ValueError(
            f"The file has {found}, but this page needs {n_inputs + 1} "
            f"({inputs_needed} and 1 output). Upload a file with more numeric columns."
        )
    inputs = st.multiselect(
        f"Input columns ({n_inputs})",
        numeric,
        default=numeric[:n_inputs],
        max_selections=n_inputs,
        key=f"{prefix}_csv_inputs",
        bind=BIND,
    )
    outputs = [name for name in numeric if name not in inputs]
    output = st.selectbox(
        "Output column", outputs, index=len(outputs) - 1, key=f"{prefix}_csv_output", bind=BIND
    )
    if len(inputs) != n_inputs:
        raise ValueError(
            f"Choose exactly {n_inputs} input column(s); {len(inputs)} are chosen."
        )

    x, y, dropped = select_columns(table, inputs, output)
    x_scaled, scaling = rescale_inputs(x, (float(grid_range[0]), float(grid_range[1])))
    if scaling.constant_columns:
        column = scaling.constant_columns[0]
        raise ValueError(
            f"Column {_plain(inputs[column])} has the same value "
            f"({scaling.input_min[column].item():g}) in every row, so it cannot be an input. "
            "Choose a column whose values vary."
        )
    notes = [f"{_plain(upload.name)}: {len(x):,} rows used."]
    skipped = dict(table.skipped_rows) | dropped
    if skipped:
        reasons = ", ".join(f"{count:,} with {reason}" for reason, count in skipped.items())
        notes.append(f"Rows dropped: {reasons}.")
    for column, name in enumerate(inputs):
        low, high = scaling.input_min[column].item(), scaling.input_max[column].item()
        notes.append(
            f"Input {_plain(name)} runs from {low:.4g} to {high:.4g} and is rescaled to run "
            f"from {grid_range[0]:g} to {grid_range[1]:g}."
        )
    label = f"{output} from {', '.join(inputs)} ({upload.name})"
    digest = hashlib.sha256(upload.getvalue()).hexdigest()[:16]
    identity = f"{UPLOAD}:{digest}:{inputs}:{output}:{tuple(grid_range)}"
    return TargetChoice(
        UPLOAD, label, "", None, samples=(x_scaled, y), notes=tuple(notes), identity=identity
    )


def build_dataset(
    choice: TargetChoice,
    n_samples: int,
    *,
    noise: float = 0.0,
    test_fraction: float = 0.2,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> Dataset:
    """Sample the chosen function, or split the uploaded rows, into train and test sets.

    Uploaded data ignores `n_samples` and `noise`: its rows are the samples, and a seeded
    subset of ``LIMITS.max_samples`` rows is kept when there are more.

    Raises
    ------
    ValueError
        With a message for the reader when the samples cannot be drawn.
    """
    if choice.samples is not None:
        inputs, labels = choice.samples
        return dataset_from_samples(inputs, labels, test_fraction, seed).to(dtype)
    return make_dataset(choice.target, n_samples, noise, test_fraction, seed, dtype)
