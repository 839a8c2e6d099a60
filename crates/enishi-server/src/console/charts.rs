//! Charts as SVG (and heat tables as HTML) rendered on the server: readable without
//! JavaScript, each with a title and a description for screen readers.
//!
//! Every chart takes the whole width of the page: positions across are percentages of the
//! chart's width and text keeps its size in pixels, so that a chart is as readable at phone
//! width as on a desktop (a `viewBox` would shrink the text with the chart). Lines are drawn
//! in an inner SVG stretched to the plot (`preserveAspectRatio="none"`) with strokes that do
//! not stretch.

use crate::console::i18n::Tr;
use maud::{html, Markup};

/// The chart colour, the console's.
const INK: &str = "#5b2a3c";

/// `x` as a percentage for an SVG attribute.
fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

/// Where a chart's bars reach their full length.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scale {
    /// The value drawn at full length.
    top: f64,
}

impl Scale {
    /// Full length at the largest value.
    fn linear(values: &[f64]) -> Scale {
        Scale { top: values.iter().copied().fold(0.0_f64, f64::max).max(1e-9) }
    }

    /// Full length at the largest *ordinary* value, so that one huge value does not flatten
    /// the others: values above the far-out fence of the positive values (`Q3 + 3 × IQR`, with
    /// at least four of them) and more than twice the largest value under it are drawn
    /// clipped, the others to scale, the largest of them at nine tenths of the length.
    fn robust(values: &[f64]) -> Scale {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| *x > 0.0 && x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let linear = Scale::linear(values);
        if v.len() < 4 {
            return linear;
        }
        let q = |p: f64| {
            let at = p * (v.len() - 1) as f64;
            let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
            v[lo] + (v[hi] - v[lo]) * (at - lo as f64)
        };
        let fence = q(0.75) + 3.0 * (q(0.75) - q(0.25));
        let ordinary = v.iter().copied().filter(|x| *x <= fence).fold(0.0_f64, f64::max);
        if ordinary > 0.0 && linear.top > 2.0 * ordinary {
            Scale { top: ordinary / 0.9 }
        } else {
            linear
        }
    }

    /// The share of the full length `value` is drawn at (0–1), and whether it was clipped.
    fn length(&self, value: f64) -> (f64, bool) {
        let x = value.max(0.0) / self.top;
        (x.min(1.0), x > 1.0)
    }
}

/// A horizontal bar chart: one row per (label, value, text shown after the bar), each label
/// above its bar.
pub(crate) fn bar_chart(id: &str, heading: &str, title: &str, rows: &[(String, f64, String)]) -> Markup {
    let values: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let scale = Scale::linear(&values);
    let row = 36.0;
    let height = row * rows.len() as f64 + 6.0;
    let described = rows.iter().map(|r| format!("{}: {}", r.0, r.2)).collect::<Vec<_>>().join(", ");
    html! {
        h2 { (heading) }
        svg role="img" aria-labelledby={ (id) "-t " (id) "-d" } width="100%" height=(height) class="chart" id={ (id) "-svg" } {
            title id={ (id) "-t" } { (title) }
            desc id={ (id) "-d" } { (described) }
            @for (i, (label, value, text)) in rows.iter().enumerate() {
                @let y = i as f64 * row;
                // The longest bar leaves a quarter of the width for the text after it.
                @let w = 0.75 * scale.length(*value).0;
                text x="0" y=(format!("{:.0}", y + 13.0)) font-size="13" { (label) }
                rect x="0" y=(format!("{:.0}", y + 17.0)) width=(pct(w)) height="14" fill=(INK) {}
                text x=(pct(w)) dx="6" y=(format!("{:.0}", y + 29.0)) font-size="12" { (text) }
            }
        }
    }
}

/// A column chart of a series (label, value, text of the value), scaled so that one huge
/// value is drawn clipped, marked and labelled with its value while the others stay readable
/// (see [`Scale::robust`]). `note` says where the scale tops out, e.g. "scale up to {}".
pub(crate) fn column_chart(
    id: &str,
    heading: &str,
    title: &str,
    rows: &[(String, f64, String)],
    note: impl Fn(f64) -> String,
) -> Markup {
    let values: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let scale = Scale::robust(&values);
    let (top, bottom) = (40.0, 190.0);
    let n = rows.len().max(1) as f64;
    let slot = 1.0 / n;
    let every = rows.len().div_ceil(6).max(1);
    let described = rows.iter().map(|r| format!("{}: {}", r.0, r.2)).collect::<Vec<_>>().join(", ");
    html! {
        h2 { (heading) }
        svg role="img" aria-labelledby={ (id) "-t " (id) "-d" } width="100%" height="222" class="chart" id={ (id) "-svg" } {
            title id={ (id) "-t" } { (title) }
            desc id={ (id) "-d" } { (described) }
            text x="0" y="14" font-size="11" fill="#666" { (note(scale.top)) }
            line x1="0" y1=(top) x2="100%" y2=(top) stroke="#ddd" stroke-dasharray="4" {}
            line x1="0" y1=(bottom) x2="100%" y2=(bottom) stroke="#222" {}
            @for (i, (label, value, text)) in rows.iter().enumerate() {
                @let (length, clipped) = scale.length(*value);
                @let h = (bottom - top) * length;
                @let x = slot * (i as f64 + 0.15);
                @let centre = slot * (i as f64 + 0.5);
                g class=[clipped.then_some("clipped")] {
                    title { (label) ": " (text) }
                    rect x=(pct(x)) y=(format!("{:.1}", bottom - h)) width=(pct(slot * 0.7)) height=(format!("{h:.1}")) fill=(INK) {}
                    @if clipped {
                        // A break across the top of the column: it goes on beyond the scale.
                        rect x=(pct(x)) y=(top + 10.0) width=(pct(slot * 0.7)) height="4" fill="#fff" {}
                        text x=(pct(centre)) y="32" font-size="11" font-weight="bold" text-anchor=(anchor(i, rows.len())) { "▲ " (text) }
                    }
                }
                @if labelled(i, rows.len(), every) {
                    text x=(pct(centre)) y="208" font-size="11" text-anchor=(anchor(i, rows.len())) { (label) }
                }
            }
        }
    }
}

/// Whether the label at position `i` of `n` is shown: every `every`-th and the last, leaving
/// out one that would crowd the last.
fn labelled(i: usize, n: usize, every: usize) -> bool {
    let last = i + 1 == n;
    let crowds_last = !last && (n - 1 - i) * 2 < every;
    (i.is_multiple_of(every) && !crowds_last) || last
}

/// How a label at position `i` of `n` is anchored: the first at its start and the last at
/// its end, so that neither runs off the chart.
fn anchor(i: usize, n: usize) -> &'static str {
    if n > 2 && i == 0 {
        "start"
    } else if n > 2 && i + 1 == n {
        "end"
    } else {
        "middle"
    }
}

/// A line chart of a series of (label, value) with values formatted by `show`.
pub(crate) fn line_chart(
    id: &str,
    heading: &str,
    title: &str,
    points: &[(String, f64)],
    show: impl Fn(f64) -> String,
) -> Markup {
    let max = points.iter().map(|p| p.1).fold(0.0_f64, f64::max).max(1e-9);
    let n = points.len().max(2) as f64 - 1.0;
    // Across from 2% to 98% of the width; in the plot's own units, 1000 wide and 170 high.
    let xs: Vec<f64> = (0..points.len()).map(|i| 0.02 + 0.96 * i as f64 / n).collect();
    let xy: Vec<(f64, f64)> = xs.iter().zip(points).map(|(x, p)| (1000.0 * x, 165.0 - 160.0 * p.1 / max)).collect();
    let described = points.iter().map(|p| format!("{}: {}", p.0, show(p.1))).collect::<Vec<_>>().join(", ");
    let polyline = xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    let every = points.len().div_ceil(6).max(1);
    html! {
        h2 { (heading) }
        svg role="img" aria-labelledby={ (id) "-t " (id) "-d" } width="100%" height="222" class="chart" id={ (id) "-svg" } {
            title id={ (id) "-t" } { (title) }
            desc id={ (id) "-d" } { (described) }
            text x="0" y="14" font-size="11" fill="#666" { (show(max)) }
            svg x="0" y="20" width="100%" height="170" viewBox="0 0 1000 170" preserveAspectRatio="none" {
                line x1="0" y1="5" x2="1000" y2="5" stroke="#ddd" stroke-dasharray="4" vector-effect="non-scaling-stroke" {}
                line x1="0" y1="165" x2="1000" y2="165" stroke="#222" vector-effect="non-scaling-stroke" {}
                polyline points=(polyline) fill="none" stroke=(INK) stroke-width="2" vector-effect="non-scaling-stroke" {}
                @for (x, y) in &xy {
                    // A dot that stays round however the plot is stretched.
                    line x1=(format!("{x:.1}")) y1=(format!("{y:.1}")) x2=(format!("{x:.1}")) y2=(format!("{y:.1}"))
                        stroke=(INK) stroke-width="7" stroke-linecap="round" vector-effect="non-scaling-stroke" {}
                }
            }
            @for (i, (x, p)) in xs.iter().zip(points).enumerate() {
                @if labelled(i, points.len(), every) {
                    text x=(pct(*x)) y="210" font-size="11" text-anchor=(anchor(i, points.len())) { (p.0) }
                }
            }
        }
    }
}

/// The Lorenz curve of revenue: share of revenue by share of customers, largest first, with
/// the top 20% marked.
pub(crate) fn lorenz_chart(tr: Tr, curve: &[(f64, f64)]) -> Markup {
    // The plot's own units: 1000 × 1000, stretched to the chart.
    let points: Vec<String> =
        curve.iter().map(|(x, y)| format!("{:.1},{:.1}", 1000.0 * x, 1000.0 - 1000.0 * y)).collect();
    let described = curve
        .iter()
        .filter(|(x, _)| (x * 20.0).round() as i64 % 4 == 0)
        .map(|(x, y)| tr.f("top {}%: {}%", &[&format!("{:.0}", 100.0 * x), &format!("{:.0}", 100.0 * y)]))
        .collect::<Vec<_>>()
        .join(", ");
    let top20 = curve.iter().find(|(x, _)| (x - 0.2).abs() < 1e-9).map(|p| p.1);
    html! {
        h2 { (tr.t("Revenue concentration")) }
        svg role="img" aria-labelledby="lor-t lor-d" width="100%" height="290" class="chart" id="lorenz" {
            title id="lor-t" { (tr.t("Share of revenue by share of customers, largest first")) }
            desc id="lor-d" { (described) }
            text x="0" y="14" font-size="12" fill="#666" { (tr.t("share of revenue")) " 100%" }
            svg x="0" y="22" width="100%" height="240" viewBox="0 0 1000 1000" preserveAspectRatio="none" {
                line x1="0" y1="1000" x2="1000" y2="0" stroke="#bbb" stroke-dasharray="4" vector-effect="non-scaling-stroke" {}
                line x1="200" y1="0" x2="200" y2="1000" stroke="#ddd" vector-effect="non-scaling-stroke" {}
                polyline points=(points.join(" ")) fill="none" stroke=(INK) stroke-width="2" vector-effect="non-scaling-stroke" {}
                line x1="0" y1="1000" x2="1000" y2="1000" stroke="#222" vector-effect="non-scaling-stroke" {}
                line x1="0" y1="0" x2="0" y2="1000" stroke="#222" vector-effect="non-scaling-stroke" {}
            }
            @if let Some(share) = top20 {
                text x="20%" dx="6" y=(format!("{:.0}", 22.0 + 240.0 * (1.0 - share) + 16.0)) font-size="12" {
                    (tr.f("top 20%: {}% of revenue", &[&format!("{:.0}", 100.0 * share)]))
                }
            }
            text x="50%" y="282" font-size="12" text-anchor="middle" { (tr.t("customers, largest first")) }
        }
    }
}

/// A table whose cells are shaded by value: `cells[row][column]`, shown as `show(value)`.
pub(crate) fn heat_table(
    id: &str,
    caption: &str,
    corner: &str,
    columns: &[String],
    rows: &[(String, Vec<Option<f64>>)],
    show: impl Fn(f64) -> String,
) -> Markup {
    let max = rows.iter().flat_map(|r| r.1.iter().flatten()).fold(0.0_f64, |a, &b| a.max(b)).max(1e-9);
    html! {
        div class="scroll" {
            table class="heat" id=(id) {
                caption { (caption) }
                thead { tr { th scope="col" { (corner) } @for c in columns { th scope="col" { (c) } } } }
                tbody {
                    @for (label, cells) in rows {
                        tr {
                            th scope="row" { (label) }
                            @for cell in cells {
                                @match cell {
                                    // Nine shades (classes h0-h8 of the stylesheet): no inline style,
                                    // which the Content-Security-Policy forbids.
                                    Some(v) => td class={ "h" (((v / max).clamp(0.0, 1.0) * 8.0).round() as u8) } { (show(*v)) },
                                    None => td {},
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_huge_value_is_clipped_and_the_others_stay_to_scale() {
        let months = [300.0, 320.0, 280.0, 310.0, 5_000.0, 290.0, 330.0, 0.0];
        let s = Scale::robust(&months);
        assert!((s.top - 330.0 / 0.9).abs() < 1e-9, "{s:?}");
        assert_eq!(s.length(5_000.0), (1.0, true));
        let (l, clipped) = s.length(330.0);
        assert!(!clipped && (l - 0.9).abs() < 1e-9);
        // Ordinary spread, or too few values to tell: to scale, nothing clipped.
        assert_eq!(Scale::robust(&[100.0, 200.0, 400.0, 800.0]), Scale::linear(&[800.0]));
        assert_eq!(Scale::robust(&[1.0, 1.0, 50.0]), Scale::linear(&[50.0]));
    }

    #[test]
    fn a_clipped_column_shows_its_value() {
        let rows: Vec<(String, f64, String)> =
            (0..8).map(|i| (format!("m{i}"), if i == 3 { 9_000.0 } else { 100.0 }, format!("v{i}"))).collect();
        let svg = column_chart("c", "h", "t", &rows, |top| format!("up to {top:.0}")).into_string();
        assert_eq!(svg.matches("class=\"clipped\"").count(), 1, "{svg}");
        assert!(svg.contains("▲ v3") && svg.contains("up to 111"), "{svg}");
        assert!(svg.contains("width=\"100%\"") && !svg.contains("viewBox=\"0 0 640"), "{svg}");
    }
}
