"""The explanation model: what a reviewer reads about one assessment, format-free.

Every object here is gathered from the assessment's graphs (gather.py) and rendered as text,
Markdown or HTML by the modules beside this one. Each string from the data is already made
safe for one line of any rendering (errors.printable); links between objects are object
references, and each linkable object has a unique, stable HTML anchor.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Header:
    """What was assessed, as of when, with what."""

    patient: str
    as_of: str
    guideline: str
    guideline_title: str
    guideline_version: str
    ontology_versions: tuple[str, ...]
    software: str
    reasoner: str
    input_file: str
    input_sha256: str
    started: str
    short_title: str


@dataclass(frozen=True)
class Code:
    """One coding of a fact: its role (code, value, route, coding), label and code system."""

    role: str
    label: str | None
    system: str | None
    code: str

    def __str__(self) -> str:
        coded = f"{self.system} {self.code}" if self.system else self.code
        return f"{self.label} ({coded})" if self.label else coded


@dataclass(frozen=True)
class Use:
    """What a fact is used for: a conclusion, the population, the follow-up or the record (and where)."""

    title: str
    anchor: str


@dataclass(eq=False)
class Fact:
    """A patient fact (FHIR resource or native RDF node) with what the explanation shows."""

    iri: str
    anchor: str
    name: str
    resource_type: str
    ignored: bool
    values: dict[str, str]
    codes: list[Code] = field(default_factory=list)
    doses: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    uses: list[Use] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        return self.values.get(key)
    @property
    def display(self) -> str:
        """The fact in words: what the record says (text or display), else its code's label."""
        labels = [c.label for c in self.codes if c.role in ("code", "coding") and c.label]
        return next(iter(self.texts + labels), "")

    def use(self, title: str, anchor: str) -> None:
        if not any(u.anchor == anchor and u.title == title for u in self.uses):
            self.uses.append(Use(title, anchor))


@dataclass(eq=False)
class Statement:
    """A guideline statement, verbatim."""

    iri: str
    anchor: str
    handle: str
    text: str
    citation: str
    guideline: str | None
    section: str | None
    level: str | None
    level_label: str | None
    note: str | None
    cited_by: list[Conclusion] = field(default_factory=list)

    @property
    def level_text(self) -> str:
        if self.level_label or self.level:
            return self.level_label or f"level {self.level} evidence"
        return "no evidence level given"


@dataclass(eq=False)
class Threshold:
    """A numeric cut-off a conclusion or an interaction was compared with."""

    iri: str
    label: str
    comparator: str
    value: str
    unit: str
    external: bool
    source: str | None
    citation: str | None
    guideline: str | None
    note: str | None

    @property
    def criterion(self) -> str:
        return f"{self.comparator} {self.value} {self.unit}"

    @property
    def origin(self) -> str:
        """Where the cut-off comes from: the guideline (with its reading, if noted) or an external default."""
        if self.external:
            return f"external default, not guideline text: {self.source or 'configurable'}"
        origin = f"from the guideline (citation {self.citation})" if self.citation else "from the guideline"
        return f"{origin}; {self.note}" if self.note else origin


@dataclass(frozen=True)
class Check:
    """One fact compared with one threshold, and whether it met it."""

    fact: Fact
    threshold: Threshold
    meets: bool


@dataclass(eq=False)
class Rule:
    """A rule that derived at least one conclusion."""

    iri: str
    anchor: str
    label: str
    query: str | None
    stage: str | None
    note: str | None
    windows: list[str] = field(default_factory=list)
    derived: list[Conclusion] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    """An on-treatment result the follow-up reads (contract v3, follow_up.results)."""

    measure: str
    label: str
    order: int
    value: str
    date: str
    fact: Fact | None


@dataclass(eq=False)
class Conclusion:
    """One conclusion and everything it rests on."""

    iri: str
    anchor: str
    kind: str
    kind_label: str
    code: str
    label: str | None
    text: str | None
    safety: bool
    rule: Rule
    stage: int
    guidelines: frozenset[str]
    reported: str | None = None
    reported_label: str = ""
    priority: str = ""
    due: str | None = None
    overdue: bool = False
    facts: list[Fact] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    measures: list[str] = field(default_factory=list)
    rests_on: list[str] = field(default_factory=list)
    would_change: list[str] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.kind_label}: {self.code}" if self.kind == "status" else self.code

    @property
    def headline(self) -> str:
        """The conclusion in words: the action text or the concept's label."""
        return self.text or self.label or self.code

    @property
    def reported_title(self) -> str:
        return self.reported_label[:1].upper() + self.reported_label[1:]

    @property
    def nothing_missing(self) -> bool:
        return not self.rests_on and not self.would_change

    def checks_of(self, threshold: Threshold) -> list[Check]:
        return [c for c in self.checks if c.threshold is threshold]


@dataclass(frozen=True)
class Population:
    """The population finding (contract section 5): in or out, why, and on which facts."""

    member: bool | None
    code: str
    label: str
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class Record:
    """How recent the record is, and the therapy episode the conclusions assumed (contract v3, record)."""

    newest: str | None
    therapy: str
    since: str | None
    current: bool
    records: tuple[tuple[Fact, bool], ...]
    """Each record of the episode, and whether it is parenteral."""
    parenteral_label: str


@dataclass(frozen=True)
class Quality:
    """A data quality note (contract section 6)."""

    code: str
    detail: str
    fact: Fact | None
    name: str | None


@dataclass(frozen=True)
class SetAside:
    """A fact the guideline reads that the loader set aside, with its reason and, where kept, the fact."""

    id: str
    anchor: str
    resource_type: str | None
    reason: str
    fact: Fact | None


@dataclass(frozen=True)
class NotRead:
    """Facts of one type the guideline does not read, for one reason: summarised, not listed one per row."""

    resource_type: str
    reason: str
    ids: tuple[tuple[str, str], ...]
    """(id, anchor) of each fact."""


@dataclass(eq=False)
class Guideline:
    """A guideline applied: the primary one, or a companion with its own conclusions."""

    iri: str
    anchor: str
    title: str
    version: str
    short_title: str
    primary: bool
    conclusions: list[Conclusion] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.title} ({self.version})" if self.version else self.title

    @property
    def link_title(self) -> str:
        title = self.short_title or self.title
        if len(title) > 44:
            title = title[:title.rfind(" ", 0, 44)].rstrip(":,;") + "…"
        return f"{title} ({self.version})" if self.version and not self.short_title else title


@dataclass(eq=False)
class Interaction:
    """Where recommendations of different guidelines meet for this patient."""

    iri: str
    anchor: str
    number: int
    type: str
    type_label: str
    resolution: str
    rule: str
    recommendations: list[tuple[Statement, Guideline | None]] = field(default_factory=list)
    rests_on: list[tuple[Statement, Guideline | None]] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.number}. {self.type_label}"

@dataclass(frozen=True)
class Section:
    """One section of the page, for the section links and the headings."""

    anchor: str
    title: str


@dataclass(eq=False)
class Explanation:
    """Everything the renderings show."""

    header: Header
    status_label: str
    kinds: tuple[Section, ...]
    """The primary guideline's conclusion kinds, in order (anchor section-KIND, title)."""
    conclusions: list[Conclusion]
    facts: list[Fact]
    statements: list[Statement]
    thresholds: list[Threshold]
    rules: list[Rule]
    population: Population | None
    record: Record | None
    quality: list[Quality]
    set_aside: list[SetAside]
    not_read: list[NotRead]
    guidelines: list[Guideline]
    interactions: list[Interaction]
    source: list[tuple[str, str]]

    def of_kind(self, kind: str) -> list[Conclusion]:
        return [c for c in self.conclusions if c.kind == kind]

    @property
    def safety(self) -> list[Conclusion]:
        return [c for c in self.conclusions if c.safety]

    @property
    def companions(self) -> list[Guideline]:
        """The other guidelines that concluded something for this patient."""
        return [g for g in self.guidelines if not g.primary and g.conclusions]

    @property
    def silent(self) -> list[Guideline]:
        """The other guidelines applied that concluded nothing for this patient."""
        return [g for g in self.guidelines if not g.primary and not g.conclusions]

    @property
    def several_guidelines(self) -> bool:
        return len(self.guidelines) > 1 or bool(self.interactions)

    def missing(self) -> dict[str, list[Conclusion]]:
        """Each fact that would change a conclusion, with the conclusions it would change."""
        found: dict[str, list[Conclusion]] = {}
        for conclusion in self.conclusions:
            for text in conclusion.would_change:
                found.setdefault(text, []).append(conclusion)
        return found

    @property
    def used_facts(self) -> list[Fact]:
        return [f for f in self.facts if f.uses and not f.ignored]

    @property
    def unused_facts(self) -> list[Fact]:
        return [f for f in self.facts if not f.uses and not f.ignored]

    @property
    def not_read_count(self) -> int:
        return sum(len(n.ids) for n in self.not_read)

    @property
    def sections(self) -> list[Section]:
        """Every section of the page, in order: the section links list them all."""
        found = [Section("section-population", "Population"), Section("section-summary", "Summary"), *self.kinds,
                 Section("section-record", "Record")]
        if self.several_guidelines:
            found.append(Section("other-guidelines", "Other guidelines"))
            found += [Section(g.anchor, g.link_title) for g in self.companions]
            found.append(Section("section-interactions", "Interactions between guidelines"))
        found += [Section("section-statements", "Guideline statements"), Section("section-rules", "Rules"),
                  Section("section-facts", "Patient facts"), Section("section-quality", "Data quality"),
                  Section("section-ignored", "Set-aside facts"), Section("section-not-read", "Facts not read")]
        return found + ([Section("section-source", "Source attributes")] if self.source else [])
