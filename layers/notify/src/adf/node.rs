//! Typed ADF nodes. Every container has its own child enum that lists only the node types the
//! ADF schema (`@atlaskit/adf-schema`, `full.json`) allows in it, and the constructors keep the
//! rules the types cannot (non-empty text, non-empty containers, the first child of a list
//! item, code excluding other marks). A tree of these types therefore serialises to valid ADF.
//!
//! The text of all text nodes lives in one buffer per document ([`TextBuf`]) and the nodes hold
//! spans into it: a report has a hundred text nodes or more, and one allocation each made up a
//! large share of the conversion time. [`write`] renders the tree as JSON.

mod write;

use std::sync::Arc;

use serde::ser::{Error as _, Serialize, Serializer};

/// An ADF document (`{"type":"doc","version":1,"content":[...]}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    text: TextBuf,
    content: Vec<DocBlock>,
}

impl Doc {
    /// The editor's schema wants at least one block, so an empty document holds one empty
    /// paragraph.
    pub(crate) fn new(text: TextBuf, mut content: Vec<DocBlock>) -> Self {
        if content.is_empty() {
            content.push(DocBlock::Paragraph(Paragraph::empty()));
        }
        Doc { text, content }
    }

    /// The document as a JSON value (the JSON text [`Doc::write_json`] writes, parsed).
    pub(crate) fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        let mut json = Vec::with_capacity(4096);
        self.write_json(&mut json);
        serde_json::from_slice(&json)
    }
}

/// Serialises through [`Doc::to_value`], so that the JSON writer is the one place that knows
/// the shape of every node. Use [`Doc::write_json`] where speed matters.
impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().map_err(S::Error::custom)?.serialize(serializer)
    }
}

/// The text of a document's text nodes, back to back. Only whole strings and copies of spans
/// are appended, so every span starts and ends on a character boundary.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TextBuf(String);

/// A range of a [`TextBuf`] (text nodes hold only non-empty ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: usize,
    end: usize,
}

impl TextBuf {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        TextBuf(String::with_capacity(bytes))
    }

    pub(crate) fn get(&self, span: Span) -> &str {
        // Spans always lie on character boundaries; `get` keeps a mistake from panicking.
        self.0.get(span.start..span.end).unwrap_or("")
    }

    fn push(&mut self, text: &str) -> Span {
        let start = self.0.len();
        self.0.push_str(text);
        Span { start, end: self.0.len() }
    }

    /// Copies `span` to the end, so that more can be appended to it.
    fn copy_to_end(&mut self, span: Span) -> Span {
        let start = self.0.len();
        if self.0.get(span.start..span.end).is_some() {
            self.0.extend_from_within(span.start..span.end);
        }
        Span { start, end: self.0.len() }
    }

    /// `first` and `second` joined into one span (in place when they are adjacent).
    fn join(&mut self, first: Span, second: Span) -> Span {
        if first.end == second.start {
            return Span { start: first.start, end: second.end };
        }
        let joined = if first.end == self.0.len() { first } else { self.copy_to_end(first) };
        let tail = self.copy_to_end(second);
        Span { start: joined.start, end: tail.end }
    }
}

impl Span {
    /// The part of this span from byte `from` to byte `to`, counted from its start.
    pub(crate) fn slice(self, from: usize, to: usize) -> Span {
        Span { start: self.start + from, end: (self.start + to).min(self.end) }
    }

    pub(crate) fn is_empty(self) -> bool {
        self.start >= self.end
    }
}

/// What the document root accepts (`doc_node.content`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DocBlock {
    Paragraph(Paragraph),
    Heading(Heading),
    CodeBlock(CodeBlock),
    BulletList(BulletList),
    OrderedList(OrderedList),
    TaskList(TaskList),
    Blockquote(Blockquote),
    Panel(Panel),
    Rule,
    Table(Table),
}

/// What a block quote accepts (`blockquote_node.content`): no headings, rules, tables, task
/// lists or nested quotes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QuoteBlock {
    Paragraph(Paragraph),
    CodeBlock(CodeBlock),
    BulletList(BulletList),
    OrderedList(OrderedList),
}

/// What a list item accepts (`listItem_node.content`): no headings, rules, tables or quotes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ListItemBlock {
    Paragraph(Paragraph),
    CodeBlock(CodeBlock),
    BulletList(BulletList),
    OrderedList(OrderedList),
    TaskList(TaskList),
}

/// What a panel accepts (`panel_node.content`): no quotes, tables or nested panels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PanelBlock {
    Paragraph(Paragraph),
    Heading(Heading),
    CodeBlock(CodeBlock),
    BulletList(BulletList),
    OrderedList(OrderedList),
    TaskList(TaskList),
    Rule,
}

/// What a task list accepts: task items and nested task lists.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TaskEntry {
    TaskItem(TaskItem),
    TaskList(TaskList),
}

/// Inline content of paragraphs, headings, table cells and task items.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inline {
    /// Never empty (`text_node.text` has `minLength: 1`): [`push_text`] and [`push_span`] drop
    /// empty text.
    Text {
        span: Span,
        marks: Marks,
    },
    HardBreak,
}

/// Appends `text` with `marks`, merging it into the previous text node when the marks are the
/// same (the parser splits text at every character that might have been markup).
pub(crate) fn push_text(content: &mut Vec<Inline>, buf: &mut TextBuf, text: &str, marks: &Marks) {
    if text.is_empty() {
        return;
    }
    if let Some(Inline::Text { span, marks: last_marks }) = content.last_mut() {
        if last_marks == marks {
            if span.end != buf.0.len() {
                *span = buf.copy_to_end(*span);
            }
            buf.0.push_str(text);
            span.end = buf.0.len();
            return;
        }
    }
    content.push(Inline::Text { span: buf.push(text), marks: marks.clone() });
}

/// [`push_text`] for text already in the buffer.
pub(crate) fn push_span(content: &mut Vec<Inline>, buf: &mut TextBuf, span: Span, marks: &Marks) {
    if span.is_empty() {
        return;
    }
    if let Some(Inline::Text { span: last, marks: last_marks }) = content.last_mut() {
        if last_marks == marks {
            *last = buf.join(*last, span);
            return;
        }
    }
    content.push(Inline::Text { span, marks: marks.clone() });
}

/// Puts unmarked `text` in front of `content` (task markers, footnote labels).
pub(crate) fn prepend_plain(content: &mut Vec<Inline>, buf: &mut TextBuf, text: &str) {
    if text.is_empty() {
        return;
    }
    let front = buf.push(text);
    if let Some(Inline::Text { span, marks }) = content.first_mut() {
        if marks.is_empty() {
            *span = buf.join(front, *span);
            return;
        }
    }
    content.insert(0, Inline::Text { span: front, marks: Marks::default() });
}

/// Adds the strong mark to every text node (headings that must become paragraphs, header cells
/// flattened into text). Code text stays code only, because `code` excludes `strong`.
pub(crate) fn embolden(content: Vec<Inline>, buf: &mut TextBuf) -> Vec<Inline> {
    let mut out = Vec::with_capacity(content.len());
    for inline in content {
        match inline {
            Inline::Text { span, marks } => push_span(&mut out, buf, span, &marks.with_strong()),
            Inline::HardBreak => out.push(Inline::HardBreak),
        }
    }
    out
}

/// Appends `content` to `out`, merging text at the seam.
pub(crate) fn append_inlines(out: &mut Vec<Inline>, buf: &mut TextBuf, content: Vec<Inline>) {
    for inline in content {
        match inline {
            Inline::Text { span, marks } => push_span(out, buf, span, &marks),
            Inline::HardBreak => out.push(Inline::HardBreak),
        }
    }
}

/// The marks on a text node. ADF lets `code` combine only with `link` and `annotation`
/// (`code_inline_node`), and the editor's schema makes `code` exclude `link` as well, so a code
/// mark here always stands alone; the constructors below keep that.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Marks {
    em: bool,
    strong: bool,
    strike: bool,
    code: bool,
    link: Option<Arc<Link>>,
}

impl Marks {
    /// The marks of ordinary text inside the given emphasis and link.
    pub(crate) fn formatted(em: bool, strong: bool, strike: bool, link: Option<Arc<Link>>) -> Self {
        Marks { em, strong, strike, code: false, link }
    }

    /// The marks of a code span written inside `self`. Inside a link the link wins (it carries
    /// information, monospace does not) and the span is ordinary text; elsewhere the span gets
    /// the code mark alone.
    pub(crate) fn code_span(&self) -> Self {
        if self.link.is_some() {
            self.clone()
        } else {
            Marks { code: true, ..Marks::default() }
        }
    }

    pub(crate) fn with_strong(&self) -> Self {
        if self.code {
            self.clone()
        } else {
            Marks { strong: true, ..self.clone() }
        }
    }

    pub(crate) fn with_link(&self, link: Arc<Link>) -> Self {
        if self.code {
            self.clone()
        } else {
            Marks { link: Some(link), ..self.clone() }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        !(self.em || self.strong || self.strike || self.code || self.link.is_some())
    }

    pub(crate) fn has_code(&self) -> bool {
        self.code
    }

    pub(crate) fn has_link(&self) -> bool {
        self.link.is_some()
    }
}

/// A link mark. Built only from a destination [`super::convert`] judged safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) href: String,
    pub(crate) title: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Paragraph {
    content: Vec<Inline>,
}

impl Paragraph {
    pub(crate) fn new(content: Vec<Inline>) -> Self {
        Paragraph { content }
    }

    pub(crate) fn empty() -> Self {
        Paragraph { content: Vec::new() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Heading {
    level: u8,
    content: Vec<Inline>,
}

impl Heading {
    /// `level` is clamped to the schema's 1..=6.
    pub(crate) fn new(level: u8, content: Vec<Inline>) -> Self {
        Heading { level: level.clamp(1, 6), content }
    }
}

/// A code block: unmarked text only (`codeBlock_node` takes `text_with_no_marks_node`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CodeBlock {
    /// Never empty.
    language: Option<String>,
    /// Written as one text node, or none when empty (a text node may not be empty).
    text: String,
}

impl CodeBlock {
    pub(crate) fn new(language: Option<String>, text: String) -> Self {
        CodeBlock { language: language.filter(|l| !l.is_empty()), text }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BulletList {
    content: Vec<ListItem>,
}

impl BulletList {
    /// None for no items: a list needs at least one (`minItems: 1`).
    pub(crate) fn new(items: Vec<ListItem>) -> Option<Self> {
        (!items.is_empty()).then_some(BulletList { content: items })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderedList {
    order: u64,
    content: Vec<ListItem>,
}

impl OrderedList {
    /// None for no items. `order` is the number of the first item (the schema wants >= 0,
    /// which an unsigned number always is).
    pub(crate) fn new(order: u64, items: Vec<ListItem>) -> Option<Self> {
        (!items.is_empty()).then_some(OrderedList { order, content: items })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListItem {
    content: Vec<ListItemBlock>,
}

impl ListItem {
    /// Older editor schemas want a list item to start with a paragraph or a code block, so an
    /// item that starts with a nested list (or holds nothing) gets an empty paragraph first.
    /// `marker` (a task list rendered as a plain list: `[ ] `, `[x] `) goes in front of the
    /// item's first paragraph.
    pub(crate) fn new(mut children: Vec<ListItemBlock>, marker: Option<&str>, buf: &mut TextBuf) -> Self {
        if !matches!(children.first(), Some(ListItemBlock::Paragraph(_) | ListItemBlock::CodeBlock(_))) {
            children.insert(0, ListItemBlock::Paragraph(Paragraph::empty()));
        }
        if let Some(marker) = marker {
            match children.first_mut() {
                Some(ListItemBlock::Paragraph(paragraph)) => prepend_plain(&mut paragraph.content, buf, marker),
                _ => {
                    let mut paragraph = Paragraph::empty();
                    prepend_plain(&mut paragraph.content, buf, marker);
                    children.insert(0, ListItemBlock::Paragraph(paragraph));
                }
            }
        }
        ListItem { content: children }
    }
}

/// A task list or item's `localId`: numbered in document order, written as `task-<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskId(pub(crate) u64);

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskList {
    id: TaskId,
    content: Vec<TaskEntry>,
}

impl TaskList {
    /// None for no entries. The caller puts a task item first (older editor schemas want one
    /// there).
    pub(crate) fn new(id: TaskId, entries: Vec<TaskEntry>) -> Option<Self> {
        (!entries.is_empty()).then_some(TaskList { id, content: entries })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskItem {
    id: TaskId,
    done: bool,
    content: Vec<Inline>,
}

impl TaskItem {
    pub(crate) fn new(id: TaskId, done: bool, content: Vec<Inline>) -> Self {
        TaskItem { id, done, content }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Blockquote {
    content: Vec<QuoteBlock>,
}

impl Blockquote {
    /// An empty quote (`>` alone) holds one empty paragraph (`minItems: 1`).
    pub(crate) fn new(mut children: Vec<QuoteBlock>) -> Self {
        if children.is_empty() {
            children.push(QuoteBlock::Paragraph(Paragraph::empty()));
        }
        Blockquote { content: children }
    }
}

/// The panel colours of GitHub's alert quotes (`> [!WARNING]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PanelType {
    Info,
    Tip,
    Note,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Panel {
    panel_type: PanelType,
    content: Vec<PanelBlock>,
}

impl Panel {
    pub(crate) fn new(panel_type: PanelType, mut children: Vec<PanelBlock>) -> Self {
        if children.is_empty() {
            children.push(PanelBlock::Paragraph(Paragraph::empty()));
        }
        Panel { panel_type, content: children }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    content: Vec<TableRow>,
}

impl Table {
    /// None for no rows (`minItems: 1`).
    pub(crate) fn new(rows: Vec<TableRow>) -> Option<Self> {
        (!rows.is_empty()).then_some(Table { content: rows })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableRow {
    content: Vec<TableCell>,
}

impl TableRow {
    /// None for no cells: the editor's schema wants `(tableCell | tableHeader)+`.
    pub(crate) fn new(cells: Vec<TableCell>) -> Option<Self> {
        (!cells.is_empty()).then_some(TableRow { content: cells })
    }
}

/// A header or body cell. A cell holds exactly one paragraph (GFM cells hold inline content
/// only), aligned with the `alignment` mark of `paragraph_with_alignment_node`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableCell {
    header: bool,
    align: CellAlign,
    content: Vec<Inline>,
}

impl TableCell {
    pub(crate) fn new(header: bool, align: CellAlign, content: Vec<Inline>) -> Self {
        TableCell { header, align, content }
    }
}

/// Column alignment; the `alignment` mark knows only `center` and `end` (start is the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CellAlign {
    Start,
    Center,
    End,
}
