"""The language a team writes its ticket titles in, and the words of that
language that say nothing about what a ticket is for.

`suggest` proposes frequent title words; for Portuguese titles an English
stopword list leaves `está`, `com`, `não`, `para` on top.  The lists are
stopwords-iso's (a maintained collection for some fifty languages); the
language is the one whose list covers the most title words, a guess that
needs no model and is right for any few dozen titles of one language.
English keeps this project's own shorter list: stopwords-iso's English one
holds words such as `test`, `page` and `system` that do name work.
"""
from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Iterable

import stopwordsiso

# Languages teams commonly write tickets in; a guess among all fifty would
# let a small language's long list win on a handful of shared short words.
CANDIDATES = ("en", "pt", "es", "fr", "de", "it", "nl", "pl", "ru", "tr", "sv", "da", "no", "fi",
              "cs", "ro", "hu", "id", "ca", "uk", "ja", "zh", "ko")
NAMES = {"en": "English", "pt": "Portuguese", "es": "Spanish", "fr": "French", "de": "German",
         "it": "Italian", "nl": "Dutch", "pl": "Polish", "ru": "Russian", "tr": "Turkish",
         "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish", "cs": "Czech",
         "ro": "Romanian", "hu": "Hungarian", "id": "Indonesian", "ca": "Catalan",
         "uk": "Ukrainian", "ja": "Japanese", "zh": "Chinese", "ko": "Korean"}
MIN_HITS = 3          # fewer stopwords than this among all titles: too little to tell


@lru_cache(maxsize=None)          # read-only sets, shared by every thread
def stopwords(lang: str) -> frozenset[str]:
    return frozenset(w.lower() for w in stopwordsiso.stopwords(lang))


def guess(words: Iterable[str]) -> tuple[str, int]:
    """(ISO code, how many title words its stopword list holds) of the
    language whose list covers the most of `words`; English on a tie or
    when too few words tell."""
    counts = Counter(w.lower() for w in words)
    best, best_hits = "en", 0
    for lang in CANDIDATES:
        listed = stopwords(lang)
        hits = sum(n for w, n in counts.items() if w in listed)
        if hits > best_hits:
            best, best_hits = lang, hits
    if best_hits < MIN_HITS:
        return _script(counts) or "en", best_hits
    return best, best_hits


def _script(counts: Counter) -> str | None:
    """Titles written without spaces have no stopwords to count; their script
    tells: kana is Japanese, hangul Korean, Han characters alone Chinese."""
    chars = Counter()
    for word, n in counts.items():
        for c in word:
            if "\u3040" <= c <= "\u30ff":
                chars["ja"] += n
            elif "\uac00" <= c <= "\ud7af":
                chars["ko"] += n
            elif "\u4e00" <= c <= "\u9fff":
                chars["zh"] += n
    if not chars:
        return None
    return "ja" if chars["ja"] else max(chars, key=chars.get)


def function_words(lang: str, own: frozenset[str]) -> frozenset[str]:
    """The words title proposals leave out: ours (English and tracker words)
    always, and the guessed language's list."""
    return own if lang == "en" else own | stopwords(lang)
