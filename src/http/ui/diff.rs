//! Side-by-side line diffs of two JSON values (the `similar` crate).
//!
//! Owns: pretty-printing both values the same way and turning the line
//! diff into a two-column table. Invariants: equal values give one table
//! with no changed line; a replaced run of lines pairs old and new lines
//! row by row (the shorter side padded); every line is escaped by maud.

use maud::{html, Markup};
use serde_json::Value;
use similar::{DiffTag, TextDiff};

/// The text a diff compares: 2-space pretty JSON, one trailing newline.
pub(super) fn pretty(value: &Value) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

/// One side of a row: line number and text, or nothing (padding).
type Side<'a> = Option<(usize, &'a str)>;

/// The rows of a side-by-side diff and how many lines changed.
fn rows<'a>(old: &'a str, new: &'a str) -> (Vec<(Side<'a>, Side<'a>, DiffTag)>, usize) {
    let diff = TextDiff::from_lines(old, new);
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let mut rows = Vec::new();
    let mut changed = 0;
    for op in diff.ops() {
        let (tag, o, n) = op.as_tag_tuple();
        let side = |lines: &[&'a str], i: usize| lines.get(i).map(|l| (i + 1, *l));
        let len = o.len().max(n.len());
        if tag != DiffTag::Equal {
            changed += len;
        }
        for k in 0..len {
            let left = (k < o.len()).then(|| side(&a, o.start + k)).flatten();
            let right = (k < n.len()).then(|| side(&b, n.start + k)).flatten();
            rows.push((left, right, tag));
        }
    }
    (rows, changed)
}

/// A table comparing `old` (left, titled `old_title`) with `new`.
pub(super) fn side_by_side(old: &Value, new: &Value, old_title: &str, new_title: &str) -> Markup {
    let (old, new) = (pretty(old), pretty(new));
    let (rows, changed) = rows(&old, &new);
    let cell = |side: Side<'_>, class: &str| {
        html! {
            @match side {
                Some((n, text)) => { td.ln { (n) } td class=(class) { (text) } }
                None => { td.ln {} td.gap {} }
            }
        }
    };
    html! {
        p.muted #diff-summary {
            @if changed == 0 { "The two versions hold the same value." }
            @else { (changed) " line(s) differ." }
        }
        table.diff #diff {
            colgroup { col.ln; col; col.ln; col; }
            thead { tr { th colspan="2" { (old_title) } th colspan="2" { (new_title) } } }
            tbody {
                @for (left, right, tag) in &rows {
                    @let (lc, rc) = match tag {
                        DiffTag::Equal => ("", ""),
                        DiffTag::Delete => ("del", ""),
                        DiffTag::Insert => ("", "ins"),
                        DiffTag::Replace => ("del", "ins"),
                    };
                    tr { (cell(*left, lc)) (cell(*right, rc)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_changed_field_is_one_replaced_row_and_html_is_escaped() {
        let old = json!({"coins": 1, "name": "<b>a</b>"});
        let new = json!({"coins": 2, "name": "<b>a</b>"});
        let (a, b) = (pretty(&old), pretty(&new));
        let (rows, changed) = rows(&a, &b);
        assert_eq!(changed, 1);
        let replaced: Vec<_> = rows.iter().filter(|r| r.2 == DiffTag::Replace).collect();
        assert_eq!(replaced.len(), 1);
        assert_eq!(replaced[0].0.map(|s| s.1), Some("  \"coins\": 1,"));
        let html = side_by_side(&old, &new, "a", "b").into_string();
        assert!(
            html.contains("&lt;b&gt;") && !html.contains("<b>"),
            "{html}"
        );
    }

    #[test]
    fn equal_values_have_no_change_and_an_added_line_pads_the_left() {
        let v = json!([1, 2]);
        assert_eq!(rows(&pretty(&v), &pretty(&v)).1, 0);
        let (a, b) = (pretty(&json!([1])), pretty(&json!([1, 2])));
        let (rows, changed) = rows(&a, &b);
        assert!(changed >= 1);
        assert!(rows.iter().any(|r| r.0.is_none() && r.1.is_some()));
    }
}
