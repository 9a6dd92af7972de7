"""The date-translation data and experiment: formats, determinism, a split by date; a tiny run."""
import datetime
import json
import math
import pathlib
import sys

import numpy as np
import pytest

from jaxseq import checkpoint, dates

ROOT = pathlib.Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "experiments"))
import dates as dates_experiment  # noqa: E402


def test_formats_write_the_course_examples():
    assert dates.render(datetime.date(1979, 5, 3), "d Month yyyy") == "3 May 1979"
    assert dates.render(datetime.date(2001, 10, 9), "wd, mm/dd/yyyy") == "tuesday, 10/09/2001"
    assert dates.render(datetime.date(1999, 4, 5), "d.m.yy") == "5.4.99"
    assert dates.render(datetime.date(2012, 3, 3), "month dth yyyy") == "march 3rd 2012"
    assert dates.render(datetime.date(2012, 3, 22), "the dth of month, yyyy") == "the 22nd of march, 2012"
    assert dates.render(datetime.date(2012, 3, 11), "month dth yyyy") == "march 11th 2012"
    with pytest.raises(ValueError, match=r"`fmt` must be one of .* got 'yyyy/dd/mm'"):
        dates.render(datetime.date(2012, 3, 3), "yyyy/dd/mm")


def test_every_string_names_one_date():
    days = dates.all_dates()
    rng = np.random.default_rng(0)
    seen: dict = {}
    for i in rng.choice(len(days), 3000, replace=False):
        for fmt in dates.FORMATS:
            s = dates.render(days[i], fmt)
            assert seen.setdefault(s, days[i]) == days[i], f"{s!r} would name two dates"


def test_generator_is_deterministic_and_the_split_is_by_date():
    a = dates.make(seed=3, n_train=500, n_test=100)
    b = dates.make(seed=3, n_train=500, n_test=100)
    assert a.train == b.train and a.test == b.test and a.src_vocab == b.src_vocab
    assert dates.make(seed=4, n_train=500, n_test=100).train != a.train
    assert not a.train_days & a.test_days
    assert len(a.train_days) + len(a.test_days) == len(dates.all_dates())
    assert all(datetime.date.fromisoformat(iso) in a.train_days for _, iso in a.train)
    assert all(datetime.date.fromisoformat(iso) in a.test_days for _, iso in a.test)
    src, src_len, tgt, tgt_len = dates.encode(a.test[:3], a.src_vocab)
    assert src.shape == (src_len.max(), 3) and tgt.shape == (11, 3) and (tgt_len == 11).all()
    assert (tgt[-1] == dates.EOS).all()
    assert dates.decode_iso(tgt[:10, 0]) == a.test[0][1]
    assert "".join(a.src_vocab.decode(src[: src_len[0], 0])) == a.test[0][0]


def test_tiny_run_folder_is_complete(tmp_path):
    out = tmp_path / "dates"
    summary = dates_experiment.main(["--preset", "tiny", "--no-progress", "--out", str(out)])
    for name in ("config.json", "vocab.json", "checkpoint.msgpack", "metrics.csv", "loss.png", "exact_match.png",
                 "attention.png", "predictions.txt", "summary.json"):
        assert (out / name).is_file(), name
    saved = json.loads((out / "summary.json").read_text())
    for key in ("exact_match", "exact_match_beam", "final_train_loss"):
        assert set(saved[key]) == {"no_attention", "attention"}
        assert all(math.isfinite(v) for v in saved[key].values())
    assert all(0.0 <= v <= 1.0 for v in saved["exact_match"].values())
    assert saved["exact_match"] == summary["exact_match"]
    # both models trained: the checkpoint differs from the initial parameters
    config = dates_experiment.Config(**json.loads((out / "config.json").read_text()))
    vocab_size = len(json.loads((out / "vocab.json").read_text())["tokens"])
    init = {m: dates_experiment.init_params(config, m, vocab_size) for m in dates_experiment.MODELS}
    trained = checkpoint.restore(out / "checkpoint.msgpack", init)
    assert trained["no_attention"].attention is None and trained["attention"].attention is not None
    for m in dates_experiment.MODELS:
        assert not np.allclose(trained[m].decoder.w_ax, init[m].decoder.w_ax)
    with pytest.raises(SystemExit):
        dates_experiment.main(["--preset", "huge"])
