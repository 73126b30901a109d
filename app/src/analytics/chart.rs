//! Charts drawn as SVG by Leptos components: no JavaScript chart library, so
//! they render on the server, hydrate for free and weigh nothing extra.

use super::Volume;
use leptos::prelude::*;

/// Colour-blind-safe palette (Okabe–Ito), cycled.
const PALETTE: &[&str] = &[
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// 1234567 → `1.234.567` (Indonesian grouping), `1,234,567` in English.
pub fn thousands(n: i64) -> String {
    domain::numbers::group_thousands(n, crate::i18n::tr(".", ","))
}

/// A "nice" axis maximum at or above `max`: 1, 2 or 5 × 10ⁿ.
pub fn nice_max(max: i64) -> i64 {
    if max <= 0 {
        return 1;
    }
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if step * m >= max {
                return step * m;
            }
        }
        step *= 10;
    }
}

/// Deliveries per day, stacked by series (channel, provider or type).
#[component]
pub fn StackedBars(
    days: Vec<String>,
    volumes: Vec<Volume>,
    /// The legend's text for a series key.
    label: fn(&str) -> String,
    title: &'static str,
) -> impl IntoView {
    let mut keys: Vec<String> = volumes.iter().map(|v| v.key.clone()).collect();
    keys.sort();
    keys.dedup();
    let mut per_day = vec![0i64; days.len()];
    for v in &volumes {
        per_day[v.day] += v.deliveries;
    }
    let top = nice_max(per_day.iter().copied().max().unwrap_or(0));
    let (w, h, left, bottom) = (640.0_f64, 240.0_f64, 48.0_f64, 28.0_f64);
    let plot_h = h - bottom - 8.0;
    let slot = (w - left) / days.len().max(1) as f64;
    let bar_w = (slot * 0.7).max(1.0);
    let y = move |n: i64| plot_h * n as f64 / top as f64;
    let colour =
        |key: &str| PALETTE[keys.iter().position(|k| k == key).unwrap_or(0) % PALETTE.len()];

    let mut rects = Vec::new();
    let mut base = vec![0i64; days.len()];
    for key in &keys {
        for v in volumes.iter().filter(|v| &v.key == key) {
            let x = left + v.day as f64 * slot + (slot - bar_w) / 2.0;
            let y0 = 8.0 + plot_h - y(base[v.day] + v.deliveries);
            base[v.day] += v.deliveries;
            let tip = format!(
                "{} · {}: {}",
                days[v.day],
                label(key),
                thousands(v.deliveries)
            );
            rects.push(view! {
                <rect x=format!("{x:.1}") y=format!("{y0:.1}") width=format!("{bar_w:.1}")
                    height=format!("{:.1}", y(v.deliveries)) fill=colour(key)>
                    <title>{tip}</title>
                </rect>
            });
        }
    }
    // Day labels: at most ~8 so they never overlap.
    let every = days.len().div_ceil(8).max(1);
    let labels = days
        .iter()
        .enumerate()
        .filter(|(i, _)| i.is_multiple_of(every))
        .map(|(i, d)| {
            let x = left + i as f64 * slot + slot / 2.0;
            view! { <text x=format!("{x:.1}") y=format!("{:.1}", h - 8.0) text-anchor="middle" class="axis">{d[5..].to_owned()}</text> }
        })
        .collect_view();
    let legend = keys
        .iter()
        // A drawn square, not a `style` attribute: the Content-Security-Policy
        // admits no inline styles.
        .map(|k| view! { <li><svg class="swatch" viewBox="0 0 1 1" aria-hidden="true"><rect width="1" height="1" fill=colour(k)/></svg>{label(k)}</li> })
        .collect_view();
    let summary = crate::i18n::fill(
        crate::i18n::tr(
            "{}: {} pengiriman dalam {} hari",
            "{}: {} deliveries in {} days",
        ),
        &[&title, &thousands(per_day.iter().sum()), &days.len()],
    );
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {w} {h}") role="img" aria-label=summary.clone() data-testid="volume-chart">
                <line x1=left y1="8" x2=left y2=8.0 + plot_h class="axis-line"/>
                <line x1=left y1=8.0 + plot_h x2=w y2=8.0 + plot_h class="axis-line"/>
                <text x=left - 6.0 y="16" text-anchor="end" class="axis">{thousands(top)}</text>
                <text x=left - 6.0 y=8.0 + plot_h text-anchor="end" class="axis">"0"</text>
                {rects}
                {labels}
            </svg>
            <figcaption>
                <ul class="legend">{legend}</ul>
            </figcaption>
        </figure>
    }
}

/// Horizontal bars for a ranked list (busiest groups, failure reasons, cost).
#[component]
pub fn RankBars(
    rows: Vec<(String, i64)>,
    /// How a value reads (`1.234` or `Rp 1.234`).
    format: fn(i64) -> String,
    testid: &'static str,
) -> impl IntoView {
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    view! {
        <ul class="rank" data-testid=testid>
            {rows.into_iter().map(|(name, n)| {
                let pct = 100.0 * n as f64 / max as f64;
                view! {
                    <li>
                        <span class="rank-name">{name}</span>
                        <svg class="rank-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                            <rect x="0" y="0" width=format!("{pct:.1}") height="10"/>
                        </svg>
                        <span class="rank-value">{format(n)}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_by_thousands_the_indonesian_way() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1.000");
        assert_eq!(thousands(1_234_567), "1.234.567");
        assert_eq!(thousands(-45_000), "-45.000");
        let owner = leptos::prelude::Owner::new();
        owner.with(|| {
            crate::i18n::provide_locale(domain::Locale::En);
            assert_eq!(thousands(1_234_567), "1,234,567");
        });
    }

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(180), 200);
        assert_eq!(nice_max(201), 500);
        assert_eq!(nice_max(1_000), 1_000);
    }
}
