//! Charts as SVG (and heat tables as HTML) rendered on the server: readable without
//! JavaScript, each with a title and a description for screen readers.

use crate::i18n::Tr;
use crate::shell::esc;
use std::fmt::Write;

/// A horizontal bar chart: one row per (label, value, text shown after the bar).
pub(crate) fn bar_chart(id: &str, heading: &str, title: &str, rows: &[(String, f64, String)]) -> String {
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max).max(1e-9);
    let row = 26.0;
    let height = row * rows.len() as f64 + 10.0;
    let mut svg = format!(
        "<h2>{}</h2><svg role=\"img\" aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 640 {height}\" width=\"100%\" class=\"chart\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        esc(heading),
        esc(title),
        esc(&rows.iter().map(|r| format!("{}: {}", r.0, r.2)).collect::<Vec<_>>().join(", "))
    );
    for (i, (label, value, text)) in rows.iter().enumerate() {
        let y = i as f64 * row + 5.0;
        let w = 300.0 * value.max(0.0) / max;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{:.0}\" font-size=\"13\">{}</text><rect x=\"160\" y=\"{y:.0}\" width=\"{w:.1}\" height=\"18\" fill=\"#5b2a3c\"></rect>\
             <text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\">{}</text>",
            y + 14.0,
            esc(label),
            165.0 + w,
            y + 14.0,
            esc(text)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line chart of a series of (label, value) with values formatted by `show`.
pub(crate) fn line_chart(
    id: &str,
    heading: &str,
    title: &str,
    points: &[(String, f64)],
    show: impl Fn(f64) -> String,
) -> String {
    let max = points.iter().map(|p| p.1).fold(0.0_f64, f64::max).max(1e-9);
    let n = points.len().max(2) as f64 - 1.0;
    let xy: Vec<(f64, f64)> =
        points.iter().enumerate().map(|(i, p)| (50.0 + 560.0 * i as f64 / n, 190.0 - 170.0 * p.1 / max)).collect();
    let mut svg = format!(
        "<h2>{}</h2><svg role=\"img\" aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 640 230\" width=\"100%\" class=\"chart\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>\
         <line x1=\"50\" y1=\"190\" x2=\"610\" y2=\"190\" stroke=\"#222\"></line>\
         <text x=\"44\" y=\"24\" font-size=\"11\" text-anchor=\"end\">{}</text><text x=\"44\" y=\"190\" font-size=\"11\" text-anchor=\"end\">0</text>\
         <polyline points=\"{}\" fill=\"none\" stroke=\"#5b2a3c\" stroke-width=\"2\"></polyline>",
        esc(heading),
        esc(title),
        esc(&points.iter().map(|p| format!("{}: {}", p.0, show(p.1))).collect::<Vec<_>>().join(", ")),
        esc(&show(max)),
        xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ")
    );
    let every = points.len().div_ceil(6).max(1);
    for (i, ((x, y), p)) in xy.iter().zip(points).enumerate() {
        let _ = write!(svg, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"#5b2a3c\"></circle>");
        // Every `every`-th label and the last, leaving out one that would crowd the last.
        let last = i + 1 == points.len();
        let crowds_last = !last && (points.len() - 1 - i) * 2 < every;
        if (i % every == 0 && !crowds_last) || last {
            let _ = write!(
                svg,
                "<text x=\"{x:.1}\" y=\"210\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                esc(&p.0)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The Lorenz curve of revenue: share of revenue by share of customers, largest first.
pub(crate) fn lorenz_chart(tr: Tr, curve: &[(f64, f64)]) -> String {
    let points: Vec<String> =
        curve.iter().map(|(x, y)| format!("{:.1},{:.1}", 40.0 + 300.0 * x, 310.0 - 300.0 * y)).collect();
    let described = curve
        .iter()
        .filter(|(x, _)| (x * 20.0).round() as i64 % 4 == 0)
        .map(|(x, y)| tr.f("top {}%: {}%", &[&format!("{:.0}", 100.0 * x), &format!("{:.0}", 100.0 * y)]))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "<h2>{}</h2><svg role=\"img\" aria-labelledby=\"lor-t lor-d\" viewBox=\"0 0 360 340\" width=\"100%\" class=\"chart narrow\">\
         <title id=\"lor-t\">{}</title><desc id=\"lor-d\">{}</desc>\
         <line x1=\"40\" y1=\"310\" x2=\"340\" y2=\"10\" stroke=\"#bbb\" stroke-dasharray=\"4\"></line>\
         <polyline points=\"{}\" fill=\"none\" stroke=\"#5b2a3c\" stroke-width=\"2\"></polyline>\
         <line x1=\"40\" y1=\"310\" x2=\"340\" y2=\"310\" stroke=\"#222\"></line><line x1=\"40\" y1=\"10\" x2=\"40\" y2=\"310\" stroke=\"#222\"></line>\
         <text x=\"190\" y=\"332\" font-size=\"12\" text-anchor=\"middle\">{}</text>\
         <text x=\"12\" y=\"160\" font-size=\"12\" transform=\"rotate(-90 12 160)\" text-anchor=\"middle\">{}</text></svg>",
        tr.t("Revenue concentration"),
        tr.t("Share of revenue by share of customers, largest first"),
        esc(&described),
        points.join(" "),
        tr.t("customers, largest first"),
        tr.t("share of revenue"),
    )
}

/// A table whose cells are shaded by value: `cells[row][column]`, shown as `show(value)`.
pub(crate) fn heat_table(
    id: &str,
    caption: &str,
    corner: &str,
    columns: &[String],
    rows: &[(String, Vec<Option<f64>>)],
    show: impl Fn(f64) -> String,
) -> String {
    let max = rows.iter().flat_map(|r| r.1.iter().flatten()).fold(0.0_f64, |a, &b| a.max(b)).max(1e-9);
    let mut html = format!(
        "<div class=\"scroll\"><table class=\"heat\" id=\"{id}\"><caption>{}</caption><thead><tr><th scope=\"col\">{}</th>",
        esc(caption),
        esc(corner)
    );
    for c in columns {
        let _ = write!(html, "<th scope=\"col\">{}</th>", esc(c));
    }
    html.push_str("</tr></thead><tbody>");
    for (label, cells) in rows {
        let _ = write!(html, "<tr><th scope=\"row\">{}</th>", esc(label));
        for cell in cells {
            match cell {
                Some(v) => {
                    // Nine shades (classes h0-h8 of the stylesheet): no inline style, which
                    // the Content-Security-Policy forbids.
                    let shade = ((v / max).clamp(0.0, 1.0) * 8.0).round() as u8;
                    let _ = write!(html, "<td class=\"h{shade}\">{}</td>", esc(&show(*v)));
                }
                None => html.push_str("<td></td>"),
            }
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div>");
    html
}
