//! The JSON form of the ADF nodes, written straight into a byte buffer: keys and constants
//! (`"type"`, `"paragraph"`, …) as ready-made byte strings, only document text escaped (with
//! serde_json's escapes). serde's derived serialisers spent most of the conversion time
//! escaping those constants byte by byte.

use crate::adf::swar::{has_byte, has_less, word_at};

use super::{
    Blockquote, BulletList, CellAlign, CodeBlock, Doc, DocBlock, Heading, Inline, Link, ListItem, ListItemBlock, Marks,
    OrderedList, Panel, PanelBlock, PanelType, Paragraph, QuoteBlock, Table, TableCell, TableRow, TaskEntry, TaskId,
    TaskItem, TaskList, TextBuf,
};

/// A node that writes itself as JSON; `text` holds the document's text.
trait Json {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>);
}

fn seq<T: Json>(items: &[T], text: &TextBuf, out: &mut Vec<u8>) {
    out.push(b'[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        item.write(text, out);
    }
    out.push(b']');
}

/// `<opening>[...]}`: the content array and the closing brace of a node.
fn container<T: Json>(opening: &[u8], content: &[T], text: &TextBuf, out: &mut Vec<u8>) {
    out.extend_from_slice(opening);
    seq(content, text, out);
    out.push(b'}');
}

/// The escape of each byte in a JSON string, 0 for none: serde_json's choices (`\"`, `\\`,
/// `\b`, `\f`, `\n`, `\r`, `\t`, and `\u00xx` for the other control characters).
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// `text` as a JSON string. Most text needs no escape, so eight bytes are checked at a time
/// and clean runs are copied whole.
fn string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        if let Some(word) = word_at(bytes, at) {
            if !has_less(word, 0x20) && !has_byte(word, b'"') && !has_byte(word, b'\\') {
                at += 8;
                continue;
            }
        }
        let byte = bytes[at];
        let escape = ESCAPE[usize::from(byte)];
        at += 1;
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[copied..at - 1]);
        if escape == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        copied = at;
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

fn number(out: &mut Vec<u8>, value: u64) {
    // At most 20 digits; written back to front.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

fn task_id(out: &mut Vec<u8>, id: TaskId) {
    out.extend_from_slice(b"\"task-");
    number(out, id.0);
    out.push(b'"');
}

impl Doc {
    /// Appends the document's JSON to `out` (what `serde_json::to_writer` would write for it,
    /// without going through serde).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // The JSON of a typical report is about six times its text.
        out.reserve(6 * self.text.0.len() + 256);
        container(br#"{"type":"doc","version":1,"content":"#, &self.content, &self.text, out);
    }
}

impl Json for DocBlock {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        match self {
            DocBlock::Paragraph(node) => node.write(text, out),
            DocBlock::Heading(node) => node.write(text, out),
            DocBlock::CodeBlock(node) => node.write(text, out),
            DocBlock::BulletList(node) => node.write(text, out),
            DocBlock::OrderedList(node) => node.write(text, out),
            DocBlock::TaskList(node) => node.write(text, out),
            DocBlock::Blockquote(node) => node.write(text, out),
            DocBlock::Panel(node) => node.write(text, out),
            DocBlock::Rule => out.extend_from_slice(br#"{"type":"rule"}"#),
            DocBlock::Table(node) => node.write(text, out),
        }
    }
}

impl Json for QuoteBlock {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        match self {
            QuoteBlock::Paragraph(node) => node.write(text, out),
            QuoteBlock::CodeBlock(node) => node.write(text, out),
            QuoteBlock::BulletList(node) => node.write(text, out),
            QuoteBlock::OrderedList(node) => node.write(text, out),
        }
    }
}

impl Json for ListItemBlock {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        match self {
            ListItemBlock::Paragraph(node) => node.write(text, out),
            ListItemBlock::CodeBlock(node) => node.write(text, out),
            ListItemBlock::BulletList(node) => node.write(text, out),
            ListItemBlock::OrderedList(node) => node.write(text, out),
            ListItemBlock::TaskList(node) => node.write(text, out),
        }
    }
}

impl Json for PanelBlock {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        match self {
            PanelBlock::Paragraph(node) => node.write(text, out),
            PanelBlock::Heading(node) => node.write(text, out),
            PanelBlock::CodeBlock(node) => node.write(text, out),
            PanelBlock::BulletList(node) => node.write(text, out),
            PanelBlock::OrderedList(node) => node.write(text, out),
            PanelBlock::TaskList(node) => node.write(text, out),
            PanelBlock::Rule => out.extend_from_slice(br#"{"type":"rule"}"#),
        }
    }
}

impl Json for TaskEntry {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        match self {
            TaskEntry::TaskItem(node) => node.write(text, out),
            TaskEntry::TaskList(node) => node.write(text, out),
        }
    }
}

impl Json for Inline {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        match self {
            Inline::Text { span, marks } => {
                out.extend_from_slice(br#"{"type":"text","text":"#);
                string(out, text.get(*span));
                if !marks.is_empty() {
                    out.extend_from_slice(br#","marks":"#);
                    marks.write(out);
                }
                out.push(b'}');
            }
            Inline::HardBreak => out.extend_from_slice(br#"{"type":"hardBreak"}"#),
        }
    }
}

impl Marks {
    /// The marks in the editor's order: link first, then em, strong, strike, code.
    fn write(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        let mut first = true;
        if let Some(link) = &self.link {
            link.write(out);
            first = false;
        }
        let simple: [(bool, &[u8]); 4] = [
            (self.em, br#"{"type":"em"}"#),
            (self.strong, br#"{"type":"strong"}"#),
            (self.strike, br#"{"type":"strike"}"#),
            (self.code, br#"{"type":"code"}"#),
        ];
        for (on, mark) in simple {
            if on {
                if !first {
                    out.push(b',');
                }
                out.extend_from_slice(mark);
                first = false;
            }
        }
        out.push(b']');
    }
}

impl Link {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"type":"link","attrs":{"href":"#);
        string(out, &self.href);
        if let Some(title) = &self.title {
            out.extend_from_slice(br#","title":"#);
            string(out, title);
        }
        out.extend_from_slice(b"}}");
    }
}

impl Json for Paragraph {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        container(br#"{"type":"paragraph","content":"#, &self.content, text, out);
    }
}

impl Json for Heading {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"type":"heading","attrs":{"level":"#);
        number(out, u64::from(self.level));
        container(br#"},"content":"#, &self.content, text, out);
    }
}

impl Json for CodeBlock {
    fn write(&self, _: &TextBuf, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"type":"codeBlock","#);
        if let Some(language) = &self.language {
            out.extend_from_slice(br#""attrs":{"language":"#);
            string(out, language);
            out.extend_from_slice(b"},");
        }
        if self.text.is_empty() {
            out.extend_from_slice(br#""content":[]}"#);
        } else {
            out.extend_from_slice(br#""content":[{"type":"text","text":"#);
            string(out, &self.text);
            out.extend_from_slice(b"}]}");
        }
    }
}

impl Json for BulletList {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        container(br#"{"type":"bulletList","content":"#, &self.content, text, out);
    }
}

impl Json for OrderedList {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"type":"orderedList","attrs":{"order":"#);
        number(out, self.order);
        container(br#"},"content":"#, &self.content, text, out);
    }
}

impl Json for ListItem {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        container(br#"{"type":"listItem","content":"#, &self.content, text, out);
    }
}

impl Json for TaskList {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"type":"taskList","attrs":{"localId":"#);
        task_id(out, self.id);
        container(br#"},"content":"#, &self.content, text, out);
    }
}

impl Json for TaskItem {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"type":"taskItem","attrs":{"localId":"#);
        task_id(out, self.id);
        let state: &[u8] =
            if self.done { br#","state":"DONE"},"content":"# } else { br#","state":"TODO"},"content":"# };
        container(state, &self.content, text, out);
    }
}

impl Json for Blockquote {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        container(br#"{"type":"blockquote","content":"#, &self.content, text, out);
    }
}

impl Json for Panel {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        let opening: &[u8] = match self.panel_type {
            PanelType::Info => br#"{"type":"panel","attrs":{"panelType":"info"},"content":"#,
            PanelType::Tip => br#"{"type":"panel","attrs":{"panelType":"tip"},"content":"#,
            PanelType::Note => br#"{"type":"panel","attrs":{"panelType":"note"},"content":"#,
            PanelType::Warning => br#"{"type":"panel","attrs":{"panelType":"warning"},"content":"#,
            PanelType::Error => br#"{"type":"panel","attrs":{"panelType":"error"},"content":"#,
        };
        container(opening, &self.content, text, out);
    }
}

impl Json for Table {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        container(br#"{"type":"table","content":"#, &self.content, text, out);
    }
}

impl Json for TableRow {
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        container(br#"{"type":"tableRow","content":"#, &self.content, text, out);
    }
}

impl Json for TableCell {
    /// `{"type":"tableHeader"|"tableCell","content":[<one paragraph>]}`.
    fn write(&self, text: &TextBuf, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.header {
            br#"{"type":"tableHeader","content":[{"type":"paragraph","#
        } else {
            br#"{"type":"tableCell","content":[{"type":"paragraph","#
        });
        out.extend_from_slice(match self.align {
            CellAlign::Start => b"",
            CellAlign::Center => br#""marks":[{"type":"alignment","attrs":{"align":"center"}}],"#,
            CellAlign::End => br#""marks":[{"type":"alignment","attrs":{"align":"end"}}],"#,
        });
        container(br#""content":"#, &self.content, text, out);
        out.extend_from_slice(b"]}");
    }
}
