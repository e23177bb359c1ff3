"""Fine-tune a BERT-family model on the user's data: classification, multi-label, NER (BIO) and masked-LM.

    from bertexplore.finetune import JobConfig, run_training, save_model
    result = run_training(JobConfig(task="classification", data="assets/datasets/sentiment.csv", epochs=1))
    save_model(result, "my-sentiment")   # appears in every page's model picker

No Streamlit in here: the panel (pages/finetune.py) and `python -m bertexplore.finetune` both call this.
"""
from .config import LIMITS, TASK_HEADS, TASKS, JobConfig

__all__ = ["JobConfig", "LIMITS", "TASKS", "TASK_HEADS", "run_training", "save_model", "FineTuneJob"]


def __getattr__(name: str):
    # torch/transformers load lazily: reading a config or checking a file must stay instant.
    if name == "run_training":
        from .train import run_training
        return run_training
    if name == "save_model":
        from .save import save_model
        return save_model
    if name == "FineTuneJob":
        from .job import FineTuneJob
        return FineTuneJob
    raise AttributeError(name)
