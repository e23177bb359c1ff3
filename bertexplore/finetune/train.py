"""Build a fresh trainable copy of the base model with the task's head and train it with the HF Trainer.

The shared, cached model the explorer pages use is never touched: the weights are read again from
their source into a new object. Training goes through transformers.Trainer (accelerate underneath),
so `accelerate launch` / `torchrun` scale the same code to several GPUs or machines.
"""
from __future__ import annotations

import gc
import math
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from transformers import (
    Trainer,
    TrainerCallback,
    TrainingArguments,
    PrinterCallback,
    set_seed,
)

from ..errors import BertExploreError, UnsupportedModel
from ..loading import LoadedModel, build, position_limit, resolve_device
from .config import TASK_HEADS, JobConfig
from .dataset_types import TaskData
from .task_table import build_datasets, load_task_data, split
from .metrics import evaluate_predictions, trainer_hooks
from ..i18n import _


class Progress(Protocol):
    """What the trainer reports to: the panel's job, the CLI's printer, or a test's recorder."""

    def begin(self, total_steps: int) -> None: ...
    def loss(self, step: int, value: float, epoch: float) -> None: ...
    def evaluated(self, step: int, metrics: dict[str, float]) -> None: ...
    def phase(self, text: str) -> None: ...


class NullProgress:
    def begin(self, total_steps: int) -> None:
        pass

    def loss(self, step: int, value: float, epoch: float) -> None:
        pass

    def evaluated(self, step: int, metrics: dict[str, float]) -> None:
        pass

    def phase(self, text: str) -> None:
        pass


@dataclass
class TrainResult:
    """A trained model (in memory, this session's only) and what the run measured."""

    config: JobConfig
    model: Any
    tokenizer: Any
    label_names: list[str]
    metrics_before: dict[str, Any]
    metrics_after: dict[str, Any]
    losses: list[tuple[int, float]]
    steps: int
    total_steps: int
    stopped: bool
    train_seconds: float
    train_samples: int
    val_samples: int
    samples_per_second: float
    source: str
    data_source: str
    notes: list[str] = field(default_factory=list)
    train_unit: str = "examples"  # what train_samples / val_samples count (EncodedDataset.unit)
    val_unit: str = "examples"

    def as_loaded(self, name: str = "fine-tuned (this session)") -> LoadedModel:
        """The trained model in the form the explorer's engine (run_trace...) takes."""
        return LoadedModel.wrap(self.model, self.tokenizer, name, self.source, self.config.head)


def embeddings_tied(model) -> bool:
    out, inp = model.get_output_embeddings(), model.get_input_embeddings()
    return out is not None and out.weight.data_ptr() == inp.weight.data_ptr()


def build_model(config: JobConfig, label_names: list[str], device: str = "cpu") -> tuple[Any, Any, str]:
    """(new trainable model with the task head, tokenizer, source), built by the app's one loader.

    Seeded, so the fresh head starts from the same weights every time for a seed: the "before" model of
    a run can be rebuilt exactly instead of being kept in memory. The model runs the app's attention function,
    so the trained model can be traced and ablated like any other.
    """
    overrides: dict[str, Any] = {}
    if config.task in ("classification", "multilabel", "ner"):  # a fresh label head of the right size
        overrides.update(
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={name: i for i, name in enumerate(label_names)},
            ignore_mismatched_sizes=True,  # a base that already has a head of another size gets a fresh one
        )
        if config.task in ("classification", "multilabel"):
            overrides["problem_type"] = ("multi_label_classification" if config.task == "multilabel"
                                         else "single_label_classification")
    set_seed(config.seed)
    built = build(config.base_model, TASK_HEADS[config.task], device=device, train=True, **overrides)
    if config.task in ("mlm", "pretraining") and built.tokenizer.mask_token_id is None:
        raise UnsupportedModel(_("The tokenizer of '{base_model}' has no mask token: it cannot train a "
                                 "masked-LM.").format(base_model=config.base_model))
    if config.task == "pretraining":
        from .pretraining import check_model
        check_model(built.model, config.base_model)
    return built.model, built.tokenizer, built.source


def max_tokens(config: JobConfig, model) -> int:
    return min(config.max_length, position_limit(model.config))


def training_threads() -> int:
    """Intra-op threads for a training run: all cores but one, so the explorer pages keep a core.

    torch's setting is process-wide for threads started afterwards, so pages' forwards use the same
    count while a run is going; the previous value is restored when the run ends.
    """
    override = os.environ.get("BERTEXPLORE_TRAIN_THREADS")
    if override and override.isdigit() and int(override) > 0:
        return int(override)
    return max(1, min(torch.get_num_threads(), (os.cpu_count() or 2) - 1))


def _evaluation_took(progress, seconds: float) -> None:
    """Optional part of Progress: how long one validation pass took (the job's ETA counts the passes left)."""
    report = getattr(progress, "evaluation_took", None)
    if report is not None:
        report(seconds)


class _Callback(TrainerCallback):
    """Feeds progress to the job and stops the Trainer at the end of the step in which Stop was pressed."""

    def __init__(self, progress: Progress, stop: threading.Event, task: str, names: list[str]) -> None:
        self.progress, self.stop, self.task, self.names = progress, stop, task, names
        self.losses: list[tuple[int, float]] = []

    def on_train_begin(self, args, state, control, **kwargs):
        self.progress.begin(int(state.max_steps))
        if self.stop.is_set():
            control.should_training_stop = True

    def on_step_end(self, args, state, control, **kwargs):
        if self.stop.is_set():
            control.should_training_stop = True
            control.should_evaluate = False
            control.should_save = False
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            value = float(logs["loss"])
            self.losses.append((int(state.global_step), value))
            self.progress.loss(int(state.global_step), value, float(state.epoch or 0.0))

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if metrics and isinstance(metrics.get("eval_runtime"), (int, float)):
            _evaluation_took(self.progress, float(metrics["eval_runtime"]))
        if metrics:
            clean = {k.removeprefix("eval_"): float(v) for k, v in metrics.items()
                     if isinstance(v, (int, float)) and not k.endswith(("_runtime", "_per_second", "_time"))}
            self.progress.evaluated(int(state.global_step), clean)


def head_parameter_names(model) -> set[str]:
    """The task head's parameters: everything outside the base encoder, plus its pooler (the [CLS] layer that only the
    next-sentence and sequence heads read)."""
    prefix = model.base_model_prefix + "."
    return {n for n, _p in model.named_parameters()
            if not n.startswith(prefix) or n.startswith(prefix + "pooler.")}


class _Trainer(Trainer):
    """The HF Trainer, with the head's parameters in their own group at `head_lr_scale` times the learning rate.

    A fresh head starts from random weights while the encoder is already trained: a head that learns faster than the
    encoder moves reaches a useful answer without the encoder drifting far from what it knew.
    """

    head_lr_scale: float = 1.0
    training_loss = None  # (model, inputs) -> loss tensor or None: a task's cheaper way to the same training loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training and not return_outputs and self.training_loss is not None:
            loss = self.training_loss(model, inputs)
            if loss is not None:
                return loss
        return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                    num_items_in_batch=num_items_in_batch)

    def create_optimizer(self, model=None):
        if self.optimizer is not None or self.head_lr_scale == 1.0:
            return super().create_optimizer(model)
        model = model or self.model
        decay = set(self.get_decay_parameter_names(model))
        heads = head_parameter_names(model)
        groups: dict[tuple[bool, bool], list] = {}
        for name, param in model.named_parameters():
            if param.requires_grad:
                groups.setdefault((name in heads, name in decay), []).append(param)
        optimizer_cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, model)
        self.optimizer = optimizer_cls(
            [{"params": params, "weight_decay": self.args.weight_decay if decayed else 0.0,
              "lr": self.args.learning_rate * (self.head_lr_scale if head else 1.0)}
             for (head, decayed), params in groups.items()], **kwargs)
        return self.optimizer


def training_arguments(config: JobConfig, output_dir: str, device: str, eval_in_training: bool = True,
                       log_every_step: bool = True) -> TrainingArguments:
    evals = config.eval_times if eval_in_training else 0
    return TrainingArguments(
        output_dir=output_dir,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=max(config.batch_size, 32),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a ratio of the total steps
        logging_strategy="steps",
        logging_steps=1 if log_every_step else 500,
        eval_strategy="steps" if evals >= 1 else "no",
        eval_steps=1.0 / (evals + 1) if evals >= 1 else None,
        save_strategy="no",
        report_to="none",
        push_to_hub=False,
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=(device == "cpu"),
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
    )


def head_lr_scale(task: str) -> float:
    if task == "pretraining":
        from .pretraining import HEAD_LR_SCALE
        return float(HEAD_LR_SCALE)
    return 1.0


def task_training_loss(task: str):
    if task == "pretraining":
        from . import pretraining
        return lambda model, inputs: pretraining.training_loss(model, inputs, pretraining.NSP_LOSS_WEIGHT)
    return None


def prepare_data(config: JobConfig, raw: bytes | None = None, filename: str | None = None) -> tuple[TaskData, TaskData]:
    data = load_task_data(config, raw, filename)
    return split(data, config.validation_fraction, config.seed)


def samples_seen(steps: int, dataset_size: int, batch: int) -> int:
    """Examples consumed by `steps` optimizer steps (the last batch of an epoch may be short)."""
    per_epoch = math.ceil(dataset_size / batch)
    epochs, rest = divmod(steps, per_epoch)
    return epochs * dataset_size + min(rest * batch, dataset_size)


def predict_metrics(trainer: Trainer, dataset, task: str, names: list[str]) -> dict[str, Any]:
    output = trainer.predict(dataset)
    if hasattr(dataset, "evaluate"):  # pre-training and QA score with what their held-out set carries
        return dataset.evaluate(output.predictions, output.label_ids, full=True)
    preds = output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
    return evaluate_predictions(task, preds, output.label_ids, names, full=True)


def run_training(config: JobConfig, progress: Progress | None = None, stop: threading.Event | None = None,
                 raw: bytes | None = None, filename: str | None = None,
                 data: tuple[TaskData, TaskData] | None = None) -> TrainResult:
    """Validate, load, measure before, train, measure after. Raises BertExploreError with a message on bad input."""
    config.validate()
    progress = progress or NullProgress()
    stop = stop or threading.Event()
    progress.phase(_("Reading the data"))
    train_data, val_data = data if data is not None else prepare_data(config, raw, filename)
    names = train_data.label_names
    device = resolve_device(config.device)
    progress.phase(_("Loading {model}").format(model=config.base_model))
    model, tokenizer, source = build_model(config, names)
    length = max_tokens(config, model)
    train_set, val_set, collator = build_datasets(config.task, train_data, val_data, tokenizer, length,
                                                       config.mlm_probability, config.seed)
    hooks = getattr(val_set, "metric_hooks", None)
    compute_metrics, preprocess = hooks() if hooks else trainer_hooks(config.task, names)
    callback = _Callback(progress, stop, config.task, names)
    scratch = tempfile.mkdtemp(prefix="bertexplore-train-")
    previous_threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(training_threads())
    try:
        trainer = _Trainer(
            model=model, args=training_arguments(config, scratch, device), data_collator=collator,
            train_dataset=train_set, eval_dataset=val_set, processing_class=tokenizer,
            compute_metrics=compute_metrics, preprocess_logits_for_metrics=preprocess, callbacks=[callback],
        )
        trainer.head_lr_scale = head_lr_scale(config.task)
        trainer.training_loss = task_training_loss(config.task)
        trainer.remove_callback(PrinterCallback)  # progress goes to `progress`, not stdout
        progress.phase(_("Measuring the model before training"))
        measured = time.perf_counter()
        before = predict_metrics(trainer, val_set, config.task, names)
        _evaluation_took(progress, time.perf_counter() - measured)
        progress.evaluated(0, {k: v for k, v in before.items() if isinstance(v, float)})
        started = time.perf_counter()
        stopped = stop.is_set()
        steps = 0
        if not stopped:
            progress.phase(_("Training"))
            trainer.train()
            steps = int(trainer.state.global_step)
            stopped = stop.is_set()
        seconds = time.perf_counter() - started
        total = int(trainer.state.max_steps or steps)
        progress.phase(_("Measuring the model after training"))
        after = predict_metrics(trainer, val_set, config.task, names)
        progress.evaluated(steps, {k: v for k, v in after.items() if isinstance(v, float)})
        samples = samples_seen(steps, len(train_set), config.batch_size * max(1, trainer.args.world_size))
        model = trainer.model
        del trainer
    except torch.OutOfMemoryError:
        raise BertExploreError(_("Training ran out of memory: lower the batch size or the max length.")) from None
    finally:
        torch.set_num_threads(previous_threads)
        shutil.rmtree(scratch, ignore_errors=True)
        gc.collect()
    model.eval()
    model.requires_grad_(False)
    notes = []
    if config.task in ("mlm", "pretraining"):
        notes.append(_("Masked-LM head tied to the input embeddings.") if embeddings_tied(model)
                     else _("Masked-LM decoder is NOT tied to the input embeddings (the base config says "
                            "so)."))
    return TrainResult(
        config=config, model=model, tokenizer=tokenizer, label_names=names, metrics_before=before,
        metrics_after=after, losses=list(callback.losses), steps=steps, total_steps=total, stopped=stopped,
        train_seconds=seconds, train_samples=len(train_set), val_samples=len(val_set),
        samples_per_second=samples / seconds if seconds > 0 else 0.0,
        source=source, data_source=train_data.source, notes=notes,
        train_unit=getattr(train_set, "unit", "examples"), val_unit=getattr(val_set, "unit", "examples"),
    )
