//! Markdown → ADF: the exact output for every construct, the fallbacks where ADF refuses a
//! node, adversarial inputs, the cache, the report generator, and a property test that any
//! input gives a structurally valid document. (`tests/adf_schema.rs` checks the output against
//! Atlassian's published JSON schema.)

use std::collections::HashSet;
use std::sync::Arc;

use proptest::prelude::*;
use secops_notify::adf::{markdown_to_adf, markdown_to_adf_json, sample_triage_reports, AdfCache};
use serde_json::{json, Value};

/// The blocks of the document converted from `markdown`, after checking the whole document
/// with [`check_doc`].
fn blocks(markdown: &str) -> Value {
    let doc = converted(markdown);
    if let Err(problem) = check_doc(&doc) {
        panic!("invalid ADF for {markdown:?}: {problem}\n{doc:#}");
    }
    doc["content"].clone()
}

/// The document as [`Doc::write_json`] writes it, which must be JSON, and the same as what
/// `markdown_to_adf_json` gives.
fn converted(markdown: &str) -> Value {
    let written = written_json(markdown);
    let doc: Value = serde_json::from_str(&written).unwrap_or_else(|e| panic!("not JSON ({e}): {written}"));
    assert_eq!(doc, markdown_to_adf_json(markdown));
    doc
}

fn written_json(markdown: &str) -> String {
    let mut out = Vec::new();
    markdown_to_adf(markdown).write_json(&mut out);
    String::from_utf8(out).unwrap()
}

fn text(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

fn marked(text: &str, marks: &[&str]) -> Value {
    let marks: Vec<Value> = marks.iter().map(|mark| json!({"type": mark})).collect();
    json!({"type": "text", "text": text, "marks": marks})
}

fn linked(text: &str, href: &str) -> Value {
    json!({"type": "text", "text": text, "marks": [{"type": "link", "attrs": {"href": href}}]})
}

fn paragraph(content: Value) -> Value {
    json!({"type": "paragraph", "content": content})
}

fn item(content: Value) -> Value {
    json!({"type": "listItem", "content": content})
}

fn bullets(items: Value) -> Value {
    json!({"type": "bulletList", "content": items})
}

fn task(id: u32, done: bool, content: Value) -> Value {
    json!({"type": "taskItem", "attrs": {"localId": format!("task-{id}"), "state": if done { "DONE" } else { "TODO" }}, "content": content})
}

fn tasks(id: u32, content: Value) -> Value {
    json!({"type": "taskList", "attrs": {"localId": format!("task-{id}")}, "content": content})
}

// ---------------------------------------------------------------------------------------------
// The document

#[test]
fn the_document_has_type_version_and_content() {
    assert_eq!(
        markdown_to_adf_json("hello"),
        json!({"type": "doc", "version": 1, "content": [paragraph(json!([text("hello")]))]})
    );
}

#[test]
fn empty_input_gives_one_empty_paragraph() {
    for markdown in ["", "   ", "\n\n\n", "[r]: http://x.y"] {
        assert_eq!(blocks(markdown), json!([paragraph(json!([]))]), "{markdown:?}");
    }
}

#[test]
fn the_json_value_is_the_serialised_document() {
    let markdown = "# T\n\n- [ ] a\n\n| x |\n|---|\n| 1 |\n";
    assert_eq!(markdown_to_adf_json(markdown), serde_json::to_value(markdown_to_adf(markdown)).unwrap());
    let embedded = serde_json::to_string(&json!({"fields": {"description": markdown_to_adf(markdown)}})).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&embedded).unwrap()["fields"]["description"],
        markdown_to_adf_json(markdown)
    );
}

// ---------------------------------------------------------------------------------------------
// Inline content

#[test]
fn soft_breaks_become_spaces_and_hard_breaks_hard_breaks() {
    assert_eq!(
        blocks("a  \nb\\\nc\nd"),
        json!([paragraph(json!([text("a"), {"type": "hardBreak"}, text("b"), {"type": "hardBreak"}, text("c d")]))])
    );
}

#[test]
fn emphasis_strong_and_strike_nest_into_mark_sets() {
    assert_eq!(
        blocks("***both*** **a *b* c** ~~s~~ ~t~"),
        json!([paragraph(json!([
            marked("both", &["em", "strong"]),
            text(" "),
            marked("a ", &["strong"]),
            marked("b", &["em", "strong"]),
            marked(" c", &["strong"]),
            text(" "),
            marked("s", &["strike"]),
            text(" "),
            marked("t", &["strike"]),
        ]))])
    );
}

#[test]
fn inline_code_stands_alone_because_code_excludes_other_marks() {
    assert_eq!(
        blocks("`x` **bold `code`** ~~*`y`*~~"),
        json!([paragraph(json!([
            marked("x", &["code"]),
            text(" "),
            marked("bold ", &["strong"]),
            marked("code", &["code"]),
            text(" "),
            marked("y", &["code"]),
        ]))])
    );
}

#[test]
fn code_inside_a_link_keeps_the_link_and_drops_the_code_mark() {
    assert_eq!(
        blocks("[see `arn:aws:s3:::b`](https://example.com/b)"),
        json!([paragraph(json!([linked("see arn:aws:s3:::b", "https://example.com/b")]))])
    );
}

#[test]
fn markup_inside_code_stays_literal() {
    assert_eq!(blocks("`**not bold** <b>`"), json!([paragraph(json!([marked("**not bold** <b>", &["code"])]))]));
}

#[test]
fn links_carry_href_and_title_and_combine_with_emphasis() {
    assert_eq!(
        blocks("[a](https://x.example/a \"Title\") **[b](http://y.example)**"),
        json!([paragraph(json!([
            {"type": "text", "text": "a", "marks": [{"type": "link", "attrs": {"href": "https://x.example/a", "title": "Title"}}]},
            text(" "),
            {"type": "text", "text": "b", "marks": [{"type": "link", "attrs": {"href": "http://y.example"}}, {"type": "strong"}]},
        ]))])
    );
}

#[test]
fn reference_links_resolve() {
    assert_eq!(
        blocks("[a][r] and [r]\n\n[r]: https://r.example/x"),
        json!([paragraph(json!([
            linked("a", "https://r.example/x"),
            text(" and "),
            linked("r", "https://r.example/x")
        ]))])
    );
}

#[test]
fn angle_autolinks_and_email_autolinks_become_links() {
    assert_eq!(
        blocks("<https://x.example/z> <soc@example.com>"),
        json!([paragraph(json!([
            linked("https://x.example/z", "https://x.example/z"),
            text(" "),
            linked("soc@example.com", "mailto:soc@example.com"),
        ]))])
    );
}

#[test]
fn bare_urls_become_links_as_on_github() {
    assert_eq!(
        blocks("see https://example.com/a?b=c. and www.example.org/x) (https://a.example/c(d)) ok"),
        json!([paragraph(json!([
            text("see "),
            linked("https://example.com/a?b=c", "https://example.com/a?b=c"),
            text(". and "),
            linked("www.example.org/x", "http://www.example.org/x"),
            text(") ("),
            linked("https://a.example/c(d)", "https://a.example/c(d)"),
            text(") ok"),
        ]))])
    );
}

#[test]
fn bare_urls_keep_the_surrounding_emphasis_and_stay_text_in_code() {
    assert_eq!(
        blocks("*at https://a.example/x* `https://b.example/y`"),
        json!([paragraph(json!([
            marked("at ", &["em"]),
            {"type": "text", "text": "https://a.example/x", "marks": [{"type": "link", "attrs": {"href": "https://a.example/x"}}, {"type": "em"}]},
            text(" "),
            marked("https://b.example/y", &["code"]),
        ]))])
    );
}

#[test]
fn unsafe_or_relative_destinations_stay_text() {
    assert_eq!(
        blocks("[js](javascript:alert(1)) [data](data:text/html,x) [rel](docs/x.md) [empty]() <irc://x.example>"),
        json!([paragraph(json!([text("js data rel empty irc://x.example")]))])
    );
}

#[test]
fn root_relative_paths_fragments_and_mail_links_are_kept() {
    assert_eq!(
        blocks("[a](/browse/SEC-1) [b](#top) [c](mailto:soc@example.com) [d](tel:+15550100)"),
        json!([paragraph(json!([
            linked("a", "/browse/SEC-1"),
            text(" "),
            linked("b", "#top"),
            text(" "),
            linked("c", "mailto:soc@example.com"),
            text(" "),
            linked("d", "tel:+15550100"),
        ]))])
    );
}

#[test]
fn images_become_links_on_their_alt_text_or_their_address() {
    assert_eq!(
        blocks("![graph *now*](https://i.example/g.png) ![](https://i.example/h.png) ![x](javascript:y) ![](rel.png)"),
        json!([paragraph(json!([
            linked("graph ", "https://i.example/g.png"),
            {"type": "text", "text": "now", "marks": [{"type": "link", "attrs": {"href": "https://i.example/g.png"}}, {"type": "em"}]},
            text(" "),
            linked("https://i.example/h.png", "https://i.example/h.png"),
            text(" x rel.png"),
        ]))])
    );
}

#[test]
fn an_image_inside_a_link_keeps_the_outer_link() {
    assert_eq!(
        blocks("[![badge](https://i.example/b.svg)](https://ci.example/run/1)"),
        json!([paragraph(json!([linked("badge", "https://ci.example/run/1")]))])
    );
}

#[test]
fn inline_html_is_literal_text() {
    assert_eq!(
        blocks("a <span class=\"x\">*b*</span> <!-- c -->"),
        json!([paragraph(json!([text("a <span class=\"x\">"), marked("b", &["em"]), text("</span> <!-- c -->"),]))])
    );
}

// ---------------------------------------------------------------------------------------------
// Blocks at the root

#[test]
fn headings_keep_their_level_and_marks() {
    assert_eq!(
        blocks("# One *e*\n\n###### Six\n\nSetext\n------"),
        json!([
            {"type": "heading", "attrs": {"level": 1}, "content": [text("One "), marked("e", &["em"])]},
            {"type": "heading", "attrs": {"level": 6}, "content": [text("Six")]},
            {"type": "heading", "attrs": {"level": 2}, "content": [text("Setext")]},
        ])
    );
}

#[test]
fn an_empty_heading_has_no_text_node() {
    assert_eq!(blocks("#"), json!([{"type": "heading", "attrs": {"level": 1}, "content": []}]));
}

#[test]
fn code_blocks_keep_the_language_and_the_text_verbatim() {
    assert_eq!(
        blocks("```json title=x\n{\"a\": \"**b**\"}\n```\n\n    indented\n      more\n\n```\n```"),
        json!([
            {"type": "codeBlock", "attrs": {"language": "json"}, "content": [text("{\"a\": \"**b**\"}")]},
            {"type": "codeBlock", "content": [text("indented\n  more")]},
            {"type": "codeBlock", "content": []},
        ])
    );
}

#[test]
fn thematic_breaks_become_rules() {
    assert_eq!(blocks("a\n\n---\n\n***"), json!([paragraph(json!([text("a")])), {"type": "rule"}, {"type": "rule"}]));
}

#[test]
fn html_blocks_are_literal_lines() {
    assert_eq!(
        blocks("<div>\n<b>x</b>\n</div>"),
        json!([paragraph(
            json!([text("<div>"), {"type": "hardBreak"}, text("<b>x</b>"), {"type": "hardBreak"}, text("</div>")])
        )])
    );
}

#[test]
fn footnotes_are_plain_text() {
    assert_eq!(
        blocks("x[^1]\n\n[^1]: the *note*"),
        json!([paragraph(json!([text("x[^1]")])), paragraph(json!([text("[^1]: the "), marked("note", &["em"])])),])
    );
}

#[test]
fn block_quotes_hold_paragraphs_lists_and_code() {
    assert_eq!(
        blocks("> a\n>\n> - b\n>\n> ```sh\n> c\n> ```"),
        json!([{"type": "blockquote", "content": [
            paragraph(json!([text("a")])),
            bullets(json!([item(json!([paragraph(json!([text("b")]))]))])),
            {"type": "codeBlock", "attrs": {"language": "sh"}, "content": [text("c")]},
        ]}])
    );
}

#[test]
fn an_empty_quote_holds_an_empty_paragraph() {
    assert_eq!(blocks(">"), json!([{"type": "blockquote", "content": [paragraph(json!([]))]}]));
}

#[test]
fn what_a_quote_cannot_hold_is_fitted_in() {
    // Heading → bold paragraph; rule → dropped; nested quote → flattened; task list → plain
    // list with markers; table → a paragraph per row.
    assert_eq!(
        blocks("> # Head\n> ***\n> > inner\n>\n> - [ ] t\n>\n> | a | b |\n> |---|---|\n> | 1 | 2 |"),
        json!([{"type": "blockquote", "content": [
            paragraph(json!([marked("Head", &["strong"])])),
            paragraph(json!([text("inner")])),
            bullets(json!([item(json!([paragraph(json!([text("[ ] t")]))]))])),
            paragraph(json!([marked("a", &["strong"]), text(" | "), marked("b", &["strong"])])),
            paragraph(json!([text("1 | 2")])),
        ]}])
    );
}

#[test]
fn github_alerts_become_panels() {
    assert_eq!(
        blocks("> [!WARNING]\n> Restarts the *instance*.\n>\n> # Why\n> ---"),
        json!([{"type": "panel", "attrs": {"panelType": "warning"}, "content": [
            paragraph(json!([text("Restarts the "), marked("instance", &["em"]), text(".")])),
            {"type": "heading", "attrs": {"level": 1}, "content": [text("Why")]},
            {"type": "rule"},
        ]}])
    );
    for (kind, panel) in [("NOTE", "info"), ("TIP", "tip"), ("IMPORTANT", "note"), ("CAUTION", "error")] {
        assert_eq!(blocks(&format!("> [!{kind}]\n> x"))[0]["attrs"]["panelType"], panel, "{kind}");
    }
}

#[test]
fn an_alert_where_no_panel_fits_becomes_a_bold_label_and_its_text() {
    assert_eq!(
        blocks("- > [!NOTE]\n  > x"),
        json!([bullets(json!([item(json!([
            paragraph(json!([marked("Note", &["strong"])])),
            paragraph(json!([text("x")])),
        ]))]))])
    );
}

// ---------------------------------------------------------------------------------------------
// Lists

#[test]
fn tight_and_loose_bullet_lists() {
    let expected = json!([bullets(json!([
        item(json!([paragraph(json!([text("a")])), paragraph(json!([text("b")]))])),
        item(json!([paragraph(json!([text("c")]))])),
    ]))]);
    assert_eq!(blocks("- a\n\n  b\n- c"), expected);
    assert_eq!(
        blocks("* a\n* b"),
        json!([bullets(json!([
            item(json!([paragraph(json!([text("a")]))])),
            item(json!([paragraph(json!([text("b")]))]))
        ]))])
    );
}

#[test]
fn ordered_lists_keep_their_start_number() {
    for (markdown, order) in [("1. x", 1), ("0. x", 0), ("7) x", 7), ("123456789. x", 123_456_789)] {
        assert_eq!(
            blocks(markdown),
            json!([{"type": "orderedList", "attrs": {"order": order}, "content": [item(json!([paragraph(json!([text("x")]))]))]}]),
            "{markdown}"
        );
    }
}

#[test]
fn nested_lists_nest() {
    assert_eq!(
        blocks("- a\n  1. b\n     - c"),
        json!([bullets(json!([item(json!([
            paragraph(json!([text("a")])),
            {"type": "orderedList", "attrs": {"order": 1}, "content": [item(json!([
                paragraph(json!([text("b")])),
                bullets(json!([item(json!([paragraph(json!([text("c")]))]))])),
            ]))]},
        ]))]))])
    );
}

#[test]
fn an_item_that_starts_with_a_list_or_is_empty_gets_an_empty_paragraph_first() {
    assert_eq!(
        blocks("- - x"),
        json!([bullets(json!([item(json!([
            paragraph(json!([])),
            bullets(json!([item(json!([paragraph(json!([text("x")]))]))])),
        ]))]))])
    );
    assert_eq!(
        blocks("-\n-"),
        json!([bullets(json!([item(json!([paragraph(json!([]))])), item(json!([paragraph(json!([]))]))]))])
    );
}

#[test]
fn what_a_list_item_cannot_hold_is_fitted_in() {
    // Heading → bold paragraph; rule → dropped; quote → its content; table → rows as paragraphs.
    assert_eq!(
        blocks("- ## Head\n  ***\n  > quoted\n\n  | a |\n  |---|\n  | 1 |"),
        json!([bullets(json!([item(json!([
            paragraph(json!([marked("Head", &["strong"])])),
            paragraph(json!([text("quoted")])),
            paragraph(json!([marked("a", &["strong"])])),
            paragraph(json!([text("1")])),
        ]))]))])
    );
}

#[test]
fn task_lists_become_task_lists_with_states_and_ids() {
    assert_eq!(
        blocks("- [ ] open *now*\n- [x] done\n  - [X] nested"),
        json!([tasks(
            1,
            json!([
                task(2, false, json!([text("open "), marked("now", &["em"])])),
                task(3, true, json!([text("done")])),
                tasks(4, json!([task(5, true, json!([text("nested")]))])),
            ])
        )])
    );
}

#[test]
fn loose_and_ordered_task_lists_are_task_lists_too() {
    assert_eq!(
        blocks("1. [ ] a\n\n2. [x] b"),
        json!([tasks(1, json!([task(2, false, json!([text("a")])), task(3, true, json!([text("b")]))]))])
    );
}

#[test]
fn an_empty_task_item_has_no_content() {
    assert_eq!(
        blocks("- [ ]\n- [x] b"),
        json!([tasks(1, json!([task(2, false, json!([])), task(3, true, json!([text("b")]))]))])
    );
}

#[test]
fn a_task_with_several_paragraphs_joins_them_with_hard_breaks() {
    assert_eq!(
        blocks("- [ ] a\n\n  b"),
        json!([tasks(1, json!([task(2, false, json!([text("a"), {"type": "hardBreak"}, text("b")]))]))])
    );
}

#[test]
fn a_list_mixing_tasks_and_plain_items_is_a_plain_list_with_markers() {
    assert_eq!(
        blocks("- plain\n- [x] done"),
        json!([bullets(json!([
            item(json!([paragraph(json!([text("plain")]))])),
            item(json!([paragraph(json!([text("[x] done")]))])),
        ]))])
    );
}

#[test]
fn a_task_holding_a_code_block_makes_its_list_a_plain_list() {
    assert_eq!(
        blocks("- [ ] run\n\n  ```sh\n  make\n  ```"),
        json!([bullets(json!([item(json!([
            paragraph(json!([text("[ ] run")])),
            {"type": "codeBlock", "attrs": {"language": "sh"}, "content": [text("make")]},
        ]))]))])
    );
}

#[test]
fn a_task_list_inside_a_list_item_stays_a_task_list() {
    assert_eq!(
        blocks("- steps\n  - [ ] one"),
        json!([bullets(json!([item(json!([
            paragraph(json!([text("steps")])),
            tasks(1, json!([task(2, false, json!([text("one")]))])),
        ]))]))])
    );
}

#[test]
fn task_ids_are_unique_and_deterministic() {
    let markdown = "- [ ] a\n  - [ ] b\n\ntext\n\n- [x] c\n";
    let doc = markdown_to_adf_json(markdown);
    assert_eq!(doc, markdown_to_adf_json(markdown));
    let mut ids = Vec::new();
    collect_local_ids(&doc, &mut ids);
    assert_eq!(ids, ["task-1", "task-2", "task-3", "task-4", "task-5", "task-6"]);
}

fn collect_local_ids(value: &Value, ids: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get("attrs").and_then(|attrs| attrs.get("localId")) {
                ids.push(id.clone());
            }
            map.values().for_each(|v| collect_local_ids(v, ids));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_local_ids(v, ids)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Tables

fn cell(kind: &str, align: Option<&str>, content: Value) -> Value {
    let mut paragraph = json!({"type": "paragraph", "content": content});
    if let Some(align) = align {
        paragraph["marks"] = json!([{"type": "alignment", "attrs": {"align": align}}]);
    }
    json!({"type": kind, "content": [paragraph]})
}

fn row(cells: Value) -> Value {
    json!({"type": "tableRow", "content": cells})
}

#[test]
fn tables_have_header_cells_alignment_and_inline_marks() {
    assert_eq!(
        blocks("| Factor | Value | Score |\n|:--|:-:|--:|\n| **Severity** | `HIGH` | 8.1 |"),
        json!([{"type": "table", "content": [
            row(json!([
                cell("tableHeader", None, json!([text("Factor")])),
                cell("tableHeader", Some("center"), json!([text("Value")])),
                cell("tableHeader", Some("end"), json!([text("Score")])),
            ])),
            row(json!([
                cell("tableCell", None, json!([marked("Severity", &["strong"])])),
                cell("tableCell", Some("center"), json!([marked("HIGH", &["code"])])),
                cell("tableCell", Some("end"), json!([text("8.1")])),
            ])),
        ]}])
    );
}

#[test]
fn short_rows_are_padded_and_long_rows_cut_to_the_header() {
    assert_eq!(
        blocks("| a | b |\n|---|---|\n| 1 |\n| x | y | z |"),
        json!([{"type": "table", "content": [
            row(json!([cell("tableHeader", None, json!([text("a")])), cell("tableHeader", None, json!([text("b")]))])),
            row(json!([cell("tableCell", None, json!([text("1")])), cell("tableCell", None, json!([]))])),
            row(json!([cell("tableCell", None, json!([text("x")])), cell("tableCell", None, json!([text("y")]))])),
        ]}])
    );
}

#[test]
fn a_table_with_only_a_header_row_is_a_one_row_table() {
    assert_eq!(
        blocks("| a |\n|---|"),
        json!([{"type": "table", "content": [row(json!([cell("tableHeader", None, json!([text("a")]))]))]}])
    );
}

// ---------------------------------------------------------------------------------------------
// Adversarial input

#[test]
fn deeply_nested_lists_are_cut_at_a_bounded_depth_and_keep_their_text() {
    let markdown: String = (0..2000).map(|i| format!("{}- item {i}\n", "  ".repeat(i))).collect();
    let doc = converted(&markdown);
    check_doc(&doc).unwrap();
    assert!(depth(&doc) < 60, "depth {}", depth(&doc));
    assert_eq!(count_text(&doc, "item 1999"), 1, "the deepest item's text is kept");
    assert_eq!(count_type(&doc, "listItem"), 8, "the first eight levels stay lists, one item each");
}

#[test]
fn thousands_of_nested_quotes_become_one_quote() {
    let doc = markdown_to_adf_json(&format!("{} deep", ">".repeat(50_000)));
    check_doc(&doc).unwrap();
    assert_eq!(doc["content"], json!([{"type": "blockquote", "content": [paragraph(json!([text("deep")]))]}]));
}

#[test]
fn pathological_delimiters_stay_text() {
    for markdown in [
        format!("{}x{}", "*".repeat(50_000), "*".repeat(50_000)),
        format!("{}x{}", "[".repeat(50_000), "]".repeat(50_000)),
        format!("{}x", "`".repeat(20_000)),
        "- ".repeat(20_000),
        "> - ".repeat(5_000),
        "|".repeat(10_000),
    ] {
        let doc = converted(&markdown);
        check_doc(&doc).unwrap_or_else(|problem| panic!("{}…: {problem}", &markdown[..20]));
        assert!(depth(&doc) < 60);
    }
}

#[test]
fn a_huge_table_keeps_every_cell() {
    let columns = 200;
    let rows = 500;
    let mut markdown = format!(
        "|{}|\n|{}\n",
        (0..columns).map(|c| format!("h{c}")).collect::<Vec<_>>().join("|"),
        "---|".repeat(columns)
    );
    for r in 0..rows {
        markdown.push_str(&format!("|{}|\n", (0..columns).map(|c| format!("r{r}c{c}")).collect::<Vec<_>>().join("|")));
    }
    let doc = converted(&markdown);
    check_doc(&doc).unwrap();
    assert_eq!(count_type(&doc, "tableRow"), rows + 1);
    assert_eq!(count_type(&doc, "tableHeader"), columns);
    assert_eq!(count_type(&doc, "tableCell"), rows * columns);
    assert_eq!(count_text(&doc, "r499c199"), 1);
}

#[test]
fn thousands_of_empty_items_are_each_an_item_with_an_empty_paragraph() {
    let doc = markdown_to_adf_json(&"-\n".repeat(5000));
    check_doc(&doc).unwrap();
    assert_eq!(count_type(&doc, "listItem"), 5000);
    assert_eq!(doc["content"][0]["content"][4999], item(json!([paragraph(json!([]))])));
}

#[test]
fn control_characters_survive_as_text_and_nul_is_replaced() {
    let markdown = "a\u{0}b\u{1b}[31mc\u{7f}\u{8}\u{c}\"\\\\ \u{1f}";
    assert_eq!(blocks(markdown), json!([paragraph(json!([text("a\u{fffd}b\u{1b}[31mc\u{7f}\u{8}\u{c}\"\\ \u{1f}")]))]));
    // JSON escapes as serde_json writes them: short forms where JSON has them, \u00xx for the other controls.
    let escaped = "\"a\u{fffd}b\\u001b[31mc\u{7f}\\b\\f\\\"\\\\ \\u001f\"";
    assert!(written_json(markdown).contains(escaped), "{}", written_json(markdown));
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn count_type(value: &Value, kind: &str) -> usize {
    match value {
        Value::Object(map) => {
            usize::from(map.get("type") == Some(&json!(kind)))
                + map.values().map(|v| count_type(v, kind)).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(|v| count_type(v, kind)).sum(),
        _ => 0,
    }
}

fn count_text(value: &Value, needle: &str) -> usize {
    match value {
        Value::Object(map) => {
            let here = map.get("text").and_then(Value::as_str).map_or(0, |t| t.matches(needle).count());
            here + map.iter().filter(|(k, _)| *k != "text").map(|(_, v)| count_text(v, needle)).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(|v| count_text(v, needle)).sum(),
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// The cache

#[test]
fn the_cache_answers_repeats_from_memory_and_shares_the_result() {
    let cache = AdfCache::new(4);
    assert!(cache.is_empty());
    let first = cache.convert("# a");
    let second = cache.convert("# a");
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(*first, markdown_to_adf_json("# a"));
    assert_eq!((cache.len(), cache.hits()), (1, 1));
}

#[test]
fn the_cache_evicts_the_least_recently_used() {
    let cache = AdfCache::new(2);
    let a = cache.convert("a");
    cache.convert("b");
    cache.convert("a"); // a is now more recent than b
    cache.convert("c"); // evicts b
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.hits(), 1);
    assert!(Arc::ptr_eq(&a, &cache.convert("a")), "a stayed");
    assert_eq!(cache.hits(), 2);
    cache.convert("b");
    assert_eq!(cache.hits(), 2, "b was evicted");
}

#[test]
fn a_cache_of_capacity_zero_caches_nothing() {
    let cache = AdfCache::new(0);
    cache.convert("a");
    cache.convert("a");
    assert_eq!((cache.len(), cache.hits()), (0, 0));
}

#[test]
fn the_cache_is_shared_between_threads() {
    let cache = AdfCache::new(16);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for i in 0..100 {
                    assert_eq!(
                        *cache.convert(&format!("item {}", i % 8)),
                        markdown_to_adf_json(&format!("item {}", i % 8))
                    );
                }
            });
        }
    });
    assert_eq!(cache.len(), 8);
    // Each text is converted at least once and at most once per thread.
    assert!((400 - 8 * 4..=400 - 8).contains(&cache.hits()), "hits {}", cache.hits());
}

// ---------------------------------------------------------------------------------------------
// The report generator

#[test]
fn sample_reports_are_deterministic_and_varied() {
    let reports = sample_triage_reports(50, 7);
    assert_eq!(reports.len(), 50);
    assert_eq!(reports, sample_triage_reports(50, 7));
    assert_eq!(reports[..10], sample_triage_reports(10, 7)[..], "a shorter run is a prefix");
    assert_ne!(reports, sample_triage_reports(50, 8));
    assert_eq!(reports.iter().collect::<HashSet<_>>().len(), 50, "no two reports alike");
    let all = reports.concat();
    for construct in [
        "# Triage",
        "|:-------|:-----:|-------:|",
        "- [x] ",
        "- [ ] ",
        "```json",
        "```bash",
        "```hcl",
        "> ",
        "](https://",
        "`arn:aws:",
        "  - ",
    ] {
        assert!(all.contains(construct), "no report has {construct:?}");
    }
}

#[test]
fn sample_reports_convert_to_rich_valid_documents() {
    for report in sample_triage_reports(100, 1) {
        let doc = converted(&report);
        check_doc(&doc).unwrap_or_else(|problem| panic!("{problem}\n{report}"));
        for kind in ["heading", "table", "bulletList", "taskList", "codeBlock"] {
            assert!(count_type(&doc, kind) > 0, "no {kind} in\n{report}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Any input gives a valid document

fn markdownish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("\n"),
        Just("\n\n"),
        Just("  \n"),
        Just("- "),
        Just("* "),
        Just("1. "),
        Just("3) "),
        Just("  "),
        Just("    "),
        Just("> "),
        Just(">"),
        Just("# "),
        Just("### "),
        Just("[ ] "),
        Just("[x] "),
        Just("- [ ] "),
        Just("*"),
        Just("**"),
        Just("_"),
        Just("~~"),
        Just("~"),
        Just("`"),
        Just("```"),
        Just("```rust\n"),
        Just("|"),
        Just("| a | b |\n|---|:-:|\n"),
        Just("---"),
        Just("***"),
        Just("["),
        Just("]"),
        Just("("),
        Just(")"),
        Just("](http://x.example/)"),
        Just("![i]("),
        Just("<"),
        Just(">"),
        Just("<div>"),
        Just("</div>"),
        Just("<https://a.example>"),
        Just("https://b.example/p."),
        Just("www.c.example"),
        Just("javascript:x"),
        Just("[^1]"),
        Just("[^1]: "),
        Just("> [!NOTE]\n"),
        Just("\\"),
        Just("&amp;"),
        Just("text"),
        Just("word "),
        Just("é"),
        Just("\t"),
        Just("\u{0}"),
        Just("="),
    ];
    prop::collection::vec(token, 0..80).prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn markdownish_input_always_gives_a_valid_document(markdown in markdownish()) {
        let doc = converted(&markdown);
        prop_assert!(check_doc(&doc).is_ok(), "{:?}: {:?}\n{:#}", markdown, check_doc(&doc), doc);
    }

    #[test]
    fn any_text_always_gives_a_valid_document(markdown in "\\PC{0,300}") {
        let doc = converted(&markdown);
        prop_assert!(check_doc(&doc).is_ok(), "{:?}: {:?}", markdown, check_doc(&doc));
    }
}

// ---------------------------------------------------------------------------------------------
// A structural check of the schema rules the converter must keep (the JSON schema itself is
// applied in tests/adf_schema.rs): which node goes where, non-empty containers and text, the
// first child of a list item and a task list, marks, attributes, unique local ids.

const ROOT: &[&str] = &[
    "paragraph",
    "heading",
    "codeBlock",
    "bulletList",
    "orderedList",
    "taskList",
    "blockquote",
    "panel",
    "rule",
    "table",
];
const QUOTE: &[&str] = &["paragraph", "codeBlock", "bulletList", "orderedList"];
const LIST_ITEM: &[&str] = &["paragraph", "codeBlock", "bulletList", "orderedList", "taskList"];
const PANEL: &[&str] = &["paragraph", "heading", "codeBlock", "bulletList", "orderedList", "taskList", "rule"];

fn check_doc(doc: &Value) -> Result<(), String> {
    let keys: HashSet<&str> = doc.as_object().ok_or("doc is not an object")?.keys().map(String::as_str).collect();
    if keys != HashSet::from(["type", "version", "content"]) || doc["type"] != "doc" || doc["version"] != 1 {
        return Err(format!("bad doc header {keys:?}"));
    }
    let mut ids = HashSet::new();
    check_children(doc, ROOT, true, &mut ids)
}

fn check_children(node: &Value, allowed: &[&str], non_empty: bool, ids: &mut HashSet<String>) -> Result<(), String> {
    let children = node["content"].as_array().ok_or_else(|| format!("{} without content", node["type"]))?;
    if non_empty && children.is_empty() {
        return Err(format!("empty {}", node["type"]));
    }
    for child in children {
        let kind = child["type"].as_str().unwrap_or("?");
        if !allowed.contains(&kind) {
            return Err(format!("{kind} inside {}", node["type"]));
        }
        check_block(child, ids)?;
    }
    Ok(())
}

fn check_block(node: &Value, ids: &mut HashSet<String>) -> Result<(), String> {
    let kind = node["type"].as_str().unwrap_or("?");
    let mut local_id = || -> Result<(), String> {
        let id = node["attrs"]["localId"].as_str().ok_or(format!("{kind} without localId"))?;
        if ids.insert(id.to_owned()) {
            Ok(())
        } else {
            Err(format!("duplicate localId {id}"))
        }
    };
    match kind {
        "paragraph" => {
            if node.get("marks").is_some() {
                return Err("paragraph with marks outside a table cell".into());
            }
            check_inlines(node)
        }
        "heading" => {
            let level = node["attrs"]["level"].as_u64().unwrap_or(0);
            if !(1..=6).contains(&level) {
                return Err(format!("heading level {level}"));
            }
            check_inlines(node)
        }
        "codeBlock" => {
            for text in node["content"].as_array().ok_or("codeBlock without content")? {
                if text["type"] != "text"
                    || text.get("marks").is_some()
                    || text["text"].as_str().unwrap_or("").is_empty()
                {
                    return Err(format!("bad code block text {text}"));
                }
            }
            Ok(())
        }
        "bulletList" | "orderedList" => {
            if kind == "orderedList" && node["attrs"]["order"].as_u64().is_none() {
                return Err("orderedList without order".into());
            }
            let items = node["content"].as_array().ok_or("list without content")?;
            if items.is_empty() {
                return Err("empty list".into());
            }
            for item in items {
                if item["type"] != "listItem" {
                    return Err(format!("{} in a list", item["type"]));
                }
                check_children(item, LIST_ITEM, true, ids)?;
                let first = &item["content"][0]["type"];
                if first != "paragraph" && first != "codeBlock" {
                    return Err(format!("list item starting with {first}"));
                }
            }
            Ok(())
        }
        "taskList" => {
            local_id()?;
            let entries = node["content"].as_array().ok_or("taskList without content")?;
            if entries.first().map(|e| &e["type"]) != Some(&json!("taskItem")) {
                return Err("task list not starting with a task item".into());
            }
            for entry in entries {
                match entry["type"].as_str() {
                    Some("taskList") => check_block(entry, ids)?,
                    Some("taskItem") => {
                        let id = entry["attrs"]["localId"].as_str().ok_or("taskItem without localId")?;
                        if !ids.insert(id.to_owned()) {
                            return Err(format!("duplicate localId {id}"));
                        }
                        if !matches!(entry["attrs"]["state"].as_str(), Some("TODO" | "DONE")) {
                            return Err("taskItem state".into());
                        }
                        check_inlines(entry)?;
                    }
                    _ => return Err(format!("{} in a task list", entry["type"])),
                }
            }
            Ok(())
        }
        "blockquote" => check_children(node, QUOTE, true, ids),
        "panel" => {
            if !matches!(
                node["attrs"]["panelType"].as_str(),
                Some("info" | "note" | "tip" | "warning" | "error" | "success")
            ) {
                return Err("panel type".into());
            }
            check_children(node, PANEL, true, ids)
        }
        "rule" => Ok(()),
        "table" => {
            let rows = node["content"].as_array().ok_or("table without rows")?;
            if rows.is_empty() {
                return Err("empty table".into());
            }
            for row in rows {
                let cells = row["content"].as_array().ok_or("row without cells")?;
                if row["type"] != "tableRow" || cells.is_empty() {
                    return Err("bad table row".into());
                }
                for cell in cells {
                    if cell["type"] != "tableHeader" && cell["type"] != "tableCell" {
                        return Err(format!("{} in a row", cell["type"]));
                    }
                    let paragraphs = cell["content"].as_array().ok_or("cell without content")?;
                    if paragraphs.len() != 1 || paragraphs[0]["type"] != "paragraph" {
                        return Err("a cell holds one paragraph".into());
                    }
                    if let Some(marks) = paragraphs[0].get("marks") {
                        let align = &marks[0]["attrs"]["align"];
                        if marks.as_array().map(Vec::len) != Some(1) || (align != "center" && align != "end") {
                            return Err(format!("bad cell alignment {marks}"));
                        }
                    }
                    check_inlines(&paragraphs[0])?;
                }
            }
            Ok(())
        }
        other => Err(format!("unexpected node {other}")),
    }
}

fn check_inlines(node: &Value) -> Result<(), String> {
    for inline in node["content"].as_array().ok_or_else(|| format!("{} without content", node["type"]))? {
        match inline["type"].as_str() {
            Some("hardBreak") => {}
            Some("text") => {
                if inline["text"].as_str().unwrap_or("").is_empty() {
                    return Err("empty text".into());
                }
                let Some(marks) = inline.get("marks") else { continue };
                let marks = marks.as_array().ok_or("marks not an array")?;
                let kinds: Vec<&str> = marks.iter().filter_map(|m| m["type"].as_str()).collect();
                if marks.is_empty() || kinds.len() != marks.len() {
                    return Err(format!("bad marks {marks:?}"));
                }
                if kinds.contains(&"code") && kinds.len() > 1 {
                    return Err(format!("code with other marks {kinds:?}"));
                }
                if kinds.iter().collect::<HashSet<_>>().len() != kinds.len() {
                    return Err(format!("repeated mark {kinds:?}"));
                }
                for mark in marks {
                    match mark["type"].as_str() {
                        Some("em" | "strong" | "strike" | "code") if mark.as_object().map(|m| m.len()) == Some(1) => {}
                        Some("link") => {
                            let href = mark["attrs"]["href"].as_str().ok_or("link without href")?;
                            let lower = href.to_ascii_lowercase();
                            if href.is_empty() || lower.starts_with("javascript:") || lower.starts_with("data:") {
                                return Err(format!("unsafe link {href}"));
                            }
                        }
                        _ => return Err(format!("bad mark {mark}")),
                    }
                }
            }
            _ => return Err(format!("{} in inline content", inline["type"])),
        }
    }
    Ok(())
}
