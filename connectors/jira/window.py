"""The text of a saved export, a window at a time.

Reading a 228 MB export into one string holds its bytes and its text at
once (460 MB) before anything is parsed.  `Text` holds a window that moves
forward: what the parser has read is dropped, more is read and decoded as it
is needed.  Line numbers (for an error) are counted only when asked.
"""
from __future__ import annotations

import codecs
from typing import IO

WINDOW = 4 << 20       # characters read at a time: a few thousand issues


class Text:
    """The export's text: all of it (a string), or a window on a file that
    moves forward.  Positions are in `buf`; `more` moves the window and
    says where the old position now is."""

    def __init__(self, source: str | IO[bytes]):
        self.file = None if isinstance(source, str) else source
        # UTF-8 (a BOM dropped) decoded a window at a time: one C call per
        # window, where a text file's reader decodes 8 kB at a time.
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.eof = self.file is None
        self.buf = source if isinstance(source, str) else self._read(WINDOW)
        self.dropped = 0            # characters the window has left behind

    def _read(self, size: int) -> str:
        while not self.eof:
            data = self.file.read(size)
            self.eof = not data
            text = self.decoder.decode(data, final=self.eof)
            if text:
                return text
        return ""

    def more(self, pos: int) -> int:
        """Drop what is before `pos`, read on (at least as much as is kept,
        so a long value costs no more than twice its reading); -> new pos."""
        left = self.buf[pos:]
        chunk = self._read(max(WINDOW, len(left)))
        self.dropped += pos
        self.buf = left + chunk
        return 0

    def line(self, pos: int) -> int:
        """The line of `pos`.  Only an error asks, so the lines left behind
        are counted then, by reading the file again from its start."""
        lines = self.buf.count("\n", 0, pos) + 1
        if self.dropped:
            self.file.seek(0)
            again, seen = Text(self.file), 0
            while seen < self.dropped and again.buf:
                part = again.buf[:self.dropped - seen]
                lines, seen = lines + part.count("\n"), seen + len(part)
                again.buf = again._read(WINDOW)
        return lines


class BadJson(Exception):
    def __init__(self, text: Text, pos: int, msg: str):
        self.line = text.line(pos)
        self.msg = msg
