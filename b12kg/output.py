"""Writing results: a file appears complete or not at all, and a machine that refuses
(full disk, read-only file system, no permission) gets a message, not a traceback."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
import weakref
from pathlib import Path

from .errors import EnvironmentProblem

_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space or write the output elsewhere",
    errno.EDQUOT: "the disk quota is used up: free some space or write the output elsewhere",
    errno.EROFS: "the file system is read-only: write the output to a writable folder",
    errno.EACCES: "permission denied: write the output to a folder you may write to",
    errno.EPERM: "permission denied: write the output to a folder you may write to",
    errno.ENOENT: "the folder does not exist: create it or choose another",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "it is a folder: name a file",
    errno.EPIPE: "the program reading it stopped reading, as `| head` does",
}


def unwritable(target: str, exc: OSError) -> EnvironmentProblem:
    """The message for an OSError met while writing `target`."""
    if exc.errno == errno.ENOENT and Path(target).parent.is_dir():
        advice = "files cannot be created in that folder: write the output elsewhere"
    else:
        advice = _ADVICE.get(exc.errno, "check that the location is writable")
    return EnvironmentProblem(f"cannot write {target}: {exc.strerror or exc} ({advice})")


def _discard(file, temporary: Path | None) -> None:
    with contextlib.suppress(OSError):
        file.close()
    if temporary is not None:
        temporary.unlink(missing_ok=True)


class OutputFile:
    """A text file written to a temporary name beside `path` and renamed over it by
    `commit()`, so a reader never sees half a file; devices and pipes (e.g. /dev/stdout)
    are written directly. Not committed (an error, an exit): the temporary file is removed."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._temporary: Path | None = None
        try:
            if self.path.exists() and not self.path.is_file():
                self._file = self.path.open("w", encoding="utf-8")
            else:
                mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o666 & ~_umask()
                fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".part")
                self._temporary = Path(name)
                self._file = os.fdopen(fd, "w", encoding="utf-8")
                os.chmod(fd, mode)
        except OSError as exc:
            raise unwritable(str(self.path), exc) from None
        self._cleanup = weakref.finalize(self, _discard, self._file, self._temporary)

    def write(self, text: str) -> None:
        try:
            self._file.write(text)
        except OSError as exc:
            self._cleanup()
            raise unwritable(str(self.path), exc) from None

    def commit(self) -> None:
        """Finish the file: flush it to disk and give it its name."""
        try:
            self._file.flush()
            if self._temporary is not None:
                os.fsync(self._file.fileno())
            self._file.close()
            if self._temporary is not None:
                os.replace(self._temporary, self.path)
        except OSError as exc:
            self._cleanup()
            raise unwritable(str(self.path), exc) from None
        self._cleanup.detach()


class StandardOutput:
    """Standard output with the same interface; a write error (stdout on a full disk)
    becomes a message, and later flushes at exit are silenced."""

    def write(self, text: str) -> None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError as exc:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # Python flushes stdout again at exit
            raise unwritable("standard output", exc) from None

    def commit(self) -> None:
        """Nothing to finish: each write is flushed."""


def open_output(path: Path | None) -> OutputFile | StandardOutput:
    """Where results go: the file `path` (atomically), or standard output."""
    return StandardOutput() if path is None else OutputFile(path)


def write_text(text: str, path: Path | None) -> None:
    """All of `text` to `path` (or standard output), or a clear EnvironmentProblem."""
    out = open_output(path)
    out.write(text)
    out.commit()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
