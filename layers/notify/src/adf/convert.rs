//! pulldown-cmark events to an intermediate tree of Markdown blocks whose inline content is
//! already ADF ([`Inline`]). The tree keeps what Markdown said; [`super::fit`] decides what each
//! ADF container can hold.
//!
//! Depth is bounded here so that nothing later recurses without limit: a block quote inside a
//! block quote is flattened into it (ADF allows no nested quotes anyway) and lists nest at most
//! [`MAX_LIST_DEPTH`] deep (the items of deeper lists become paragraphs of the deepest item).

use std::borrow::Cow;
use std::sync::Arc;

use pulldown_cmark::{Alignment, BlockQuoteKind, CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};

use super::autolink;
use super::node::{push_text, CellAlign, Inline, Link, Marks, TextBuf};

/// Lists nested deeper than this keep their text but lose their nesting.
pub(crate) const MAX_LIST_DEPTH: usize = 8;

/// Room for the inline nodes of a typical paragraph, so that most never grow their vector.
const INLINES: usize = 8;

#[derive(Debug)]
pub(crate) enum MdBlock {
    Paragraph(Vec<Inline>),
    Heading {
        level: u8,
        content: Vec<Inline>,
    },
    Code {
        language: Option<String>,
        text: String,
    },
    /// A raw HTML block, kept as literal text.
    Html(String),
    Rule,
    List(MdList),
    /// `alert` is GitHub's `> [!NOTE]` kind.
    Quote {
        alert: Option<BlockQuoteKind>,
        blocks: Vec<MdBlock>,
    },
    Table(MdTable),
    Footnote {
        label: String,
        blocks: Vec<MdBlock>,
    },
}

#[derive(Debug)]
pub(crate) struct MdList {
    /// The number of the first item; None for a bullet list.
    pub(crate) start: Option<u64>,
    pub(crate) items: Vec<MdItem>,
}

#[derive(Debug)]
pub(crate) struct MdItem {
    /// Some(done) for a task list item.
    pub(crate) task: Option<bool>,
    pub(crate) blocks: Vec<MdBlock>,
}

#[derive(Debug)]
pub(crate) struct MdTable {
    pub(crate) alignments: Vec<CellAlign>,
    pub(crate) head: Vec<Vec<Inline>>,
    pub(crate) rows: Vec<Vec<Vec<Inline>>>,
}

/// GFM as GitHub renders it: tables, strikethrough, task lists, footnotes and alert quotes.
/// Heading attributes, smart punctuation, math and metadata blocks stay off so that such text
/// is kept as written.
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_GFM
}

/// The Markdown's blocks, and the buffer their text nodes point into.
pub(crate) fn parse(markdown: &str) -> (Vec<MdBlock>, TextBuf) {
    // CommonMark replaces U+0000 for security; pulldown-cmark keeps it, and a NUL in a string
    // is refused by PostgreSQL's jsonb and many JSON consumers.
    let markdown: Cow<'_, str> =
        if markdown.contains('\0') { Cow::Owned(markdown.replace('\0', "\u{FFFD}")) } else { Cow::Borrowed(markdown) };
    // The text of the text nodes is at most about as long as the Markdown.
    let mut builder = Builder { text: TextBuf::with_capacity(markdown.len()), ..Builder::default() };
    for event in Parser::new_ext(&markdown, options()) {
        builder.event(event);
    }
    builder.finish()
}

/// An element still open while the events are read.
enum Frame {
    Quote {
        alert: Option<BlockQuoteKind>,
        blocks: Vec<MdBlock>,
    },
    List(MdList),
    Item(MdItem),
    Footnote {
        label: String,
        blocks: Vec<MdBlock>,
    },
    /// `implicit`: opened for the text of a tight list item, which has no paragraph events.
    Paragraph {
        content: Vec<Inline>,
        implicit: bool,
    },
    Heading {
        level: u8,
        content: Vec<Inline>,
    },
    Code {
        language: Option<String>,
        text: String,
    },
    Html(String),
    Table(MdTable),
    Row {
        cells: Vec<Vec<Inline>>,
        head: bool,
    },
    Cell(Vec<Inline>),
    /// A container that is not kept (a nested quote, a list too deep, anything unknown): what
    /// it holds goes to the container below it.
    Transparent,
}

/// Reads the events into [`MdBlock`]s: a stack of the open elements, and the emphasis and
/// links in force for inline text.
#[derive(Default)]
struct Builder {
    root: Vec<MdBlock>,
    frames: Vec<Frame>,
    text: TextBuf,
    em: u32,
    strong: u32,
    strike: u32,
    /// One entry per open link or image: the link mark it gives its text, None when it gives
    /// none (unsafe destination, or inside another link).
    links: Vec<Option<Arc<Link>>>,
    /// For each open image: `text_written` when it started and its destination, to show the
    /// destination when the alt text turns out empty.
    images: Vec<(u64, String)>,
    /// Bytes of inline text so far.
    text_written: u64,
    open_lists: usize,
    open_quotes: usize,
    open_footnotes: usize,
}

impl Builder {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(end) => self.end(end),
            Event::Text(text) => match self.frames.last_mut() {
                Some(Frame::Code { text: code, .. }) => code.push_str(&text),
                Some(Frame::Html(html)) => html.push_str(&text),
                _ => self.text(&text),
            },
            Event::Code(code) => {
                let marks = self.marks().code_span();
                self.text_with(&code, &marks);
            }
            Event::Html(html) => match self.frames.last_mut() {
                Some(Frame::Html(block)) => block.push_str(&html),
                _ => self.text(&html),
            },
            Event::InlineHtml(html) | Event::InlineMath(html) | Event::DisplayMath(html) => self.text(&html),
            Event::FootnoteReference(label) => self.text(&format!("[^{label}]")),
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => {
                if let Some(sink) = inline_sink(&mut self.frames) {
                    sink.push(Inline::HardBreak);
                }
            }
            Event::Rule => {
                self.close_implicit_paragraph();
                self.attach(MdBlock::Rule);
            }
            Event::TaskListMarker(done) => self.task_marker(done),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Emphasis => self.em += 1,
            Tag::Strong => self.strong += 1,
            Tag::Strikethrough => self.strike += 1,
            Tag::Link { link_type, dest_url, title, .. } => {
                let link = self.link_for(link_type, &dest_url, &title);
                self.links.push(link);
            }
            Tag::Image { link_type, dest_url, title, .. } => {
                let link = self.link_for(link_type, &dest_url, &title);
                self.links.push(link);
                self.images.push((self.text_written, dest_url.into_string()));
            }
            // Not enabled; their text is kept unmarked.
            Tag::Superscript | Tag::Subscript => {}
            block => {
                self.close_implicit_paragraph();
                let frame = self.block_frame(block);
                self.frames.push(frame);
            }
        }
    }

    fn block_frame(&mut self, tag: Tag<'_>) -> Frame {
        match tag {
            Tag::Paragraph => Frame::Paragraph { content: Vec::with_capacity(INLINES), implicit: false },
            Tag::Heading { level, .. } => Frame::Heading { level: level as u8, content: Vec::with_capacity(INLINES) },
            Tag::BlockQuote(alert) if self.open_quotes == 0 => {
                self.open_quotes += 1;
                Frame::Quote { alert, blocks: Vec::new() }
            }
            Tag::BlockQuote(alert) => {
                // ADF has no nested quotes: keep the alert's name as a bold line and flatten.
                if let Some(alert) = alert {
                    let mut content = Vec::new();
                    push_text(&mut content, &mut self.text, alert_label(alert), &Marks::default().with_strong());
                    self.attach(MdBlock::Paragraph(content));
                }
                Frame::Transparent
            }
            Tag::CodeBlock(kind) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info.split_whitespace().next().map(str::to_owned),
                    CodeBlockKind::Indented => None,
                };
                Frame::Code { language, text: String::new() }
            }
            Tag::HtmlBlock => Frame::Html(String::new()),
            Tag::List(start) if self.open_lists < MAX_LIST_DEPTH => {
                self.open_lists += 1;
                Frame::List(MdList { start, items: Vec::new() })
            }
            Tag::Item if matches!(self.frames.last(), Some(Frame::List(_))) => {
                Frame::Item(MdItem { task: None, blocks: Vec::new() })
            }
            Tag::FootnoteDefinition(label) if self.open_footnotes == 0 => {
                self.open_footnotes += 1;
                Frame::Footnote { label: label.into_string(), blocks: Vec::new() }
            }
            Tag::Table(alignments) => Frame::Table(MdTable {
                alignments: alignments.into_iter().map(cell_align).collect(),
                head: Vec::new(),
                rows: Vec::new(),
            }),
            Tag::TableHead => Frame::Row { cells: Vec::new(), head: true },
            Tag::TableRow => Frame::Row { cells: Vec::new(), head: false },
            Tag::TableCell => Frame::Cell(Vec::new()),
            // Lists too deep, items of those, nested footnote definitions and the kinds not
            // enabled (definition lists, metadata): their content flows into the container.
            _ => Frame::Transparent,
        }
    }

    fn end(&mut self, end: TagEnd) {
        match end {
            TagEnd::Emphasis => self.em = self.em.saturating_sub(1),
            TagEnd::Strong => self.strong = self.strong.saturating_sub(1),
            TagEnd::Strikethrough => self.strike = self.strike.saturating_sub(1),
            TagEnd::Link => {
                self.links.pop();
            }
            TagEnd::Image => self.end_image(),
            TagEnd::Superscript | TagEnd::Subscript => {}
            TagEnd::Paragraph => self.close_top(),
            _ => {
                self.close_implicit_paragraph();
                self.close_top();
            }
        }
    }

    /// The link mark for a link or an image. Only destinations a Jira renderer would follow
    /// become links (see [`is_safe_href`]); inside another link the outer one stays.
    fn link_for(&self, link_type: LinkType, dest: &str, title: &str) -> Option<Arc<Link>> {
        if self.links.iter().any(Option::is_some) {
            return None;
        }
        let href = match link_type {
            LinkType::Email if !dest.to_ascii_lowercase().starts_with("mailto:") => format!("mailto:{dest}"),
            _ => dest.trim().to_owned(),
        };
        let title = (!title.is_empty()).then(|| title.to_owned());
        is_safe_href(&href).then(|| Arc::new(Link { href, title }))
    }

    /// ADF cannot embed an external image: its alt text carries the link, or the destination
    /// is shown when the alt text is empty.
    fn end_image(&mut self) {
        if let Some((written_before, dest)) = self.images.pop() {
            if self.text_written == written_before {
                let shown = dest.trim().to_owned();
                self.text(&shown);
            }
        }
        self.links.pop();
    }

    fn task_marker(&mut self, done: bool) {
        let item = match self.frames.as_mut_slice() {
            [.., Frame::Item(item)] => Some(item),
            [.., Frame::Item(item), Frame::Paragraph { content, .. }] if content.is_empty() => Some(item),
            _ => None,
        };
        match item {
            Some(item) if item.task.is_none() && item.blocks.is_empty() => item.task = Some(done),
            _ => self.text(if done { "[x] " } else { "[ ] " }),
        }
    }

    fn marks(&self) -> Marks {
        let link = self.links.iter().flatten().next().cloned();
        Marks::formatted(self.em > 0, self.strong > 0, self.strike > 0, link)
    }

    fn text(&mut self, text: &str) {
        let marks = self.marks();
        self.text_with(text, &marks);
    }

    fn text_with(&mut self, text: &str, marks: &Marks) {
        self.text_written += text.len() as u64;
        if let Some(sink) = inline_sink(&mut self.frames) {
            push_text(sink, &mut self.text, text, marks);
        }
    }

    fn close_implicit_paragraph(&mut self) {
        if matches!(self.frames.last(), Some(Frame::Paragraph { implicit: true, .. })) {
            self.close_top();
        }
    }

    fn close_top(&mut self) {
        let Some(frame) = self.frames.pop() else { return };
        match frame {
            Frame::Paragraph { mut content, .. } => {
                autolink::linkify(&mut content, &self.text);
                self.attach(MdBlock::Paragraph(content));
            }
            Frame::Heading { level, mut content } => {
                autolink::linkify(&mut content, &self.text);
                self.attach(MdBlock::Heading { level, content });
            }
            Frame::Code { language, mut text } => {
                if text.ends_with('\n') {
                    text.pop();
                }
                self.attach(MdBlock::Code { language, text });
            }
            Frame::Html(text) => self.attach(MdBlock::Html(text)),
            Frame::Quote { alert, blocks } => {
                self.open_quotes -= 1;
                self.attach(MdBlock::Quote { alert, blocks });
            }
            Frame::List(list) => {
                self.open_lists -= 1;
                self.attach(MdBlock::List(list));
            }
            Frame::Item(item) => match self.frames.last_mut() {
                Some(Frame::List(list)) => list.items.push(item),
                _ => item.blocks.into_iter().for_each(|block| self.attach(block)),
            },
            Frame::Footnote { label, blocks } => {
                self.open_footnotes -= 1;
                self.attach(MdBlock::Footnote { label, blocks });
            }
            Frame::Table(table) => self.attach(MdBlock::Table(table)),
            Frame::Row { cells, head } => {
                if let Some(Frame::Table(table)) = self.frames.last_mut() {
                    if head {
                        table.head = cells;
                    } else {
                        table.rows.push(cells);
                    }
                }
            }
            Frame::Cell(mut content) => {
                autolink::linkify(&mut content, &self.text);
                if let Some(Frame::Row { cells, .. }) = self.frames.last_mut() {
                    cells.push(content);
                }
            }
            Frame::Transparent => {}
        }
    }

    /// Adds a finished block to the nearest open container that holds blocks.
    fn attach(&mut self, block: MdBlock) {
        for frame in self.frames.iter_mut().rev() {
            match frame {
                Frame::Quote { blocks, .. } | Frame::Footnote { blocks, .. } | Frame::Item(MdItem { blocks, .. }) => {
                    blocks.push(block);
                    return;
                }
                _ => {}
            }
        }
        self.root.push(block);
    }

    fn finish(mut self) -> (Vec<MdBlock>, TextBuf) {
        // The parser balances its events; this only matters if it ever stops early.
        while !self.frames.is_empty() {
            self.close_top();
        }
        (self.root, self.text)
    }
}

/// Where inline content goes now; opens a paragraph when the open element holds blocks.
/// Always Some: the None arm exists only so that no path can panic.
fn inline_sink(frames: &mut Vec<Frame>) -> Option<&mut Vec<Inline>> {
    if !matches!(frames.last(), Some(Frame::Paragraph { .. } | Frame::Heading { .. } | Frame::Cell(_))) {
        frames.push(Frame::Paragraph { content: Vec::with_capacity(INLINES), implicit: true });
    }
    match frames.last_mut() {
        Some(Frame::Paragraph { content, .. } | Frame::Heading { content, .. } | Frame::Cell(content)) => Some(content),
        _ => None,
    }
}

fn cell_align(alignment: Alignment) -> CellAlign {
    match alignment {
        Alignment::None | Alignment::Left => CellAlign::Start,
        Alignment::Center => CellAlign::Center,
        Alignment::Right => CellAlign::End,
    }
}

pub(crate) fn alert_label(alert: BlockQuoteKind) -> &'static str {
    match alert {
        BlockQuoteKind::Note => "Note",
        BlockQuoteKind::Tip => "Tip",
        BlockQuoteKind::Important => "Important",
        BlockQuoteKind::Warning => "Warning",
        BlockQuoteKind::Caution => "Caution",
    }
}

/// The destinations that become link marks: web, mail, phone and file-transfer schemes,
/// root-relative paths and fragments, the common part of Atlassian's `isSafeUrl` list. Anything
/// else (`javascript:`, `data:`, relative paths that would resolve against Jira) stays text.
pub(crate) fn is_safe_href(href: &str) -> bool {
    const SCHEMES: [&str; 7] = ["http://", "https://", "ftp://", "ftps://", "sftp://", "mailto:", "tel:"];
    if href.starts_with('/') || href.starts_with('#') {
        return true;
    }
    SCHEMES.iter().any(|scheme| {
        href.len() > scheme.len()
            && href.as_bytes()[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes())
            && !href[scheme.len()..].trim().is_empty()
    })
}
