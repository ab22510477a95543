//! Markdown to Atlassian Document Format (built by the ADF helper).
pub fn markdown_to_adf_json(markdown: &str) -> serde_json::Value {
    serde_json::json!({"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":markdown}]}]})
}
pub fn markdown_to_adf(markdown: &str) -> serde_json::Value {
    markdown_to_adf_json(markdown)
}
