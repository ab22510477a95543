//! Fitting the Markdown tree into ADF: every block goes into its container as itself when the
//! schema allows it there, else as the documented fallback below. Each container is a [`Host`]
//! whose child type holds only what the schema allows, so the fallbacks are the only way a
//! block the container refuses can get in.
//!
//! | block               | where ADF refuses it                    | becomes                                          |
//! |---------------------|-----------------------------------------|--------------------------------------------------|
//! | heading             | quote, list item                        | a paragraph in bold                              |
//! | rule                | quote, list item                        | nothing (it holds no text)                       |
//! | table               | quote, list item, panel                 | a paragraph per row, cells joined by ` \| `      |
//! | quote               | list item, panel, quote                 | its content, unquoted                            |
//! | alert (`> [!NOTE]`) | anywhere but the root (there: a panel)  | a bold "Note" line, then as a quote              |
//! | task list           | quote; items holding other blocks; a    | a plain list whose task items start `[ ] `/`[x] `|
//! |                     | list mixing tasks and plain items       |                                                  |
//! | HTML block          | everywhere                              | a paragraph of its literal lines                 |
//! | footnote definition | everywhere                              | its content, the first paragraph led by `[^n]: ` |
//!
//! (Lists nested deeper than [`super::convert::MAX_LIST_DEPTH`] and quotes inside quotes are
//! already flattened while the tree is built.)

use pulldown_cmark::BlockQuoteKind;

use super::convert::{alert_label, MdBlock, MdItem, MdList, MdTable};
use super::node::{
    append_inlines, embolden, prepend_plain, push_text, Blockquote, BulletList, CellAlign, CodeBlock, Doc, DocBlock,
    Heading, Inline, ListItem, ListItemBlock, Marks, OrderedList, Panel, PanelBlock, PanelType, Paragraph, QuoteBlock,
    Table, TableCell, TableRow, TaskEntry, TaskId, TaskItem, TaskList, TextBuf,
};

/// The document for the Markdown blocks whose text is in `text`.
pub(crate) fn document(blocks: Vec<MdBlock>, text: TextBuf) -> Doc {
    let mut fitter = Fitter { task_ids: 0, text };
    let mut content = Vec::with_capacity(blocks.len());
    fitter.fit::<DocHost>(blocks, &mut content);
    Doc::new(fitter.text, content)
}

/// A bullet or ordered list, which every container that holds blocks accepts.
enum PlainList {
    Bullet(BulletList),
    Ordered(OrderedList),
}

/// An ADF container: paragraphs, code blocks and plain lists go into all of them; the
/// constructors below are `Some` for the other nodes this container accepts.
trait Host {
    type Child;
    fn paragraph(paragraph: Paragraph) -> Self::Child;
    fn code_block(code: CodeBlock) -> Self::Child;
    fn plain_list(list: PlainList) -> Self::Child;
    const HEADING: Option<fn(Heading) -> Self::Child> = None;
    const RULE: Option<fn() -> Self::Child> = None;
    const TASK_LIST: Option<fn(TaskList) -> Self::Child> = None;
    const BLOCKQUOTE: Option<fn(Blockquote) -> Self::Child> = None;
    const PANEL: Option<fn(Panel) -> Self::Child> = None;
    const TABLE: Option<fn(Table) -> Self::Child> = None;
}

enum DocHost {}
enum QuoteHost {}
enum ListItemHost {}
enum PanelHost {}

impl Host for DocHost {
    type Child = DocBlock;
    fn paragraph(paragraph: Paragraph) -> DocBlock {
        DocBlock::Paragraph(paragraph)
    }
    fn code_block(code: CodeBlock) -> DocBlock {
        DocBlock::CodeBlock(code)
    }
    fn plain_list(list: PlainList) -> DocBlock {
        match list {
            PlainList::Bullet(list) => DocBlock::BulletList(list),
            PlainList::Ordered(list) => DocBlock::OrderedList(list),
        }
    }
    const HEADING: Option<fn(Heading) -> DocBlock> = Some(DocBlock::Heading);
    const RULE: Option<fn() -> DocBlock> = Some(|| DocBlock::Rule);
    const TASK_LIST: Option<fn(TaskList) -> DocBlock> = Some(DocBlock::TaskList);
    const BLOCKQUOTE: Option<fn(Blockquote) -> DocBlock> = Some(DocBlock::Blockquote);
    const PANEL: Option<fn(Panel) -> DocBlock> = Some(DocBlock::Panel);
    const TABLE: Option<fn(Table) -> DocBlock> = Some(DocBlock::Table);
}

impl Host for QuoteHost {
    type Child = QuoteBlock;
    fn paragraph(paragraph: Paragraph) -> QuoteBlock {
        QuoteBlock::Paragraph(paragraph)
    }
    fn code_block(code: CodeBlock) -> QuoteBlock {
        QuoteBlock::CodeBlock(code)
    }
    fn plain_list(list: PlainList) -> QuoteBlock {
        match list {
            PlainList::Bullet(list) => QuoteBlock::BulletList(list),
            PlainList::Ordered(list) => QuoteBlock::OrderedList(list),
        }
    }
}

impl Host for ListItemHost {
    type Child = ListItemBlock;
    fn paragraph(paragraph: Paragraph) -> ListItemBlock {
        ListItemBlock::Paragraph(paragraph)
    }
    fn code_block(code: CodeBlock) -> ListItemBlock {
        ListItemBlock::CodeBlock(code)
    }
    fn plain_list(list: PlainList) -> ListItemBlock {
        match list {
            PlainList::Bullet(list) => ListItemBlock::BulletList(list),
            PlainList::Ordered(list) => ListItemBlock::OrderedList(list),
        }
    }
    const TASK_LIST: Option<fn(TaskList) -> ListItemBlock> = Some(ListItemBlock::TaskList);
}

impl Host for PanelHost {
    type Child = PanelBlock;
    fn paragraph(paragraph: Paragraph) -> PanelBlock {
        PanelBlock::Paragraph(paragraph)
    }
    fn code_block(code: CodeBlock) -> PanelBlock {
        PanelBlock::CodeBlock(code)
    }
    fn plain_list(list: PlainList) -> PanelBlock {
        match list {
            PlainList::Bullet(list) => PanelBlock::BulletList(list),
            PlainList::Ordered(list) => PanelBlock::OrderedList(list),
        }
    }
    const HEADING: Option<fn(Heading) -> PanelBlock> = Some(PanelBlock::Heading);
    const RULE: Option<fn() -> PanelBlock> = Some(|| PanelBlock::Rule);
    const TASK_LIST: Option<fn(TaskList) -> PanelBlock> = Some(PanelBlock::TaskList);
}

/// The state of fitting one document.
struct Fitter {
    /// Task lists and items need a `localId`; numbering them in document order keeps the
    /// output deterministic (and the cache meaningful).
    task_ids: u64,
    /// The document's text; fallbacks that add text (markers, labels) append to it.
    text: TextBuf,
}

impl Fitter {
    /// Fits `blocks` into the container `H`, appending to `out`. Recursion follows the tree,
    /// whose depth [`super::convert`] bounds.
    fn fit<H: Host>(&mut self, blocks: Vec<MdBlock>, out: &mut Vec<H::Child>) {
        for block in blocks {
            match block {
                MdBlock::Paragraph(content) => out.push(H::paragraph(Paragraph::new(content))),
                MdBlock::Heading { level, content } => out.push(match H::HEADING {
                    Some(heading) => heading(Heading::new(level, content)),
                    None => H::paragraph(Paragraph::new(embolden(content, &mut self.text))),
                }),
                MdBlock::Code { language, text } => out.push(H::code_block(CodeBlock::new(language, text))),
                MdBlock::Html(html) => {
                    let content = literal_lines(&html, &mut self.text);
                    if !content.is_empty() {
                        out.push(H::paragraph(Paragraph::new(content)));
                    }
                }
                MdBlock::Rule => {
                    if let Some(rule) = H::RULE {
                        out.push(rule());
                    }
                }
                MdBlock::List(list) => match H::TASK_LIST {
                    Some(task_list) if is_task_shaped(&list) => {
                        if let Some(list) = self.task_list(list) {
                            out.push(task_list(list));
                        }
                    }
                    _ => {
                        if let Some(list) = self.plain_list(list) {
                            out.push(H::plain_list(list));
                        }
                    }
                },
                MdBlock::Quote { alert: Some(alert), blocks } => match H::PANEL {
                    Some(panel) => {
                        let mut children = Vec::new();
                        self.fit::<PanelHost>(blocks, &mut children);
                        out.push(panel(Panel::new(panel_type(alert), children)));
                    }
                    None => {
                        out.push(H::paragraph(Paragraph::new(bold_line(alert_label(alert), &mut self.text))));
                        self.quote::<H>(blocks, out);
                    }
                },
                MdBlock::Quote { alert: None, blocks } => self.quote::<H>(blocks, out),
                MdBlock::Table(table) => match H::TABLE {
                    Some(make_table) => {
                        if let Some(table) = table_node(table) {
                            out.push(make_table(table));
                        }
                    }
                    None => out.extend(self.table_as_paragraphs(table).into_iter().map(H::paragraph)),
                },
                MdBlock::Footnote { label, blocks } => {
                    let blocks = self.with_footnote_label(&label, blocks);
                    self.fit::<H>(blocks, out);
                }
            }
        }
    }

    fn quote<H: Host>(&mut self, blocks: Vec<MdBlock>, out: &mut Vec<H::Child>) {
        match H::BLOCKQUOTE {
            Some(blockquote) => {
                let mut children = Vec::new();
                self.fit::<QuoteHost>(blocks, &mut children);
                out.push(blockquote(Blockquote::new(children)));
            }
            None => self.fit::<H>(blocks, out),
        }
    }

    fn plain_list(&mut self, list: MdList) -> Option<PlainList> {
        let items: Vec<ListItem> = list.items.into_iter().map(|item| self.list_item(item)).collect();
        match list.start {
            None => BulletList::new(items).map(PlainList::Bullet),
            Some(order) => OrderedList::new(order, items).map(PlainList::Ordered),
        }
    }

    fn list_item(&mut self, item: MdItem) -> ListItem {
        let mut children = Vec::with_capacity(item.blocks.len());
        self.fit::<ListItemHost>(item.blocks, &mut children);
        let marker = item.task.map(|done| if done { "[x] " } else { "[ ] " });
        ListItem::new(children, marker, &mut self.text)
    }

    /// Only for lists that pass [`is_task_shaped`].
    fn task_list(&mut self, list: MdList) -> Option<TaskList> {
        let list_id = self.next_task_id();
        let mut entries = Vec::with_capacity(list.items.len());
        for item in list.items {
            let mut content = Vec::new();
            let mut nested = Vec::new();
            for block in item.blocks {
                match block {
                    MdBlock::List(list) => nested.push(list),
                    inline_like => {
                        if !content.is_empty() {
                            content.push(Inline::HardBreak);
                        }
                        let inlines = self.inline_content(inline_like);
                        append_inlines(&mut content, &mut self.text, inlines);
                    }
                }
            }
            entries.push(TaskEntry::TaskItem(TaskItem::new(self.next_task_id(), item.task == Some(true), content)));
            for list in nested {
                if let Some(list) = self.task_list(list) {
                    entries.push(TaskEntry::TaskList(list));
                }
            }
        }
        TaskList::new(list_id, entries)
    }

    fn next_task_id(&mut self) -> TaskId {
        self.task_ids += 1;
        TaskId(self.task_ids)
    }

    /// The inline content of a paragraph-like block (what [`is_task_shaped`] admits).
    fn inline_content(&mut self, block: MdBlock) -> Vec<Inline> {
        match block {
            MdBlock::Paragraph(content) => content,
            MdBlock::Heading { content, .. } => embolden(content, &mut self.text),
            MdBlock::Html(html) => literal_lines(&html, &mut self.text),
            _ => Vec::new(),
        }
    }

    /// `[^label]: ` in front of the definition's first paragraph (or as its own paragraph).
    fn with_footnote_label(&mut self, label: &str, mut blocks: Vec<MdBlock>) -> Vec<MdBlock> {
        let prefix = format!("[^{label}]: ");
        match blocks.first_mut() {
            Some(MdBlock::Paragraph(content)) => prepend_plain(content, &mut self.text, &prefix),
            _ => {
                let mut content = Vec::new();
                push_text(&mut content, &mut self.text, prefix.trim_end(), &Marks::default());
                blocks.insert(0, MdBlock::Paragraph(content));
            }
        }
        blocks
    }

    /// A table where ADF allows none: a paragraph per row, cells separated by ` | `, the
    /// header row in bold.
    fn table_as_paragraphs(&mut self, table: MdTable) -> Vec<Paragraph> {
        let head = std::iter::once((true, table.head));
        let body = table.rows.into_iter().map(|row| (false, row));
        let mut paragraphs = Vec::new();
        for (is_head, cells) in head.chain(body).filter(|(_, cells)| !cells.is_empty()) {
            let mut content = Vec::new();
            for (index, cell) in cells.into_iter().enumerate() {
                if index > 0 {
                    push_text(&mut content, &mut self.text, " | ", &Marks::default());
                }
                let cell = if is_head { embolden(cell, &mut self.text) } else { cell };
                append_inlines(&mut content, &mut self.text, cell);
            }
            paragraphs.push(Paragraph::new(content));
        }
        paragraphs
    }
}

/// A list ADF can show as a task list: every item is a task whose text (paragraphs, headings,
/// HTML) comes before any nested lists, and those are task lists too. A task item holds only
/// inline content, so anything else (a code block, a plain sublist) makes it a plain list.
fn is_task_shaped(list: &MdList) -> bool {
    !list.items.is_empty()
        && list.items.iter().all(|item| {
            let first_list =
                item.blocks.iter().position(|b| matches!(b, MdBlock::List(_))).unwrap_or(item.blocks.len());
            let (text, lists) = item.blocks.split_at(first_list);
            item.task.is_some()
                && text.iter().all(|b| matches!(b, MdBlock::Paragraph(_) | MdBlock::Heading { .. } | MdBlock::Html(_)))
                && lists.iter().all(|b| matches!(b, MdBlock::List(list) if is_task_shaped(list)))
        })
}

/// Raw HTML as literal text, one hard break per line break.
fn literal_lines(html: &str, buf: &mut TextBuf) -> Vec<Inline> {
    let mut content = Vec::new();
    for (index, line) in html.trim_end_matches(['\n', '\r']).split('\n').enumerate() {
        if index > 0 {
            content.push(Inline::HardBreak);
        }
        push_text(&mut content, buf, line.trim_end_matches('\r'), &Marks::default());
    }
    content
}

fn bold_line(text: &str, buf: &mut TextBuf) -> Vec<Inline> {
    let mut content = Vec::new();
    push_text(&mut content, buf, text, &Marks::default().with_strong());
    content
}

fn panel_type(alert: BlockQuoteKind) -> PanelType {
    match alert {
        BlockQuoteKind::Note => PanelType::Info,
        BlockQuoteKind::Tip => PanelType::Tip,
        BlockQuoteKind::Important => PanelType::Note,
        BlockQuoteKind::Warning => PanelType::Warning,
        BlockQuoteKind::Caution => PanelType::Error,
    }
}

/// The table with its header row as `tableHeader` cells. Every row gets exactly as many cells
/// as the table has columns (short rows padded with empty cells, long ones cut, as GFM does).
fn table_node(table: MdTable) -> Option<Table> {
    let columns = column_count(&table);
    let mut rows = Vec::with_capacity(table.rows.len() + 1);
    let head = std::iter::once((true, table.head));
    let body = table.rows.into_iter().map(|row| (false, row));
    for (is_head, cells) in head.chain(body) {
        let mut cells = cells.into_iter();
        let row: Vec<TableCell> = (0..columns)
            .map(|column| {
                let align = table.alignments.get(column).copied().unwrap_or(CellAlign::Start);
                TableCell::new(is_head, align, cells.next().unwrap_or_default())
            })
            .collect();
        rows.extend(TableRow::new(row));
    }
    Table::new(rows)
}

fn column_count(table: &MdTable) -> usize {
    let widest = table.rows.iter().map(Vec::len).chain([table.head.len()]).max().unwrap_or(0);
    if table.alignments.is_empty() {
        widest.max(1)
    } else {
        table.alignments.len()
    }
}
