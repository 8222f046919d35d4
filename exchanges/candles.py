"""Stored candles: bulk upsert, fast range reads as a DataFrame, and parsing/validating candle files."""

from __future__ import annotations  # the annotations name numpy and pandas, imported on first use

import json
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, F, Func

from exchanges.models import Candle
from tradingbot.lazy_import import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")

COLUMNS = ["open", "high", "low", "close", "volume"]
CSV_HEADER = ["timestamp", *COLUMNS]
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def timeframe_seconds(timeframe: str) -> int:
    """'5m' -> 300. Raises ValueError for anything that is not <number><m|h|d|w>."""
    match = re.fullmatch(r"(\d+)([mhdw])", timeframe or "")
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{timeframe!r} is not a timeframe like 1m, 5m, 1h, 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def empty_frame() -> pd.DataFrame:
    index = pd.DatetimeIndex([], tz="UTC", name="time")
    return pd.DataFrame({c: np.array([], dtype="float64") for c in COLUMNS}, index=index)


def frame_from_ohlcv(rows) -> pd.DataFrame:
    """ccxt's [[ms, o, h, l, c, v], ...] -> the candle DataFrame (index `time` UTC, float64 columns)."""
    if len(rows) == 0:
        return empty_frame()
    array = np.asarray(rows, dtype="float64")
    index = pd.DatetimeIndex(pd.to_datetime(array[:, 0].astype("int64"), unit="ms", utc=True), name="time")
    return pd.DataFrame(array[:, 1:6], index=index, columns=COLUMNS)


def series_name_problem(exchange: str, symbol: str, timeframe: str) -> str | None:
    """Why (exchange, symbol, timeframe) cannot name stored candles (too long for its column, blank, control
    characters), or None. Checked before anything is stored: PostgreSQL would refuse it mid-import."""
    for name, value in (("exchange", exchange), ("symbol", symbol), ("timeframe", timeframe)):
        limit = Candle._meta.get_field(name).max_length
        if not value or not value.strip():
            return f"{name} is empty"
        if len(value) > limit:
            return f"{name} {value[:20]!r}... is {len(value)} characters long; at most {limit}"
        if not value.isprintable() or any(ch.isspace() for ch in value):
            return f"{name} {value[:limit]!r} contains spaces or control characters"
    return None


def upsert_candles(exchange: str, symbol: str, timeframe: str, candles: pd.DataFrame) -> int:
    """Insert or update candles (a DataFrame shaped like `load_candles` returns); returns the row count.

    One transaction, no model instances, no Python object per value:
    - PostgreSQL: the rows as one binary COPY (built with numpy) into a temporary table, then one
      one `INSERT ... SELECT ... ON CONFLICT DO UPDATE` from it;
    - SQLite: `executemany` of `INSERT ... ON CONFLICT DO UPDATE`, the times formatted by SQLite exactly as
      Django stores them (the unique constraint compares that text).
    """
    problem = series_name_problem(exchange, symbol, timeframe)
    if problem:
        raise ValueError(problem)
    if candles.empty:
        return 0
    quote = connection.ops.quote_name
    fields = ["exchange", "symbol", "timeframe", "time", *COLUMNS]
    table = quote(Candle._meta.db_table)
    # A candle stored already with the same values is left alone (no new row version, no index write):
    # re-importing a file that overlaps the stored candles costs little more than reading it.
    conflict = (f" ON CONFLICT ({', '.join(quote(f) for f in fields[:4])}) DO UPDATE SET "
                + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in COLUMNS)
                + f" WHERE ({', '.join(f'{table}.{quote(c)}' for c in COLUMNS)}) IS DISTINCT FROM "
                + f"({', '.join(f'EXCLUDED.{quote(c)}' for c in COLUMNS)})")
    insert = f"INSERT INTO {table} ({', '.join(quote(f) for f in fields)}) "
    micros = candles.index.as_unit("us").asi8 if candles.index.tz is not None else (
        candles.index.tz_localize("UTC").as_unit("us").asi8)
    values = np.column_stack([candles[c].to_numpy(dtype="float64") for c in COLUMNS])
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _upsert_postgresql(cursor, insert, conflict, exchange, symbol, timeframe, micros, values)
        else:
            _upsert_sqlite(insert, conflict, exchange, symbol, timeframe, micros, values)
    return len(micros)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"  # SQL's own quoting; the names were checked printable


def _upsert_sqlite(insert, conflict, exchange, symbol, timeframe, micros, values) -> None:
    """executemany on the sqlite3 cursor itself, six numbers a row; SQLite formats each time exactly as
    Django stores it (str() of the naive UTC datetime: '.ffffff' only when there are microseconds), which
    the unique constraint compares."""
    time_sql = ("strftime('%Y-%m-%d %H:%M:%S', ? / 1000000, 'unixepoch') || "
                "CASE WHEN ? % 1000000 = 0 THEN '' ELSE printf('.%06d', ? % 1000000) END")
    sql = (insert + f"VALUES ({_sql_text(exchange)}, {_sql_text(symbol)}, {_sql_text(timeframe)}, {time_sql}, "
           + ", ".join("?" * len(COLUMNS)) + ")" + conflict)
    us = micros.tolist()
    raw = connection.connection.cursor()
    # The default page cache (2 MB) is far smaller than the unique index a million candles touch: a larger
    # one while this runs (an upper bound, filled only as needed) cuts the upsert by a quarter.
    cache = raw.execute("PRAGMA cache_size").fetchone()[0]
    try:
        raw.execute(f"PRAGMA cache_size = {min(-262144, int(cache))}")  # negative: KiB; 256 MB
        raw.executemany(sql, zip(us, us, us, *values.T.tolist(), strict=True))
    finally:
        raw.execute(f"PRAGMA cache_size = {int(cache)}")
        raw.close()


# PostgreSQL's binary COPY: timestamptz is microseconds since 2000-01-01 UTC, every value big-endian.
_PG_EPOCH_US = 946_684_800_000_000


@cache
def _copy_row():
    """One row of a binary COPY of (time or int8, five float8): field count, then length + value per field."""
    return np.dtype([("fields", ">i2"), ("tlen", ">i4"), ("time", ">i8")]
                    + [x for c in COLUMNS for x in ((f"{c}_len", ">i4"), (c, ">f8"))])


def _upsert_postgresql(cursor, insert, conflict, exchange, symbol, timeframe, micros, values) -> None:
    rows = np.empty(len(micros), dtype=_copy_row())
    rows["fields"] = 1 + len(COLUMNS)
    rows["tlen"] = 8
    rows["time"] = micros - _PG_EPOCH_US
    for k, c in enumerate(COLUMNS):
        rows[f"{c}_len"] = 8
        rows[c] = values[:, k]
    payload = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + rows.tobytes() + b"\xff\xff"
    cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS candle_upload (time timestamptz, open float8, "
                   "high float8, low float8, close float8, volume float8) ON COMMIT DELETE ROWS")
    cursor.execute("TRUNCATE candle_upload")
    with cursor.cursor.copy("COPY candle_upload FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(payload)
    series = [exchange, symbol, timeframe]
    table = connection.ops.quote_name(Candle._meta.db_table)
    cols = ", ".join(COLUMNS)
    # Stored candles first (only those whose values differ), then the new ones as a plain INSERT: about twice
    # as fast as ON CONFLICT for new rows. Should another process store some of them in between, the
    # INSERT fails on the unique constraint and ON CONFLICT (which cannot touch one row twice per statement:
    # the upload's times are unique, a frame's index) does it all again, inside a savepoint.
    cursor.execute(f"UPDATE {table} AS c SET ({cols}) = ({', '.join(f'u.{c}' for c in COLUMNS)}) "
                   "FROM candle_upload AS u WHERE c.exchange = %s AND c.symbol = %s AND c.timeframe = %s "
                   f"AND c.time = u.time AND ({', '.join(f'c.{c}' for c in COLUMNS)}) IS DISTINCT FROM "
                   f"({', '.join(f'u.{c}' for c in COLUMNS)})", series)
    select = f"SELECT %s, %s, %s, u.time, {', '.join(f'u.{c}' for c in COLUMNS)} FROM candle_upload AS u"
    try:
        with transaction.atomic():
            cursor.execute(insert + select + f" WHERE NOT EXISTS (SELECT 1 FROM {table} AS c WHERE c.exchange = %s "
                           "AND c.symbol = %s AND c.timeframe = %s AND c.time = u.time)", series + series)
    except IntegrityError:
        cursor.execute(insert + select + conflict, series)
    cursor.execute("TRUNCATE candle_upload")


def load_candles(exchange: str, symbol: str, timeframe: str, start=None, end=None) -> pd.DataFrame:
    """Candles with start <= open time <= end, ascending, as a DataFrame indexed by UTC open time.

    No model instance and no Python object per value: PostgreSQL sends the rows as a binary COPY that
    numpy reads as one array; SQLite gives the times as integer microseconds (computed in SQL) straight
    into a numpy array. A million candles load in about the time the CSV reader takes for them.
    """
    qs = Candle.objects.filter(exchange=exchange, symbol=symbol, timeframe=timeframe)
    if start is not None:
        qs = qs.filter(time__gte=start)
    if end is not None:
        qs = qs.filter(time__lte=end)
    postgres = connection.vendor == "postgresql"
    if postgres:
        epoch = "(date_part('epoch', %(expressions)s) * 1000000)::int8"
    else:
        # Django stores 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC): whole seconds from strftime, the fraction from the text.
        epoch = ("(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) * 1000000 + "
                 "CAST(substr(%(expressions)s || '.000000', 21, 6) AS INTEGER))")
    qs = qs.annotate(epoch_us=Func(F("time"), template=epoch, output_field=BigIntegerField()))
    qs = qs.order_by("time").values_list("epoch_us", *COLUMNS)
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        if postgres:
            data = _copy_out(cursor, sql, params)
        else:
            cursor.execute(sql, params)
            # Rows straight from the sqlite3 cursor into one structured array (no list of tuples kept).
            data = np.fromiter(cursor.cursor, dtype=[("time", "i8")] + [(c, "f8") for c in COLUMNS])
    if len(data["time"]) == 0:
        return empty_frame()
    index = pd.DatetimeIndex(pd.to_datetime(data["time"], unit="us", utc=True), name="time")
    return pd.DataFrame({c: np.ascontiguousarray(data[c], dtype="float64") for c in COLUMNS}, index=index)


def _copy_out(cursor, sql: str, params) -> dict:
    from psycopg import ClientCursor

    query = ClientCursor(cursor.cursor.connection).mogrify(sql, params)  # COPY takes no bound parameters
    chunks = []
    with cursor.cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
        for chunk in copy:
            chunks.append(bytes(chunk))
    payload = b"".join(chunks)
    # 11-byte signature, flags and header extension (8), rows, then the -1 trailer (2).
    body = payload[19:-2] if payload else b""
    rows = np.frombuffer(body, dtype=_copy_row())
    return {"time": rows["time"].astype("int64"), **{c: rows[c].astype("float64") for c in COLUMNS}}


def last_candle_time(exchange: str, symbol: str, timeframe: str) -> datetime | None:
    return (
        Candle.objects.filter(exchange=exchange, symbol=symbol, timeframe=timeframe)
        .order_by("-time").values_list("time", flat=True).first()
    )


def find_gaps(candles: pd.DataFrame, timeframe: str) -> list[tuple[datetime, datetime, int]]:
    """Missing candles between consecutive rows: [(after open time, before open time, how many missing)]."""
    if len(candles) < 2:
        return []
    step = timeframe_seconds(timeframe) * 1_000_000_000
    ns = candles.index.asi8
    diffs = np.diff(ns)
    where = np.nonzero(diffs > step)[0]
    return [
        (candles.index[i].to_pydatetime(), candles.index[i + 1].to_pydatetime(), int(diffs[i] // step) - 1)
        for i in where
    ]


class CandleFileError(ValueError):
    """A candle file that cannot be used; `line` is 1-based (a CSV's header is line 1), None for the whole file.

    The message is one line naming the file and, where known, the line.
    """

    def __init__(self, path, line: int | None, message: str):
        self.path, self.line, self.message = str(path), line, message
        where = f", line {line}" if line else ""
        super().__init__(f"{Path(path).name}{where}: {message}")


# Millisecond epochs between 1990 and 2200: a file in seconds falls far below.
MIN_MS, MAX_MS = 631_152_000_000, 7_258_118_400_000


def read_candle_file(path, timeframe: str | None = None) -> pd.DataFrame:
    """Parse and validate a CSV (timestamp,open,high,low,close,volume) or a ccxt JSON array of candles.

    Validation is vectorised, so a million rows take well under a second. Every problem is a
    CandleFileError naming the first bad line; nothing is returned partially. With `timeframe`, every
    timestamp must also sit on that timeframe's boundary.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            first = handle.readline()
    except FileNotFoundError:
        raise CandleFileError(path, None, "no such file")
    except IsADirectoryError:
        raise CandleFileError(path, None, "is a directory, not a candle file")
    except OSError as exc:
        raise CandleFileError(path, None, f"cannot be read ({exc.strerror or exc})")
    if first.lstrip().startswith(b"["):
        values, lines = _read_json(path)
    else:
        values, lines = _read_csv(path, first)
    _validate(path, values, lines, timeframe)
    return frame_from_ohlcv(values)


def _raise_first_bad_utf8(path: Path) -> None:
    """A file that is not UTF-8: refused with the line of its first bad byte."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CandleFileError(path, number, f"is not UTF-8 text (byte 0x{line[exc.start]:02x} at column "
                                                    f"{exc.start + 1})")


def _read_csv(path: Path, first: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        header = [h.strip().lower() for h in first.decode("utf-8-sig").strip().split(",")]
    except UnicodeDecodeError:
        raise CandleFileError(path, 1, "is not a text CSV file (its first line is not UTF-8)")
    if header == [""]:
        raise CandleFileError(path, 1, "the file is empty")
    if header != CSV_HEADER:
        shown = first[:80].decode("utf-8", "replace").strip()
        raise CandleFileError(path, 1, f"header must be {','.join(CSV_HEADER)}, not {shown!r}")
    try:
        with warnings.catch_warnings():
            # A row with more fields than the header is only a warning to pandas (and data lost): an error here.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, dtype=np.float64, skip_blank_lines=False, index_col=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        _raise_first_bad_utf8(path)
        raise CandleFileError(path, None, "is not a UTF-8 text file")
    except (ValueError, pd.errors.ParserWarning) as exc:
        _raise_first_wrong_field_count(path)
        _raise_first_non_number(path)
        raise CandleFileError(path, None, f"cannot be parsed ({exc})")
    # The header is line 1 and blank lines are kept as all-NaN rows, so row k is line k + 2.
    values = frame.to_numpy()
    lines = np.arange(len(values)) + 2
    blank = np.isnan(values).all(axis=1)
    if blank.any():
        values, lines = values[~blank], lines[~blank]
    missing = np.isnan(values).any(axis=1)
    if missing.any():
        _raise_first_wrong_field_count(path)  # a short row reads as missing values: say what is really wrong
        k = int(np.argmax(missing))
        column = CSV_HEADER[int(np.argmax(np.isnan(values[k])))]
        raise CandleFileError(path, int(lines[k]), f"{column} is missing")
    return values, lines


def _raise_first_wrong_field_count(path: Path) -> None:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            count = line.count(",") + 1
            if line.strip() and count != len(CSV_HEADER):
                raise CandleFileError(path, number, f"expected {len(CSV_HEADER)} values, found {count}")


def _raise_first_non_number(path: Path) -> None:
    text = pd.read_csv(path, dtype=str, skip_blank_lines=False, keep_default_na=False, encoding="utf-8-sig")
    for column in CSV_HEADER:
        cells = text[column].fillna("").str.strip()
        bad = pd.to_numeric(cells, errors="coerce").isna() & (cells != "")
        if bad.any():
            k = int(np.argmax(bad.to_numpy()))
            raise CandleFileError(path, k + 2, f"{column} {cells.iloc[k][:30]!r} is not a number")


def _read_json(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        _raise_first_bad_utf8(path)
        raise CandleFileError(path, None, "is not a UTF-8 text file")
    except json.JSONDecodeError as exc:
        raise CandleFileError(path, exc.lineno, f"invalid JSON ({exc.msg})")
    except RecursionError:
        raise CandleFileError(path, None, "JSON nested too deeply: expected an array of "
                                          "[timestamp, open, high, low, close, volume] arrays")
    if not isinstance(rows, list):
        raise CandleFileError(path, 1, "expected a JSON array of [timestamp, open, high, low, close, volume]")
    # The line of a JSON candle is its position in the array (1-based): ccxt writes one array.
    values = np.empty((len(rows), 6), dtype=np.float64)
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) < 6:
            raise CandleFileError(path, number, "each candle must be [timestamp, open, high, low, close, volume]")
        for column, (name, raw) in enumerate(zip(CSV_HEADER, row[:6], strict=True)):
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise CandleFileError(path, number, f"{name} {str(raw)[:30]!r} is not a number")
            try:
                values[number - 1, column] = float(raw)
            except ValueError:
                raise CandleFileError(path, number, f"{name} {str(raw)[:30]!r} is not a number")
    return values, np.arange(len(rows)) + 1


def _validate(path: Path, values: np.ndarray, lines: np.ndarray, timeframe: str | None) -> None:
    if len(values) == 0:
        raise CandleFileError(path, None, "contains no candles")
    ts, o, h, low, c, v = values.T

    def first_bad(mask: np.ndarray, message) -> None:
        if mask.any():
            k = int(np.argmax(mask))
            raise CandleFileError(path, int(lines[k]), message(k) if callable(message) else message)

    first_bad(~np.isfinite(values).all(axis=1), "a value is not a finite number")
    first_bad(ts != np.floor(ts), lambda k: f"timestamp {ts[k]!r} is not a whole number of milliseconds")
    first_bad((ts < MIN_MS) | (ts > MAX_MS),
              lambda k: f"timestamp {ts[k]:.0f} is not milliseconds since 1970 between 1990 and 2200 (seconds?)")
    if timeframe:
        step_ms = timeframe_seconds(timeframe) * 1000
        first_bad(ts % step_ms != 0, lambda k: f"timestamp {ts[k]:.0f} is not on a {timeframe} boundary")
    first_bad(np.minimum.reduce([o, h, low, c]) <= 0, "prices must be positive")
    first_bad(v < 0, lambda k: f"volume {v[k]:g} is negative")
    first_bad(h < low, lambda k: f"high {h[k]:g} is below low {low[k]:g}")
    first_bad((o < low) | (o > h) | (c < low) | (c > h), "open and close must lie between low and high")
    steps = np.diff(ts)
    if (steps <= 0).any():
        k = int(np.argmax(steps <= 0)) + 1
        what = "repeats the previous row's time (duplicate)" if steps[k - 1] == 0 else "is earlier than the row before"
        raise CandleFileError(path, int(lines[k]), f"time {_iso(ts[k])} {what}; rows must be in time order")
    if timeframe and len(steps):
        # Candles one timeframe apart, with gaps allowed: the closest two rows are exactly one step apart.
        # 15m candles labelled 5m are all 15 minutes apart (on 5m boundaries too, so only this catches them).
        step_ms = timeframe_seconds(timeframe) * 1000
        if steps.min() != step_ms:
            values_, counts = np.unique(steps, return_counts=True)
            usual = _duration(float(values_[np.argmax(counts)]))
            raise CandleFileError(path, None, f"the rows are {usual} apart (the most common spacing), never "
                                              f"{timeframe}: this is not {timeframe} data; check --timeframe")


def _duration(ms: float) -> str:
    seconds = int(ms // 1000)
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class DemoFile:
    path: Path
    exchange: str
    symbol: str
    timeframe: str


# A shipped file whose source does not name its coin (binance_UNNAMED-BTC_1m_gaps.csv, the gap-handling test
# data): a market no exchange lists, so the demo leaves it out rather than show a pair that does not exist.
UNNAMED = "UNNAMED"


def demo_files() -> list[DemoFile]:
    """The candle files shipped in settings.CANDLE_DATA_DIR, named <exchange>_<BASE>-<QUOTE>_<tf>[_note].csv,
    that `import_candles --demo` loads: every one of a real market."""
    return [f for f in shipped_files() if not f.symbol.startswith(f"{UNNAMED}/")]


def shipped_files() -> list[DemoFile]:
    """Every candle file shipped in settings.CANDLE_DATA_DIR (the tests use the unnamed one too)."""
    files = []
    for path in sorted(Path(settings.CANDLE_DATA_DIR).glob("*.csv")):
        match = re.fullmatch(r"([a-z0-9]+)_([A-Z0-9]+)-([A-Z0-9]+)_(\d+[mhdw])(?:_\w+)?", path.stem)
        if match:
            exchange, base, quote, timeframe = match.groups()
            files.append(DemoFile(path, exchange, f"{base}/{quote}", timeframe))
    return files
