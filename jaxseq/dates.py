"""Human-readable dates → ISO 8601 (YYYY-MM-DD): the course's date-translation task (neural machine
translation at the character level), generated with Python's `datetime` from a seed.

    "3 May 1979"                 → "1979-05-03"
    "tuesday, 10/09/2001"        → "2001-10-09"
    "5.4.99"                     → "1999-04-05"
    "march 3rd 2012"             → "2012-03-03"

Dates run from 1950-01-01 to 2049-12-31, so a two-digit year is unambiguous (50-99 → 19yy, 00-49 →
20yy). Numeric formats follow their separator: slashes are month first (US: 10/09/2001 is October
9), dots and dashes day first (European: 5.4.99 is 5 April). Every string therefore has one date.

The split is by *date*, not by string: `split_dates` holds out a fraction of the calendar days, and
no held-out day appears in training in any format. A run is a pure function of its seed.
"""
from __future__ import annotations

import dataclasses
import datetime
from typing import Sequence

import numpy as np

from jaxseq import _checks
from jaxseq.supervised import pad
from jaxseq.vocab import Vocab

FIRST, LAST = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SRC_SPECIALS = ("<pad>", "<unk>")
TGT_VOCAB = Vocab(tokens=("<pad>", "<bos>", "<eos>", *"0123456789", "-"))
PAD, BOS, EOS = 0, 1, 2  # ids in TGT_VOCAB; <pad> is also id 0 of every source vocabulary


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _parts(d: datetime.date) -> dict:
    month, weekday = MONTHS[d.month - 1], WEEKDAYS[d.weekday()]
    return dict(d=d.day, dd=f"{d.day:02d}", m=d.month, mm=f"{d.month:02d}", yyyy=d.year, yy=f"{d.year % 100:02d}",
                month=month, Month=month.title(), MONTH=month.upper(), mon=month[:3], Mon=month[:3].title(),
                MON=month[:3].upper(), wd=weekday, Wd=weekday.title(), wk=weekday[:3], Wk=weekday[:3].title(),
                WK=weekday[:3].upper(), dth=_ordinal(d.day))


FORMATS: dict[str, str] = {
    "d Month yyyy": "{d} {Month} {yyyy}",               # 3 May 1979
    "dd Month yyyy": "{dd} {Month} {yyyy}",             # 03 May 1979
    "d month yyyy": "{d} {month} {yyyy}",               # 3 may 1979
    "d Mon yyyy": "{d} {Mon} {yyyy}",                   # 3 Sep 1979
    "DD MON YY": "{dd} {MON} {yy}",                     # 03 SEP 79
    "Month d, yyyy": "{Month} {d}, {yyyy}",             # May 3, 1979
    "month dth yyyy": "{month} {dth} {yyyy}",           # march 3rd 2012
    "the dth of month, yyyy": "the {dth} of {month}, {yyyy}",
    "wd, mm/dd/yyyy": "{wd}, {mm}/{dd}/{yyyy}",         # tuesday, 10/09/2001
    "m/d/yyyy": "{m}/{d}/{yyyy}",                       # 10/9/2001
    "m/d/yy": "{m}/{d}/{yy}",                           # 10/9/01
    "d.m.yy": "{d}.{m}.{yy}",                           # 5.4.99
    "dd.mm.yyyy": "{dd}.{mm}.{yyyy}",                   # 05.04.1999
    "dd-mm-yyyy": "{dd}-{mm}-{yyyy}",                   # 05-04-1999
    "Wd d Month yyyy": "{Wd} {d} {Month} {yyyy}",       # Thursday 3 May 1979
    "Wd, Month dth, yyyy": "{Wd}, {Month} {dth}, {yyyy}",
    "WK d MON yy": "{WK} {d} {MON} {yy}",               # THU 3 MAY 79
    "mon d 'yy": "{mon} {d} '{yy}",                     # may 3 '79
    "wk dd.mm.yyyy": "{wk} {dd}.{mm}.{yyyy}",           # thu 03.05.1979
    "yyyy-mm-dd": "{yyyy}-{mm}-{dd}",                   # already ISO: copy
}


def render(d: datetime.date, fmt: str) -> str:
    """The date ``d`` written in format ``fmt`` (a key of `FORMATS`)."""
    _checks.one_of("fmt", fmt, tuple(FORMATS))
    return FORMATS[fmt].format(**_parts(d))


def all_dates() -> list[datetime.date]:
    return [FIRST + datetime.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]


def split_dates(seed: int, test_frac: float = 0.1) -> tuple[list[datetime.date], list[datetime.date]]:
    """(train days, held-out days): a random ``test_frac`` of the calendar, disjoint from the rest."""
    if not 0 < test_frac < 1:
        raise ValueError(f"`test_frac` must be in (0, 1); got {test_frac}")
    days = all_dates()
    order = np.random.default_rng([seed, 0]).permutation(len(days))
    n_test = int(round(test_frac * len(days)))
    test = sorted(days[i] for i in order[:n_test])
    train = sorted(days[i] for i in order[n_test:])
    return train, test


def sample_pairs(days: Sequence[datetime.date], n: int, seed: int,
                 formats: Sequence[str] = tuple(FORMATS)) -> list[tuple[str, str]]:
    """``n`` pairs (human-readable, ISO) of days drawn uniformly from ``days``, formats uniformly."""
    _checks.positive_int("n", n)
    if not days:
        raise ValueError("`days` is empty: no date to draw from")
    rng = np.random.default_rng([seed, 1])
    di, fi = rng.integers(len(days), size=n), rng.integers(len(formats), size=n)
    return [(render(days[i], formats[j]), days[i].isoformat()) for i, j in zip(di.tolist(), fi.tolist())]


@dataclasses.dataclass(frozen=True)
class DateData:
    """Training and held-out pairs, their days, and the source vocabulary (built on the training strings)."""

    train: list
    test: list
    train_days: frozenset
    test_days: frozenset
    src_vocab: Vocab
    tgt_vocab: Vocab = TGT_VOCAB


def make(*, seed: int = 0, n_train: int = 20000, n_test: int = 1000, test_frac: float = 0.1) -> DateData:
    """The dataset of a run: days split by `split_dates`, pairs drawn by `sample_pairs`."""
    train_days, test_days = split_dates(seed, test_frac)
    train = sample_pairs(train_days, n_train, seed)
    test = sample_pairs(test_days, n_test, seed + 1)
    src_vocab = Vocab.build([c for human, _ in train for c in human], specials=SRC_SPECIALS)
    return DateData(train, test, frozenset(train_days), frozenset(test_days), src_vocab)


def encode(pairs: Sequence[tuple[str, str]], src_vocab: Vocab) -> tuple[np.ndarray, ...]:
    """(src (t_x, n), src_lengths (n,), tgt (t_y, n), tgt_lengths (n,)) int32, right-padded with 0;
    each target is the ISO date's characters followed by <eos>. Unknown characters map to <unk>."""
    src, src_len = pad([src_vocab.encode(list(h)) for h, _ in pairs])
    tgt, tgt_len = pad([np.concatenate([TGT_VOCAB.encode(list(iso)), [EOS]]) for _, iso in pairs])
    return src, src_len, tgt, tgt_len


def decode_iso(ids: Sequence[int]) -> str:
    """Target ids (without <eos>) → the string they spell."""
    return "".join(TGT_VOCAB.decode(np.asarray(list(ids), np.int32)))
