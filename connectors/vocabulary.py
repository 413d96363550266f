"""The words trackers and teams use, in the languages they work in, for what
align-sync has to recognise in an export: a column or list meaning done, an
issue type meaning epic or sub-task, a localised Jira CSV header.

Teams name their Trello lists and Jira statuses in their own language
("Finalizado", "クローズ"), and Jira writes issue types and CSV headers in
the exporting user's language; English-only names would leave closed work
counted as active.  Matching is on whole words after folding case and
accents (`Concluído` = `concluido`), and on substrings for scripts written
without spaces, unless a negating prefix is glued on (`未完了` is "not done").
"""
from __future__ import annotations

import re
import unicodedata

# Latin/Cyrillic words: one of them among a name's words means done.
_DONE_WORDS = {
    "en": "done shipped released complete completed closed live deployed finished resolved delivered",
    "es": "hecho hechos hecha hechas terminado terminados terminada terminadas finalizado finalizados "
          "finalizada finalizadas completado completados completada completadas cerrado cerrados "
          "cerrada cerradas resuelto resueltos entregado entregados",
    "pt": "feito feitos feita feitas concluido concluidos concluida concluidas finalizado finalizados "
          "fechado fechados resolvido resolvidos entregue entregues encerrado encerrados",
    "fr": "termine terminee termines terminees fait faits fini finis clos ferme fermes livre livres "
          "resolu resolus",
    "de": "fertig erledigt abgeschlossen geschlossen gelost ausgeliefert",
    "it": "fatto fatti completato completati completata chiuso chiusi concluso conclusi terminato "
          "terminati finito finiti risolto risolti rilasciato",
    "nl": "klaar gedaan afgerond voltooid gesloten",
    "pl": "zrobione gotowe zakonczone ukonczone zamkniete",
    "ru": "готово сделано выполнено завершено закрыто",
    "tr": "tamamlandi tamamlandı bitti yapildi yapıldı kapandi kapandı",
    "sv": "klart klar fardig avslutad",
    "da": "faerdig ferdig udfort fullfort",
}
# A name that is only this word means done ("Pronto"), but "Pronto para QA" does not.
_DONE_ALONE = {"pronto", "listo", "prontos", "listos", "ok"}
# Scripts written without spaces: a substring means done.
_DONE_CJK = tuple(sorted(("完了", "済", "終了", "クローズ", "完成", "已完成", "已关闭", "关闭", "已解决",
                          "已關閉", "關閉", "已解決", "已上线", "已发布", "완료", "종료", "닫힘", "해결됨"),
                         key=len, reverse=True))
_NEGATING = ("未", "不", "미", "非")

_EPIC_TYPES = {"epic", "epico", "epica", "epopee", "epos", "epik", "эпик", "エピック", "史诗", "史詩",
               "에픽"}
_SUBTASK_TYPES = ("subtask", "subtarefa", "subtarea", "soustache", "unteraufgabe", "sottotask",
                  "sottoattivita", "podzadanie", "подзадача", "サブタスク", "子任务", "子任務",
                  "하위작업", "altgorev", "deeltaak", "deluppgift")

_WORD = re.compile(r"[^\W_]+")


def _plain(c: str) -> str:
    if c < "\u0250" or "\u1e00" <= c <= "\u1eff":      # Latin: drop the accent
        return "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x))
    return c                  # kana keep their voicing marks: ズ is not ス


def fold(text: str) -> str:
    """Lower case without accents: `Concluído` → `concluido`; CJK unchanged."""
    if text.isascii():
        # Nothing to normalise or strip: the usual English type or status name,
        # asked about for every issue of a 100k export.
        return text.lower()
    return "".join(_plain(c) for c in unicodedata.normalize("NFKC", text.casefold()))


_DONE: dict[str, str] = {}
for _lang, _words in _DONE_WORDS.items():
    for _w in _words.split():
        _DONE[fold(_w)] = f"{_DONE[fold(_w)]}/{_lang}" if fold(_w) in _DONE else _lang


def done_word(name: str) -> tuple[str, str] | None:
    """(the word, its language) when `name` says done in a language we know."""
    folded = fold(name or "")
    words = _WORD.findall(folded)
    if len(words) == 1 and words[0] in _DONE_ALONE:
        return words[0], "pt/es"
    for w in words:
        if w in _DONE:
            if any(n in words for n in ("not", "no", "nao", "sin", "sem", "nicht", "pas")):
                return None          # "Not done", "No terminado"
            return w, _DONE[w]
    for w in _DONE_CJK:
        at = folded.find(w)
        while at >= 0:
            if not (at and folded[at - 1] in _NEGATING):
                return w, "ja/zh/ko"
            at = folded.find(w, at + 1)
    return None


def is_epic_type(name: str | None) -> bool:
    return fold(name or "").replace(" ", "") in _EPIC_TYPES


def is_subtask_type(name: str | None) -> bool:
    squeezed = re.sub(r"[\s\-_]", "", fold(name or ""))
    # "Sub-Defect", "Sub Test Execution": teams' own sub-task types start so too.
    return squeezed.startswith("sub") or any(s in squeezed for s in _SUBTASK_TYPES)


def is_epic_parent(own_type: str | None, own_subtask: bool | None,
                   parent_type: str | None, parent_level: int | None) -> bool:
    """Whether a parent is an epic, from what the tracker says: the parent's
    hierarchy level or type name first, then the child's own type."""
    if parent_level is not None:
        return parent_level == 1       # 2 and up are above epics (an Initiative)
    if parent_type:
        return is_epic_type(parent_type)
    if is_epic_type(own_type):
        return False                   # an epic's parent sits above epics
    if own_subtask is not None:
        return not own_subtask
    return not is_subtask_type(own_type)


# Jira Data Center's "Epic Link" field as a site in another language names it
# (a search page's `names`).
EPIC_LINK_NAMES = ("epic link", "link do épico", "vínculo de épico", "enlace de épica",
                   "vínculo de épica", "lien d'epic", "lien de l'epic", "epic-verknüpfung",
                   "epic-link", "エピックリンク", "エピック リンク", "epic 链接", "史诗链接")


# Jira CSV headers as the exporting user's language writes them → the
# English header.  Jira writes `Custom field (...)` names as the admin named
# them; these are its own system fields.
CSV_HEADERS = {
    "issue key": ("chave", "chave da item", "chave do item", "chave da ocorrência", "chave do ticket",
                  "clave", "clave de incidencia", "clave de la incidencia", "clé", "clé du ticket",
                  "schlüssel", "vorgangsschlüssel", "キー", "課題キー", "关键字", "問題キー"),
    "issue id": ("id da item", "id do item", "id da ocorrência", "id de incidencia", "id du ticket",
                 "vorgangs-id", "課題 id"),
    "summary": ("resumo", "resumen", "résumé", "zusammenfassung", "要約", "概要", "摘要"),
    "issue type": ("tipo de item", "tipo de ocorrência", "tipo de incidencia", "tipo de ticket",
                   "type de ticket", "vorgangstyp", "課題タイプ", "问题类型"),
    "status": ("estado", "statut", "ステータス", "状态"),
    "status category": ("categoria de status", "categoría de estado", "catégorie de statut",
                        "statuskategorie", "ステータス カテゴリ", "ステータスカテゴリ"),
    "components": ("componentes", "componente/s", "composants", "composant/s", "komponenten",
                   "komponente/n", "コンポーネント", "组件", "모듈"),
    "labels": ("rótulos", "etiquetas", "étiquettes", "stichwörter", "ラベル", "标签"),
    "assignee": ("responsável", "responsable", "persona asignada", "bearbeiter", "担当者", "经办人"),
    "resolution": ("resolução", "resolución", "lösung", "解決状況", "解决结果"),
    "resolved": ("resolvido", "resuelta", "résolu", "解決日"),
    "updated": ("atualizado", "atualizado(a)", "actualizada", "mis à jour", "aktualisiert", "更新日",
                "已更新"),
    "parent": ("pai", "principal", "superior", "padre", "übergeordnet", "親", "父级"),
    "parent summary": ("resumo do pai", "resumo principal", "resumen del padre", "résumé du parent",
                       "zusammenfassung übergeordnet", "親の要約"),
    "project key": ("chave do projeto", "clave de proyecto", "clé de projet", "projektschlüssel",
                    "プロジェクトキー"),
    "project name": ("nome do projeto", "nombre del proyecto", "nom du projet", "projektname",
                     "プロジェクト名"),
    "description": ("descrição", "descripción", "beschreibung", "説明", "描述"),
    "sprint": ("sprints",),
}
_HEADER = {alias: english for english, aliases in CSV_HEADERS.items() for alias in aliases}


_CUSTOM = re.compile(r"^(campo personalizado|champ personnalisé|benutzerdefiniertes feld|"
                     r"campo personalizzato|カスタム フィールド|カスタムフィールド|自定义字段)\s*\(")


def csv_header(name: str) -> str:
    """A CSV header in English lower case: `Componentes` → `components`,
    `Campo personalizado (Story Points)` → `custom field (story points)`;
    `Component/s` is the older spelling of `components`."""
    low = _CUSTOM.sub("custom field (", name.strip().lower())
    if low == "component/s":
        return "components"
    return _HEADER.get(low, low)
