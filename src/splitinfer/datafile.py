"""Reading YAML and JSON files that come from outside, in bounded time and memory.

Scenario files (:mod:`splitinfer.system.load`) and profile files (:mod:`splitinfer.profile`) are
read through :func:`load_data_file`, which turns every way a file can be unreadable into one
error line that names the file, raised as the caller's error type:

* a path that is not a regular file (a directory, ``/dev/zero``, a FIFO, a socket) is refused
  after ``stat`` and before it is opened for reading, so nothing blocks or reads without end;
  the file is then opened non-blocking and checked again, in case it was swapped meanwhile;
* at most :func:`splitinfer.settings.max_file_bytes` bytes are read (8 MiB by default,
  ``SPLITINFER_MAX_FILE_BYTES``);
* the bytes must be UTF-8 (a byte-order mark is allowed);
* nesting deeper than :data:`MAX_DEPTH` levels is refused while parsing (YAML) or reported from
  the parser's recursion guard (JSON); integers longer than Python's digit limit are refused;
* after parsing, the structure may hold at most :data:`MAX_VALUES` values counted with YAML
  aliases expanded (a "billion laughs" file is refused instead of being walked), and may not
  contain itself.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> (d / "ok.yaml").write_text("a: [1, 2]\\n")
10
>>> load_data_file(d / "ok.yaml", what="scenario file")
{'a': [1, 2]}
>>> (d / "deep.json").write_text("[" * 100 + "]" * 100)
200
>>> load_data_file(d / "deep.json", what="profile")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
splitinfer.datafile.DataFileError: cannot parse profile .../deep.json: nested deeper than 64 levels
>>> load_data_file("/dev/null", what="scenario file")
Traceback (most recent call last):
...
splitinfer.datafile.DataFileError: scenario file /dev/null is not a regular file (it is a character device)
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from splitinfer.errors import SplitInferError
from splitinfer.settings import max_file_bytes

__all__ = ["DataFileError", "JSON_FILE_LIMIT", "NPZ_FILE_LIMIT", "check_regular_file", "load_json_file", "MAX_DEPTH", "MAX_VALUES", "read_text", "parse_text",
           "load_data_file", "check_structure", "show_value"]

MAX_DEPTH = 64
"""Deepest nesting of lists and mappings accepted (a scenario needs about 8)."""

MAX_VALUES = 5_000_000
"""Most values (scalars, lists, mappings) in one parsed file, YAML aliases expanded."""

_CHUNK = 1 << 20


class DataFileError(SplitInferError, ValueError):
    """A data file that cannot be read or parsed (the message names the file)."""


Raiser = Callable[[str], Exception]


def show_value(value: Any, width: int = 40) -> str:
    """``repr`` of a value for an error message, short even for huge integers or strings.

    Examples
    --------
    >>> show_value(10**5000)
    'an integer of 5001 digits'
    >>> len(show_value("x" * 100))
    40
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 100:
        digits = len(str(abs(value))) if value.bit_length() < 14000 else \
            int(value.bit_length() * 0.30103) + 1
        return f"an integer of {digits} digits"
    if isinstance(value, list | dict | tuple):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + "...'"


_KINDS = [(stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"),
          (stat.S_ISSOCK, "a socket")]


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_text(path: str | Path, *, what: str = "file", error: Raiser = DataFileError,
              limit: int | None = None) -> str:
    """Read a regular file as UTF-8 text, at most ``limit`` bytes.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        How messages name it (``"scenario file"``, ``"profile"``).
    error : callable
        Builds the exception to raise from a message (e.g. ``ScenarioError``).
    limit : int, optional
        Most bytes read; default :func:`splitinfer.settings.max_file_bytes`.

    Returns
    -------
    str
        The text (without a UTF-8 byte-order mark).

    Raises
    ------
    Exception
        Built by ``error``: a missing file, not a regular file, too large, unreadable, not UTF-8.
    """
    limit = max_file_bytes() if limit is None else limit
    p = check_regular_file(path, what=what, error=error, limit=limit)  # never open a device/FIFO
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        raise error(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the stat above
            raise error(f"{what} {p} is not a regular file")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise error(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if total > limit:
        raise error(_too_large(what, p, total, limit))
    data = b"".join(chunks)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {p} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                    f"{exc.start})") from None


def _too_large(what: str, p: Path, size: int, limit: int) -> str:
    return (f"{what} {p} is larger than the limit of {limit} bytes (at least {size} bytes; "
            "the setting SPLITINFER_MAX_FILE_BYTES raises the limit)")


class _DepthMixin:
    """A composer that refuses nesting deeper than :data:`MAX_DEPTH` while it builds the tree."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1


class _TooDeep(Exception):
    pass


if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser

    class _Loader(_DepthMixin, CParser, SafeConstructor, Resolver):
        """libyaml's scanner and parser, Python's composer (depth-limited) and safe constructor."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.anchors = {}

        get_single_node = Composer.get_single_node
        compose_document = Composer.compose_document
        compose_scalar_node = Composer.compose_scalar_node
        compose_sequence_node = Composer.compose_sequence_node
        compose_mapping_node = Composer.compose_mapping_node
        get_single_data = SafeConstructor.get_single_data
else:  # pragma: no cover - PyYAML without libyaml
    class _Loader(_DepthMixin, yaml.SafeLoader):  # type: ignore[no-redef]
        """PyYAML's safe loader with a depth-limited composer."""


def _one_line(exc: Exception) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        head = ""
        if exc.context:
            where = exc.context_mark
            at = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
            head = f"{exc.context}{at}: "
        return f"{head}{exc.problem} (line {mark.line + 1}, column {mark.column + 1})"
    text = str(exc)
    if "Exceeds the limit" in text and "digits" in text:
        return f"an integer with more digits than Python reads ({text.split(':')[-1].split(';')[0].strip()})"
    return " ".join(text.split())


def parse_text(text: str, *, json_format: bool, label: str, error: Raiser = DataFileError) -> Any:
    """Parse YAML (safe tags only) or JSON text, refusing deep nesting and huge structures.

    Parameters
    ----------
    text : str
        The file's text.
    json_format : bool
        JSON when true, YAML otherwise.
    label : str
        ``"<what> <path>"``, for messages.
    error : callable
        Builds the exception to raise from a message.
    """
    try:
        if json_format:
            data = json.loads(text)
        else:
            loader = _Loader(text)
            try:
                data = loader.get_single_data()
            finally:
                loader.dispose()
    except (_TooDeep, RecursionError):
        raise error(f"cannot parse {label}: nested deeper than {MAX_DEPTH} levels") from None
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own guard, met before ours
            raise error(f"cannot parse {label}: nested deeper than {MAX_DEPTH} levels") from None
        raise error(f"cannot parse {label}: {_one_line(exc)}") from None
    except (ValueError, OverflowError) as exc:  # JSONDecodeError is a ValueError
        if isinstance(exc, json.JSONDecodeError):
            msg = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        else:
            msg = _one_line(exc)
        raise error(f"cannot parse {label}: {msg}") from None
    check_structure(data, label=label, error=error)
    return data


def check_structure(data: Any, *, label: str, error: Raiser = DataFileError) -> None:
    """Refuse a parsed structure that nests too deeply, refers to itself, or holds too many values.

    Values are counted with YAML aliases expanded (what a validator that walks the tree would
    see), without expanding anything: shared lists and mappings are counted once and multiplied.

    Examples
    --------
    >>> a = [1] * 1000
    >>> b = [a] * 1000
    >>> check_structure({"x": [b] * 10}, label="f.yaml")
    Traceback (most recent call last):
    ...
    splitinfer.datafile.DataFileError: f.yaml holds more than 5000000 values (YAML aliases expanded)
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(obj: Any, depth: int) -> int:
        if not isinstance(obj, list | dict):
            return 1
        key = id(obj)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise error(f"{label} contains itself (a YAML alias inside its own anchor)")
        if depth > MAX_DEPTH:
            raise error(f"cannot parse {label}: nested deeper than {MAX_DEPTH} levels")
        active.add(key)
        children = obj.values() if isinstance(obj, dict) else obj
        total = 1 + (len(obj) if isinstance(obj, dict) else 0)  # keys count once each
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_VALUES:
                raise error(f"{label} holds more than {MAX_VALUES} values (YAML aliases "
                            "expanded)")
        active.discard(key)
        sizes[key] = total
        return total

    size(data, 1)


#: Most bytes read from a JSON plan or result file (larger runs use the ``.npz`` format).
JSON_FILE_LIMIT = 256 * 1024**2
#: Most bytes of a ``.npz`` plan or result file (10^6 tasks take a few tens of MB).
NPZ_FILE_LIMIT = 2 * 1024**3


def path_exists(path: str | Path) -> bool:
    """Whether ``path`` names an existing file or folder; False, not an exception, for names the
    system refuses (too long, an embedded NUL byte), so that a caller falls back to its own
    one-line message (an unknown shipped name, a missing file).

    Examples
    --------
    >>> path_exists("/"), path_exists("x" * 5000), path_exists("a\\0b")
    (True, False, False)
    """
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def check_regular_file(path: str | Path, *, what: str = "file", error: Raiser = DataFileError,
                       limit: int | None = None) -> Path:
    """Check that ``path`` is a regular file of at most ``limit`` bytes before a library opens it.

    For binary formats read by other libraries (``numpy.load`` of a ``.npz`` plan or result):
    a device or FIFO (``/dev/zero``) would otherwise be read without end.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        How messages name it.
    error : callable
        Builds the exception to raise from a message.
    limit : int, optional
        Most bytes; default :func:`splitinfer.settings.max_file_bytes`.

    Returns
    -------
    Path

    Examples
    --------
    >>> check_regular_file("/dev/zero", what="plan file")
    Traceback (most recent call last):
    ...
    splitinfer.datafile.DataFileError: plan file /dev/zero is not a regular file (it is a character device)
    """
    p = Path(path)
    limit = max_file_bytes() if limit is None else limit
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise error(f"{what} {str(p)!r} does not exist") from None
    except OSError as exc:
        raise error(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what} {p} is not a regular file (it is {_kind(st.st_mode)})")
    if st.st_size > limit:
        raise error(_too_large(what, p, st.st_size, limit))
    return p


def load_json_file(path: str | Path, *, what: str = "file", error: Raiser = DataFileError,
                   limit: int | None = None) -> Any:
    """Read and parse a JSON file with this module's bounds (regular file, size, depth, values).

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        How messages name it.
    error : callable
        Builds the exception to raise from a message.
    limit : int, optional
        Most bytes read; default :func:`splitinfer.settings.max_file_bytes`.

    Returns
    -------
    Any
    """
    p = Path(path)
    text = read_text(p, what=what, error=error, limit=limit)
    return parse_text(text, json_format=True, label=f"{what} {p}", error=error)


def load_data_file(path: str | Path, *, what: str = "file", error: Raiser = DataFileError,
                   json_format: bool | None = None) -> Any:
    """Read and parse a YAML or JSON file with every bound of this module.

    Parameters
    ----------
    path : str or Path
        The file; ``.json`` files are JSON, anything else YAML (unless ``json_format`` says).
    what : str
        How messages name the file.
    error : callable
        Builds the exception to raise from a message.
    json_format : bool, optional
        Force JSON (true) or YAML (false).

    Returns
    -------
    Any
        The parsed data.
    """
    p = Path(path)
    text = read_text(p, what=what, error=error)
    is_json = p.suffix.lower() == ".json" if json_format is None else json_format
    return parse_text(text, json_format=is_json, label=f"{what} {p}", error=error)
