//! A series' chart as SVG, drawn on the server (no script, no external library): a bar per
//! day's count, the EARS C2 threshold as a line (the baseline's mean plus its margin), and a
//! red mark on each day that alarms by the scan's own rule (two methods agree, at least
//! [`MIN_COUNT`](super::scan::MIN_COUNT) counted).

use std::fmt::Write;

use super::scan::{self, Daily};
use crate::error::AppResult;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 10.0;

/// The SVG for a series; `title` is its accessible name.
pub fn svg(d: &Daily, title: &str) -> AppResult<String> {
    let n = d.counts.len().max(1);
    let points = scan::points(&d.counts)?;
    let c2 = &points[1];
    let alarmed: Vec<bool> = (0..d.counts.len())
        .map(|t| d.counts[t] >= scan::MIN_COUNT && scan::alarm_on(&points, t).is_some())
        .collect();
    let top = d
        .counts
        .iter()
        .copied()
        .chain(c2.iter().filter_map(|p| p.upper))
        .fold(1.0_f64, f64::max)
        .ceil();
    let plot_w = WIDTH - LEFT - 4.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let step = plot_w / n as f64;
    let y = |v: f64| TOP + plot_h - (v / top) * plot_h;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart" aria-label="{}">"#,
        escape(title)
    );
    let _ = write!(s, "<title>{}</title>", escape(title));
    // Axes and the top value.
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b}" stroke="#888"/><line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}" stroke="#888"/>"##,
        b = TOP + plot_h,
        r = WIDTH - 4.0
    );
    let _ = write!(
        s,
        r##"<text x="{x}" y="{ty}" font-size="10" text-anchor="end" fill="#444">{top}</text><text x="{x}" y="{by}" font-size="10" text-anchor="end" fill="#444">0</text>"##,
        x = LEFT - 4.0,
        ty = TOP + 8.0,
        by = TOP + plot_h
    );
    for (t, &count) in d.counts.iter().enumerate() {
        let x = LEFT + t as f64 * step + step * 0.15;
        let h = (count / top) * plot_h;
        let fill = if alarmed[t] { "#c62828" } else { "#5c8fd6" };
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{fill}"><title>{}: {count}</title></rect>"#,
            y(count),
            step * 0.7,
            d.start + chrono::Duration::days(t as i64),
        );
    }
    let line: Vec<String> = c2
        .iter()
        .enumerate()
        .filter_map(|(t, p)| {
            p.upper
                .map(|u| format!("{:.1},{:.1}", LEFT + (t as f64 + 0.5) * step, y(u)))
        })
        .collect();
    if line.len() > 1 {
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#f2a900" stroke-width="2" stroke-dasharray="4 3"/>"##,
            line.join(" ")
        );
    }
    for (t, _) in alarmed.iter().enumerate().filter(|(_, a)| **a) {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#c62828" class="alarm"/>"##,
            LEFT + (t as f64 + 0.5) * step,
            TOP + 4.0
        );
    }
    let last = d.start + chrono::Duration::days(n as i64 - 1);
    let _ = write!(
        s,
        r##"<text x="{LEFT}" y="{yb}" font-size="10" fill="#444">{}</text><text x="{r}" y="{yb}" font-size="10" text-anchor="end" fill="#444">{last}</text></svg>"##,
        d.start,
        yb = HEIGHT - 6.0,
        r = WIDTH - 4.0
    );
    Ok(s)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_threshold_and_alarm_marks() {
        let mut counts: Vec<f64> = (0..27).map(|i| [3.0, 4.0, 5.0, 4.0][i % 4]).collect();
        counts.push(15.0);
        let d = Daily {
            syndrome: "ili".into(),
            region: "420100".into(),
            start: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            counts,
        };
        let svg = svg(&d, "ili <420100>").unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 28);
        assert_eq!(svg.matches("class=\"alarm\"").count(), 1);
        assert!(svg.contains("<polyline"));
        assert!(svg.contains("ili &lt;420100&gt;"), "the title is escaped");
        assert!(svg.contains("2026-10-28: 15"));
    }
}
