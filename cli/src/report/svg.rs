//! The page's charts as small pure functions: data in, one inline `<svg>` element out. Every
//! label passes through [`escape`]; numbers are formatted here, never taken as text.

use super::html::escape;
use std::fmt::Write;

/// Colours for series that have no colour of their own, in order.
pub const PALETTE: &[&str] = &["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#65a30d", "#db2777"];

/// A ring showing `percent` (clamped to 0–100) with the figure in its middle; `None` draws an
/// empty grey ring with "n/a".
pub fn donut(percent: Option<f64>, caption: &str) -> String {
    const R: f64 = 42.0;
    let circumference = 2.0 * std::f64::consts::PI * R;
    let mut svg = format!(
        "<svg class=\"chart donut\" viewBox=\"0 0 120 120\" width=\"140\" height=\"140\" role=\"img\" aria-label=\"{}\">",
        escape(caption)
    );
    svg.push_str("<circle cx=\"60\" cy=\"60\" r=\"42\" fill=\"none\" stroke=\"#e5e7eb\" stroke-width=\"14\"/>");
    let text = match percent {
        Some(p) => {
            let p = if p.is_finite() { p.clamp(0.0, 100.0) } else { 0.0 };
            let filled = circumference * p / 100.0;
            let colour = if p >= 95.0 {
                "#059669"
            } else if p >= 80.0 {
                "#d97706"
            } else {
                "#dc2626"
            };
            let _ = write!(
                svg,
                "<circle cx=\"60\" cy=\"60\" r=\"42\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"14\" \
                 stroke-dasharray=\"{filled:.2} {circumference:.2}\" transform=\"rotate(-90 60 60)\"/>"
            );
            format!("{p:.1}%")
        }
        None => "n/a".to_owned(),
    };
    let _ = write!(
        svg,
        "<text x=\"60\" y=\"66\" text-anchor=\"middle\" font-size=\"18\" font-weight=\"600\">{}</text></svg>",
        escape(&text)
    );
    svg
}

/// Horizontal bars, one per `(label, value)`, scaled to the largest value, each with its figure.
pub fn bars(items: &[(String, u64)], caption: &str) -> String {
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let row = 26.0;
    let height = (items.len().max(1) as f64) * row + 8.0;
    let mut svg = format!(
        "<svg class=\"chart bars\" viewBox=\"0 0 420 {height}\" width=\"420\" height=\"{height}\" role=\"img\" aria-label=\"{}\">",
        escape(caption)
    );
    if items.is_empty() {
        svg.push_str("<text x=\"4\" y=\"20\" fill=\"#6b7280\">nothing to show</text>");
    }
    for (i, (label, value)) in items.iter().enumerate() {
        let y = 4.0 + i as f64 * row;
        let width = 240.0 * (*value as f64) / (max as f64);
        let colour = PALETTE[i % PALETTE.len()];
        let _ = write!(
            svg,
            "<text x=\"126\" y=\"{ty}\" text-anchor=\"end\" font-size=\"12\">{}</text>\
             <rect x=\"132\" y=\"{y}\" width=\"{width:.1}\" height=\"18\" rx=\"3\" fill=\"{colour}\"/>\
             <text x=\"{tx:.1}\" y=\"{ty}\" font-size=\"12\">{value}</text>",
            escape(&truncate(label, 20)),
            ty = y + 13.0,
            tx = 136.0 + width,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One horizontal bar per category (e.g. severity), split into segments per series (e.g. route),
/// with a legend of the series below; `counts[c][s]` is category `c`'s count of series `s`.
pub fn stacked_bars(categories: &[String], series: &[String], counts: &[Vec<u64>], caption: &str) -> String {
    let total = |c: usize| counts.get(c).map(|r| r.iter().sum::<u64>()).unwrap_or(0);
    let max = (0..categories.len()).map(total).max().unwrap_or(0).max(1);
    let row = 26.0;
    let legend_rows = series.len().div_ceil(3).max(1) as f64;
    let height = categories.len().max(1) as f64 * row + 12.0 + legend_rows * 18.0;
    let mut svg = format!(
        "<svg class=\"chart stacked\" viewBox=\"0 0 480 {height}\" width=\"480\" height=\"{height}\" role=\"img\" aria-label=\"{}\">",
        escape(caption)
    );
    if categories.is_empty() {
        svg.push_str("<text x=\"4\" y=\"20\" fill=\"#6b7280\">nothing to show</text>");
    }
    for (c, category) in categories.iter().enumerate() {
        let y = 4.0 + c as f64 * row;
        let _ = write!(
            svg,
            "<text x=\"106\" y=\"{}\" text-anchor=\"end\" font-size=\"12\">{}</text>",
            y + 13.0,
            escape(&truncate(category, 16))
        );
        let mut x = 112.0;
        for (s, name) in series.iter().enumerate() {
            let value = counts.get(c).and_then(|r| r.get(s)).copied().unwrap_or(0);
            if value == 0 {
                continue;
            }
            let width = 300.0 * value as f64 / max as f64;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{width:.1}\" height=\"18\" fill=\"{}\"><title>{}: {value}</title></rect>",
                PALETTE[s % PALETTE.len()],
                escape(name)
            );
            x += width;
        }
        let _ = write!(svg, "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{}</text>", x + 4.0, y + 13.0, total(c));
    }
    let legend_top = categories.len().max(1) as f64 * row + 14.0;
    for (s, name) in series.iter().enumerate() {
        let x = 8.0 + (s % 3) as f64 * 156.0;
        let y = legend_top + (s / 3) as f64 * 18.0;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>",
            PALETTE[s % PALETTE.len()],
            x + 14.0,
            y + 9.0,
            escape(&truncate(name, 22))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// At most `max` characters, with an ellipsis when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn donut_draws_the_share_and_prints_the_figure() {
        let svg = donut(Some(95.0), "EDR coverage");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(">95.0%</text>"), "{svg}");
        // 95% of a 42-radius ring.
        assert!(svg.contains("stroke-dasharray=\"250.70 263.89\""), "{svg}");
        assert!(donut(Some(250.0), "x").contains(">100.0%<"), "clamped");
        assert!(donut(Some(f64::NAN), "x").contains(">0.0%<"));
        let empty = donut(None, "x");
        assert!(empty.contains(">n/a<") && !empty.contains("stroke-dasharray"), "{empty}");
    }

    #[test]
    fn bars_scale_to_the_largest_value_and_escape_labels() {
        let svg = bars(&[("a<b>".into(), 10), ("c".into(), 5)], "verdicts \"x\"");
        assert!(svg.contains("width=\"240.0\"") && svg.contains("width=\"120.0\""), "{svg}");
        assert!(svg.contains("a&lt;b&gt;") && !svg.contains("a<b>"), "{svg}");
        assert!(svg.contains("aria-label=\"verdicts &quot;x&quot;\""), "{svg}");
        assert!(bars(&[], "none").contains("nothing to show"));
        assert!(bars(&[("zero".into(), 0)], "zeros").contains("width=\"0.0\""), "no division by zero");
    }

    #[test]
    fn stacked_bars_split_each_category_by_series_with_a_legend() {
        let categories = vec!["CRITICAL".to_owned(), "HIGH".to_owned()];
        let series = vec!["incident".to_owned(), "<ticket>".to_owned()];
        let svg = stacked_bars(&categories, &series, &[vec![2, 2], vec![1, 0]], "findings");
        assert_eq!(svg.matches("<rect").count(), 3 + 2, "three non-empty segments and two legend keys: {svg}");
        assert!(svg.contains("width=\"150.0\""), "2 of a maximum of 4: {svg}");
        assert!(svg.contains(">4</text>") && svg.contains(">1</text>"), "totals: {svg}");
        assert!(svg.contains("&lt;ticket&gt;") && !svg.contains("<ticket>"), "{svg}");
        assert!(stacked_bars(&[], &[], &[], "none").contains("nothing to show"));
    }

    #[test]
    fn long_labels_are_cut_with_an_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
