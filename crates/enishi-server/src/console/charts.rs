//! Charts as SVG (and heat tables as HTML) rendered on the server: readable without
//! JavaScript, each with a title and a description for screen readers.

use crate::console::i18n::Tr;
use maud::{html, Markup};

/// A horizontal bar chart: one row per (label, value, text shown after the bar).
pub(crate) fn bar_chart(id: &str, heading: &str, title: &str, rows: &[(String, f64, String)]) -> Markup {
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max).max(1e-9);
    let row = 26.0;
    let height = row * rows.len() as f64 + 10.0;
    let described = rows.iter().map(|r| format!("{}: {}", r.0, r.2)).collect::<Vec<_>>().join(", ");
    html! {
        h2 { (heading) }
        svg role="img" aria-labelledby={ (id) "-t " (id) "-d" } viewBox={ "0 0 640 " (height) } width="100%" class="chart" {
            title id={ (id) "-t" } { (title) }
            desc id={ (id) "-d" } { (described) }
            @for (i, (label, value, text)) in rows.iter().enumerate() {
                @let y = i as f64 * row + 5.0;
                @let w = 300.0 * value.max(0.0) / max;
                text x="0" y=(format!("{:.0}", y + 14.0)) font-size="13" { (label) }
                rect x="160" y=(format!("{y:.0}")) width=(format!("{w:.1}")) height="18" fill="#5b2a3c" {}
                text x=(format!("{:.0}", 165.0 + w)) y=(format!("{:.0}", y + 14.0)) font-size="12" { (text) }
            }
        }
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
    let xy: Vec<(f64, f64)> =
        points.iter().enumerate().map(|(i, p)| (50.0 + 560.0 * i as f64 / n, 190.0 - 170.0 * p.1 / max)).collect();
    let described = points.iter().map(|p| format!("{}: {}", p.0, show(p.1))).collect::<Vec<_>>().join(", ");
    let polyline = xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    let every = points.len().div_ceil(6).max(1);
    html! {
        h2 { (heading) }
        svg role="img" aria-labelledby={ (id) "-t " (id) "-d" } viewBox="0 0 640 230" width="100%" class="chart" {
            title id={ (id) "-t" } { (title) }
            desc id={ (id) "-d" } { (described) }
            line x1="50" y1="190" x2="610" y2="190" stroke="#222" {}
            text x="44" y="24" font-size="11" text-anchor="end" { (show(max)) }
            text x="44" y="190" font-size="11" text-anchor="end" { "0" }
            polyline points=(polyline) fill="none" stroke="#5b2a3c" stroke-width="2" {}
            @for (i, ((x, y), p)) in xy.iter().zip(points).enumerate() {
                circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="3" fill="#5b2a3c" {}
                // Every `every`-th label and the last, leaving out one that would crowd the last.
                @let last = i + 1 == points.len();
                @let crowds_last = !last && (points.len() - 1 - i) * 2 < every;
                @if (i % every == 0 && !crowds_last) || last {
                    text x=(format!("{x:.1}")) y="210" font-size="11" text-anchor="middle" { (p.0) }
                }
            }
        }
    }
}

/// The Lorenz curve of revenue: share of revenue by share of customers, largest first.
pub(crate) fn lorenz_chart(tr: Tr, curve: &[(f64, f64)]) -> Markup {
    let points: Vec<String> =
        curve.iter().map(|(x, y)| format!("{:.1},{:.1}", 40.0 + 300.0 * x, 310.0 - 300.0 * y)).collect();
    let described = curve
        .iter()
        .filter(|(x, _)| (x * 20.0).round() as i64 % 4 == 0)
        .map(|(x, y)| tr.f("top {}%: {}%", &[&format!("{:.0}", 100.0 * x), &format!("{:.0}", 100.0 * y)]))
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        h2 { (tr.t("Revenue concentration")) }
        svg role="img" aria-labelledby="lor-t lor-d" viewBox="0 0 360 340" width="100%" class="chart narrow" {
            title id="lor-t" { (tr.t("Share of revenue by share of customers, largest first")) }
            desc id="lor-d" { (described) }
            line x1="40" y1="310" x2="340" y2="10" stroke="#bbb" stroke-dasharray="4" {}
            polyline points=(points.join(" ")) fill="none" stroke="#5b2a3c" stroke-width="2" {}
            line x1="40" y1="310" x2="340" y2="310" stroke="#222" {}
            line x1="40" y1="10" x2="40" y2="310" stroke="#222" {}
            text x="190" y="332" font-size="12" text-anchor="middle" { (tr.t("customers, largest first")) }
            text x="12" y="160" font-size="12" transform="rotate(-90 12 160)" text-anchor="middle" { (tr.t("share of revenue")) }
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
