//! Markdown to Atlassian Document Format (built by the ADF helper).
