"""Fine-tuning data: parsing, validation messages, splits, configs; no model needed."""
from __future__ import annotations

import json

import pytest

from bertexplore.errors import InputError
from bertexplore.finetune.config import LIMITS, JobConfig
from bertexplore.finetune.task_table import prepare, split
from bertexplore.finetune.files import BUNDLED, MAX_FILE_BYTES, bundled_path, read_data, read_path


def cls_config(**kw) -> JobConfig:
    return JobConfig(task="classification", **kw)


def csv(text: str) -> bytes:
    return text.encode("utf-8")


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled_datasets_parse_for_their_task(name):
    filename, task = BUNDLED[name]
    chinese = "_zh." in filename
    config = JobConfig.for_task(task, data=bundled_path(name)) if chinese else JobConfig.for_task(task)
    assert config.data == bundled_path(name)
    data = prepare(read_path(config.data), config)
    if task == "classification":
        assert len(data) >= 250 and sorted(data.label_names) == (["正面", "负面"] if chinese else ["negative", "positive"])
        assert min(data.counts().values()) >= 100
    elif task == "multilabel":
        assert len(data) >= 120 and len(data.label_names) >= 6
        assert any(len(ys) >= 2 for ys in data.labels)  # really multi-label
    elif task == "ner":
        assert len(data) >= 140
        assert {"B-PER", "I-PER", "B-LOC", "B-ORG"} <= set(data.label_names) and data.label_names[0] == "O"
        assert all(len(t) == len(y) for t, y in zip(data.tokens, data.labels))
    elif task == "pretraining":
        assert len(data) >= 40 and data.pairs >= 200  # documents, and consecutive sentence pairs in them
    elif task == "qa":
        assert len(data) >= 300 and len(set(data.contexts)) >= 40 and not data.unanswerable
    else:
        assert len(data) >= 100 and all(t.strip() for t in data.texts)


def test_empty_file():
    with pytest.raises(InputError, match="is empty"):
        read_data(b"", "data.csv")
    with pytest.raises(InputError, match="is empty"):
        read_data(b"  \n\n ", "lines.txt")


def test_header_only_csv():
    with pytest.raises(InputError, match="no rows"):
        read_data(csv("text,label\n"), "data.csv")


def test_non_utf8_bytes_name_the_line():
    raw = "text,label\ngood,pos\n".encode() + "caf\xe9 au lait,neg\n".encode("latin-1")
    with pytest.raises(InputError, match=r"not UTF-8 text: byte 0xe9 on line 3"):
        read_data(raw, "data.csv")


def test_file_over_the_upload_limit():
    with pytest.raises(InputError, match="the limit is 20 MB"):
        read_data(b"a" * (MAX_FILE_BYTES + 1), "big.csv")


def test_utf8_bom_and_tsv_and_unicode_text():
    raw = "\ufefftext\tlabel\n表情 😀 good\tpos\nمرحبا bad\tneg\nok\tpos\nno\tneg\n".encode()
    table = read_data(raw, "d.tsv")
    assert table.columns == ["text", "label"]
    data = prepare(table, cls_config())
    assert data.texts[0] == "表情 😀 good" and data.label_names == ["neg", "pos"]


def test_missing_column_lists_the_real_ones():
    table = read_data(csv("sentence,sentiment\na,pos\nb,neg\n"), "d.csv")
    with pytest.raises(InputError, match=r"no column 'text'.*sentence, sentiment"):
        prepare(table, cls_config())
    data = prepare(read_data(csv("sentence,sentiment\na,pos\nb,neg\nc,pos\nd,neg\n"), "d.csv"),
                   cls_config(text_column="sentence", label_column="sentiment"))
    assert data.labels == [1, 0, 1, 0]


def test_single_class():
    table = read_data(csv("text,label\na,pos\nb,pos\nc,pos\nd,pos\n"), "d.csv")
    with pytest.raises(InputError, match="single class"):
        prepare(table, cls_config())


def test_nan_and_empty_labels_name_rows():
    table = read_data(csv("text,label\na,pos\nb,\nc,neg\nd,NaN\ne,neg\n"), "d.csv")
    with pytest.raises(InputError, match=r"label is missing .* row\(s\) 2, 4"):
        prepare(table, cls_config())


def test_empty_text():
    table = read_data(csv('text,label\na,pos\n"  ",neg\nc,neg\nd,pos\n'), "d.csv")
    with pytest.raises(InputError, match=r"text is empty in row\(s\) 2"):
        prepare(table, cls_config())


def test_unknown_labels_against_the_allowed_list():
    table = read_data(csv("text,label\na,pos\nb,neg\nc,neutral\nd,pos\n"), "d.csv")
    with pytest.raises(InputError, match="'neutral'"):
        prepare(table, cls_config(labels=["neg", "pos"]))
    data = prepare(table, cls_config(labels=["pos", "neg", "neutral"]))
    assert data.label_names == ["pos", "neg", "neutral"] and data.labels == [0, 1, 2, 0]


def test_multilabel_cells():
    table = read_data(csv("text,labels\na,x|y\nb,y\nc, x | z \nd,z\n"), "t.csv")
    data = prepare(table, JobConfig(task="multilabel", label_column="labels"))
    assert data.label_names == ["x", "y", "z"]
    assert data.labels == [[0, 1], [1], [0, 2], [2]]
    with pytest.raises(InputError, match="single label"):
        prepare(read_data(csv("text,labels\na,x\nb,x\nc,x\nd,x\n"), "t.csv"), JobConfig(task="multilabel", label_column="labels"))


def ner_file(rows) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


GOOD_NER = [{"tokens": ["John", "lives", "in", "Paris"], "tags": ["B-PER", "O", "O", "B-LOC"]}] * 4


def test_ner_jsonl():
    data = prepare(read_data(ner_file(GOOD_NER), "n.jsonl"), JobConfig(task="ner"))
    assert data.label_names == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert data.labels[0] == [3, 0, 0, 1]


def test_ner_tags_outside_bio():
    rows = GOOD_NER[:3] + [{"tokens": ["Mary", "Smith"], "tags": ["PER", "E-PER"]}]
    with pytest.raises(InputError, match=r"'E-PER', 'PER' in row\(s\) 4 are outside the BIO scheme"):
        prepare(read_data(ner_file(rows), "n.jsonl"), JobConfig(task="ner"))


def test_ner_length_mismatch_and_missing_tags():
    rows = GOOD_NER[:3] + [{"tokens": ["a", "b"], "tags": ["O"]}]
    with pytest.raises(InputError, match="2 tokens but 1 tags"):
        prepare(read_data(ner_file(rows), "n.jsonl"), JobConfig(task="ner"))
    rows = GOOD_NER[:3] + [{"tokens": ["a", "b"], "tags": None}]
    with pytest.raises(InputError, match="no tags"):
        prepare(read_data(ner_file(rows), "n.jsonl"), JobConfig(task="ner"))


def test_bad_jsonl_line():
    with pytest.raises(InputError, match="line 2 is not a JSON object"):
        read_data(b'{"text": "a", "label": "x"}\n{oops\n', "d.jsonl")


def test_plain_text_needs_a_table_for_labels_but_serves_mlm():
    table = read_data("one line\n\ntwo lines\nthree\nfour\n".encode(), "c.txt")
    assert prepare(table, JobConfig(task="mlm")).texts == ["one line", "two lines", "three", "four"]
    with pytest.raises(InputError, match="plain text"):
        prepare(table, cls_config())


def test_unsupported_extension():
    with pytest.raises(InputError, match="unsupported file type"):
        read_data(b"x", "data.xlsx")


def test_split_is_seeded_stratified_and_disjoint():
    rows = "\n".join(f"t{i},{'a' if i % 3 else 'b'}" for i in range(60))
    data = prepare(read_data(csv("text,label\n" + rows), "d.csv"), cls_config())
    train, val = split(data, 0.25, seed=1)
    assert len(train) + len(val) == 60 and not set(train.texts) & set(val.texts)
    assert set(val.labels) == {0, 1} and set(train.labels) == {0, 1}
    assert abs(len(val) - 15) <= 1
    again, _ = split(data, 0.25, seed=1)
    other, _ = split(data, 0.25, seed=2)
    assert again.texts == train.texts and other.texts != train.texts


@pytest.mark.parametrize("setting,value", [
    ("epochs", 0), ("epochs", 1000), ("learning_rate", 1.0), ("learning_rate", float("nan")), ("batch_size", 0),
    ("batch_size", 10_000), ("max_length", 4), ("max_length", 4096), ("seed", -1), ("validation_fraction", 0.9),
    ("mlm_probability", 0.0), ("batch_size", 2.5), ("epochs", "three"),
])
def test_out_of_range_hyper_parameters(setting, value):
    with pytest.raises(InputError, match=setting):
        JobConfig(**{setting: value}).validate()


def test_limits_cover_the_defaults_and_yaml_round_trips(tmp_path):
    for task in ("classification", "multilabel", "ner", "mlm"):
        config = JobConfig.for_task(task, seed=7).validate()
        for name, (low, high) in LIMITS.items():
            assert low <= getattr(config, name) <= high
        path = config.save(tmp_path / f"{task}.yaml")
        assert JobConfig.load(path) == config
    with pytest.raises(InputError, match="Unknown setting"):
        JobConfig.from_yaml("task: ner\nlearning_rat: 0.1\n")
    with pytest.raises(InputError, match="Unknown task"):
        JobConfig.from_yaml("task: translation\n")


# ------------------------------------------------------------------ data that used to pass silently (issue 16.6)
def test_text_and_labels_mapped_to_one_column():
    table = read_data(csv("sentence,mood\nI liked it,pos\nI hated it,neg\nfine,pos\nawful,neg\n"), "m.csv")
    with pytest.raises(InputError, match="both mapped to the column 'sentence'"):
        prepare(table, cls_config(text_column="sentence", label_column="sentence"))
    data = prepare(table, cls_config(text_column="sentence", label_column="mood"))
    assert data.label_names == ["neg", "pos"]


def test_a_text_column_picked_as_labels():
    rows = "\n".join(f"review number {i} was fine,sentence {i} of the text" for i in range(80))
    table = read_data(csv("text,other\n" + rows + "\n"), "t.csv")
    with pytest.raises(InputError, match="'other' has 80 different labels for 80 examples: it looks like text"):
        prepare(table, cls_config(label_column="other"))
    # Many real classes are fine while each has several examples.
    rows = "\n".join(f"text {i},class{i % 60}" for i in range(240))
    assert len(prepare(read_data(csv("text,label\n" + rows + "\n"), "c.csv"), cls_config()).label_names) == 60


def test_ner_tokens_as_strings():
    as_string = GOOD_NER[:3] + [{"tokens": "John lives in Paris", "tags": ["B-PER", "O", "O", "B-LOC"]}]
    with pytest.raises(InputError, match=r"row 4: the tokens are one string; in JSONL they must be a list"):
        prepare(read_data(ner_file(as_string), "n.jsonl"), JobConfig(task="ner"))
    as_string = GOOD_NER[:3] + [{"tokens": ["John"], "tags": "B-PER"}]
    with pytest.raises(InputError, match=r"row 4: the tags are one string"):
        prepare(read_data(ner_file(as_string), "n.jsonl"), JobConfig(task="ner"))
    # A spreadsheet export of list columns: the printed list is refused in CSV too.
    printed = "tokens,tags\n" + "\n".join(['"[\'John\', \'lives\']","[\'B-PER\', \'O\']"'] * 4) + "\n"
    with pytest.raises(InputError, match=r"row 1: the tokens are the printed text of a list \(\['John', 'lives'\]\)"):
        prepare(read_data(csv(printed), "n.csv"), JobConfig(task="ner"))
    # CSV cells cannot hold lists: space-separated tokens and tags are the documented form there.
    spaced = "tokens,tags\n" + "\n".join(["John lives,B-PER O"] * 4) + "\n"
    data = prepare(read_data(csv(spaced), "n.csv"), JobConfig(task="ner"))
    assert data.tokens[0] == ["John", "lives"] and [data.label_names[y] for y in data.labels[0]] == ["B-PER", "O"]


def test_qa_answer_start_outside_its_paragraph():
    rows = [{"question": f"q{i}?", "context": f"paragraph {i // 4} says john lives in london.",
             "answer_text": "london", "answer_start": 30} for i in range(12)]
    good = prepare(read_data(ner_file(rows), "q.jsonl"), JobConfig(task="qa"))
    assert all(good.contexts[i][s:s + len(t)] == t for i, (t, s) in enumerate(good.answers))
    rows[5] = dict(rows[5], answer_start=500)
    rows[7] = dict(rows[7], answer_start=-3)
    with pytest.raises(InputError, match=r"answer_start lies outside its paragraph in row\(s\) 6, 8"):
        prepare(read_data(ner_file(rows), "q.jsonl"), JobConfig(task="qa"))
